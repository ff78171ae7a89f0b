//! The WireGuard device of wgxdp, sans IO.
//!
//! [`Device`] ties the protocol pieces together for one interface: peers by public key, the receiver-index
//! table, sessions, packets staged while a handshake is in flight, roaming, keepalives, cookie replies under
//! load, a per-source-IP handshake ratelimit, the global reverse-path ACL on every decrypted packet, and drop
//! counters by reason. It opens no socket, spawns no thread, reads no clock and draws no OS randomness: the
//! caller passes `now` (a monotonic [`core::time::Duration`]), wall-clock time and a CSPRNG, and moves the
//! datagrams. That keeps the whole device testable under simulated time (see `tests/`).
//!
//! Threads: workers call [`Device::rx_batch`] (or [`Device::receive_transport`] per message) and
//! [`Device::tx_batch`]; the handshake receiver calls [`Device::screen_handshake`] and the handshake
//! workers [`Device::process_handshake`] (or both at once: [`Device::receive_handshake`]); a timer thread calls [`Device::tick`] at [`Device::next_deadline`] or when
//! [`Device::take_handshake_wanted`] says so; the UAPI server calls [`Device::apply_set`] and
//! [`Device::get_state`].

mod apply;
mod apply_error;
mod config;
mod counter_info;
mod counters;
mod data_path;
mod destination;
mod device;
mod device_counter;
mod device_explain;
mod drop_reason;
mod explain;
mod handshake_path;
mod index_table;
mod mtu;
mod outbox;
mod peer;
mod peer_table;
mod ratelimit;
mod rx_batch;
mod send;
mod timer_path;
mod timer_queue;
mod tx_batch;
mod verdict;

pub use apply::{Parallel, Serial, Task};
pub use apply_error::{ApplyError, ApplyErrorKind, ApplyOutcome, ENOSPC};
pub use config::DeviceConfig;
pub use counter_info::{CounterInfo, CounterKind};
pub use counters::{Counters, PeerCounters};
pub use destination::{Destination, LocalAddr};
pub use device::Device;
pub use device_counter::DeviceCounter;
pub use drop_reason::DropReason;
pub use explain::{AddressExplanation, PeerExplanation, PeerLabel};
pub use handshake_path::Screened;
pub use mtu::{MAX_MTU, MIN_MTU};
pub use outbox::Outbox;
pub use peer::PeerId;
pub use ratelimit::RateLimiter;
pub use rx_batch::RxBatch;
pub use send::{sealed_max_len, TxRoom};
pub use tx_batch::TxBatch;
pub use verdict::{Inbound, MessageKind, Outbound};

/// Re-exported so callers name keys without depending on the noise crate directly.
pub use wgxdp_noise::PublicKey;
