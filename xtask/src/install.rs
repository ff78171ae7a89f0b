//! `cargo xtask install`: the one install step of the repository, run first by `demo`, `test`, `bench` and `deb`
//! (and by tests/netns/install-peers.sh). Idempotent: the Debian packages that the build and the tests need are
//! installed only if missing (`--no-install-recommends`, so wireguard-tools does not pull a kernel), and the
//! rustfmt and clippy components are added only if missing; with everything there it is a no-op that runs no
//! apt-get and needs no root. Works on a fresh Debian 12 machine as root with only the Rust toolchain.

use std::collections::BTreeSet;
use std::process::Command;

/// What the build and the tests need from Debian: the C toolchain and clang/llvm for the XDP program
/// (crates/io-xdp/build.rs), the tools of the netns suite and the demo, and the peers they talk to.
pub const PACKAGES: &[&str] = &[
    "build-essential",
    "pkg-config",
    "clang",
    "llvm",
    "iproute2",
    "iputils-ping",
    "ethtool",
    "jq",
    "python3",
    "wireguard-tools",
    "wireguard-go",
    "iperf3",
    // nft: the NAT router of t_selftest.sh.
    "nftables",
    // curl, ca-certificates: what rustup's and cargo's downloads of a fresh machine lean on.
    "curl",
    "ca-certificates",
];

/// The rustup components `cargo xtask test` runs.
pub const COMPONENTS: &[&str] = &["rustfmt", "clippy"];

/// The packages of `wanted` that `dpkg-query -W -f='${Package}\t${Status}\n' ...` does not report installed
/// (a package dpkg has never heard of is absent from its output: missing too).
pub fn missing_packages<'a>(wanted: &[&'a str], dpkg_query: &str) -> Vec<&'a str> {
    let installed: BTreeSet<&str> = dpkg_query
        .lines()
        .filter_map(|line| {
            let (name, status) = line.split_once('\t')?;
            // Multi-arch packages are reported as name:arch.
            let name = name.split(':').next().unwrap_or(name);
            (status.trim() == "install ok installed").then_some(name)
        })
        .collect();
    wanted
        .iter()
        .copied()
        .filter(|p| !installed.contains(p))
        .collect()
}

/// The components of `wanted` that `rustup component list --installed` (one `NAME-TARGET` a line) lacks.
pub fn missing_components<'a>(wanted: &[&'a str], rustup_list: &str) -> Vec<&'a str> {
    wanted
        .iter()
        .copied()
        .filter(|c| {
            !rustup_list.lines().map(str::trim).any(|line| {
                line == *c
                    || line
                        .strip_prefix(c)
                        .is_some_and(|rest| rest.starts_with('-'))
            })
        })
        .collect()
}

/// Runs the install step: packages, then components. Fails with what to do when it cannot.
pub fn install() -> Result<(), String> {
    install_packages()?;
    install_components()
}

fn install_packages() -> Result<(), String> {
    let query = Command::new("dpkg-query")
        .args(["-W", "-f=${Package}\\t${Status}\\n"])
        .args(PACKAGES)
        .output()
        .map_err(|e| format!("install: cannot run dpkg-query (is this Debian?): {e}"))?;
    // dpkg-query exits 1 when some package is unknown to it: its stdout still lists the others.
    let missing = missing_packages(PACKAGES, &String::from_utf8_lossy(&query.stdout));
    if missing.is_empty() {
        eprintln!(
            "xtask: == install: the {} Debian packages are installed",
            PACKAGES.len()
        );
        return Ok(());
    }
    if !crate::is_root() {
        return Err(format!(
            "install: missing Debian packages {}: run as root (`sudo cargo xtask install`) or \
             `apt-get install --no-install-recommends {}`",
            missing.join(" "),
            missing.join(" ")
        ));
    }
    eprintln!("xtask: == install: apt-get install {}", missing.join(" "));
    apt_get(&["update", "-qq"])?;
    let mut args = vec!["install", "-y", "-qq", "--no-install-recommends"];
    args.extend(&missing);
    apt_get(&args)
}

fn apt_get(args: &[&str]) -> Result<(), String> {
    let status = Command::new("apt-get")
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .map_err(|e| format!("install: cannot run apt-get: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "install: apt-get {} failed ({status})",
            args.join(" ")
        ))
    }
}

fn install_components() -> Result<(), String> {
    let listed = match Command::new("rustup")
        .args(["component", "list", "--installed"])
        .output()
    {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).into_owned(),
        // No rustup (a distribution's cargo): the components must come with the toolchain.
        _ => {
            for (component, probe) in [("rustfmt", "fmt"), ("clippy", "clippy")] {
                let ok = Command::new(env!("CARGO"))
                    .args([probe, "--version"])
                    .output()
                    .is_ok_and(|o| o.status.success());
                if !ok {
                    return Err(format!(
                        "install: `cargo {probe}` is missing and there is no rustup to add {component}"
                    ));
                }
            }
            return Ok(());
        }
    };
    let missing = missing_components(COMPONENTS, &listed);
    if missing.is_empty() {
        eprintln!(
            "xtask: == install: rustup components {} are installed",
            COMPONENTS.join(", ")
        );
        return Ok(());
    }
    eprintln!(
        "xtask: == install: rustup component add {}",
        missing.join(" ")
    );
    let status = Command::new("rustup")
        .args(["component", "add"])
        .args(&missing)
        .status()
        .map_err(|e| format!("install: cannot run rustup: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "install: rustup component add {} failed ({status})",
            missing.join(" ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn installed_packages_are_not_missing() {
        let out = "jq\tinstall ok installed\nclang\tinstall ok installed\n";
        assert!(missing_packages(&["jq", "clang"], out).is_empty());
    }

    #[test]
    fn absent_removed_and_half_installed_packages_are_missing() {
        // iperf3 removed with its config kept, llvm half-installed, wireguard-go unknown to dpkg (not listed).
        let out = "jq\tinstall ok installed\n\
                   iperf3\tdeinstall ok config-files\n\
                   llvm\tinstall ok half-configured\n";
        assert_eq!(
            missing_packages(&["jq", "iperf3", "llvm", "wireguard-go"], out),
            ["iperf3", "llvm", "wireguard-go"]
        );
        assert_eq!(missing_packages(&["jq", "curl"], ""), ["jq", "curl"]);
    }

    #[test]
    fn multi_arch_names_count() {
        let out = "python3:amd64\tinstall ok installed\n";
        assert!(missing_packages(&["python3"], out).is_empty());
    }

    #[test]
    fn every_package_is_checked() {
        // Everything .ci/run used to install is still here.
        for p in [
            "build-essential",
            "pkg-config",
            "clang",
            "llvm",
            "iproute2",
            "iputils-ping",
            "ethtool",
            "jq",
            "python3",
            "wireguard-tools",
            "wireguard-go",
            "iperf3",
        ] {
            assert!(PACKAGES.contains(&p), "{p}");
        }
        assert_eq!(missing_packages(PACKAGES, "").len(), PACKAGES.len());
    }

    #[test]
    fn components_by_name_with_target() {
        let list = "cargo-x86_64-unknown-linux-gnu\nclippy-x86_64-unknown-linux-gnu\n\
                    rust-std-x86_64-unknown-linux-gnu\n";
        assert_eq!(missing_components(COMPONENTS, list), ["rustfmt"]);
        let both = "rustfmt-x86_64-unknown-linux-gnu\nclippy-x86_64-unknown-linux-gnu\n";
        assert!(missing_components(COMPONENTS, both).is_empty());
        // A longer name is another component.
        assert_eq!(
            missing_components(&["rustfmt"], "rustfmtx-x86_64-unknown-linux-gnu\n"),
            ["rustfmt"]
        );
    }
}
