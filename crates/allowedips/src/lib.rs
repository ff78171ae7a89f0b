//! Cryptokey routing for wgxdp: one table of IPv4 and IPv6 prefixes, each owned by one peer.
//!
//! - Outbound: [`AllowedIps::lookup`] gives the peer of the most specific prefix containing the
//!   destination (a routing table).
//! - Inbound ACL: [`AllowedIps::check_source`] accepts a packet decrypted from peer P with inner source
//!   S only if the *global* lookup of S is P. If A owns `10.0.0.0/8` and B owns `10.1.0.0/16`, A may
//!   not send from `10.1.2.3` even though that address is inside A's prefix.
//! - Explanations for operators: [`AllowedIps::explain_source`], [`AllowedIps::explain_route`],
//!   [`AllowedIps::shadowed`], all with `Display` output.
//!
//! Lookups never lock: they read an immutable [`Snapshot`] published RCU-style through `arc-swap`.
//! Updates are serialized by a mutex, batched in a [`Transaction`], and published atomically.
//!
//! ```
//! use wgxdp_allowedips::{AllowedIps, Prefix};
//!
//! let table = AllowedIps::new();
//! table.insert("10.0.0.0/8".parse::<Prefix>().unwrap(), 'A').unwrap();
//! table.insert("10.1.0.0/16".parse::<Prefix>().unwrap(), 'B').unwrap();
//! assert_eq!(table.lookup("10.1.2.3".parse().unwrap()), Some('B'));
//! assert!(!table.check_source('A', "10.1.2.3".parse().unwrap()));
//! assert!(table.check_source('A', "10.2.0.1".parse().unwrap()));
//! assert_eq!(
//!     table.explain_source('A', "10.1.2.3".parse().unwrap()).to_string(),
//!     "drop: 10.1.2.3 routes to peer B via 10.1.0.0/16 (more specific than peer A's 10.0.0.0/8)",
//! );
//! ```

mod bits;
mod explain;
mod fib;
mod prefix;
mod prefix_set;
mod routes;
mod snapshot;
mod table;
mod writer;

pub use explain::{Route, Shadow, SourceVerdict};
pub use prefix::{Prefix, PrefixError};
pub use snapshot::{Snapshot, SnapshotGuard};
pub use table::{AllowedIps, InsertError, MemoryUsage, Transaction};
