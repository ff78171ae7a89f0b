//! `wgxdp-loadgen`: see the library documentation and `wgxdp-loadgen --help`.

use std::process::ExitCode;

use anyhow::{anyhow, Context, Result};
use clap::Parser;
use wgxdp_loadgen::cli::{Cli, Command};
use wgxdp_loadgen::dut_config::{setconf_file, Interface};
use wgxdp_loadgen::report::Report;
use wgxdp_loadgen::report_text::{markdown, svg};
use wgxdp_loadgen::{logger, run};

fn main() -> ExitCode {
    let cli = Cli::parse();
    logger::init(if cli.quiet {
        -1
    } else {
        cli.verbose.min(2) as i8
    });
    match execute(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log::error!("{e:#}");
            eprintln!("wgxdp-loadgen: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn execute(command: Command) -> Result<()> {
    match command {
        Command::Run(args) => {
            let report = run::run(&args)?;
            if let Some(path) = &args.json {
                report.write_json(path)?;
            }
            if let Some(path) = &args.svg {
                std::fs::write(path, svg(&report))
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            let text = markdown(&report);
            match &args.markdown {
                Some(path) => std::fs::write(path, text)
                    .with_context(|| format!("writing {}", path.display()))?,
                None => print!("{text}"),
            }
            Ok(())
        }
        Command::Conf(args) => {
            let seed = args.peers.seed.ok_or_else(|| {
                anyhow!("conf needs --seed, so that `run --seed` emulates the same peers")
            })?;
            let peers = args.peers.plan(seed)?.build()?;
            let interface = Interface {
                private_key: None,
                listen_port: None,
            };
            std::fs::write(&args.out, setconf_file(&interface, &peers))
                .with_context(|| format!("writing {}", args.out.display()))
        }
        Command::Report(args) => {
            let report = Report::read_json(&args.json)?;
            print!("{}", markdown(&report));
            if let Some(path) = &args.svg {
                std::fs::write(path, svg(&report))
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            Ok(())
        }
    }
}
