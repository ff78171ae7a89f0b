//! Project automation, so that every workflow is one command that works the same for a developer and for CI.
//!
//! `cargo xtask test`  — formatting, clippy with warnings as errors, and every test of the workspace.
//! `cargo xtask demo`  — the main job end to end (see README.md).

use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => test(),
        Some("demo") => demo(&args[1..]),
        _ => {
            eprintln!("usage: cargo xtask <test|demo>");
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

/// Runs `cargo` with the given arguments, failing with the step's name when it does not succeed.
fn cargo(step: &str, args: &[&str]) -> Result<(), String> {
    eprintln!("xtask: == {step}: cargo {}", args.join(" "));
    let status = Command::new(env!("CARGO"))
        .args(args)
        .status()
        .map_err(|e| format!("{step}: cannot run cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{step} failed ({status})"))
    }
}

fn test() -> Result<(), String> {
    cargo("format", &["fmt", "--all", "--check"])?;
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
    cargo("tests", &["test", "--workspace", "--no-fail-fast"])?;
    // Benches are compiled (not run) so that a bench that no longer builds fails CI.
    cargo("benches build", &["bench", "--workspace", "--no-run"])
}

fn demo(extra: &[String]) -> Result<(), String> {
    let mut args = vec!["run", "--release", "-p", "wgxdp-noise", "--example", "two_peers", "--"];
    args.extend(extra.iter().map(String::as_str));
    cargo("demo", &args)
}
