//! `cargo xtask licences`: the licence record, docs/dependencies.md, generated from `cargo metadata` (every
//! package the workspace's lock file resolves, all targets and platforms, build and dev dependencies included;
//! and the fuzz workspace's), and the check that `cargo xtask test` runs: every dependency's licence expression
//! is satisfied by the allow list, and the checked-in record is the one the lock files give now.
//!
//! `cargo xtask licences` rewrites the record; `cargo xtask licences --check` only checks.

use crate::repo_root;
use serde_json::Value;
use std::collections::BTreeMap;
use std::process::Command;

/// Licences a dependency may carry (SPDX identifiers): permissive ones compatible with the workspace's
/// MIT OR Apache-2.0, and MPL-2.0 (file-level copyleft, fine for an unmodified dependency).
pub const ALLOWED: &[&str] = &[
    "MIT",
    "Apache-2.0",
    "BSD-1-Clause",
    "BSD-2-Clause",
    "BSD-3-Clause",
    "ISC",
    "Zlib",
    "CC0-1.0",
    "Unicode-3.0",
    "Unicode-DFS-2016",
    "Unlicense",
    "BSL-1.0",
    // University of Illinois/NCSA (LLVM's old licence, BSD-like): libFuzzer, in libfuzzer-sys of the fuzz workspace.
    "NCSA",
    "MPL-2.0",
    // xdpilone, the AF_XDP ring crate that crates/io-xdp is replacing with its own ring code (issue 14, item 6):
    // allowed until that lands; the lead removes this line then.
    "EUPL-1.2",
];

/// Where the record lives.
const RECORD: &str = "docs/dependencies.md";

/// One third-party package of a lock file.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Package {
    pub name: String,
    pub version: String,
    pub license: String,
    pub repository: String,
}

pub fn licences(args: &[String]) -> Result<(), String> {
    match args {
        [] => write(),
        [flag] if flag == "--check" => check(),
        _ => Err("usage: cargo xtask licences [--check]".into()),
    }
}

/// Rewrites docs/dependencies.md; fails (after writing) if a licence is not allowed.
fn write() -> Result<(), String> {
    let (main, fuzz) = (packages(None)?, packages(Some("fuzz/Cargo.toml"))?);
    let path = repo_root().join(RECORD);
    std::fs::write(&path, render(&main, &fuzz))
        .map_err(|e| format!("licences: cannot write {}: {e}", path.display()))?;
    eprintln!(
        "xtask: == licences: wrote {RECORD} ({} + {} packages)",
        main.len(),
        fuzz.len()
    );
    refused(&main, &fuzz)
}

/// The check of `cargo xtask test`.
pub fn check() -> Result<(), String> {
    let (main, fuzz) = (packages(None)?, packages(Some("fuzz/Cargo.toml"))?);
    refused(&main, &fuzz)?;
    let path = repo_root().join(RECORD);
    let recorded = std::fs::read_to_string(&path).unwrap_or_default();
    if recorded != render(&main, &fuzz) {
        return Err(format!(
            "licences: {RECORD} is not what the lock files give now: run `cargo xtask licences` and commit it"
        ));
    }
    eprintln!(
        "xtask: == licences: {} + {} packages, every licence allowed, {RECORD} up to date",
        main.len(),
        fuzz.len()
    );
    Ok(())
}

fn refused(main: &[Package], fuzz: &[Package]) -> Result<(), String> {
    let bad: Vec<String> = main
        .iter()
        .chain(fuzz)
        .filter(|p| !allowed(&p.license))
        .map(|p| format!("{} {} ({})", p.name, p.version, p.license))
        .collect();
    if bad.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "licences: not in the allow list of xtask/src/licences.rs: {}",
            bad.join(", ")
        ))
    }
}

/// The third-party packages of a workspace (`manifest`: relative to the repository; None: the main one).
fn packages(manifest: Option<&str>) -> Result<Vec<Package>, String> {
    let mut command = Command::new(env!("CARGO"));
    command
        .args(["metadata", "--format-version", "1"])
        .current_dir(repo_root());
    match manifest {
        // The fuzz workspace's lock file follows ours whenever its crates are built (as `cargo xtask test`'s lint
        // of it does): it is brought up to date here the same way rather than refused.
        Some(manifest) => command.args(["--manifest-path", manifest]),
        None => command.arg("--locked"),
    };
    let out = command
        .output()
        .map_err(|e| format!("licences: cannot run cargo metadata: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "licences: cargo metadata failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let metadata: Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("licences: cargo metadata's output is not JSON: {e}"))?;
    parse_metadata(&metadata)
}

/// The packages of `cargo metadata` JSON that are not members of its workspace, sorted, without duplicates.
pub fn parse_metadata(metadata: &Value) -> Result<Vec<Package>, String> {
    let members: Vec<&str> = metadata["workspace_members"]
        .as_array()
        .ok_or("licences: no workspace_members in cargo metadata")?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let mut packages: Vec<Package> = metadata["packages"]
        .as_array()
        .ok_or("licences: no packages in cargo metadata")?
        .iter()
        .filter(|p| !p["id"].as_str().is_some_and(|id| members.contains(&id)))
        // Path dependencies outside the workspace (the fuzz workspace's view of ours) are ours too.
        .filter(|p| !p["source"].is_null())
        .map(|p| {
            let text = |key: &str| p[key].as_str().unwrap_or("").trim().to_owned();
            let license = match text("license") {
                l if !l.is_empty() => l,
                _ if !text("license_file").is_empty() => {
                    format!("see its file {}", text("license_file"))
                }
                _ => "none given".to_owned(),
            };
            Package {
                name: text("name"),
                version: text("version"),
                license,
                repository: text("repository"),
            }
        })
        .collect();
    packages.sort();
    packages.dedup();
    Ok(packages)
}

/// The record: a table per workspace and a summary by licence expression.
pub fn render(main: &[Package], fuzz: &[Package]) -> String {
    let mut out = String::from(
        "# Dependencies and their licences\n\n\
         Generated by `cargo xtask licences` from `cargo metadata` (every package of `Cargo.lock` and \
         `fuzz/Cargo.lock`, for all targets and platforms, build and dev dependencies included); \
         `cargo xtask test` fails when this file is out of date or when a licence is not in the allow list of \
         `xtask/src/licences.rs`. Do not edit by hand.\n\n\
         The workspace itself is MIT OR Apache-2.0.\n\n",
    );
    out.push_str("Allowed: ");
    out.push_str(&ALLOWED.join(", "));
    out.push_str(
        " (EUPL-1.2 only for xdpilone, until crates/io-xdp's own ring code replaces it).\n\n",
    );
    out.push_str("## By licence\n\n| licence | packages |\n| --- | --- |\n");
    let mut by_licence: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for p in main.iter().chain(fuzz) {
        let names = by_licence.entry(p.license.as_str()).or_default();
        if !names.contains(&p.name.as_str()) {
            names.push(p.name.as_str());
        }
    }
    for (licence, names) in &by_licence {
        out.push_str(&format!("| {licence} | {} |\n", names.len()));
    }
    for (title, packages) in [
        ("The workspace (`Cargo.lock`)", main),
        ("The fuzz workspace (`fuzz/Cargo.lock`)", fuzz),
    ] {
        out.push_str(&format!(
            "\n## {title}: {} packages\n\n| package | version | licence | repository |\n| --- | --- | --- | --- |\n",
            packages.len()
        ));
        for p in packages {
            out.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                p.name, p.version, p.license, p.repository
            ));
        }
    }
    out
}

/// Whether an SPDX licence expression (`A OR B`, `A AND B`, `A WITH EXCEPTION`, parentheses; the old `A/B` is
/// OR) is satisfied by the allow list: an OR needs one allowed side, an AND both. Anything unparsable is not.
pub fn allowed(expression: &str) -> bool {
    let spaced = expression
        .replace('(', " ( ")
        .replace(')', " ) ")
        .replace('/', " OR ");
    let tokens: Vec<&str> = spaced.split_whitespace().collect();
    let mut pos = 0;
    match parse_or(&tokens, &mut pos) {
        Some(ok) if pos == tokens.len() => ok,
        _ => false,
    }
}

fn parse_or(tokens: &[&str], pos: &mut usize) -> Option<bool> {
    let mut value = parse_and(tokens, pos)?;
    while tokens.get(*pos) == Some(&"OR") {
        *pos += 1;
        value |= parse_and(tokens, pos)?;
    }
    Some(value)
}

fn parse_and(tokens: &[&str], pos: &mut usize) -> Option<bool> {
    let mut value = parse_term(tokens, pos)?;
    while tokens.get(*pos) == Some(&"AND") {
        *pos += 1;
        value &= parse_term(tokens, pos)?;
    }
    Some(value)
}

fn parse_term(tokens: &[&str], pos: &mut usize) -> Option<bool> {
    let token = *tokens.get(*pos)?;
    *pos += 1;
    if token == "(" {
        let value = parse_or(tokens, pos)?;
        (tokens.get(*pos) == Some(&")")).then(|| *pos += 1)?;
        return Some(value);
    }
    if matches!(token, ")" | "OR" | "AND" | "WITH") {
        return None;
    }
    // An exception only widens what the licence allows.
    if tokens.get(*pos) == Some(&"WITH") {
        tokens.get(*pos + 1)?;
        *pos += 2;
    }
    Some(ALLOWED.contains(&token.trim_end_matches('+')))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expressions_as_crates_write_them() {
        for ok in [
            "MIT",
            "MIT OR Apache-2.0",
            "Apache-2.0/MIT",
            "(MIT OR Apache-2.0) AND Unicode-3.0",
            "Apache-2.0 WITH LLVM-exception OR Apache-2.0 OR MIT",
            "MIT OR Apache-2.0 OR LGPL-2.1-or-later",
            "Apache-2.0 AND ISC",
            "Unlicense/MIT",
        ] {
            assert!(allowed(ok), "{ok}");
        }
        for refused in [
            "GPL-3.0",
            "MIT AND GPL-2.0-only",
            "LGPL-2.1-or-later",
            "AGPL-3.0 OR SSPL-1.0",
            "",
            "MIT OR",
            "(MIT",
            "MIT)",
            "WITH",
            "MIT WITH",
            "see its file LICENSE",
        ] {
            assert!(!allowed(refused), "{refused:?}");
        }
    }

    #[test]
    fn metadata_members_and_path_packages_are_left_out() {
        let metadata: Value = serde_json::from_str(
            r#"{
              "workspace_members": ["path+file:///w/crates/a#0.1.0"],
              "packages": [
                {"id": "path+file:///w/crates/a#0.1.0", "name": "a", "version": "0.1.0",
                 "license": "MIT OR Apache-2.0", "source": null},
                {"id": "path+file:///w/crates/b#0.1.0", "name": "b", "version": "0.1.0",
                 "license": "MIT OR Apache-2.0", "source": null},
                {"id": "registry+x#zed@1.0.0", "name": "zed", "version": "1.0.0", "license": null,
                 "license_file": "LICENSE.txt", "source": "registry+x", "repository": "https://z"},
                {"id": "registry+x#abc@2.0.0", "name": "abc", "version": "2.0.0", "license": "GPL-3.0",
                 "source": "registry+x", "repository": null}
              ]
            }"#,
        )
        .unwrap();
        let packages = parse_metadata(&metadata).unwrap();
        let names: Vec<&str> = packages.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["abc", "zed"]);
        assert_eq!(packages[1].license, "see its file LICENSE.txt");
        assert!(refused(&packages, &[])
            .unwrap_err()
            .contains("abc 2.0.0 (GPL-3.0)"));
        let record = render(&packages, &[]);
        assert!(record.contains("| abc | 2.0.0 | GPL-3.0 |  |"));
        assert!(record.contains("| GPL-3.0 | 1 |"));
    }
}
