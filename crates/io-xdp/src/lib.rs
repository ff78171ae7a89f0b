//! Kernel-bypass I/O of wgxdp: the XDP steering program and its loader, AF_XDP sockets over a UMEM with batch
//! receive and transmit, readiness checks on the rings themselves, and next-hop MAC resolution over netlink.
//!
//! It also answers two questions about a TUN descriptor for the daemon (its name, its network namespace: the TUN
//! ioctls of `tun_netns.rs`) and follows interfaces and their addresses over rtnetlink (`link_monitor.rs`; the
//! steering program's map of the link's own addresses follows them: `local_addresses.rs`).
//!
//! The AF_XDP rings are the crate's own: one generic single-producer/single-consumer ring (`xsk_ring.rs`) over
//! each ring's mapping (`xsk_mmap.rs`), set up by the socket calls of `xsk_setup.rs`.
//!
//! This is the only crate of the workspace allowed to contain `unsafe` code. It is confined to the UMEM mapping
//! (`umem.rs`), the rings and their mappings (`xsk_ring.rs`, `xsk_mmap.rs`), the socket's system calls
//! (`xsk_setup.rs`, one `poll()` in `xsk_socket.rs`) and the two TUN ioctls (`tun_netns.rs`); every block carries
//! a `// SAFETY:` comment (enforced by clippy's `undocumented_unsafe_blocks`).
//!
//! Typical use, per RX queue `q` of the interface, in one worker thread each:
//!
//! ```no_run
//! # fn main() -> Result<(), wgxdp_io_xdp::XdpError> {
//! use std::time::Duration;
//! use wgxdp_io_xdp::{AttachMode, XdpProgram, XskConfig, XskSocket};
//! let mut program = XdpProgram::attach("eth1", 51820, AttachMode::Auto)?;
//! let mut socket = XskSocket::open("eth1", 0, &XskConfig::default())?;
//! program.register_socket(0, &socket)?;
//! loop {
//!     if socket.poll_wait(Duration::from_millis(100))? {
//!         socket.recv_batch(64, |frame| { /* parse and decrypt in place */ let _ = frame; });
//!         socket.complete();
//!     }
//! #   break;
//! }
//! # Ok(()) }
//! ```

pub mod error;
pub mod frame_pool;
pub mod link_monitor;
pub mod local_addresses;
pub mod neighbour;
mod netlink_route;
mod per_cpu_sums;
pub mod sink_counters;
pub mod sink_program;
pub mod source_allow_list;
pub mod steer_counters;
pub mod steer_program;
pub mod tun_netns;
pub mod umem;
pub mod xdp_occupant;
pub mod xsk_counters;
mod xsk_mmap;
mod xsk_ring;
mod xsk_setup;
pub mod xsk_socket;

pub use error::{Result, XdpError};
pub use frame_pool::{FramePool, PoolError};
pub use link_monitor::{LinkAddress, LinkEvent, LinkMonitor, LinkState};
pub use local_addresses::{AddressChange, AddressFollower, AddressUpdate};
pub use neighbour::{NeighbourCache, NextHop};
pub use sink_counters::{SinkCounter, SinkCounters};
pub use sink_program::{SinkConfig, SinkMode, SinkProgram};
pub use source_allow_list::{SourcePrefix, MAX_ALLOWED_PREFIXES};
pub use steer_counters::{SteerCounters, SteerReason};
pub use steer_program::{AttachMode, SteerConfig, XdpProgram, XDP_PACKET_HEADROOM};
pub use tun_netns::{tun_name, tun_netns};
pub use umem::{FrameSize, Umem};
pub use xdp_occupant::{OccupiedMode, XdpOccupant};
pub use xsk_counters::{KernelXskStats, XskCounters};
pub use xsk_socket::{BindMode, BoundMode, TxFrame, XskConfig, XskSocket};
