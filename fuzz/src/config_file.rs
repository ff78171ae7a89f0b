//! Target `config_file`: `wg setconf` / `wg addconf` files, as `wgxdp up --config` and wg-quick hand them over.
//!
//! What must hold, besides never panicking:
//! - an error names a line that exists;
//! - a parsed file converts to the `set` request `wg setconf` (and `wg addconf`) would send, host names going
//!   through the resolver (here a stand-in that resolves some and fails others) and nothing else;
//! - that request survives the client writer and the parser unchanged, applies all or nothing, and `wg showconf`
//!   of the result, read back, makes the same device.

use core::net::{IpAddr, Ipv4Addr, SocketAddr};

use wgxdp_uapi::{ConfMode, Config};

use crate::config_checks::{apply, device, round_trip, showconf_round_trip};

/// The target's entry point.
pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let config = match Config::parse(text) {
        Ok(config) => config,
        Err(error) => {
            let lines = text.split('\n').count();
            assert!(
                (1..=lines).contains(&error.line),
                "error on line {} of {lines}: {error}",
                error.line
            );
            std::hint::black_box(error.to_string());
            return;
        }
    };
    for mode in [ConfMode::Set, ConfMode::Add] {
        let resolved = config.to_set_request(mode, |host, port| {
            assert!(
                host.parse::<IpAddr>().is_err(),
                "an IP address was sent to the resolver: {host}"
            );
            if host.len() % 2 == 0 {
                Ok(SocketAddr::new(
                    IpAddr::V4(Ipv4Addr::new(198, 18, 9, 9)),
                    port,
                ))
            } else {
                Err("no such host")
            }
        });
        let Ok(request) = resolved else {
            continue;
        };
        assert_eq!(request.peers.len(), config.peers.len());
        round_trip(&request);
        let (dev, mut rng) = device();
        if apply(&dev, &mut rng, &request) {
            showconf_round_trip(&dev);
        }
    }
}
