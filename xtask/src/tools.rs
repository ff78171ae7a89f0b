//! Command-line tools the workflows need that come from crates.io (cargo-fuzz, cargo-deb): `cargo install` into a
//! tools directory of the target, one way for all of them. Each build gets a target directory of its own (off the
//! workspace's build lock) that is deleted once the binary is installed, so a fresh machine does not keep
//! hundreds of megabytes of a tool's build beside the project's own.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::repo_root;

/// `WGT_TOOLS_ROOT` (shared with tests/netns/install-peers.sh), default `<repo>/target/tools`.
pub fn tools_root() -> PathBuf {
    std::env::var_os("WGT_TOOLS_ROOT")
        .map_or_else(|| repo_root().join("target/tools"), PathBuf::from)
}

/// How a tool is built.
#[derive(Clone, Copy)]
pub enum Build {
    /// The crate's own release profile (cargo-deb: it compresses the package, and unoptimised that is slow).
    Release,
    /// Without optimisation: a tool that runs for seconds, whose build time matters and speed does not.
    Quick,
}

/// `cargo install --locked KRATE --version VERSION --root ROOT`. Returns `ROOT/bin`.
pub fn cargo_install(
    krate: &str,
    version: &str,
    root: &Path,
    build: Build,
) -> Result<PathBuf, String> {
    let build_dir = root.join(format!("build-{krate}"));
    eprintln!(
        "xtask: == install {krate} {version} into {} (a few minutes, once)",
        root.display()
    );
    let mut command = Command::new(env!("CARGO"));
    command
        .args(["install", krate, "--locked", "--version", version, "--root"])
        .arg(root)
        .current_dir(repo_root())
        .env("CARGO_TARGET_DIR", &build_dir);
    if let Build::Quick = build {
        command
            .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "0")
            .env("CARGO_PROFILE_RELEASE_DEBUG", "0")
            .env("CARGO_PROFILE_RELEASE_LTO", "false")
            .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "256")
            .env("CARGO_PROFILE_RELEASE_INCREMENTAL", "false");
    }
    let status = command.status();
    // The build directory is of no use once the binary is installed, nor after a failure (the next try starts
    // over): free its space either way.
    if build_dir.exists() {
        if let Err(e) = std::fs::remove_dir_all(&build_dir) {
            eprintln!("xtask: warning: cannot remove {}: {e}", build_dir.display());
        }
    }
    let status = status.map_err(|e| format!("install {krate}: cannot run cargo install: {e}"))?;
    if !status.success() {
        return Err(format!("install {krate} {version} failed ({status})"));
    }
    Ok(root.join("bin"))
}
