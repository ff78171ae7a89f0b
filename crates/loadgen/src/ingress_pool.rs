//! The ingress pool: every transport message of an ingress test, sealed before the timed phase so that sending
//! one costs a copy, not an AEAD.
//!
//! Frames are stored peer by peer (each peer's frames in counter order, sealed by one thread, so the counters a
//! peer sends rise in send order and the DUT's replay window takes them all) and sent interleaved: position `i`
//! of the send order is frame `i / peers` of peer `i % peers`. Each frame is sealed with
//! [`Keypair::seal`](wgxdp_noise::Keypair::seal), which claims the next counter of the peer's keypair atomically:
//! two pools, a keepalive or a pool after a rekey can never get the same counter, and a pool is sent once.
//!
//! Invariant the caller keeps: nothing else is sealed on these keypairs between building a pool and sending it,
//! or the DUT would see a higher counter first and refuse the pool's older ones as replays.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4};
use std::sync::Arc;

use anyhow::{anyhow, Result};
use wgxdp_noise::Keypair;
use wgxdp_wire::wg_layout::{TRANSPORT_HEADER_LEN, TRANSPORT_MIN_LEN};
use wgxdp_wire::{Ipv4UdpSpec, LinkFields, UdpChecksumMode, IPV4_UDP_HEADERS_LEN};

use crate::datagram::{write_packet_at, Flow};
use crate::pacer::Pacer;
use crate::payload::{Payload, FLAG_SAMPLE};
use crate::peers::Peer;

/// Where the load goes and what it looks like.
#[derive(Clone, Copy, Debug)]
pub struct IngressSpec {
    /// Inner IP packet size in bytes.
    pub size: usize,
    /// Transport messages in the pool.
    pub total: u64,
    /// Every `sample_every`-th position is a sample (0: none).
    pub sample_every: u64,
    /// The target rate, for the scheduled timestamps (0: flat out).
    pub rate: u64,
    /// The DUT's tunnel MTU (caps WireGuard's padding).
    pub mtu: usize,
    /// The DUT's underlay endpoint.
    pub dut: SocketAddrV4,
    /// Ethernet addressing towards the DUT.
    pub link: LinkFields,
    /// The sink's LAN addresses (inner destination).
    pub sink4: Ipv4Addr,
    /// The sink's IPv6 LAN address.
    pub sink6: Ipv6Addr,
    /// Inner UDP destination port (the sink's).
    pub sink_port: u16,
    /// Inner UDP source port.
    pub src_port: u16,
}

/// Offset of the inner packet in a frame: outer headers, then the transport header.
const INNER_AT: usize = IPV4_UDP_HEADERS_LEN + TRANSPORT_HEADER_LEN;

/// The inner flow of `peer`'s ingress datagrams.
pub fn ingress_flow(peer: &Peer, spec: &IngressSpec) -> Flow {
    Flow {
        src: peer.tunnel_addr(),
        dst: if peer.v6 {
            spec.sink6.into()
        } else {
            spec.sink4.into()
        },
        src_port: spec.src_port,
        dst_port: spec.sink_port,
    }
}

/// A sealed pool.
pub struct IngressPool {
    frames: Vec<u8>,
    stride: usize,
    frame_len: usize,
    peers: u64,
    per_peer: u64,
    total: u64,
}

/// The length of one sealed frame for an inner packet of `size` bytes.
pub fn frame_len(size: usize, mtu: usize) -> usize {
    IPV4_UDP_HEADERS_LEN + TRANSPORT_MIN_LEN + wgxdp_noise::keypair::padded_length(size, mtu)
}

impl IngressPool {
    /// Bytes a pool of `total` frames of `size`-byte packets takes.
    pub fn bytes_for(size: usize, mtu: usize, total: u64) -> u64 {
        frame_len(size, mtu).next_multiple_of(64) as u64 * total
    }

    /// Seals `spec.total` frames over `active` (peer, session) pairs on `threads` threads.
    pub fn seal(
        spec: &IngressSpec,
        peers: &[Peer],
        active: &[(u32, Arc<Keypair>)],
        threads: usize,
    ) -> Result<Self> {
        if active.is_empty() {
            return Err(anyhow!("no peer has a session: nothing to seal"));
        }
        let frame_len = frame_len(spec.size, spec.mtu);
        let stride = frame_len.next_multiple_of(64);
        let count = active.len() as u64;
        let per_peer = spec.total.div_ceil(count);
        let bytes = usize::try_from(per_peer * count * stride as u64)
            .map_err(|_| anyhow!("the pool does not fit the address space"))?;
        let mut frames = vec![0u8; bytes];
        let threads = threads.max(1);
        let mut shares: Vec<Vec<(usize, &mut [u8])>> = (0..threads).map(|_| Vec::new()).collect();
        for (a, region) in frames.chunks_mut(per_peer as usize * stride).enumerate() {
            shares[a % threads].push((a, region));
        }
        std::thread::scope(|scope| {
            let handles: Vec<_> = shares
                .into_iter()
                .map(|share| {
                    scope.spawn(move || -> Result<()> {
                        for (a, region) in share {
                            let (peer, keypair) = &active[a];
                            let peer = peers
                                .get(*peer as usize)
                                .ok_or_else(|| anyhow!("no peer {peer}"))?;
                            seal_peer(
                                spec, peer, keypair, a as u64, count, region, stride, frame_len,
                            )?;
                        }
                        Ok(())
                    })
                })
                .collect();
            for handle in handles {
                handle
                    .join()
                    .map_err(|_| anyhow!("a sealing thread panicked"))??;
            }
            Ok::<(), anyhow::Error>(())
        })?;
        Ok(Self {
            frames,
            stride,
            frame_len,
            peers: count,
            per_peer,
            total: spec.total,
        })
    }

    /// Frames in the pool.
    pub fn len(&self) -> u64 {
        self.total
    }

    /// Whether the pool holds no frame.
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// Bytes of every frame.
    pub fn frame_len(&self) -> usize {
        self.frame_len
    }

    /// The frame at send position `position` (`None` past the end).
    pub fn frame(&self, position: u64) -> Option<&[u8]> {
        if position >= self.total {
            return None;
        }
        let slot = (position % self.peers) * self.per_peer + position / self.peers;
        let start = usize::try_from(slot).ok()? * self.stride;
        self.frames.get(start..start + self.frame_len)
    }
}

/// Seals every frame of one peer, in counter order.
#[allow(clippy::too_many_arguments)]
fn seal_peer(
    spec: &IngressSpec,
    peer: &Peer,
    keypair: &Keypair,
    a: u64,
    count: u64,
    region: &mut [u8],
    stride: usize,
    frame_len: usize,
) -> Result<()> {
    let flow = ingress_flow(peer, spec);
    let outer = Ipv4UdpSpec {
        link: spec.link,
        src: peer.endpoint,
        dst: spec.dut,
        ttl: 64,
        tos: 0,
        identification: 0,
        dont_fragment: true,
        udp_checksum: UdpChecksumMode::Full,
    };
    for (seq, frame) in region.chunks_mut(stride).enumerate() {
        let position = seq as u64 * count + a;
        if position >= spec.total {
            break;
        }
        let sample = spec.sample_every != 0 && position.is_multiple_of(spec.sample_every);
        let payload = Payload {
            flags: if sample { FLAG_SAMPLE } else { 0 },
            peer: peer.index,
            seq: seq as u32,
            position,
            timestamp: Pacer::schedule_offset_ns(spec.rate, position),
        };
        write_packet_at(frame, INNER_AT, &flow, spec.size, &payload)?;
        let message = keypair
            .seal(&mut frame[IPV4_UDP_HEADERS_LEN..], spec.size, spec.mtu)
            .map_err(|e| anyhow!("sealing for peer {}: {e}", peer.index))?;
        let len = outer
            .emit(frame, message)
            .map_err(|e| anyhow!("outer headers for peer {}: {e}", peer.index))?;
        if len != frame_len {
            return Err(anyhow!("frame of {len} bytes, expected {frame_len}"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::time::Duration;

    use super::*;
    use crate::datagram::check_packet;
    use crate::handshakes::tests::{complete_all, scene, FakeDut};
    use crate::handshakes::Handshakes;
    use wgxdp_wire::{parse_udp_frame, MacAddr, TransportData};

    fn spec(total: u64) -> IngressSpec {
        IngressSpec {
            size: 100,
            total,
            sample_every: 4,
            rate: 1000,
            mtu: 1420,
            dut: "198.18.1.1:51820".parse().unwrap(),
            link: LinkFields {
                src: MacAddr([2, 0, 0, 0, 0, 1]),
                dst: MacAddr([2, 0, 0, 0, 0, 2]),
                vlan_tci: None,
            },
            sink4: "198.19.1.2".parse().unwrap(),
            sink6: "fd00:19:1::2".parse().unwrap(),
            sink_port: 9000,
            src_port: 4000,
        }
    }

    fn active(engine: &Handshakes) -> Vec<(u32, Arc<Keypair>)> {
        (0..engine.peers().len() as u32)
            .map(|p| (p, engine.session(p).expect("session").clone()))
            .collect()
    }

    /// Opens every frame in send order on the DUT's side; returns (receiver, counter) of each.
    fn open_all(
        pool: &IngressPool,
        dut: &FakeDut,
        engine: &Handshakes,
        spec: &IngressSpec,
    ) -> Vec<(u32, u64)> {
        let mut seen = Vec::new();
        for position in 0..pool.len() {
            let mut frame = pool.frame(position).unwrap().to_vec();
            let udp = parse_udp_frame(&frame).expect("outer headers parse");
            assert!(udp.udp_checksum_ok(&frame));
            assert_eq!(udp.dst, spec.dut.into());
            let message = &mut frame[udp.payload.clone()];
            let view = TransportData::new(message).expect("transport message");
            let (receiver, counter) = (view.receiver_index(), view.counter());
            let opened = dut.sessions[&receiver]
                .open(message)
                .expect("opens on the DUT's keypair");
            let peer = (position % engine.peers().len() as u64) as u32;
            let flow = ingress_flow(&engine.peers()[peer as usize], spec);
            let payload =
                check_packet(&message[opened.plaintext], &flow).expect("inner packet intact");
            assert_eq!(payload.position, position);
            assert_eq!(payload.is_sample(), position % 4 == 0);
            assert_eq!(payload.peer, peer);
            seen.push((receiver, counter));
        }
        seen
    }

    #[test]
    fn no_counter_is_reused_across_pools_or_rekeys() {
        let (mut dut, mut engine) = scene(3, 1);
        let mut now = Duration::ZERO;
        engine.request_all();
        complete_all(&mut engine, &mut dut, &mut now);
        let spec = spec(10);
        let mut all = Vec::new();
        for _ in 0..2 {
            let pool = IngressPool::seal(&spec, engine.peers(), &active(&engine), 2).unwrap();
            assert_eq!(pool.len(), 10);
            assert_eq!(pool.frame(10), None);
            all.extend(open_all(&pool, &dut, &engine, &spec));
        }
        // A rekey: new keypairs (new indices); their pools start at counter 1, after the confirming keepalive.
        now += Duration::from_secs(1);
        engine.request_all();
        complete_all(&mut engine, &mut dut, &mut now);
        let pool = IngressPool::seal(&spec, engine.peers(), &active(&engine), 3).unwrap();
        all.extend(open_all(&pool, &dut, &engine, &spec));

        let unique: HashSet<_> = all.iter().collect();
        assert_eq!(
            unique.len(),
            all.len(),
            "a (keypair, counter) pair was sealed twice"
        );
        let receivers: HashSet<u32> = all.iter().map(|(r, _)| *r).collect();
        assert_eq!(
            receivers.len(),
            6,
            "3 peers, one keypair each before and after the rekey"
        );
        // Counters rise in send order for every keypair (the DUT's replay window sees them in order).
        for receiver in receivers {
            let counters: Vec<u64> = all
                .iter()
                .filter(|(r, _)| *r == receiver)
                .map(|(_, c)| *c)
                .collect();
            assert!(counters.windows(2).all(|w| w[0] < w[1]), "{counters:?}");
            assert_eq!(counters[0], 1, "counter 0 was the confirming keepalive");
        }
    }

    #[test]
    fn uneven_totals_seal_only_what_is_sent() {
        let (mut dut, mut engine) = scene(3, 1);
        let mut now = Duration::ZERO;
        engine.request_all();
        complete_all(&mut engine, &mut dut, &mut now);
        let pool = IngressPool::seal(&spec(7), engine.peers(), &active(&engine), 2).unwrap();
        assert_eq!(pool.len(), 7);
        // Peer 0 got positions 0, 3, 6; peers 1 and 2 two each: counters used = frames sealed.
        let used: Vec<u64> = (0..3)
            .map(|p| engine.session(p).unwrap().sending_counter())
            .collect();
        assert_eq!(
            used,
            vec![4, 3, 3],
            "keepalive plus frames sealed, per peer"
        );
        assert_eq!(pool.frame_len(), frame_len(100, 1420));
        assert_eq!(frame_len(100, 1420), 42 + 32 + 112);
        assert!(IngressPool::seal(&spec(7), engine.peers(), &[], 1).is_err());
    }
}
