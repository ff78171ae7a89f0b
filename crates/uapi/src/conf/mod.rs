//! The `wg setconf` / `wg addconf` / `wg showconf` file format.

mod endpoint;
mod error;
mod parse;
mod showconf;

use std::fmt::Display;
use std::net::SocketAddr;

pub use endpoint::{Endpoint, EndpointError};
pub use error::{ConfigError, ConfigErrorKind, ResolveError};
pub use showconf::write_showconf;

use crate::key::{Key, KeyUpdate};
use crate::prefix::AllowedIpChange;
use crate::request::{PeerChange, SetRequest};

/// A parsed config file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Config {
    /// The `[Interface]` settings (all sections merged, later lines winning).
    pub interface: InterfaceConfig,
    /// One entry per `[Peer]` section, in file order.
    pub peers: Vec<PeerConfig>,
}

/// `[Interface]` settings; `None` where the file says nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InterfaceConfig {
    /// `PrivateKey`.
    pub private_key: Option<Key>,
    /// `ListenPort`.
    pub listen_port: Option<u16>,
    /// `FwMark` (`off` reads as 0).
    pub fwmark: Option<u32>,
}

/// One `[Peer]` section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerConfig {
    /// Line of the `[Peer]` header, for error messages.
    pub line: usize,
    /// `PublicKey`.
    pub public_key: Key,
    /// `PresharedKey`.
    pub preshared_key: Option<Key>,
    /// `AllowedIPs` entries in order; `-PREFIX` entries are removals.
    pub allowed_ips: Vec<AllowedIpChange>,
    /// True unless an `AllowedIPs` entry used the incremental `+`/`-` form;
    /// as in wg, a section without `AllowedIPs` also replaces (clears) them.
    pub replace_allowed_ips: bool,
    /// `Endpoint`.
    pub endpoint: Option<Endpoint>,
    /// `PersistentKeepalive` (`off` reads as 0).
    pub persistent_keepalive: Option<u16>,
}

/// How a config is applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfMode {
    /// `wg setconf`: the file is the whole configuration. Peers not in it
    /// are removed, and a missing `PrivateKey`, `ListenPort` or `FwMark`
    /// resets that setting (no key, any port, no mark).
    Set,
    /// `wg addconf`: only what the file mentions changes.
    Add,
}

impl Config {
    /// Parses config text the way `wg setconf` reads it:
    ///
    /// - `#` starts a comment; then ALL whitespace in a line is removed
    ///   (so `Allowed IPs = a, b` reads as `AllowedIPs=a,b`);
    /// - section headers and keys are case-insensitive;
    /// - keys: `[Interface]` PrivateKey, ListenPort, FwMark;
    ///   `[Peer]` PublicKey (required), PresharedKey, AllowedIPs, Endpoint,
    ///   PersistentKeepalive; a repeated key overrides, except AllowedIPs,
    ///   which appends;
    /// - ListenPort and Endpoint ports must be numeric (wg also takes service
    ///   names from /etc/services, which needs I/O);
    /// - the first error stops parsing and names its line.
    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        parse::parse_config(text)
    }

    /// The `SetRequest` that `wg setconf`/`wg addconf` would send.
    ///
    /// `resolve` turns an [`Endpoint::Host`] into an address (for example
    /// via `std::net::ToSocketAddrs`); it is not called for IP endpoints.
    pub fn to_set_request<R, E>(
        &self,
        mode: ConfMode,
        mut resolve: R,
    ) -> Result<SetRequest, ResolveError>
    where
        R: FnMut(&str, u16) -> Result<SocketAddr, E>,
        E: Display,
    {
        let iface = &self.interface;
        let set_all = mode == ConfMode::Set;
        let mut request = SetRequest {
            private_key: match &iface.private_key {
                Some(key) => Some(KeyUpdate::from_key(key.clone())),
                None if set_all => Some(KeyUpdate::Clear),
                None => None,
            },
            listen_port: iface.listen_port.or(set_all.then_some(0)),
            fwmark: iface.fwmark.or(set_all.then_some(0)),
            replace_peers: set_all,
            peers: Vec::with_capacity(self.peers.len()),
        };
        for peer in &self.peers {
            let endpoint = match &peer.endpoint {
                None => None,
                Some(Endpoint::Addr(addr)) => Some(*addr),
                Some(Endpoint::Host(host, port)) => {
                    Some(resolve(host, *port).map_err(|e| ResolveError {
                        line: peer.line,
                        host: host.clone(),
                        port: *port,
                        reason: e.to_string(),
                    })?)
                }
            };
            let mut change = PeerChange::new(peer.public_key.clone());
            change.preshared_key = peer.preshared_key.clone().map(KeyUpdate::from_key);
            change.endpoint = endpoint;
            change.persistent_keepalive_interval = peer.persistent_keepalive;
            change.replace_allowed_ips = peer.replace_allowed_ips;
            change.allowed_ips = peer.allowed_ips.clone();
            request.peers.push(change);
        }
        Ok(request)
    }
}
