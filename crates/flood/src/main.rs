//! `wgxdp-flood`: handshake initiations with a valid mac1 for a given responder, random otherwise, from many
//! source ports and addresses, at a bounded rate for a bounded time; a JSON summary on stdout at the end.
//!
//! For wgxdp's flood tests (tests/netns): only ever aimed at a responder the test itself runs.

mod plan;
mod pool;
mod sender;
mod summary;
mod token_bucket;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = plan::Args::parse();
    let plan = match args.plan() {
        Ok(plan) => plan,
        Err(error) => {
            eprintln!("wgxdp-flood: {error}");
            return ExitCode::from(2);
        }
    };
    match sender::flood(&plan) {
        Ok(summary) => {
            println!("{}", summary.to_json());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("wgxdp-flood: {error}");
            ExitCode::FAILURE
        }
    }
}
