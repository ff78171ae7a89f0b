//! Splitting hand-built virtio-net super-packets (no TUN, no root needed).

mod common;

use common::{checksums_valid, parse, tcp_packet, udp_packet};
use std::net::IpAddr;
use wgxdp_io_socket::{
    split_super_packet, SplitError, TunRecvBatch, VirtioNetHdr, VIRTIO_NET_HDR_LEN,
};

const GSO_TCPV4: u8 = 1;
const GSO_TCPV6: u8 = 4;
const GSO_UDP_L4: u8 = 5;
const NEEDS_CSUM: u8 = 1;
const FIN: u8 = 0x01;
const PSH: u8 = 0x08;
const ACK: u8 = 0x10;
const CWR: u8 = 0x80;

fn raw(hdr: VirtioNetHdr, packet: &[u8]) -> Vec<u8> {
    let mut out = vec![0; VIRTIO_NET_HDR_LEN];
    assert!(hdr.encode(&mut out));
    out.extend_from_slice(packet);
    out
}

fn payload(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

/// Splits a TSO packet and checks every segment against what Linux would put on the wire.
fn check_tcp_split(src: IpAddr, dst: IpAddr, gso_type: u8, options: &[u8], gso_size: u16) {
    let data = payload(20_000);
    let seq0 = 0xffff_f000; // wraps during the split
    let packet = tcp_packet(
        src,
        dst,
        seq0,
        ACK | PSH | FIN | CWR,
        options,
        &data,
        0xfffe,
        true,
    );
    let ip_len = if src.is_ipv4() { 20 } else { 40 };
    let hdr = VirtioNetHdr {
        flags: NEEDS_CSUM,
        gso_type,
        // Deliberately bogus (as on the forwarding path): must be recomputed.
        hdr_len: 1_500,
        gso_size,
        csum_start: ip_len,
        csum_offset: 16,
    };
    let mut batch = TunRecvBatch::new(1420);
    let n = split_super_packet(&raw(hdr, &packet), &mut batch).expect("split");
    let expected = data.len().div_ceil(usize::from(gso_size));
    assert_eq!(n, expected);
    assert_eq!(batch.len(), expected);

    let thl = 20 + options.len();
    let mut rebuilt = Vec::new();
    for (i, seg) in batch.iter().enumerate() {
        let remaining = data.len() - i * usize::from(gso_size);
        let chunk = remaining.min(usize::from(gso_size));
        assert_eq!(
            seg.len(),
            usize::from(ip_len) + thl + chunk,
            "segment {i} length"
        );
        let p = parse(seg);
        assert_eq!((p.src, p.dst, p.proto), (src, dst, 6));
        assert!(checksums_valid(seg), "segment {i} checksums");
        if src.is_ipv4() {
            let id = u16::from_be_bytes([seg[4], seg[5]]);
            assert_eq!(id, 0xfffe_u16.wrapping_add(i as u16), "segment {i} IP ID");
        }
        let t = p.transport;
        let seq = u32::from_be_bytes([t[4], t[5], t[6], t[7]]);
        assert_eq!(
            seq,
            seq0.wrapping_add(i as u32 * u32::from(gso_size)),
            "segment {i} seq"
        );
        let flags = t[13];
        let last = i + 1 == expected;
        assert_eq!(flags & (FIN | PSH) != 0, last, "segment {i} FIN/PSH");
        assert_eq!(flags & FIN != 0, last);
        assert_eq!(flags & CWR != 0, i == 0, "segment {i} CWR");
        assert_ne!(flags & ACK, 0);
        assert_eq!(&t[20..thl], options, "options copied");
        rebuilt.extend_from_slice(&t[thl..]);
    }
    assert_eq!(rebuilt, data, "payload reassembles");
}

#[test]
fn tso4_super_packet_is_split_into_valid_segments() {
    // MSS for MTU 1420: 1420 - 20 - 20.
    check_tcp_split(
        "100.64.0.1".parse().unwrap(),
        "100.64.0.2".parse().unwrap(),
        GSO_TCPV4,
        &[],
        1380,
    );
}

#[test]
fn tso6_super_packet_with_tcp_options_is_split() {
    // NOP NOP + timestamp option: 12 bytes, as Linux sends on every segment.
    let options = [1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2];
    check_tcp_split(
        "fd00::1".parse().unwrap(),
        "fd00::2".parse().unwrap(),
        GSO_TCPV6 | 0x80,
        &options,
        // MSS for MTU 1420 with timestamps: 1420 - 40 - 32.
        1348,
    );
}

#[test]
fn uso_super_packet_is_split_into_datagrams() {
    let src: IpAddr = "fd00::1".parse().unwrap();
    let dst: IpAddr = "fd00::2".parse().unwrap();
    let gso_size = 1_200usize;
    let data = payload(5 * gso_size + 77);
    let packet = udp_packet(src, 5000, dst, 6000, &data);
    let hdr = VirtioNetHdr {
        flags: NEEDS_CSUM,
        gso_type: GSO_UDP_L4,
        hdr_len: 48,
        gso_size: gso_size as u16,
        csum_start: 40,
        csum_offset: 6,
    };
    let mut batch = TunRecvBatch::new(1420);
    assert_eq!(split_super_packet(&raw(hdr, &packet), &mut batch), Ok(6));
    for (i, seg) in batch.iter().enumerate() {
        assert!(checksums_valid(seg), "datagram {i}");
        let t = parse(seg).transport;
        assert_eq!(usize::from(u16::from_be_bytes([t[4], t[5]])), t.len());
        let start = i * gso_size;
        let end = (start + gso_size).min(data.len());
        assert_eq!(&t[8..], &data[start..end]);
    }
}

#[test]
fn needs_csum_single_packet_is_completed_in_place() {
    let src: IpAddr = "100.64.0.1".parse().unwrap();
    let dst: IpAddr = "100.64.0.2".parse().unwrap();
    let mut packet = udp_packet(src, 1, dst, 2, b"partial checksum please");
    assert!(checksums_valid(&packet));
    let good = packet.clone();
    // Replace the checksum with the folded pseudo-header sum, as CHECKSUM_PARTIAL does.
    let mut ph = Vec::new();
    ph.extend_from_slice(&packet[12..20]);
    ph.extend_from_slice(&[0, 17]);
    ph.extend_from_slice(&((packet.len() - 20) as u16).to_be_bytes());
    let seed = !common::ones_complement(&[&ph]);
    packet[26..28].copy_from_slice(&seed.to_be_bytes());
    assert!(!checksums_valid(&packet));
    let hdr = VirtioNetHdr {
        flags: NEEDS_CSUM,
        csum_start: 20,
        csum_offset: 6,
        ..VirtioNetHdr::default()
    };
    let mut batch = TunRecvBatch::new(1420);
    assert_eq!(split_super_packet(&raw(hdr, &packet), &mut batch), Ok(1));
    assert_eq!(batch.get(0), Some(&good[..]));
}

#[test]
fn inconsistent_headers_are_rejected() {
    let src: IpAddr = "100.64.0.1".parse().unwrap();
    let dst: IpAddr = "100.64.0.2".parse().unwrap();
    let packet = tcp_packet(src, dst, 1, ACK, &[], &payload(3000), 1, true);
    let good = VirtioNetHdr {
        flags: NEEDS_CSUM,
        gso_type: GSO_TCPV4,
        hdr_len: 40,
        gso_size: 1000,
        csum_start: 20,
        csum_offset: 16,
    };
    let mut batch = TunRecvBatch::new(1420);
    assert_eq!(split_super_packet(&raw(good, &packet), &mut batch), Ok(3));
    let cases = [
        (
            VirtioNetHdr {
                gso_type: GSO_TCPV6,
                ..good
            },
            "TCPv6 type on IPv4",
        ),
        (
            VirtioNetHdr {
                gso_size: 0,
                ..good
            },
            "zero gso_size",
        ),
        (
            VirtioNetHdr {
                csum_start: 24,
                ..good
            },
            "csum_start past IHL",
        ),
        (
            VirtioNetHdr {
                csum_offset: 6,
                ..good
            },
            "UDP offset on TCP",
        ),
        (
            VirtioNetHdr {
                gso_type: 3,
                ..good
            },
            "legacy UFO",
        ),
    ];
    for (hdr, what) in cases {
        assert!(
            split_super_packet(&raw(hdr, &packet), &mut batch).is_err(),
            "{what}"
        );
        assert!(
            batch.is_empty(),
            "{what}: failed split leaves nothing behind"
        );
    }
    // Segments larger than the slots (MTU 576 batch, 1000-byte segments).
    let mut small = TunRecvBatch::new(576);
    assert!(matches!(
        split_super_packet(&raw(good, &packet), &mut small),
        Err(SplitError::SegmentTooLarge { .. })
    ));
    // More segments than slots.
    let mut few = TunRecvBatch::with_segments(1420, 2);
    assert_eq!(
        split_super_packet(&raw(good, &packet), &mut few),
        Err(SplitError::TooManySegments {
            needed: 3,
            available: 2
        })
    );
}

#[test]
fn arbitrary_bytes_never_panic() {
    // xorshift: deterministic garbage, biased towards plausible headers so parsing goes deep.
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut batch = TunRecvBatch::new(1420);
    for round in 0..20_000 {
        let len = (next() % 3000) as usize;
        let mut buf: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        if len > 12 && round % 2 == 0 {
            buf[1] = [0, 1, 4, 5, 0x81][(next() % 5) as usize];
            buf[VIRTIO_NET_HDR_LEN] = if next() % 2 == 0 { 0x45 } else { 0x60 };
            let start: u16 = if next() % 2 == 0 { 20 } else { 40 };
            buf[6..8].copy_from_slice(&start.to_ne_bytes());
            buf[8..10].copy_from_slice(&[16u16, 6][(next() % 2) as usize].to_ne_bytes());
        }
        let _ = split_super_packet(&buf, &mut batch);
        for p in batch.iter() {
            assert!(p.len() <= 65_536);
        }
    }
}
