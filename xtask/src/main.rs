//! Project automation, so that every workflow is one command that works the same for a developer and for CI.
//!
//! `cargo xtask install` — the Debian packages and rustup components the rest needs, each only if missing
//!                       (xtask/src/install.rs); `test`, `demo`, `bench` and `deb` run it first.
//! `cargo xtask test`  — formatting, clippy with warnings as errors (benches included), every test of the
//!                       workspace, a few seconds of every fuzz target, then (as root; skipped loudly otherwise)
//!                       the Debian package (`deb`, which the suite installs) and the netns suite (tests/netns/).
//! `cargo xtask demo`  — the wgxdp gateway on each I/O path against wireguard-go and against wgxdp: traffic, proof
//!                       of bypass, `wg show`, stats (tests/netns/demo.sh, needs root).
//! `cargo xtask bench` — the side-by-side benchmark of wgxdp, wireguard-go, boringtun and bare veth (bench/run.sh);
//!                       `--gateway [--quick]`: one gateway core under wgxdp-loadgen (bench/gateway/run.sh);
//!                       `--flood`: handshake floods against each I/O path and wireguard-go (bench/flood/run.sh).
//! `cargo xtask deb`   — target/debian/wgxdp_VERSION_amd64.deb (cargo-deb): binary, systemd units, man pages,
//!                       completions (xtask/src/deb.rs).
//! `cargo xtask licences [--check]` — docs/dependencies.md from `cargo metadata`; every licence in the allow
//!                       list (xtask/src/licences.rs); `test` runs the check.
//! `cargo xtask fuzz`  — every cargo-fuzz target of fuzz/ for 60 s (`--seconds N`, or name targets), on stable Rust.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

mod deb;
mod fuzz;
mod install;
mod licences;
mod tools;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("install") => install::install(),
        Some("test") => install::install().and_then(|()| test()),
        Some("demo") => install::install().and_then(|()| demo()),
        Some("bench") => install::install().and_then(|()| bench(&args[1..])),
        Some("deb") => install::install().and_then(|()| deb::deb()),
        Some("licences") => licences::licences(&args[1..]),
        Some("fuzz") => fuzz::Options::parse(&args[1..]).and_then(|options| fuzz::fuzz(&options)),
        _ => {
            eprintln!(
                "usage: cargo xtask <install|test|demo|deb|licences [--check]|bench [--gateway|--flood] [bench/run.sh, bench/gateway/run.sh or bench/flood/run.sh options]|fuzz [--ci | --seconds N] [--write-seeds] [TARGET...]>"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Runs `cargo` with the given arguments, failing with the step's name (and the free disk space, the usual cause
/// on a small machine) when it does not succeed.
fn cargo(step: &str, args: &[&str]) -> Result<(), String> {
    eprintln!("xtask: == {step}: cargo {}", args.join(" "));
    let status = cargo_command()
        .args(args)
        .status()
        .map_err(|e| format!("{step}: cannot run cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        disk_report();
        Err(format!("{step} failed ({status})"))
    }
}

/// `cargo`, without incremental compilation unless the caller's environment asks for it: xtask's builds are
/// whole runs, not edit loops, and incremental state is the largest part of a debug target (1.6 GB of 4 GB here).
pub(crate) fn cargo_command() -> Command {
    let mut command = Command::new(env!("CARGO"));
    if std::env::var_os("CARGO_INCREMENTAL").is_none() {
        command.env("CARGO_INCREMENTAL", "0");
    }
    command
}

/// Prints the free space where the builds go (`df`), so that a full disk is told apart from a failing build.
fn disk_report() {
    let target = target_dir();
    let probe = if target.exists() { target } else { repo_root() };
    match Command::new("df").arg("-Ph").arg(&probe).output() {
        Ok(out) if out.status.success() => {
            for line in String::from_utf8_lossy(&out.stdout).lines() {
                eprintln!("xtask: disk: {line}");
            }
        }
        _ => eprintln!("xtask: disk: cannot run df on {}", probe.display()),
    }
}

fn test() -> Result<(), String> {
    disk_report();
    cargo("format", &["fmt", "--all", "--check"])?;
    licences::check()?;
    let fuzz_manifest = repo_root().join("fuzz/Cargo.toml");
    let fuzz_manifest = fuzz_manifest.to_str().ok_or("non-UTF-8 repository path")?;
    cargo(
        "format (fuzz)",
        &["fmt", "--manifest-path", fuzz_manifest, "--check"],
    )?;
    cargo(
        "lint",
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
    )?;
    // Benches are type-checked by clippy's --all-targets above; building them with the bench profile's LTO would
    // add minutes to CI without catching anything more.
    // The fuzz crate is its own workspace (its targets link libFuzzer); its library and tests are linted here
    // without libFuzzer, sharing the workspace's compiled dependencies.
    let target = target_dir();
    let target = target.to_str().ok_or("non-UTF-8 target path")?;
    cargo(
        "lint (fuzz)",
        &[
            "clippy",
            "--manifest-path",
            fuzz_manifest,
            "--target-dir",
            target,
            "--no-default-features",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
    )?;
    cargo("tests", &["test", "--workspace", "--no-fail-fast"])?;
    bench_report_tests()?;
    fuzz_smoke()?;
    netns_suite()
}

/// A short run of every fuzz target, seeds replayed first (`cargo xtask fuzz --ci` runs the same).
fn fuzz_smoke() -> Result<(), String> {
    match fuzz::Options::ci()? {
        Some(options) => fuzz::fuzz(&options),
        None => {
            eprintln!("xtask: == fuzz: SKIPPED (WGXDP_FUZZ_CI_SECONDS=0)");
            Ok(())
        }
    }
}

/// The repository root (xtask lives one level below it).
fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// Where cargo puts binaries: `CARGO_TARGET_DIR` when set, else the workspace's `target/`.
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| repo_root().join("target"), PathBuf::from)
}

/// Namespaces, veth pairs and TUN devices need root; `id -u` avoids any unsafe libc call.
pub(crate) fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|out| out.status.success() && String::from_utf8_lossy(&out.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Runs a bash script of tests/netns with the given wgxdp binary, failing with the step's name.
fn netns_script(step: &str, script: &str, wgxdp: &Path) -> Result<(), String> {
    let path = repo_root().join("tests/netns").join(script);
    eprintln!("xtask: == {step}: {}", path.display());
    let status = Command::new("bash")
        .arg(&path)
        .env("WGT_WGXDP", wgxdp)
        .status()
        .map_err(|e| format!("{step}: cannot run bash: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{step} failed ({status})"))
    }
}

/// The unit tests of the benchmarks' report scripts (python3, on synthetic results): a report that misjudges a
/// target is caught here, not after a 30-minute run.
fn bench_report_tests() -> Result<(), String> {
    for dir in ["bench", "bench/gateway", "bench/flood"] {
        eprintln!("xtask: == report tests: python3 -m unittest discover -s {dir}");
        let status = Command::new("python3")
            .args([
                "-m",
                "unittest",
                "discover",
                "-q",
                "-s",
                dir,
                "-p",
                "test_*.py",
            ])
            .current_dir(repo_root())
            .status()
            .map_err(|e| format!("cannot run python3 for the {dir} report tests: {e}"))?;
        if !status.success() {
            return Err(format!("{dir} report tests failed ({status})"));
        }
    }
    Ok(())
}

/// The netns interop suite against a debug build of wgxdp (fast to build; the suite checks behaviour, not speed).
fn netns_suite() -> Result<(), String> {
    if !is_root() {
        eprintln!("xtask: ==============================================================");
        eprintln!("xtask: SKIPPED: netns tests need root (run `sudo cargo xtask test`)");
        eprintln!("xtask: ==============================================================");
        return Ok(());
    }
    let wgxdp = target_dir().join("debug/wgxdp");
    netns_script("netns peers", "install-peers.sh", &wgxdp)?;
    // wgxdp, the flood generator (the attacker of the flood tests) and the load generator (t_loadgen.sh). With
    // `--tests` the dependencies resolve to the same features as `cargo test --workspace` did (dev-dependencies
    // included), so what that step compiled is reused rather than built a second time with other features.
    cargo(
        "netns build",
        &["build", "--workspace", "--bins", "--tests"],
    )?;
    // The Debian package, so that the suite installs it and runs wg-quick with it (t_wgquick.sh's wgquick_deb).
    deb::deb()?;
    let suite = netns_script("netns suite", "run.sh", &wgxdp);
    disk_report();
    suite
}

fn demo() -> Result<(), String> {
    if !is_root() {
        return Err(
            "demo: needs root (it creates network namespaces): run `sudo cargo xtask demo`".into(),
        );
    }
    cargo("demo build", &["build", "--release", "-p", "wgxdp"])?;
    netns_script("demo", "demo.sh", &target_dir().join("release/wgxdp"))
}

/// Builds wgxdp in release and hands over to the benchmark harness with the remaining arguments; `--gateway`
/// picks the gateway benchmark (bench/gateway/run.sh), which also needs the load generator.
fn bench(extra: &[String]) -> Result<(), String> {
    if !is_root() {
        return Err("the benchmark builds network namespaces: run it as root".into());
    }
    let gateway = extra.iter().any(|a| a == "--gateway");
    let flood = extra.iter().any(|a| a == "--flood");
    if gateway && flood {
        return Err("bench: --gateway and --flood are two benchmarks: pick one".into());
    }
    let extra: Vec<String> = extra
        .iter()
        .filter(|a| *a != "--gateway" && *a != "--flood")
        .cloned()
        .collect();
    let (packages, script): (&[&str], PathBuf) = if gateway {
        (
            &["build", "--release", "-p", "wgxdp", "-p", "wgxdp-loadgen"],
            repo_root().join("bench/gateway/run.sh"),
        )
    } else if flood {
        (
            &["build", "--release", "-p", "wgxdp", "-p", "wgxdp-flood"],
            repo_root().join("bench/flood/run.sh"),
        )
    } else {
        (
            &["build", "--release", "-p", "wgxdp"],
            repo_root().join("bench/run.sh"),
        )
    };
    cargo("build wgxdp (release)", packages)?;
    let status = Command::new("bash")
        .arg(&script)
        .args(extra)
        .env("BENCH_WGXDP", target_dir().join("release").join("wgxdp"))
        .env(
            "BENCH_LOADGEN",
            target_dir().join("release").join("wgxdp-loadgen"),
        )
        .status()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("benchmark failed ({status})"))
    }
}
