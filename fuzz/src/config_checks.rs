//! Checks shared by the two configuration targets: what a parsed `set` request must do on the way through the
//! client writer, the device and `wg showconf`.

use core::time::Duration;
use std::time::{SystemTime, UNIX_EPOCH};

use rand::rngs::StdRng;
use rand::SeedableRng;
use wgxdp_device::{Device, DeviceConfig};
use wgxdp_uapi::{
    parse_request, write_get_response, write_set_request, write_showconf, ConfMode, Config,
    Request, SetRequest,
};

/// Requests with more peers than this are checked but not applied: every new peer costs a Diffie-Hellman, and
/// the fuzzer would otherwise spend its time there.
pub const MAX_APPLIED_PEERS: usize = 8;

const NOW: Duration = Duration::from_secs(1000);

fn wall() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

/// A fresh device and its random numbers.
pub fn device() -> (Device, StdRng) {
    (
        Device::new(DeviceConfig::default()),
        StdRng::seed_from_u64(1),
    )
}

/// The client writer (`wg set` / `wg setconf`'s side) writes `request` so that the parser reads it back equal.
pub fn round_trip(request: &SetRequest) {
    let mut text = String::new();
    write_set_request(request, &mut text);
    match parse_request(text.as_bytes()) {
        Ok(Request::Set(again)) => assert_eq!(&again, request, "written as:\n{text}"),
        other => panic!("a written set request does not parse back: {other:?}\n{text}"),
    }
}

/// Applies `request` to `dev`: all or nothing, and the answers to `get` and `showconf` are well formed. Returns
/// whether it applied.
pub fn apply(dev: &Device, rng: &mut StdRng, request: &SetRequest) -> bool {
    if request.peers.len() > MAX_APPLIED_PEERS {
        return false;
    }
    let before = dev.get_state(NOW, wall());
    let applied = match dev.apply_set(request, NOW, rng) {
        Ok(_) => true,
        Err(error) => {
            assert_ne!(error.errno(), 0, "an error answered as success: {error}");
            assert_eq!(
                dev.get_state(NOW, wall()),
                before,
                "a refused set changed the device: {error}"
            );
            false
        }
    };
    let state = dev.get_state(NOW, wall());
    let mut answer = String::new();
    write_get_response(&state, &mut answer);
    assert!(
        answer.ends_with("errno=0\n\n"),
        "get answer not terminated: {answer:?}"
    );
    applied
}

/// `wg showconf` of the device, fed back through the config parser into a fresh device, gives the same state.
pub fn showconf_round_trip(dev: &Device) {
    let state = dev.get_state(NOW, wall());
    let mut text = String::new();
    write_showconf(&state, &mut text);
    let config = Config::parse(&text)
        .unwrap_or_else(|e| panic!("showconf output does not parse: {e}\n{text}"));
    let request = config
        .to_set_request(ConfMode::Set, |host, port| {
            Err(format!("showconf wrote a host name {host}:{port}"))
        })
        .unwrap_or_else(|e| panic!("showconf output does not convert: {e}\n{text}"));
    if request.peers.len() > MAX_APPLIED_PEERS {
        return;
    }
    let (again, mut rng) = device();
    if let Err(error) = again.apply_set(&request, NOW, &mut rng) {
        panic!("showconf output does not apply: {error}\n{text}");
    }
    assert_eq!(
        again.get_state(NOW, wall()),
        state,
        "showconf output gives another device:\n{text}"
    );
}
