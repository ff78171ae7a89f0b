//! `wgxdp generate-docs DIR`: the man pages and shell completions, generated from the command-line definitions of
//! `cli.rs` (so they cannot drift from `--help`). `cargo xtask deb` runs it on the release binary and packages
//! what it writes; nothing generated is committed.

use crate::cli::Cli;
use clap::CommandFactory;
use clap_complete::Shell;
use std::path::Path;

/// Writes `DIR/man1/*.1` (one page for wgxdp and one per subcommand) and `DIR/completions/` (bash, zsh, fish).
pub fn generate(dir: &Path) -> Result<(), String> {
    let man = dir.join("man1");
    let completions = dir.join("completions");
    for sub in [&man, &completions] {
        std::fs::create_dir_all(sub)
            .map_err(|e| format!("cannot create {}: {e}", sub.display()))?;
    }
    clap_mangen::generate_to(Cli::command(), &man)
        .map_err(|e| format!("cannot write the man pages into {}: {e}", man.display()))?;
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        let mut command = Cli::command();
        clap_complete::generate_to(shell, &mut command, "wgxdp", &completions).map_err(|e| {
            format!(
                "cannot write the {shell} completion into {}: {e}",
                completions.display()
            )
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_and_completions_cover_the_commands() {
        let dir = std::env::temp_dir().join(format!("wgxdp-docs-{}", std::process::id()));
        generate(&dir).unwrap();
        let page = std::fs::read_to_string(dir.join("man1/wgxdp-up.1")).unwrap();
        assert!(
            page.contains("WGXDP_IO"),
            "the up page names the environment"
        );
        assert!(page.contains("xdp\\-allow\\-source") || page.contains("xdp-allow-source"));
        assert!(dir.join("man1/wgxdp.1").is_file());
        assert!(dir.join("man1/wgxdp-stats.1").is_file());
        // The internal command stays internal.
        assert!(!dir.join("man1/wgxdp-generate-docs.1").exists());
        let bash = std::fs::read_to_string(dir.join("completions/wgxdp.bash")).unwrap();
        assert!(bash.contains("--link") && bash.contains("--xdp-mode"));
        assert!(dir.join("completions/_wgxdp").is_file());
        assert!(dir.join("completions/wgxdp.fish").is_file());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
