//! Config file text to `Config`, following wireguard-tools' `config.c` rules.

use super::endpoint::Endpoint;
use super::error::{ConfigError, ConfigErrorKind};
use super::{Config, PeerConfig};
use crate::key::Key;
use crate::number::{parse_decimal, parse_hex, parse_u16};
use crate::prefix::{AllowedIp, AllowedIpChange};

/// Keys wg-quick(8) understands and `wg setconf` does not.
const WG_QUICK_KEYS: [&str; 9] = [
    "address",
    "dns",
    "mtu",
    "table",
    "preup",
    "postup",
    "predown",
    "postdown",
    "saveconfig",
];

/// Which section the following lines belong to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Section {
    None,
    Interface,
    Peer,
}

/// A `[Peer]` section before its `PublicKey` is known to exist.
struct PeerDraft {
    line: usize,
    public_key: Option<Key>,
    preshared_key: Option<Key>,
    allowed_ips: Vec<AllowedIpChange>,
    replace_allowed_ips: bool,
    endpoint: Option<Endpoint>,
    persistent_keepalive: Option<u16>,
}

impl PeerDraft {
    fn new(line: usize) -> Self {
        PeerDraft {
            line,
            public_key: None,
            preshared_key: None,
            allowed_ips: Vec::new(),
            // wg sets "replace allowed IPs" on every [Peer] header.
            replace_allowed_ips: true,
            endpoint: None,
            persistent_keepalive: None,
        }
    }

    fn finish(self) -> Result<PeerConfig, ConfigError> {
        let public_key = self.public_key.ok_or(ConfigError {
            line: self.line,
            kind: ConfigErrorKind::MissingPublicKey,
        })?;
        Ok(PeerConfig {
            line: self.line,
            public_key,
            preshared_key: self.preshared_key,
            allowed_ips: self.allowed_ips,
            replace_allowed_ips: self.replace_allowed_ips,
            endpoint: self.endpoint,
            persistent_keepalive: self.persistent_keepalive,
        })
    }
}

/// Removes the comment and every whitespace byte wg's `char_is_space` knows.
fn clean_line(raw: &str) -> String {
    let without_comment = raw.split_once('#').map_or(raw, |(before, _)| before);
    without_comment
        .chars()
        .filter(|c| !matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r'))
        .collect()
}

pub(super) fn parse_config(text: &str) -> Result<Config, ConfigError> {
    let mut config = Config::default();
    let mut section = Section::None;
    let mut peer: Option<PeerDraft> = None;
    for (index, raw) in text.split('\n').enumerate() {
        let line_no = index + 1;
        let at = |kind| ConfigError {
            line: line_no,
            kind,
        };
        let line = clean_line(raw);
        if line.is_empty() {
            continue;
        }
        if line.starts_with('[') {
            if line.eq_ignore_ascii_case("[Interface]") {
                section = Section::Interface;
            } else if line.eq_ignore_ascii_case("[Peer]") {
                section = Section::Peer;
                if let Some(done) = peer.replace(PeerDraft::new(line_no)) {
                    config.peers.push(done.finish()?);
                }
            } else {
                return Err(at(ConfigErrorKind::UnknownSection(line)));
            }
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .ok_or(at(ConfigErrorKind::NotKeyValue))?;
        let lower = key.to_ascii_lowercase();
        if WG_QUICK_KEYS.contains(&lower.as_str()) {
            return Err(at(ConfigErrorKind::WgQuickKey(key.to_owned())));
        }
        let result = match (section, peer.as_mut()) {
            (Section::None, _) => Err(ConfigErrorKind::OutsideSection),
            (Section::Interface, _) => interface_line(&mut config, &lower, key, value),
            (Section::Peer, Some(draft)) => peer_line(draft, &lower, key, value),
            // A Peer section always has a draft; treat the impossible as
            // "outside a section" rather than panicking.
            (Section::Peer, None) => Err(ConfigErrorKind::OutsideSection),
        };
        result.map_err(at)?;
    }
    if let Some(done) = peer {
        config.peers.push(done.finish()?);
    }
    Ok(config)
}

fn interface_line(
    config: &mut Config,
    lower: &str,
    key: &str,
    value: &str,
) -> Result<(), ConfigErrorKind> {
    let iface = &mut config.interface;
    match lower {
        "privatekey" => iface.private_key = Some(parse_key("PrivateKey", value)?),
        "listenport" => {
            non_empty("ListenPort", value)?;
            iface.listen_port = Some(parse_u16(value).ok_or(ConfigErrorKind::InvalidListenPort)?);
        }
        "fwmark" => {
            non_empty("FwMark", value)?;
            iface.fwmark = Some(parse_fwmark(value).ok_or(ConfigErrorKind::InvalidFwMark)?);
        }
        _ => {
            return Err(ConfigErrorKind::UnknownKey {
                section: "Interface",
                key: key.to_owned(),
            })
        }
    }
    Ok(())
}

fn peer_line(
    peer: &mut PeerDraft,
    lower: &str,
    key: &str,
    value: &str,
) -> Result<(), ConfigErrorKind> {
    match lower {
        "publickey" => peer.public_key = Some(parse_key("PublicKey", value)?),
        "presharedkey" => peer.preshared_key = Some(parse_key("PresharedKey", value)?),
        "allowedips" => {
            non_empty("AllowedIPs", value)?;
            parse_allowed_ips(peer, value)?;
        }
        "endpoint" => {
            non_empty("Endpoint", value)?;
            let endpoint = value.parse().map_err(ConfigErrorKind::InvalidEndpoint)?;
            peer.endpoint = Some(endpoint);
        }
        "persistentkeepalive" => {
            non_empty("PersistentKeepalive", value)?;
            let secs = if value.eq_ignore_ascii_case("off") {
                Some(0)
            } else {
                parse_u16(value)
            };
            peer.persistent_keepalive =
                Some(secs.ok_or(ConfigErrorKind::InvalidPersistentKeepalive)?);
        }
        _ => {
            return Err(ConfigErrorKind::UnknownKey {
                section: "Peer",
                key: key.to_owned(),
            })
        }
    }
    Ok(())
}

fn non_empty(key: &'static str, value: &str) -> Result<(), ConfigErrorKind> {
    if value.is_empty() {
        Err(ConfigErrorKind::EmptyValue(key))
    } else {
        Ok(())
    }
}

fn parse_key(name: &'static str, value: &str) -> Result<Key, ConfigErrorKind> {
    non_empty(name, value)?;
    Key::from_base64(value).map_err(|error| ConfigErrorKind::InvalidKey { key: name, error })
}

/// `off`, decimal, or `0x` + hex (lowercase `x` only, as wg checks).
fn parse_fwmark(value: &str) -> Option<u32> {
    if value.eq_ignore_ascii_case("off") {
        return Some(0);
    }
    let max = u64::from(u32::MAX);
    let parsed = match value.strip_prefix("0x") {
        Some(hex) => parse_hex(hex, max),
        None => parse_decimal(value, max),
    };
    parsed.and_then(|v| u32::try_from(v).ok())
}

/// One `AllowedIPs` line: comma-separated prefixes, each optionally marked
/// `+` (add) or `-` (remove). Like wg, the line turns "replace" on and any
/// marked entry turns it off again.
fn parse_allowed_ips(peer: &mut PeerDraft, value: &str) -> Result<(), ConfigErrorKind> {
    peer.replace_allowed_ips = true;
    for entry in value.split(',') {
        let (remove, text) = match entry.as_bytes().first() {
            Some(b'-') => (true, entry.get(1..).unwrap_or_default()),
            Some(b'+') => (false, entry.get(1..).unwrap_or_default()),
            _ => (false, entry),
        };
        if text.len() != entry.len() {
            peer.replace_allowed_ips = false;
        }
        let prefix: AllowedIp =
            text.parse()
                .map_err(|error| ConfigErrorKind::InvalidAllowedIp {
                    entry: entry.to_owned(),
                    error,
                })?;
        peer.allowed_ips.push(if remove {
            AllowedIpChange::Remove(prefix)
        } else {
            AllowedIpChange::Add(prefix)
        });
    }
    Ok(())
}
