//! Sans-IO WireGuard protocol core.
//!
//! Nothing in this crate reads a clock, opens a socket, spawns a thread or draws randomness on its own: time
//! (`now`, a [`core::time::Duration`] since an arbitrary monotonic origin chosen by the caller), wall-clock
//! timestamps and random number generators are all passed in, so the whole protocol can be driven under simulated
//! time.

pub mod constants;
pub mod cookie;
pub mod crypto;
pub mod handshake;
pub mod keypair;
pub mod keys;
pub mod replay;
pub mod tai64n;
pub mod timers;
pub mod tunnel;

pub use cookie::{source_bytes, CookieChecker, CookieError, CookieGenerator, MacVerdict};
pub use handshake::{
    identify_initiation, HandshakeError, IdentifiedInitiation, LocalStatic, PeerHandshake,
    SessionKeys,
};
pub use keypair::{Keypair, Opened, TransportError};
pub use keys::{KeyError, PresharedKey, PrivateKey, PublicKey};
pub use replay::ReplayWindow;
pub use tai64n::Tai64N;
pub use timers::{TimerAction, Timers};
pub use tunnel::{Decapsulated, KeypairUpdate, TickOutcome, Tunnel, TunnelError};
