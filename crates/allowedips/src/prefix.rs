//! `Prefix`: an IPv4 or IPv6 network (`10.0.0.0/8`, `fd00::/8`), always stored with its host bits cleared.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use crate::bits::Bits;

/// Why a prefix could not be built or parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrefixError {
    /// The length is longer than the address (over 32 for IPv4, over 128 for IPv6).
    LengthTooLong {
        /// The length that was asked for.
        len: u8,
        /// The longest length the address family allows.
        max: u8,
    },
    /// The part before the `/` is not an IPv4 or IPv6 address.
    BadAddress(String),
    /// The part after the `/` is not a decimal number in 0..=255.
    BadLength(String),
}

impl fmt::Display for PrefixError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::LengthTooLong { len, max } => {
                write!(
                    f,
                    "prefix length /{len} is longer than the address (at most /{max})"
                )
            }
            Self::BadAddress(s) => write!(f, "{s:?} is not an IPv4 or IPv6 address"),
            Self::BadLength(s) => write!(f, "{s:?} is not a prefix length (expected a number)"),
        }
    }
}

impl std::error::Error for PrefixError {}

/// An IP network: an address whose first `len` bits matter.
///
/// Host bits are cleared on construction (`10.1.2.3/8` becomes `10.0.0.0/8`), as WireGuard does for
/// allowed IPs, so two spellings of one network are equal and hash alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Prefix {
    addr: IpAddr,
    len: u8,
}

impl Prefix {
    /// Builds the network of `addr` with `len` significant bits, clearing host bits.
    pub fn new(addr: IpAddr, len: u8) -> Result<Self, PrefixError> {
        match addr {
            IpAddr::V4(a) => Self::from_bits(u32::from(a), len),
            IpAddr::V6(a) => Self::from_bits(u128::from(a), len),
        }
    }

    /// A host route: the address itself, `/32` or `/128`.
    pub fn host(addr: IpAddr) -> Self {
        let len = match addr {
            IpAddr::V4(_) => u32::WIDTH,
            IpAddr::V6(_) => u128::WIDTH,
        };
        Self { addr, len }
    }

    /// The network address (host bits are zero).
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The number of significant leading bits.
    // "len" is the networking term (prefix length); a prefix is not a collection that can be empty.
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> u8 {
        self.len
    }

    /// True for `/0`, the prefix that contains every address of its family.
    pub fn is_default(&self) -> bool {
        self.len == 0
    }

    /// True for IPv4 prefixes.
    pub fn is_ipv4(&self) -> bool {
        self.addr.is_ipv4()
    }

    /// Whether `addr` lies inside this network (always false across address families).
    pub fn contains(&self, addr: IpAddr) -> bool {
        match (self.addr, addr) {
            (IpAddr::V4(n), IpAddr::V4(a)) => u32::from(a).masked(self.len) == u32::from(n),
            (IpAddr::V6(n), IpAddr::V6(a)) => u128::from(a).masked(self.len) == u128::from(n),
            _ => false,
        }
    }

    /// Whether `other` is this network or lies inside it.
    pub fn covers(&self, other: &Prefix) -> bool {
        other.len >= self.len && self.contains(other.addr)
    }

    /// Builds a prefix from raw address bits of one family, clearing host bits.
    pub(crate) fn from_bits<K: Bits>(bits: K, len: u8) -> Result<Self, PrefixError> {
        if len > K::WIDTH {
            return Err(PrefixError::LengthTooLong { len, max: K::WIDTH });
        }
        Ok(Self {
            addr: bits.masked(len).to_ip(),
            len,
        })
    }

    /// Builds a prefix from a key the table already validated (length clamped to the family's width).
    pub(crate) fn from_key<K: Bits>(bits: K, len: u8) -> Self {
        let len = len.min(K::WIDTH);
        Self {
            addr: bits.masked(len).to_ip(),
            len,
        }
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

impl FromStr for Prefix {
    type Err = PrefixError;

    /// Parses `10.0.0.0/8`, `fd00::/8`, or a bare address as a host route (`10.0.0.1` is `10.0.0.1/32`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let (addr_text, len_text) = match s.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (s, None),
        };
        let addr: IpAddr = addr_text
            .parse()
            .map_err(|_| PrefixError::BadAddress(addr_text.to_owned()))?;
        match len_text {
            None => Ok(Self::host(addr)),
            Some(l) => {
                let len: u8 = l
                    .parse()
                    .map_err(|_| PrefixError::BadLength(l.to_owned()))?;
                Self::new(addr, len)
            }
        }
    }
}

impl From<Ipv4Addr> for Prefix {
    /// A `/32` host route.
    fn from(a: Ipv4Addr) -> Self {
        Self::host(IpAddr::V4(a))
    }
}

impl From<Ipv6Addr> for Prefix {
    /// A `/128` host route.
    fn from(a: Ipv6Addr) -> Self {
        Self::host(IpAddr::V6(a))
    }
}
