//! `wgxdp`: a userspace WireGuard endpoint on the kernel-socket path, and a drop-in for
//! wireguard-go (`WG_QUICK_USERSPACE_IMPLEMENTATION=wgxdp`).
//!
//! - `wgxdp up IFNAME [--config FILE] [--io socket|auto|xdp] [--link NETDEV]
//!   [--xdp-mode native|generic] [--workers N] [--cpus LIST] [--mtu M]`: serve in the foreground;
//!   with `--io xdp` (or `auto` and `--link`) transport data bypasses the kernel over AF_XDP.
//! - `wgxdp [-f|--foreground] [--log-file PATH] IFNAME`: as wireguard-go: return once the interface and the
//!   UAPI socket are ready, keep serving in the background (or stay in front with `-f`). Detached, the daemon
//!   logs to syslog (or to `--log-file`); in front, to stderr.
//! - `wgxdp explain IFNAME [ADDRESS|PUBLIC_KEY]`, `wgxdp stats IFNAME [--json]`: ask a
//!   running daemon over its control socket (see `control.rs` for the protocol).

mod apply;
mod background;
mod cli;
mod conn_limit;
mod control;
mod daemon;
mod docs;
mod error_chain;
mod fault;
mod handshake_queue;
mod handshake_rx;
mod handshake_send;
mod handshake_workers;
mod link_watch;
mod logger;
mod metrics_http;
mod metrics_registry;
mod shared;
mod signals;
mod socket_file;
mod stats_report;
mod timer_thread;
mod uapi_server;
mod unix_server;
mod watchdog;
mod worker;
mod xdp_addresses;
mod xdp_control;
mod xdp_cpus;
mod xdp_setup;

use clap::{CommandFactory, Parser};
use cli::{Cli, Command, UpArgs};
use control::ControlRequest;
use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    logger::init_from_env();
    logger::log_panics();
    let cli = Cli::parse();
    // WGXDP_LOG_FILE is the environment form of the drop-in's --log-file (wg-quick passes no options).
    let log_file = cli
        .log_file
        .clone()
        .or_else(|| std::env::var_os("WGXDP_LOG_FILE").map(PathBuf::from));
    match (cli.command, cli.interface) {
        (Some(Command::Up(args)), _) => up(&args),
        (Some(Command::Explain { interface, subject }), _) => {
            ask(&interface, &ControlRequest::Explain(subject))
        }
        (Some(Command::Stats { interface, json }), _) => {
            ask(&interface, &ControlRequest::Stats { json })
        }
        (Some(Command::GenerateDocs(docs)), _) => match docs::generate(&docs.dir) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("wgxdp: {e}");
                ExitCode::FAILURE
            }
        },
        // WG_PROCESS_FOREGROUND=1 is wireguard-go's environment switch for the same thing.
        (None, Some(interface))
            if cli.foreground
                || std::env::var_os("WG_PROCESS_FOREGROUND").is_some_and(|v| v == "1") =>
        {
            // The drop-in form's settings come from the environment (WGXDP_IO, WGXDP_LINK, ...).
            let mut args = match UpArgs::from_env(&interface) {
                Ok(args) => args,
                Err(e) => {
                    eprintln!("wgxdp: {interface}: {e}");
                    return ExitCode::FAILURE;
                }
            };
            args.log_file = log_file;
            // The drop-in's own --metrics wins over WGXDP_METRICS.
            args.metrics = cli.metrics.or(args.metrics);
            up(&args)
        }
        (None, Some(interface)) => {
            if let Err(e) = socket_file::validate_interface_name(&interface) {
                eprintln!("wgxdp: {e}");
                return ExitCode::FAILURE;
            }
            if let Some(addr) = cli.metrics {
                // The detached daemon is `wgxdp up IFNAME`, which reads WGXDP_METRICS from the environment it
                // inherits. Still one thread here.
                std::env::set_var("WGXDP_METRICS", addr.to_string());
            }
            background::run_detached(&interface, log_file.as_deref())
        }
        (None, None) => {
            let _ = Cli::command().print_help();
            ExitCode::from(2)
        }
    }
}

/// `wgxdp up`: the log goes where the options say (stderr by default), then the daemon runs.
fn up(args: &UpArgs) -> ExitCode {
    if let Some(path) = &args.log_file {
        if let Err(e) = logger::log_to_file(path) {
            eprintln!(
                "wgxdp: {}: cannot open log file {}: {e}",
                args.interface,
                path.display()
            );
            return ExitCode::FAILURE;
        }
    } else if args.log_syslog {
        // The parent checked that syslog listens; if it went away since, stderr (discarded) is all there is.
        let _ = logger::log_to_syslog();
    }
    daemon::run_up(args)
}

/// Runs a control request against the daemon serving `interface` and prints the answer.
fn ask(interface: &str, request: &ControlRequest) -> ExitCode {
    if let Err(e) = socket_file::validate_interface_name(interface) {
        eprintln!("wgxdp: {e}");
        return ExitCode::FAILURE;
    }
    match control::request(&socket_file::control_path(interface), request) {
        Ok(body) => {
            print!("{body}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("wgxdp: {interface}: {e}");
            ExitCode::FAILURE
        }
    }
}
