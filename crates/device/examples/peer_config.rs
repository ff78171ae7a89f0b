//! Writes `COUNT` `[Peer]` sections in the `wg setconf` format to stdout, each with a fresh X25519 key pair's
//! public key, one /32 and an endpoint, for the scale benchmark (`bench/scale.sh`) and the scale test
//! (`tests/netns/t_scale.sh`). Much faster than one `wg genkey | wg pubkey` pair of processes per peer.
//!
//! Usage: `peer_config COUNT [FIRST]`: peer i (from 0) gets AllowedIPs 100.64.0.0 + FIRST + i (FIRST defaults to
//! 16, leaving the first addresses to real peers) and an endpoint in 198.19.0.0/16, which nothing answers on.

use std::io::{BufWriter, Write};
use std::net::Ipv4Addr;

use rand::RngCore;
use wgxdp_noise::PrivateKey;

fn main() {
    let mut args = std::env::args().skip(1);
    let count: Option<u32> = args.next().and_then(|a| a.parse().ok());
    let first: Option<u32> = match args.next() {
        None => Some(16),
        Some(a) => a.parse().ok(),
    };
    let (Some(count), Some(first)) = (count, first) else {
        eprintln!("usage: peer_config COUNT [FIRST]");
        std::process::exit(2);
    };
    // 100.64.0.0/10 holds 2^22 addresses.
    if u64::from(count) + u64::from(first) > 1 << 22 {
        eprintln!("peer_config: {count} peers from {first} do not fit in 100.64.0.0/10");
        std::process::exit(2);
    }
    let mut rng = rand::rngs::OsRng;
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    for i in 0..count {
        let mut private = [0u8; 32];
        rng.fill_bytes(&mut private);
        let public = PrivateKey::from_bytes(private).public_key();
        let address = Ipv4Addr::from(0x6440_0000 + first + i);
        let endpoint = Ipv4Addr::from(0xc613_0000 + (i % 65_000) + 1);
        let port = 1024 + i / 65_000;
        let written = writeln!(
            out,
            "[Peer]\nPublicKey = {}\nAllowedIPs = {address}/32\nEndpoint = {endpoint}:{port}\n",
            public.to_base64()
        );
        if written.is_err() {
            // The reader went away (e.g. `head`): nothing more to say.
            return;
        }
    }
    if let Err(e) = out.flush() {
        eprintln!("peer_config: {e}");
        std::process::exit(1);
    }
}
