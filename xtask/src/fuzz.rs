//! `cargo xtask fuzz [--seconds N] [--write-seeds] [TARGET...]`: every cargo-fuzz target of `fuzz/` for a bounded
//! time, failing on a finding with the reproducer's path; `cargo xtask test` runs the same for a few seconds each.
//!
//! Stable Rust only: targets are built with `cargo fuzz build --sanitizer none`, which needs no nightly flag
//! (coverage instrumentation is `-Cpasses=sancov-module` and `-Cllvm-args`, both stable; only the sanitizers are
//! `-Z` flags). The code under test forbids `unsafe` outside `crates/io-xdp`, which no target links, so
//! AddressSanitizer would have little to find; panics, overflow checks and debug assertions are all on (see
//! `fuzz/Cargo.toml`). cargo-fuzz itself is installed into `<target>/tools/cargo-fuzz` when missing.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::tools::Build;
use crate::{cargo, repo_root, target_dir};

/// The cargo-fuzz release this project is tested with.
const CARGO_FUZZ_VERSION: &str = "0.13.2";

/// Seconds per target of `cargo xtask fuzz` without `--seconds`.
pub const DEFAULT_SECONDS: u32 = 60;

/// Seconds per target in CI (`cargo xtask test`); `WGXDP_FUZZ_CI_SECONDS` overrides.
pub const CI_SECONDS: u32 = 4;

/// What to run.
pub struct Options {
    /// Seconds per target.
    pub seconds: u32,
    /// Targets; empty means all.
    pub targets: Vec<String>,
    /// Regenerate the committed seed corpora (and check them) before fuzzing.
    pub write_seeds: bool,
    /// Also run the fuzz crate's own tests (seeds current and replaying cleanly).
    pub crate_tests: bool,
}

impl Options {
    /// What `cargo xtask test` runs: every target for [`CI_SECONDS`] (`WGXDP_FUZZ_CI_SECONDS` overrides; 0 means
    /// skip, `None` here), without the fuzz crate's own tests (its seeds are replayed by the runs themselves).
    pub fn ci() -> Result<Option<Self>, String> {
        let seconds = match std::env::var("WGXDP_FUZZ_CI_SECONDS") {
            Ok(value) => value
                .parse()
                .map_err(|_| format!("WGXDP_FUZZ_CI_SECONDS: not a whole number: {value}"))?,
            Err(_) => CI_SECONDS,
        };
        Ok((seconds > 0).then_some(Self {
            seconds,
            targets: Vec::new(),
            write_seeds: false,
            crate_tests: false,
        }))
    }

    /// Parses `[--ci | --seconds N] [--write-seeds] [TARGET...]`.
    pub fn parse(args: &[String]) -> Result<Self, String> {
        let mut options = Self {
            seconds: DEFAULT_SECONDS,
            targets: Vec::new(),
            write_seeds: false,
            crate_tests: true,
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--seconds" => {
                    let value = args.next().ok_or("--seconds needs a number")?;
                    options.seconds = value
                        .parse()
                        .ok()
                        .filter(|&s| s > 0)
                        .ok_or_else(|| format!("--seconds: not a positive whole number: {value}"))?;
                }
                "--write-seeds" => options.write_seeds = true,
                "--ci" => {
                    let ci = Self::ci()?.ok_or("--ci: WGXDP_FUZZ_CI_SECONDS=0 skips the fuzz step")?;
                    options.seconds = ci.seconds;
                    options.crate_tests = false;
                }
                flag if flag.starts_with('-') => {
                    return Err(format!(
                        "fuzz: unknown option {flag} (usage: cargo xtask fuzz [--ci | --seconds N] [--write-seeds] [TARGET...])"
                    ))
                }
                target => options.targets.push(target.to_string()),
            }
        }
        Ok(options)
    }
}

fn fuzz_dir() -> PathBuf {
    repo_root().join("fuzz")
}

/// The targets `fuzz/Cargo.toml` declares, in file order.
fn all_targets() -> Result<Vec<String>, String> {
    let manifest = fuzz_dir().join("Cargo.toml");
    let text = fs::read_to_string(&manifest)
        .map_err(|e| format!("cannot read {}: {e}", manifest.display()))?;
    let mut targets = Vec::new();
    let mut in_bin = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_bin = line == "[[bin]]";
        } else if let (true, Some(value)) = (in_bin, line.strip_prefix("name = ")) {
            targets.push(value.trim_matches('"').to_string());
        }
    }
    if targets.is_empty() {
        return Err(format!("no [[bin]] targets in {}", manifest.display()));
    }
    Ok(targets)
}

/// Where cargo-fuzz lives (installed there by [`ensure_cargo_fuzz`]).
fn tools_root() -> PathBuf {
    crate::tools::tools_root().join("cargo-fuzz")
}

/// Installs cargo-fuzz into the tools directory unless the right version is already there; returns its `bin/`.
fn ensure_cargo_fuzz() -> Result<PathBuf, String> {
    let root = tools_root();
    let bin = root.join("bin");
    let installed = Command::new(bin.join("cargo-fuzz"))
        .args(["fuzz", "--version"])
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string());
    if installed.as_deref() == Some(&format!("cargo-fuzz {CARGO_FUZZ_VERSION}")) {
        return Ok(bin);
    }
    crate::tools::cargo_install("cargo-fuzz", CARGO_FUZZ_VERSION, &root, Build::Quick)
}

/// `cargo fuzz ...` with the installed cargo-fuzz first on `PATH`.
fn cargo_fuzz(bin: &Path, args: &[&str]) -> Command {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs = vec![bin.to_path_buf()];
    dirs.extend(std::env::split_paths(&path));
    let mut command = crate::cargo_command();
    command
        .arg("fuzz")
        .args(args)
        .env("PATH", std::env::join_paths(dirs).unwrap_or(path));
    command
}

/// The arguments every cargo-fuzz call shares: stable toolchain mode, the fuzz crate, our target directory.
fn common_args() -> Vec<String> {
    vec![
        // Release without cargo-fuzz's own `-Cdebug-assertions` for every crate, so fuzz/Cargo.toml's profile
        // decides: debug assertions and overflow checks in our crates, not in the cryptography crates (traced,
        // their checks made each Diffie-Hellman several times slower).
        "-O".into(),
        "--sanitizer".into(),
        "none".into(),
        "--fuzz-dir".into(),
        fuzz_dir().display().to_string(),
        "--target-dir".into(),
        target_dir().join("fuzz").display().to_string(),
    ]
}

/// What one target's run reported.
struct RunSummary {
    target: String,
    execs: u64,
    per_sec: u64,
    new_units: u64,
    coverage: String,
    finding: Option<String>,
}

/// The file names in a directory (none if it does not exist).
fn listing(dir: &Path) -> BTreeSet<String> {
    fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// The value after `key` on the line of `log` that has it (libFuzzer's `-print_final_stats` lines).
fn stat(log: &str, key: &str) -> u64 {
    log.lines()
        .rev()
        .find_map(|line| line.strip_prefix(key))
        .and_then(|rest| rest.trim().parse().ok())
        .unwrap_or(0)
}

/// The last `cov: N ft: M` of the log.
fn coverage(log: &str) -> String {
    log.lines()
        .rev()
        .find_map(|line| {
            let at = line.find("cov: ")?;
            let words: Vec<&str> = line[at..].split_whitespace().take(4).collect();
            Some(words.join(" "))
        })
        .unwrap_or_else(|| "cov: ?".into())
}

fn run_target(bin: &Path, target: &str, seconds: u32) -> Result<RunSummary, String> {
    let corpus = target_dir().join("fuzz-corpus").join(target);
    let logs = target_dir().join("fuzz-logs");
    fs::create_dir_all(&corpus).map_err(|e| format!("cannot create {}: {e}", corpus.display()))?;
    fs::create_dir_all(&logs).map_err(|e| format!("cannot create {}: {e}", logs.display()))?;
    let seeds = fuzz_dir().join("seeds").join(target);
    let artifacts = fuzz_dir().join("artifacts").join(target);
    let before = listing(&artifacts);
    let log_path = logs.join(format!("{target}.log"));
    let log_file = fs::File::create(&log_path)
        .map_err(|e| format!("cannot create {}: {e}", log_path.display()))?;
    let log_err = log_file.try_clone().map_err(|e| format!("log: {e}"))?;

    let mut args: Vec<String> = vec!["run".into()];
    args.extend(common_args());
    args.push(target.into());
    args.push(corpus.display().to_string());
    args.push(seeds.display().to_string());
    args.push("--".into());
    args.push(format!("-max_total_time={seconds}"));
    // A single input that takes seconds is a hang, and a finding.
    args.push("-timeout=20".into());
    args.push("-rss_limit_mb=2048".into());
    args.push("-print_final_stats=1".into());
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    eprintln!(
        "xtask: == fuzz {target}: {seconds} s (log: {})",
        log_path.display()
    );
    let status = cargo_fuzz(bin, &refs)
        .stdout(log_file)
        .stderr(log_err)
        .status()
        .map_err(|e| format!("fuzz {target}: cannot run cargo fuzz: {e}"))?;
    let log = fs::read_to_string(&log_path).unwrap_or_default();
    let new_artifacts: Vec<String> = listing(&artifacts)
        .difference(&before)
        .map(|name| artifacts.join(name).display().to_string())
        .collect();
    let finding = if status.success() && new_artifacts.is_empty() {
        None
    } else {
        let tail: Vec<&str> = log.lines().rev().take(40).collect();
        eprintln!(
            "xtask: ---- fuzz {target}: end of {} ----",
            log_path.display()
        );
        for line in tail.iter().rev() {
            eprintln!("{line}");
        }
        let reproducer = if new_artifacts.is_empty() {
            format!(
                "no reproducer written ({status}); see {}",
                log_path.display()
            )
        } else {
            new_artifacts.join(", ")
        };
        Some(reproducer)
    };
    Ok(RunSummary {
        target: target.into(),
        execs: stat(&log, "stat::number_of_executed_units:"),
        per_sec: stat(&log, "stat::average_exec_per_sec:"),
        new_units: stat(&log, "stat::new_units_added:"),
        coverage: coverage(&log),
        finding,
    })
}

/// The fuzz crate's own tests: committed seeds current (or rewritten), every seed replaying cleanly.
fn crate_tests(write_seeds: bool) -> Result<(), String> {
    let manifest = fuzz_dir().join("Cargo.toml");
    let target = target_dir();
    let args = [
        "test",
        "--manifest-path",
        manifest.to_str().ok_or("non-UTF-8 path")?,
        "--target-dir",
        target.to_str().ok_or("non-UTF-8 path")?,
        "--no-default-features",
    ];
    if write_seeds {
        eprintln!("xtask: == fuzz seeds: writing fuzz/seeds/");
        let status = crate::cargo_command()
            .args(args)
            .args(["--test", "seeds", "seeds_are_current"])
            .env("WGXDP_FUZZ_WRITE_SEEDS", "1")
            .status()
            .map_err(|e| format!("cannot run cargo: {e}"))?;
        if !status.success() {
            return Err(format!("writing the seeds failed ({status})"));
        }
    }
    cargo("fuzz crate tests", &args)
}

/// Builds every target, then runs the chosen ones for `options.seconds` each.
pub fn fuzz(options: &Options) -> Result<(), String> {
    let known = all_targets()?;
    let targets = if options.targets.is_empty() {
        known.clone()
    } else {
        options.targets.clone()
    };
    if let Some(unknown) = targets.iter().find(|t| !known.contains(t)) {
        return Err(format!(
            "fuzz: no target {unknown}; the targets are: {}",
            known.join(" ")
        ));
    }
    if options.crate_tests || options.write_seeds {
        crate_tests(options.write_seeds)?;
    }
    let bin = ensure_cargo_fuzz()?;
    let mut args: Vec<String> = vec!["build".into()];
    args.extend(common_args());
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    eprintln!("xtask: == fuzz build: cargo fuzz {}", refs.join(" "));
    let status = cargo_fuzz(&bin, &refs)
        .status()
        .map_err(|e| format!("fuzz build: cannot run cargo fuzz: {e}"))?;
    if !status.success() {
        return Err(format!("fuzz build failed ({status})"));
    }
    let mut summaries = Vec::new();
    for target in &targets {
        summaries.push(run_target(&bin, target, options.seconds)?);
    }
    eprintln!("xtask: == fuzz results ({} s per target)", options.seconds);
    eprintln!(
        "xtask: {:<22} {:>12} {:>10} {:>6}  coverage",
        "target", "execs", "execs/s", "new"
    );
    for s in &summaries {
        eprintln!(
            "xtask: {:<22} {:>12} {:>10} {:>6}  {}{}",
            s.target,
            s.execs,
            s.per_sec,
            s.new_units,
            s.coverage,
            if s.finding.is_some() { "  FINDING" } else { "" }
        );
    }
    let findings: Vec<String> = summaries
        .iter()
        .filter_map(|s| s.finding.as_ref().map(|f| format!("{}: {f}", s.target)))
        .collect();
    if findings.is_empty() {
        return Ok(());
    }
    for finding in &findings {
        eprintln!("xtask: FINDING {finding}");
    }
    eprintln!(
        "xtask: replay one with: WGXDP_FUZZ_TRACE=1 {}/fuzz/{}-unknown-linux-gnu/release/TARGET REPRODUCER",
        target_dir().display(),
        std::env::consts::ARCH
    );
    Err(format!("fuzz: {} target(s) found a crash", findings.len()))
}
