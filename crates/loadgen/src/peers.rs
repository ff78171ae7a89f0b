//! The emulated peers: a static key each, tunnel addresses inside the DUT's AllowedIPs, and an underlay source
//! address. Keys come from a seed, so the same plan always yields the same peers (the DUT's configuration can be
//! written by one command and loaded by another).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4};

use anyhow::{anyhow, Context, Result};
use rand::rngs::StdRng;
use rand::SeedableRng;
use wgxdp_noise::{LocalStatic, PrivateKey};
use wgxdp_uapi::AllowedIp;

/// Most peers one run emulates.
pub const MAX_PEERS: u32 = 100_000;

/// The family of the inner packets a peer sends and receives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InnerFamily {
    /// IPv4 for every peer.
    V4,
    /// IPv6 for every peer.
    V6,
    /// IPv4 for even peers, IPv6 for odd ones.
    Mixed,
}

impl InnerFamily {
    /// Whether peer `index` uses IPv6.
    pub fn is_v6(self, index: u32) -> bool {
        match self {
            Self::V4 => false,
            Self::V6 => true,
            Self::Mixed => index % 2 == 1,
        }
    }
}

/// What to emulate.
#[derive(Clone, Debug)]
pub struct PeerPlan {
    /// How many peers (1 to [`MAX_PEERS`]).
    pub count: u32,
    /// Peer `i` gets the address `i + 1` inside this IPv4 prefix.
    pub tunnel4: AllowedIp,
    /// Peer `i` gets the address `i + 1` inside this IPv6 prefix.
    pub tunnel6: AllowedIp,
    /// Underlay source addresses (local to the generator's namespace); peer `i` uses `sources[i % len]`.
    pub sources: Vec<Ipv4Addr>,
    /// The UDP port of every peer.
    pub port: u16,
    /// Inner packet family.
    pub family: InnerFamily,
    /// Seed of the peers' static keys.
    pub seed: u64,
}

/// One emulated peer.
pub struct Peer {
    /// Position in the plan.
    pub index: u32,
    /// The peer's static key pair.
    pub local: LocalStatic,
    /// Its IPv4 tunnel address.
    pub tunnel4: Ipv4Addr,
    /// Its IPv6 tunnel address.
    pub tunnel6: Ipv6Addr,
    /// Whether its inner packets are IPv6.
    pub v6: bool,
    /// Where its datagrams come from.
    pub endpoint: SocketAddrV4,
}

impl Peer {
    /// The tunnel address its inner packets use.
    pub fn tunnel_addr(&self) -> IpAddr {
        if self.v6 {
            IpAddr::V6(self.tunnel6)
        } else {
            IpAddr::V4(self.tunnel4)
        }
    }

    /// Its underlay endpoint as a socket address.
    pub fn endpoint(&self) -> SocketAddr {
        SocketAddr::V4(self.endpoint)
    }
}

/// Addresses inside a prefix: the `offset`-th after the prefix's base.
fn nth_v4(prefix: &AllowedIp, offset: u64) -> Result<Ipv4Addr> {
    let IpAddr::V4(base) = prefix.masked().addr() else {
        return Err(anyhow!("{prefix} is not an IPv4 prefix"));
    };
    let size = 1u64 << (32 - u32::from(prefix.cidr()));
    if offset >= size {
        return Err(anyhow!("{prefix} has no room for address number {offset}"));
    }
    Ok(Ipv4Addr::from(u32::from(base).wrapping_add(offset as u32)))
}

fn nth_v6(prefix: &AllowedIp, offset: u64) -> Result<Ipv6Addr> {
    let IpAddr::V6(base) = prefix.masked().addr() else {
        return Err(anyhow!("{prefix} is not an IPv6 prefix"));
    };
    let bits = 128 - u32::from(prefix.cidr());
    if bits < 64 && offset >= 1u64 << bits {
        return Err(anyhow!("{prefix} has no room for address number {offset}"));
    }
    Ok(Ipv6Addr::from(
        u128::from(base).wrapping_add(u128::from(offset)),
    ))
}

/// The `count` addresses of a source prefix, starting after its base: for `--src-net` and `--src-count`.
pub fn source_addresses(prefix: &AllowedIp, count: u32) -> Result<Vec<Ipv4Addr>> {
    (0..count.max(1))
        .map(|i| nth_v4(prefix, u64::from(i) + 1))
        .collect::<Result<_>>()
        .with_context(|| format!("{count} source addresses in {prefix}"))
}

impl PeerPlan {
    /// Checks the plan and builds every peer (key generation runs on all CPUs: it is the slow part).
    pub fn build(&self) -> Result<Vec<Peer>> {
        if self.count == 0 || self.count > MAX_PEERS {
            return Err(anyhow!(
                "{} peers: the load generator emulates 1 to {MAX_PEERS}",
                self.count
            ));
        }
        if self.sources.is_empty() {
            return Err(anyhow!("no underlay source address for the peers"));
        }
        // Check the prefixes can hold every peer before spending time on keys.
        nth_v4(&self.tunnel4, u64::from(self.count))?;
        nth_v6(&self.tunnel6, u64::from(self.count))?;
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let chunk = (self.count as usize).div_ceil(threads);
        let indices: Vec<u32> = (0..self.count).collect();
        std::thread::scope(|scope| {
            let handles: Vec<_> = indices
                .chunks(chunk)
                .map(|part| scope.spawn(move || part.iter().map(|&i| self.peer(i)).collect()))
                .collect();
            let mut peers = Vec::with_capacity(self.count as usize);
            for handle in handles {
                let part: Result<Vec<Peer>> = handle
                    .join()
                    .map_err(|_| anyhow!("key generation panicked"))?;
                peers.extend(part?);
            }
            Ok(peers)
        })
    }

    fn peer(&self, index: u32) -> Result<Peer> {
        // One generator per peer, from the seed and the index: the same peers whatever the thread count.
        let mut rng =
            StdRng::seed_from_u64(self.seed ^ u64::from(index).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let source = self.sources[index as usize % self.sources.len()];
        Ok(Peer {
            index,
            local: LocalStatic::new(PrivateKey::generate(&mut rng)),
            tunnel4: nth_v4(&self.tunnel4, u64::from(index) + 1)?,
            tunnel6: nth_v6(&self.tunnel6, u64::from(index) + 1)?,
            v6: self.family.is_v6(index),
            endpoint: SocketAddrV4::new(source, self.port),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(count: u32) -> PeerPlan {
        PeerPlan {
            count,
            tunnel4: AllowedIp::parse_with_length("100.64.0.0/10").unwrap(),
            tunnel6: AllowedIp::parse_with_length("fd00:64::/64").unwrap(),
            sources: vec![Ipv4Addr::new(198, 18, 64, 1), Ipv4Addr::new(198, 18, 64, 2)],
            port: 51900,
            family: InnerFamily::Mixed,
            seed: 42,
        }
    }

    #[test]
    fn peers_are_deterministic_distinct_and_addressed_in_order() {
        let a = plan(5).build().unwrap();
        let b = plan(5).build().unwrap();
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x.local.public_key(), y.local.public_key());
        }
        assert_ne!(a[0].local.public_key(), a[1].local.public_key());
        assert_eq!(a[0].tunnel4, Ipv4Addr::new(100, 64, 0, 1));
        assert_eq!(a[4].tunnel6, "fd00:64::5".parse::<Ipv6Addr>().unwrap());
        assert!(!a[0].v6 && a[1].v6, "mixed: even IPv4, odd IPv6");
        assert_eq!(a[3].endpoint, "198.18.64.2:51900".parse().unwrap());
    }

    #[test]
    fn bad_plans_are_refused() {
        assert!(plan(0).build().is_err());
        assert!(plan(MAX_PEERS + 1).build().is_err());
        let mut small = plan(300);
        small.tunnel4 = AllowedIp::parse_with_length("100.64.0.0/24").unwrap();
        assert!(small.build().is_err(), "300 peers do not fit a /24");
        let mut none = plan(1);
        none.sources.clear();
        assert!(none.build().is_err());
        let src = AllowedIp::parse_with_length("198.18.64.0/30").unwrap();
        assert_eq!(source_addresses(&src, 3).unwrap().len(), 3);
        assert!(source_addresses(&src, 4).is_err());
    }
}
