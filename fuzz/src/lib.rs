//! The fuzz targets of wgxdp, as plain functions: `fuzz_targets/*.rs` hand libFuzzer's input to them, and the
//! seed corpora are replayed through them by `cargo test` (see `README.md`).
//!
//! Each target checks what the code promises, not only that it does not panic; the module of each target says
//! what it checks.

pub mod config_checks;
pub mod config_file;
pub mod cookie_reply;
pub mod device_rx;
pub mod initiation;
pub mod mutate;
pub mod response;
pub mod scene;
pub mod seeds;
pub mod trace;
pub mod uapi_set;
pub mod views;
pub mod wire_frame;
pub mod wire_packet;

/// A target: one input in, a panic for a finding.
pub type Target = fn(&[u8]);

/// Every target by name, as `cargo fuzz` and `cargo xtask fuzz` call them.
pub const TARGETS: &[(&str, Target)] = &[
    ("wire_frame", wire_frame::run),
    ("wire_packet", wire_packet::run),
    ("handshake_initiation", initiation::run),
    ("handshake_response", response::run),
    ("cookie_reply", cookie_reply::run),
    ("device_rx", device_rx::run),
    ("uapi_set", uapi_set::run),
    ("config_file", config_file::run),
];
