//! The egress load: plaintext frames into the DUT's LAN side, one template per peer (addressed to the peer's
//! tunnel address, so the DUT routes it into that peer's session). Sending one is a copy of the template and a
//! patch of the payload's seq, position and send timestamp, with the UDP checksum updated incrementally: no AEAD
//! and no pool, since nothing is sealed on this side.

use std::net::{Ipv4Addr, Ipv6Addr};

use anyhow::{anyhow, Result};
use wgxdp_wire::checksum::update_bytes;
use wgxdp_wire::ethernet::ETHERNET_HEADER_LEN;
use wgxdp_wire::ipv4::IPV4_HEADER_LEN;
use wgxdp_wire::ipv6::IPV6_HEADER_LEN;
use wgxdp_wire::udp::UDP_HEADER_LEN;
use wgxdp_wire::LinkFields;

use crate::datagram::{write_frame, Flow};
use crate::payload::{Payload, PAYLOAD_LEN, SEND_FIELDS};
use crate::peers::Peer;

/// Where the load comes from.
#[derive(Clone, Copy, Debug)]
pub struct EgressSpec {
    /// Inner IP packet size.
    pub size: usize,
    /// Ethernet addressing towards the DUT's LAN interface.
    pub link: LinkFields,
    /// The sink's LAN addresses (the source of the plaintext).
    pub sink4: Ipv4Addr,
    /// The sink's IPv6 LAN address.
    pub sink6: Ipv6Addr,
    /// UDP source port of the plaintext.
    pub src_port: u16,
    /// UDP destination port (on the peers' tunnel addresses).
    pub dst_port: u16,
}

/// The plaintext flow towards `peer`.
pub fn egress_flow(peer: &Peer, spec: &EgressSpec) -> Flow {
    Flow {
        src: if peer.v6 {
            spec.sink6.into()
        } else {
            spec.sink4.into()
        },
        dst: peer.tunnel_addr(),
        src_port: spec.src_port,
        dst_port: spec.dst_port,
    }
}

/// One template per active peer.
pub struct EgressFrames {
    templates: Vec<u8>,
    /// Offset of the UDP header in each template (depends on the family).
    udp_at: Vec<usize>,
    peers: Vec<u32>,
    frame_len: usize,
    next_seq: Vec<u32>,
}

impl EgressFrames {
    /// Templates for `active` peers.
    pub fn new(spec: &EgressSpec, peers: &[Peer], active: &[u32]) -> Result<Self> {
        if active.is_empty() {
            return Err(anyhow!("no peer has a session: nothing to send"));
        }
        let frame_len = ETHERNET_HEADER_LEN + spec.size;
        let mut templates = vec![0u8; frame_len * active.len()];
        let mut udp_at = Vec::with_capacity(active.len());
        for (frame, &index) in templates.chunks_mut(frame_len).zip(active) {
            let peer = peers
                .get(index as usize)
                .ok_or_else(|| anyhow!("no peer {index}"))?;
            let payload = Payload {
                flags: 0,
                peer: index,
                seq: 0,
                position: 0,
                timestamp: 0,
            };
            write_frame(
                frame,
                spec.link,
                &egress_flow(peer, spec),
                spec.size,
                &payload,
            )?;
            let ip = if peer.v6 {
                IPV6_HEADER_LEN
            } else {
                IPV4_HEADER_LEN
            };
            udp_at.push(ETHERNET_HEADER_LEN + ip);
        }
        Ok(Self {
            templates,
            udp_at,
            peers: active.to_vec(),
            frame_len,
            next_seq: vec![0; active.len()],
        })
    }

    /// Bytes of every frame.
    pub fn frame_len(&self) -> usize {
        self.frame_len
    }

    /// Writes the frame of send position `position` into `out` with its send time; returns its length.
    pub fn write(&mut self, position: u64, timestamp: u64, out: &mut [u8]) -> Option<usize> {
        let a = (position % self.peers.len() as u64) as usize;
        let start = a * self.frame_len;
        let template = self.templates.get(start..start + self.frame_len)?;
        let frame = out.get_mut(..self.frame_len)?;
        frame.copy_from_slice(template);
        let seq = self.next_seq.get_mut(a)?;
        let payload = Payload {
            flags: 0,
            peer: self.peers[a],
            seq: *seq,
            position,
            timestamp,
        };
        *seq = seq.wrapping_add(1);
        let udp_at = *self.udp_at.get(a)?;
        let head_at = udp_at + UDP_HEADER_LEN;
        let head: &mut [u8; PAYLOAD_LEN] = frame
            .get_mut(head_at..head_at + PAYLOAD_LEN)?
            .try_into()
            .ok()?;
        payload.write_send_fields(head);
        let old = template.get(head_at + SEND_FIELDS.start..head_at + SEND_FIELDS.end)?;
        let new = frame.get(head_at + SEND_FIELDS.start..head_at + SEND_FIELDS.end)?;
        let checksum = u16::from_be_bytes([frame[udp_at + 6], frame[udp_at + 7]]);
        // One's complement has two zeros; 0 on the wire means "no checksum", so the other one is sent.
        let updated = match update_bytes(checksum, old, new) {
            0 => 0xffff,
            sum => sum,
        };
        frame[udp_at + 6..udp_at + 8].copy_from_slice(&updated.to_be_bytes());
        Some(self.frame_len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datagram::check_packet;
    use crate::handshakes::tests::peers;
    use crate::peers::{InnerFamily, PeerPlan};
    use wgxdp_uapi::AllowedIp;
    use wgxdp_wire::MacAddr;

    fn spec(size: usize) -> EgressSpec {
        EgressSpec {
            size,
            link: LinkFields {
                src: MacAddr([2, 0, 0, 0, 0, 3]),
                dst: MacAddr([2, 0, 0, 0, 0, 4]),
                vlan_tci: None,
            },
            sink4: "198.19.1.2".parse().unwrap(),
            sink6: "fd00:19:1::2".parse().unwrap(),
            src_port: 9001,
            dst_port: 4000,
        }
    }

    #[test]
    fn every_frame_is_a_correct_datagram_with_its_send_fields() {
        let mixed = PeerPlan {
            count: 4,
            tunnel4: AllowedIp::parse_with_length("100.64.0.0/10").unwrap(),
            tunnel6: AllowedIp::parse_with_length("fd00:64::/64").unwrap(),
            sources: vec!["198.18.64.1".parse().unwrap()],
            port: 51900,
            family: InnerFamily::Mixed,
            seed: 8,
        }
        .build()
        .unwrap();
        for size in [80, 512, 1420] {
            let spec = spec(size);
            let mut frames = EgressFrames::new(&spec, &mixed, &[0, 1, 3]).unwrap();
            let mut out = vec![0u8; 2048];
            for position in 0..1000u64 {
                let timestamp = position * 1_000_003 + 0xffff_0000;
                let len = frames.write(position, timestamp, &mut out).unwrap();
                assert_eq!(len, size + 14);
                let peer = [0u32, 1, 3][(position % 3) as usize];
                let flow = egress_flow(&mixed[peer as usize], &spec);
                let payload = check_packet(&out[14..len], &flow)
                    .unwrap_or_else(|d| panic!("position {position}: {d:?}"));
                assert_eq!(payload.peer, peer);
                assert_eq!(u64::from(payload.seq), position / 3);
                assert_eq!(payload.position, position);
                assert_eq!(payload.timestamp, timestamp);
            }
        }
    }

    #[test]
    fn nothing_to_send_without_peers() {
        assert!(EgressFrames::new(&spec(100), &peers(1), &[]).is_err());
        assert!(EgressFrames::new(&spec(100), &peers(1), &[5]).is_err());
    }
}
