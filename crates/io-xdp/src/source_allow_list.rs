//! The operator's allow-list of source prefixes, enforced in the steering program (`allow_v4`, `allow_v6`: LPM
//! tries). Transport data from a source outside it is passed to the kernel, where the host firewall and the
//! kernel socket see it; it is never dropped by the program. An empty list steers every source.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use aya::maps::lpm_trie::{Key, LpmTrie};
use aya::maps::MapData;
use aya::Ebpf;

use crate::error::{key_absent, Result, XdpError};

/// Entries each family's trie takes (`MAX_ALLOWED_PREFIXES` in the program).
pub const MAX_ALLOWED_PREFIXES: usize = 1024;

/// A source prefix of the allow-list, host bits cleared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SourcePrefix {
    address: IpAddr,
    len: u8,
}

impl SourcePrefix {
    /// `address/len` with the bits past `len` cleared; an error when `len` exceeds 32 (IPv4) or 128 (IPv6).
    pub fn new(address: IpAddr, len: u8) -> Result<Self> {
        let address = match address {
            IpAddr::V4(a) if len <= 32 => {
                let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
                IpAddr::V4(Ipv4Addr::from(u32::from(a) & mask))
            }
            IpAddr::V6(a) if len <= 128 => {
                let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
                IpAddr::V6(Ipv6Addr::from(u128::from(a) & mask))
            }
            _ => {
                return Err(XdpError::InvalidConfig(format!(
                    "source prefix {address}/{len}: the length is larger than the family allows"
                )))
            }
        };
        Ok(Self { address, len })
    }

    /// The network address.
    pub fn address(&self) -> IpAddr {
        self.address
    }

    /// The prefix length.
    pub fn prefix_len(&self) -> u8 {
        self.len
    }
}

impl fmt::Display for SourcePrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.address, self.len)
    }
}

fn trie<'a, K: aya::Pod>(
    ebpf: &'a mut Ebpf,
    name: &'static str,
) -> Result<LpmTrie<&'a mut MapData, K, u8>> {
    let map = ebpf
        .map_mut(name)
        .ok_or(XdpError::MissingObject("an allow-list map"))?;
    LpmTrie::try_from(map).map_err(XdpError::map("opening the source allow-list"))
}

/// Puts every prefix of `prefixes` in the program's tries.
pub(crate) fn fill(ebpf: &mut Ebpf, prefixes: &[SourcePrefix]) -> Result<()> {
    for family_v4 in [true, false] {
        let count = prefixes
            .iter()
            .filter(|p| p.address.is_ipv4() == family_v4)
            .count();
        if count > MAX_ALLOWED_PREFIXES {
            return Err(XdpError::InvalidConfig(format!(
                "{count} IPv{} source prefixes: the allow-list takes at most {MAX_ALLOWED_PREFIXES} per family",
                if family_v4 { 4 } else { 6 }
            )));
        }
    }
    let action = "filling the source allow-list";
    for prefix in prefixes {
        match prefix.address {
            IpAddr::V4(a) => trie::<[u8; 4]>(ebpf, "allow_v4")?
                .insert(&Key::new(u32::from(prefix.len), a.octets()), 1, 0)
                .map_err(XdpError::map(action))?,
            IpAddr::V6(a) => trie::<[u8; 16]>(ebpf, "allow_v6")?
                .insert(&Key::new(u32::from(prefix.len), a.octets()), 1, 0)
                .map_err(XdpError::map(action))?,
        }
    }
    Ok(())
}

/// Whether the program's tries let `source` through (the same longest-prefix lookup the program does).
pub(crate) fn allows(ebpf: &mut Ebpf, source: IpAddr) -> Result<bool> {
    let result = match source {
        IpAddr::V4(a) => trie::<[u8; 4]>(ebpf, "allow_v4")?.get(&Key::new(32, a.octets()), 0),
        IpAddr::V6(a) => trie::<[u8; 16]>(ebpf, "allow_v6")?.get(&Key::new(128, a.octets()), 0),
    };
    match result {
        Ok(_) => Ok(true),
        Err(e) if key_absent(&e) => Ok(false),
        Err(e) => Err(XdpError::map("looking up the source allow-list")(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefix(address: &str, len: u8) -> SourcePrefix {
        SourcePrefix::new(address.parse().unwrap(), len).unwrap()
    }

    #[test]
    fn host_bits_are_cleared_and_lengths_checked() {
        assert_eq!(prefix("198.18.7.9", 16).to_string(), "198.18.0.0/16");
        assert_eq!(prefix("fd00:1:2:3::9", 48).to_string(), "fd00:1:2::/48");
        assert_eq!(prefix("10.1.2.3", 0).to_string(), "0.0.0.0/0");
        assert_eq!(prefix("10.1.2.3", 32).to_string(), "10.1.2.3/32");
        assert!(SourcePrefix::new("10.0.0.0".parse().unwrap(), 33).is_err());
        assert!(SourcePrefix::new("fd00::".parse().unwrap(), 129).is_err());
        assert!(SourcePrefix::new("fd00::".parse().unwrap(), 128).is_ok());
    }
}
