//! Line-by-line builder for the body of a `set=1` request.
//!
//! Each `key=value` line is validated as it arrives, so a stream reader only
//! has to hold one line at a time; the `SetRequest` is handed out only once
//! the terminating empty line is seen (all-or-nothing).

use std::net::SocketAddr;
use std::str::FromStr;

use crate::error::{UapiError, ValueError};
use crate::key::{Key, KeyUpdate};
use crate::number::{parse_u16, parse_u32};
use crate::prefix::{AllowedIp, AllowedIpChange};
use crate::request::{PeerChange, SetRequest};

/// Keys allowed before the first `public_key`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum InterfaceKey {
    PrivateKey,
    ListenPort,
    Fwmark,
    ReplacePeers,
}

impl InterfaceKey {
    const ALL: [InterfaceKey; 4] = [
        InterfaceKey::PrivateKey,
        InterfaceKey::ListenPort,
        InterfaceKey::Fwmark,
        InterfaceKey::ReplacePeers,
    ];

    fn name(self) -> &'static str {
        match self {
            InterfaceKey::PrivateKey => "private_key",
            InterfaceKey::ListenPort => "listen_port",
            InterfaceKey::Fwmark => "fwmark",
            InterfaceKey::ReplacePeers => "replace_peers",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// Keys allowed after a `public_key` (besides `public_key` itself).
#[derive(Clone, Copy, PartialEq, Eq)]
enum PeerKey {
    Remove,
    UpdateOnly,
    PresharedKey,
    Endpoint,
    PersistentKeepaliveInterval,
    ReplaceAllowedIps,
    AllowedIp,
    ProtocolVersion,
}

impl PeerKey {
    const ALL: [PeerKey; 8] = [
        PeerKey::Remove,
        PeerKey::UpdateOnly,
        PeerKey::PresharedKey,
        PeerKey::Endpoint,
        PeerKey::PersistentKeepaliveInterval,
        PeerKey::ReplaceAllowedIps,
        PeerKey::AllowedIp,
        PeerKey::ProtocolVersion,
    ];

    fn name(self) -> &'static str {
        match self {
            PeerKey::Remove => "remove",
            PeerKey::UpdateOnly => "update_only",
            PeerKey::PresharedKey => "preshared_key",
            PeerKey::Endpoint => "endpoint",
            PeerKey::PersistentKeepaliveInterval => "persistent_keepalive_interval",
            PeerKey::ReplaceAllowedIps => "replace_allowed_ips",
            PeerKey::AllowedIp => "allowed_ip",
            PeerKey::ProtocolVersion => "protocol_version",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// Splits `key=value` at the first `=`; the value may itself contain `=`.
pub(crate) fn split_line(line: &[u8]) -> Result<(&str, &str), UapiError> {
    let eq = line
        .iter()
        .position(|&b| b == b'=')
        .ok_or(UapiError::MalformedLine)?;
    let text = std::str::from_utf8(line).map_err(|_| UapiError::NotUtf8)?;
    // `eq` indexes an ASCII byte, so it is a char boundary of `text`.
    match (text.get(..eq), text.get(eq + 1..)) {
        (Some(key), Some(value)) => Ok((key, value)),
        _ => Err(UapiError::MalformedLine),
    }
}

/// A `set=1` body being assembled.
#[derive(Default)]
pub(crate) struct SetBuilder {
    request: SetRequest,
    /// Interface keys already seen, by index in `INTERFACE_KEYS`.
    interface_seen: [bool; InterfaceKey::ALL.len()],
    /// The peer block being read, and which of its keys were seen.
    peer: Option<(PeerChange, [bool; PeerKey::ALL.len()])>,
}

impl SetBuilder {
    /// Applies one non-empty body line (without its `\n`).
    pub(crate) fn line(&mut self, line: &[u8]) -> Result<(), UapiError> {
        let (key, value) = split_line(line)?;
        if key == "public_key" {
            let public_key = Key::from_hex(value).map_err(|e| UapiError::InvalidValue {
                key: "public_key",
                reason: ValueError::BadKey(e),
            })?;
            self.flush_peer();
            self.peer = Some((PeerChange::new(public_key), [false; PeerKey::ALL.len()]));
            return Ok(());
        }
        if let Some(which) = InterfaceKey::from_name(key) {
            if self.peer.is_some() {
                return Err(UapiError::InterfaceKeyAfterPeer(which.name()));
            }
            mark_seen(&mut self.interface_seen, which as usize, which.name())?;
            return self.interface_value(which, value);
        }
        if let Some(which) = PeerKey::from_name(key) {
            let Some((peer, seen)) = self.peer.as_mut() else {
                return Err(UapiError::PeerKeyWithoutPeer(which.name()));
            };
            // allowed_ip is a list; every other peer key is a single setting.
            if which != PeerKey::AllowedIp {
                mark_seen(seen, which as usize, which.name())?;
            }
            return peer_value(peer, which, value);
        }
        Err(UapiError::UnknownKey(key.to_owned()))
    }

    /// The finished request, after the terminating empty line.
    pub(crate) fn finish(mut self) -> SetRequest {
        self.flush_peer();
        self.request
    }

    fn flush_peer(&mut self) {
        if let Some((peer, _)) = self.peer.take() {
            self.request.peers.push(peer);
        }
    }

    fn interface_value(&mut self, which: InterfaceKey, value: &str) -> Result<(), UapiError> {
        let invalid = |reason| UapiError::InvalidValue {
            key: which.name(),
            reason,
        };
        match which {
            InterfaceKey::PrivateKey => {
                // An empty value clears the key too (the brief's UAPI
                // semantics); wg itself always sends 64 zeros for that.
                let update = if value.is_empty() {
                    KeyUpdate::Clear
                } else {
                    KeyUpdate::from_key(
                        Key::from_hex(value).map_err(|e| invalid(ValueError::BadKey(e)))?,
                    )
                };
                self.request.private_key = Some(update);
            }
            InterfaceKey::ListenPort => {
                self.request.listen_port =
                    Some(parse_u16(value).ok_or(invalid(ValueError::BadNumber))?);
            }
            InterfaceKey::Fwmark => {
                self.request.fwmark = Some(parse_u32(value).ok_or(invalid(ValueError::BadNumber))?);
            }
            InterfaceKey::ReplacePeers => {
                expect_true(value).map_err(invalid)?;
                self.request.replace_peers = true;
            }
        }
        Ok(())
    }
}

/// Records that `seen[index]` occurred, refusing a second occurrence.
fn mark_seen(seen: &mut [bool], index: usize, name: &'static str) -> Result<(), UapiError> {
    match seen.get_mut(index) {
        Some(flag) if !*flag => {
            *flag = true;
            Ok(())
        }
        _ => Err(UapiError::DuplicateKey(name)),
    }
}

fn expect_true(value: &str) -> Result<(), ValueError> {
    if value == "true" {
        Ok(())
    } else {
        Err(ValueError::NotTrue)
    }
}

fn peer_value(peer: &mut PeerChange, which: PeerKey, value: &str) -> Result<(), UapiError> {
    let invalid = |reason| UapiError::InvalidValue {
        key: which.name(),
        reason,
    };
    match which {
        PeerKey::Remove => {
            expect_true(value).map_err(invalid)?;
            peer.remove = true;
        }
        PeerKey::UpdateOnly => {
            expect_true(value).map_err(invalid)?;
            peer.update_only = true;
        }
        PeerKey::PresharedKey => {
            let psk = Key::from_hex(value).map_err(|e| invalid(ValueError::BadKey(e)))?;
            peer.preshared_key = Some(KeyUpdate::from_key(psk));
        }
        PeerKey::Endpoint => {
            let addr = SocketAddr::from_str(value).map_err(|_| invalid(ValueError::BadEndpoint))?;
            peer.endpoint = Some(addr);
        }
        PeerKey::PersistentKeepaliveInterval => {
            let secs = parse_u16(value).ok_or(invalid(ValueError::BadNumber))?;
            peer.persistent_keepalive_interval = Some(secs);
        }
        PeerKey::ReplaceAllowedIps => {
            expect_true(value).map_err(invalid)?;
            // wireguard-go removes the peer's allowed IPs when it reads this
            // line, including any added earlier in this same block.
            peer.allowed_ips.clear();
            peer.replace_allowed_ips = true;
        }
        PeerKey::AllowedIp => {
            let change = match value.strip_prefix('-') {
                Some(rest) => AllowedIpChange::Remove(parse_prefix(rest).map_err(invalid)?),
                None => AllowedIpChange::Add(parse_prefix(value).map_err(invalid)?),
            };
            peer.allowed_ips.push(change);
        }
        PeerKey::ProtocolVersion => {
            if value != "1" {
                return Err(invalid(ValueError::UnsupportedProtocolVersion));
            }
        }
    }
    Ok(())
}

fn parse_prefix(text: &str) -> Result<AllowedIp, ValueError> {
    AllowedIp::parse_with_length(text).map_err(ValueError::BadPrefix)
}
