//! Kernel-bypass I/O of wgxdp: the XDP steering program and its loader, AF_XDP sockets over a UMEM with batch
//! receive and transmit, adaptive (spin-then-sleep) polling, and next-hop MAC resolution over netlink.
//!
//! This is the only crate of the workspace allowed to contain `unsafe` code. It is confined to the UMEM mapping
//! (`umem.rs`) and one `poll()` call (`xsk_socket.rs`); every block carries a `// SAFETY:` comment (enforced by
//! clippy's `undocumented_unsafe_blocks`).
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

pub mod adaptive_poll;
pub mod error;
pub mod frame_pool;
pub mod neighbour;
mod netlink_route;
pub mod sink_counters;
pub mod sink_program;
pub mod steer_counters;
pub mod steer_program;
pub mod umem;
pub mod xsk_counters;
pub mod xsk_socket;

pub use adaptive_poll::{AdaptivePoll, PollStep};
pub use error::{Result, XdpError};
pub use frame_pool::{FramePool, PoolError};
pub use neighbour::{NeighbourCache, NextHop};
pub use sink_counters::{SinkCounter, SinkCounters};
pub use sink_program::{SinkConfig, SinkMode, SinkProgram};
pub use steer_counters::{SteerCounters, SteerReason};
pub use steer_program::{AttachMode, SteerConfig, XdpProgram};
pub use umem::{FrameSize, Umem};
pub use xsk_counters::{KernelXskStats, XskCounters};
pub use xsk_socket::{BindMode, BoundMode, XskConfig, XskSocket};
