//! `AllowedIp`: an IP prefix such as `10.0.0.0/8` or `fd00::/64`.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use crate::number::parse_decimal;

/// An IP prefix: address plus prefix length.
///
/// The prefix length never exceeds the family maximum (32 or 128); that is
/// checked on construction, which is why the fields are private. The address
/// is kept as written, host bits included (wg only warns about those); use
/// [`AllowedIp::masked`] for the canonical network form.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AllowedIp {
    addr: IpAddr,
    cidr: u8,
}

/// Why a prefix was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrefixError {
    /// The address part is not an IPv4 or IPv6 literal.
    InvalidAddress,
    /// The part after `/` is not a decimal number.
    InvalidPrefixLength,
    /// The prefix length is larger than the family allows.
    PrefixLengthTooLarge {
        /// Length given.
        cidr: u64,
        /// 32 for IPv4, 128 for IPv6.
        max: u8,
    },
}

impl fmt::Display for PrefixError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PrefixError::InvalidAddress => f.write_str("not an IPv4 or IPv6 address"),
            PrefixError::InvalidPrefixLength => f.write_str("prefix length is not a number"),
            PrefixError::PrefixLengthTooLarge { cidr, max } => {
                write!(f, "prefix length {cidr} is larger than {max}")
            }
        }
    }
}

impl std::error::Error for PrefixError {}

/// Largest prefix length for the address family of `addr`.
fn family_max(addr: &IpAddr) -> u8 {
    match addr {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

impl AllowedIp {
    /// A prefix, or an error when `cidr` exceeds the family maximum.
    pub fn new(addr: IpAddr, cidr: u8) -> Result<Self, PrefixError> {
        let max = family_max(&addr);
        if cidr > max {
            return Err(PrefixError::PrefixLengthTooLarge {
                cidr: u64::from(cidr),
                max,
            });
        }
        Ok(AllowedIp { addr, cidr })
    }

    /// A single-host prefix: /32 for IPv4, /128 for IPv6.
    pub fn host(addr: IpAddr) -> Self {
        AllowedIp {
            cidr: family_max(&addr),
            addr,
        }
    }

    /// The address as written (host bits not cleared).
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The prefix length.
    pub fn cidr(&self) -> u8 {
        self.cidr
    }

    /// The same prefix with every bit past `cidr` cleared.
    pub fn masked(&self) -> Self {
        let addr = match self.addr {
            IpAddr::V4(v4) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.cidr)).unwrap_or(0);
                IpAddr::V4(Ipv4Addr::from(u32::from(v4) & mask))
            }
            IpAddr::V6(v6) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.cidr))
                    .unwrap_or(0);
                IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask))
            }
        };
        AllowedIp {
            addr,
            cidr: self.cidr,
        }
    }

    /// True when the address has bits set past the prefix length.
    pub fn has_host_bits(&self) -> bool {
        self.masked().addr != self.addr
    }

    /// Parses `ADDR/CIDR` only, as the UAPI `allowed_ip` key requires
    /// (wireguard-go uses `netip.ParsePrefix`, which needs the `/`).
    pub fn parse_with_length(text: &str) -> Result<Self, PrefixError> {
        match text.split_once('/') {
            Some((addr, cidr)) => Self::from_parts(addr, Some(cidr)),
            None => Err(PrefixError::InvalidPrefixLength),
        }
    }

    fn from_parts(addr: &str, cidr: Option<&str>) -> Result<Self, PrefixError> {
        let addr = IpAddr::from_str(addr).map_err(|_| PrefixError::InvalidAddress)?;
        let Some(cidr) = cidr else {
            return Ok(Self::host(addr));
        };
        // Parse wider than u8 so "/300" reports "too large", not "not a number".
        let value = parse_decimal(cidr, u64::MAX).ok_or(PrefixError::InvalidPrefixLength)?;
        let max = family_max(&addr);
        match u8::try_from(value) {
            Ok(cidr) if cidr <= max => Ok(AllowedIp { addr, cidr }),
            _ => Err(PrefixError::PrefixLengthTooLarge { cidr: value, max }),
        }
    }
}

impl FromStr for AllowedIp {
    type Err = PrefixError;

    /// Parses `ADDR/CIDR` or a bare `ADDR` (meaning /32 or /128).
    fn from_str(text: &str) -> Result<Self, PrefixError> {
        match text.split_once('/') {
            Some((addr, cidr)) => Self::from_parts(addr, Some(cidr)),
            None => Self::from_parts(text, None),
        }
    }
}

impl fmt::Display for AllowedIp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.cidr)
    }
}

/// One allowed-IP edit for a peer, in the order the client sent it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AllowedIpChange {
    /// `allowed_ip=PREFIX`: route this prefix to the peer.
    Add(AllowedIp),
    /// `allowed_ip=-PREFIX`: stop routing this prefix to the peer (wg sends
    /// this for `wg set ... allowed-ips -PREFIX`; it removes the prefix only
    /// if it currently belongs to this peer).
    Remove(AllowedIp),
}

impl AllowedIpChange {
    /// The prefix being added or removed.
    pub fn prefix(&self) -> AllowedIp {
        match self {
            AllowedIpChange::Add(p) | AllowedIpChange::Remove(p) => *p,
        }
    }
}

impl fmt::Display for AllowedIpChange {
    /// The UAPI value form: `PREFIX` or `-PREFIX`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AllowedIpChange::Add(p) => write!(f, "{p}"),
            AllowedIpChange::Remove(p) => write!(f, "-{p}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Result<AllowedIp, PrefixError> {
        text.parse()
    }

    #[test]
    fn parse_and_display() {
        let cases = [
            ("10.0.0.0/8", "10.0.0.0/8"),
            ("10.1.2.3", "10.1.2.3/32"),
            ("fd00::1", "fd00::1/128"),
            ("fd00::/64", "fd00::/64"),
            ("0.0.0.0/0", "0.0.0.0/0"),
            ("::/0", "::/0"),
            ("10.0.0.0/08", "10.0.0.0/8"),
            ("::ffff:1.2.3.4/128", "::ffff:1.2.3.4/128"),
        ];
        for (input, shown) in cases {
            assert_eq!(p(input).unwrap().to_string(), shown, "{input}");
        }
    }

    #[test]
    fn errors() {
        let cases = [
            (
                "10.0.0.0/33",
                PrefixError::PrefixLengthTooLarge { cidr: 33, max: 32 },
            ),
            (
                "fd00::/129",
                PrefixError::PrefixLengthTooLarge {
                    cidr: 129,
                    max: 128,
                },
            ),
            (
                "10.0.0.0/256",
                PrefixError::PrefixLengthTooLarge { cidr: 256, max: 32 },
            ),
            ("10.0.0.0/", PrefixError::InvalidPrefixLength),
            ("10.0.0.0/+8", PrefixError::InvalidPrefixLength),
            ("10.0.0.0/8/8", PrefixError::InvalidPrefixLength),
            ("10.0.0/8", PrefixError::InvalidAddress),
            ("", PrefixError::InvalidAddress),
            ("/8", PrefixError::InvalidAddress),
            ("fe80::1%eth0/64", PrefixError::InvalidAddress),
            ("example.com/8", PrefixError::InvalidAddress),
        ];
        for (input, err) in cases {
            assert_eq!(p(input), Err(err), "{input}");
        }
        assert_eq!(
            AllowedIp::parse_with_length("10.0.0.1"),
            Err(PrefixError::InvalidPrefixLength)
        );
        assert!(AllowedIp::new("10.0.0.0".parse().unwrap(), 33).is_err());
    }

    #[test]
    fn masking() {
        let a = p("10.1.2.3/8").unwrap();
        assert!(a.has_host_bits());
        assert_eq!(a.masked(), p("10.0.0.0/8").unwrap());
        assert_eq!(p("1.2.3.4/0").unwrap().masked(), p("0.0.0.0/0").unwrap());
        assert_eq!(p("fd00::1/64").unwrap().masked(), p("fd00::/64").unwrap());
        assert!(!p("fd00::1/128").unwrap().has_host_bits());
        assert_eq!(p("::1/0").unwrap().masked(), p("::/0").unwrap());
    }
}
