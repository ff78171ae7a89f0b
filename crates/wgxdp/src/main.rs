//! `wgxdp`: a userspace WireGuard endpoint on the kernel-socket path, and a drop-in for
//! wireguard-go (`WG_QUICK_USERSPACE_IMPLEMENTATION=wgxdp`).
//!
//! - `wgxdp up IFNAME [--config FILE] [--io socket|auto|xdp] [--link NETDEV]
//!   [--xdp-mode native|generic] [--workers N] [--cpus LIST] [--mtu M]`: serve in the foreground;
//!   with `--io xdp` (or `auto` and `--link`) transport data bypasses the kernel over AF_XDP.
//! - `wgxdp [-f|--foreground] IFNAME`: as wireguard-go: return once the interface and the
//!   UAPI socket are ready, keep serving in the background (or stay in front with `-f`).
//! - `wgxdp explain IFNAME [ADDRESS|PUBLIC_KEY]`, `wgxdp stats IFNAME [--json]`: ask a
//!   running daemon over its control socket (see `control.rs` for the protocol).

mod apply;
mod background;
mod cli;
mod conn_limit;
mod control;
mod daemon;
mod handshake_queue;
mod handshake_rx;
mod handshake_send;
mod handshake_workers;
mod logger;
mod shared;
mod signals;
mod socket_file;
mod stats_report;
mod timer_thread;
mod uapi_server;
mod unix_server;
mod worker;
mod xdp_control;
mod xdp_cpus;
mod xdp_setup;

use clap::{CommandFactory, Parser};
use cli::{Cli, Command, UpArgs};
use control::ControlRequest;
use std::process::ExitCode;

fn main() -> ExitCode {
    logger::init_from_env();
    let cli = Cli::parse();
    match (cli.command, cli.interface) {
        (Some(Command::Up(args)), _) => daemon::run_up(&args),
        (Some(Command::Explain { interface, subject }), _) => {
            ask(&interface, &ControlRequest::Explain(subject))
        }
        (Some(Command::Stats { interface, json }), _) => {
            ask(&interface, &ControlRequest::Stats { json })
        }
        // WG_PROCESS_FOREGROUND=1 is wireguard-go's environment switch for the same thing.
        (None, Some(interface))
            if cli.foreground
                || std::env::var_os("WG_PROCESS_FOREGROUND").is_some_and(|v| v == "1") =>
        {
            daemon::run_up(&UpArgs::for_interface(interface))
        }
        (None, Some(interface)) => {
            if let Err(e) = socket_file::validate_interface_name(&interface) {
                eprintln!("wgxdp: {e}");
                return ExitCode::FAILURE;
            }
            background::run_detached(&interface)
        }
        (None, None) => {
            let _ = Cli::command().print_help();
            ExitCode::from(2)
        }
    }
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
