//! Random prefixes with a realistic length mix, shared by the tests and the benchmark.
#![allow(dead_code)] // each test binary uses a different part of it

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use rand::Rng;
use wgxdp_allowedips::Prefix;

/// IPv4 lengths weighted like a BGP table: mostly /24, many /16-/23, some /8-/15 and /25-/32.
pub fn v4_len(rng: &mut impl Rng) -> u8 {
    match rng.gen_range(0..100) {
        0..=54 => 24,
        55..=84 => rng.gen_range(16..=23),
        85..=91 => rng.gen_range(8..=15),
        _ => rng.gen_range(25..=32),
    }
}

/// IPv6 lengths: mostly /32-/48 allocations, many /64s, some host routes and odd lengths.
pub fn v6_len(rng: &mut impl Rng) -> u8 {
    match rng.gen_range(0..100) {
        0..=39 => 48,
        40..=59 => rng.gen_range(29..=47),
        60..=79 => 64,
        80..=89 => rng.gen_range(49..=63),
        90..=94 => 128,
        _ => rng.gen_range(65..=127),
    }
}

pub fn v4_prefix(rng: &mut impl Rng) -> Prefix {
    let len = v4_len(rng);
    Prefix::new(IpAddr::V4(Ipv4Addr::from(rng.gen::<u32>())), len).unwrap()
}

/// A prefix inside 2000::/3 (global unicast), like a real IPv6 table.
pub fn v6_prefix(rng: &mut impl Rng) -> Prefix {
    let len = v6_len(rng);
    let addr = (1u128 << 125) | (rng.gen::<u128>() >> 3);
    Prefix::new(IpAddr::V6(Ipv6Addr::from(addr)), len).unwrap()
}

/// A random address inside `prefix` (random host bits).
pub fn address_in(rng: &mut impl Rng, prefix: &Prefix) -> IpAddr {
    let len = u32::from(prefix.len());
    match prefix.addr() {
        IpAddr::V4(n) => {
            let host = rng.gen::<u32>().checked_shr(len).unwrap_or(0);
            IpAddr::V4(Ipv4Addr::from(u32::from(n) | host))
        }
        IpAddr::V6(n) => {
            let host = rng.gen::<u128>().checked_shr(len).unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(u128::from(n) | host))
        }
    }
}

/// Lookup keys: half inside random table prefixes (hits, often deep), half uniformly random.
pub fn lookup_keys(rng: &mut impl Rng, prefixes: &[Prefix], count: usize, v6: bool) -> Vec<IpAddr> {
    (0..count)
        .map(|_| match prefixes.is_empty() || rng.gen_bool(0.5) {
            false => {
                let at = rng.gen_range(0..prefixes.len());
                address_in(rng, &prefixes[at])
            }
            true if v6 => IpAddr::V6(Ipv6Addr::from((1u128 << 125) | (rng.gen::<u128>() >> 3))),
            true => IpAddr::V4(Ipv4Addr::from(rng.gen::<u32>())),
        })
        .collect()
}
