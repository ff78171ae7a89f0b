//! `Endpoint`: a peer address from a config file, possibly a hostname.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr, SocketAddr, SocketAddrV6};
use std::str::FromStr;

use crate::number::{parse_u16, parse_u32};

/// Longest DNS name (RFC 1035), without a trailing dot.
const MAX_HOSTNAME_LEN: usize = 253;

/// A peer endpoint as written in a config file.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// An IP literal with port.
    Addr(SocketAddr),
    /// A hostname and port, left for the daemon to resolve (this crate does
    /// no I/O).
    Host(String, u16),
}

/// Why an endpoint was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndpointError {
    /// `[` without a matching `]`.
    UnclosedBracket,
    /// No `:port` after the host.
    MissingPort,
    /// The port is not a decimal number from 0 to 65535.
    InvalidPort,
    /// The host is neither an IP literal nor a valid DNS name.
    InvalidHost,
}

impl fmt::Display for EndpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EndpointError::UnclosedBracket => "`[` without matching `]`",
            EndpointError::MissingPort => "missing `:port`",
            EndpointError::InvalidPort => "port is not a number from 0 to 65535",
            EndpointError::InvalidHost => "host is neither an IP address nor a DNS name",
        })
    }
}

impl std::error::Error for EndpointError {}

impl FromStr for Endpoint {
    type Err = EndpointError;

    /// Accepts `HOST:PORT` and `[HOST]:PORT`, splitting like wg does: an
    /// unbracketed host ends at the LAST colon (so `fd00::1:51820` is
    /// `fd00::1` port 51820). IPv6 scope ids must be numeric (`%2`).
    fn from_str(text: &str) -> Result<Self, EndpointError> {
        let (host, port) = match text.strip_prefix('[') {
            Some(rest) => {
                let (host, after) = rest.split_once(']').ok_or(EndpointError::UnclosedBracket)?;
                let port = after.strip_prefix(':').ok_or(EndpointError::MissingPort)?;
                (host, port)
            }
            None => text.rsplit_once(':').ok_or(EndpointError::MissingPort)?,
        };
        if port.is_empty() {
            return Err(EndpointError::MissingPort);
        }
        let port = parse_u16(port).ok_or(EndpointError::InvalidPort)?;
        if let Some(ip) = parse_ip_with_scope(host, port) {
            return Ok(Endpoint::Addr(ip));
        }
        if is_hostname(host) {
            return Ok(Endpoint::Host(host.to_owned(), port));
        }
        Err(EndpointError::InvalidHost)
    }
}

/// An IP literal, where IPv6 may carry a numeric `%scope`.
fn parse_ip_with_scope(host: &str, port: u16) -> Option<SocketAddr> {
    if let Ok(ip) = IpAddr::from_str(host) {
        return Some(SocketAddr::new(ip, port));
    }
    let (ip, scope) = host.split_once('%')?;
    let ip = Ipv6Addr::from_str(ip).ok()?;
    let scope = parse_u32(scope)?;
    Some(SocketAddr::V6(SocketAddrV6::new(ip, port, 0, scope)))
}

/// RFC 1123 style name: dot-separated labels of letters, digits, `-` and
/// `_` (seen in the wild), no empty label except an optional final dot.
fn is_hostname(host: &str) -> bool {
    let name = host.strip_suffix('.').unwrap_or(host);
    !name.is_empty()
        && name.len() <= MAX_HOSTNAME_LEN
        && name.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Addr(addr) => write!(f, "{addr}"),
            Endpoint::Host(host, port) => write!(f, "{host}:{port}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(text: &str) -> Endpoint {
        Endpoint::Addr(text.parse().unwrap())
    }

    #[test]
    fn accepted() {
        let cases = [
            ("1.2.3.4:51820", addr("1.2.3.4:51820")),
            ("[fd00::1]:51820", addr("[fd00::1]:51820")),
            ("fd00::1:51820", addr("[fd00::1]:51820")),
            ("[fe80::1%3]:1", addr("[fe80::1%3]:1")),
            (
                "vpn.example.com:51820",
                Endpoint::Host("vpn.example.com".into(), 51820),
            ),
            (
                "[vpn.example.com]:7",
                Endpoint::Host("vpn.example.com".into(), 7),
            ),
            ("localhost:0", Endpoint::Host("localhost".into(), 0)),
            (
                "my_host.lan.:00123",
                Endpoint::Host("my_host.lan.".into(), 123),
            ),
        ];
        for (text, want) in cases {
            assert_eq!(text.parse::<Endpoint>(), Ok(want), "{text}");
        }
    }

    #[test]
    fn rejected() {
        let cases = [
            ("", EndpointError::MissingPort),
            ("1.2.3.4", EndpointError::MissingPort),
            ("1.2.3.4:", EndpointError::MissingPort),
            ("[fd00::1]", EndpointError::MissingPort),
            ("[fd00::1]51820", EndpointError::MissingPort),
            ("[fd00::1:51820", EndpointError::UnclosedBracket),
            ("1.2.3.4:65536", EndpointError::InvalidPort),
            ("1.2.3.4:+1", EndpointError::InvalidPort),
            ("host:http", EndpointError::InvalidPort),
            (":51820", EndpointError::InvalidHost),
            ("bad host:1", EndpointError::InvalidHost),
            ("a..b:1", EndpointError::InvalidHost),
            ("-a.b:1", EndpointError::InvalidHost),
            ("[fe80::1%eth0]:1", EndpointError::InvalidHost),
        ];
        for (text, err) in cases {
            assert_eq!(text.parse::<Endpoint>(), Err(err), "{text}");
        }
    }

    #[test]
    fn display_round_trips() {
        for text in [
            "1.2.3.4:5",
            "[fd00::1]:51820",
            "example.org:1",
            "[fe80::1%3]:1",
        ] {
            let endpoint: Endpoint = text.parse().unwrap();
            assert_eq!(endpoint.to_string().parse::<Endpoint>().unwrap(), endpoint);
        }
    }
}
