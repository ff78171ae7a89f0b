//! wgxdp-loadgen: a WireGuard traffic generator that measures one gateway's capacity.
//!
//! It emulates up to 100 000 peers against a device under test (DUT): configures the DUT's peers (a `wg setconf`
//! file, or UAPI), runs real Noise_IKpsk2 handshakes with it, then measures the DUT in both directions:
//! *ingress* replays pools of transport messages sealed before the timed phase (so sending one is a copy, not an
//! AEAD) through AF_XDP and counts the decrypted packets on the LAN side with an XDP program; *egress* sends
//! plaintext into the DUT's LAN side and counts the encrypted frames on the underlay side, decrypting a sample.
//! Payloads carry sequence numbers and timestamps (loss, reordering, latency); the DUT's CPU comes from /proc.
//!
//! The protocol parts (handshakes, pools, pacing) are sans-IO and unit-tested on simulated time; the I/O parts
//! (namespaces, sockets, AF_XDP, XDP programs) are tested by `tests/netns/t_loadgen.sh`.

pub mod cli;
pub mod clock;
pub mod cpu;
pub mod data_test;
pub mod datagram;
pub mod dut_config;
pub mod egress_frames;
pub mod gen_rx;
pub mod gen_socket;
pub mod handshake_driver;
pub mod handshake_test;
pub mod handshakes;
pub mod ingress_pool;
pub mod logger;
pub mod measure;
pub mod netns;
pub mod pacer;
pub mod payload;
pub mod peers;
pub mod rate_search;
pub mod report;
pub mod report_text;
pub mod rig;
pub mod run;
pub mod samples;
pub mod sink_rx;
pub mod tx_backend;
pub mod tx_loop;
pub mod tx_source;
pub mod uapi_client;
