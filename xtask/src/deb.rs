//! `cargo xtask deb`: target/debian/wgxdp_VERSION_amd64.deb, built by cargo-deb from `[package.metadata.deb]` of
//! crates/wgxdp/Cargo.toml: the release binary, wgxdp@.service, the wg-quick@.service drop-in example, the man
//! pages and the bash/zsh/fish completions. The pages and completions are generated from the clap definitions by
//! the release binary itself (`wgxdp generate-docs target/release/docs`) just before, so they match `--help`.
//! cargo-deb is installed into the tools directory (`WGT_TOOLS_ROOT`, default target/tools) when missing, as
//! tests/netns/install-peers.sh does for boringtun-cli. The result is listed (`dpkg-deb -c`) and, where lintian
//! is installed, checked by it.

use crate::tools::Build;
use crate::{cargo, repo_root, target_dir};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The cargo-deb release the package is built with (`--locked`: its own lock file).
const CARGO_DEB_VERSION: &str = "3.8.0";

pub fn deb() -> Result<(), String> {
    let cargo_deb = ensure_cargo_deb()?;
    cargo(
        "deb: build wgxdp (release)",
        &["build", "--release", "-p", "wgxdp"],
    )?;
    let release = target_dir().join("release");
    let docs = release.join("docs");
    // A stale page of a removed subcommand must not be packaged.
    if docs.exists() {
        std::fs::remove_dir_all(&docs)
            .map_err(|e| format!("deb: cannot clear {}: {e}", docs.display()))?;
    }
    run(
        "deb: man pages and completions",
        Command::new(release.join("wgxdp"))
            .arg("generate-docs")
            .arg(&docs),
    )?;
    let pages = man_pages(&docs.join("man1"))?;
    // Debian installs man pages gzipped; -n: no name or time stamp inside, so the package is reproducible.
    run(
        "deb: gzip the man pages",
        Command::new("gzip").args(["-9nf"]).args(&pages),
    )?;
    let out_dir = target_dir().join("debian");
    run(
        "deb: cargo-deb",
        Command::new(&cargo_deb)
            // --strip: the release profile keeps line tables for perf; the package does not need them.
            .args(["deb", "-p", "wgxdp", "--no-build", "--strip", "--output"])
            .arg(&out_dir)
            .current_dir(repo_root()),
    )?;
    let package = newest_deb(&out_dir)?;
    eprintln!("xtask: == deb: {}", package.display());
    run(
        "deb: contents",
        Command::new("dpkg-deb").arg("-c").arg(&package),
    )?;
    run(
        "deb: control",
        Command::new("dpkg-deb").arg("-I").arg(&package),
    )?;
    lintian(&package)
}

/// cargo-deb from the tools directory, else from PATH, else installed into the tools directory.
fn ensure_cargo_deb() -> Result<PathBuf, String> {
    let tools = crate::tools::tools_root();
    let local = tools.join("bin/cargo-deb");
    if local.is_file() {
        return Ok(local);
    }
    if Command::new("cargo-deb")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        return Ok(PathBuf::from("cargo-deb"));
    }
    crate::tools::cargo_install("cargo-deb", CARGO_DEB_VERSION, &tools, Build::Release)?;
    Ok(local)
}

/// The `*.1` pages of a directory (at least one: wgxdp.1).
fn man_pages(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut pages: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("deb: cannot read {}: {e}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|ext| ext == "1"))
        .collect();
    pages.sort();
    if !pages.iter().any(|p| p.ends_with("wgxdp.1")) {
        return Err(format!("deb: no wgxdp.1 in {}", dir.display()));
    }
    Ok(pages)
}

/// The most recently written `wgxdp_*.deb` of the output directory.
fn newest_deb(dir: &Path) -> Result<PathBuf, String> {
    std::fs::read_dir(dir)
        .map_err(|e| format!("deb: cannot read {}: {e}", dir.display()))?
        .filter_map(|entry| entry.ok())
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.starts_with("wgxdp_") && name.ends_with(".deb")
        })
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .max()
        .map(|(_, path)| path)
        .ok_or_else(|| format!("deb: cargo-deb wrote no wgxdp_*.deb into {}", dir.display()))
}

/// lintian's verdict where it is installed (it is not one of the install step's packages: it pulls in a lot);
/// its findings are shown, not fatal.
fn lintian(package: &Path) -> Result<(), String> {
    match Command::new("lintian").arg("--version").output() {
        Ok(out) if out.status.success() => {
            eprintln!("xtask: == deb: lintian {}", package.display());
            let status = Command::new("lintian")
                .args(["--no-tag-display-limit", "--info"])
                .arg(package)
                .status()
                .map_err(|e| format!("deb: cannot run lintian: {e}"))?;
            eprintln!("xtask: == deb: lintian finished ({status})");
        }
        _ => eprintln!(
            "xtask: == deb: lintian is not installed: not checked (apt-get install lintian)"
        ),
    }
    Ok(())
}

fn run(step: &str, command: &mut Command) -> Result<(), String> {
    eprintln!("xtask: == {step}");
    let status = command
        .status()
        .map_err(|e| format!("{step}: cannot run {:?}: {e}", command.get_program()))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{step} failed ({status})"))
    }
}
