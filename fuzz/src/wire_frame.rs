//! Target `wire_frame`: whole Ethernet frames, as the AF_XDP path receives them.
//!
//! First byte even: the rest is a frame from the network; `parse_udp_frame` and every view on the way down must
//! neither panic nor hand out a payload range outside the frame. First byte odd: the rest chooses the fields of
//! a frame that the wire crate's emitters write around a payload; parsing it must give those fields back.

use core::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};

use arbitrary::{Result, Unstructured};
use wgxdp_wire::{
    parse_udp_frame, EthernetFrame, EthernetFrameMut, Ipv4UdpSpec, Ipv6UdpSpec, LinkFields,
    MacAddr, UdpChecksumMode,
};

use crate::views::{ip_views, wg_views};

/// The target's entry point.
pub fn run(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode % 2 == 0 {
        received(rest);
    } else {
        // Running out of bytes ends the case early; that is not a finding.
        let _ = emitted(&mut Unstructured::new(rest));
    }
}

/// A frame from the network.
fn received(frame: &[u8]) {
    if let Ok(ethernet) = EthernetFrame::new(frame) {
        std::hint::black_box((
            ethernet.dst(),
            ethernet.src(),
            ethernet.ethertype(),
            ethernet.vlan_tci(),
        ));
        assert_eq!(
            ethernet.header_len() + ethernet.payload().len(),
            frame.len()
        );
        ip_views(ethernet.payload());
        let mut copy = frame.to_vec();
        let mut writable =
            EthernetFrameMut::new(&mut copy).expect("writable view refuses what the view took");
        writable.set_dst(ethernet.src());
        writable.set_src(ethernet.dst());
        assert_eq!(writable.as_view().dst(), ethernet.src());
        assert_eq!(writable.as_view().payload(), ethernet.payload());
    }
    match parse_udp_frame(frame) {
        Ok(udp) => {
            let payload = frame.get(udp.payload.clone()).unwrap_or_else(|| {
                panic!(
                    "payload {:?} outside a {}-byte frame",
                    udp.payload,
                    frame.len()
                )
            });
            std::hint::black_box(udp.udp_checksum_ok(frame));
            wg_views(payload);
        }
        Err(error) => std::hint::black_box(error.to_string()).clear(),
    }
}

fn link(u: &mut Unstructured<'_>) -> Result<LinkFields> {
    Ok(LinkFields {
        src: MacAddr(u.arbitrary()?),
        dst: MacAddr(u.arbitrary()?),
        vlan_tci: u.arbitrary()?,
    })
}

fn checksum_mode(u: &mut Unstructured<'_>) -> Result<UdpChecksumMode> {
    Ok(*u.choose(&[
        UdpChecksumMode::Full,
        UdpChecksumMode::PseudoHeaderOnly,
        UdpChecksumMode::None,
    ])?)
}

/// A frame the emitters wrote: parsing must return what was written.
fn emitted(u: &mut Unstructured<'_>) -> Result<()> {
    let v6: bool = u.arbitrary()?;
    let link = link(u)?;
    let mode = checksum_mode(u)?;
    let payload_len = u.int_in_range(0..=1600usize)?;
    let fill: u8 = u.arbitrary()?;
    let mut buf = vec![0u8; 80 + payload_len];
    let (emitted, header_len, traffic_class) = if v6 {
        let spec = Ipv6UdpSpec {
            link,
            src: SocketAddrV6::new(Ipv6Addr::from(u.arbitrary::<u128>()?), u.arbitrary()?, 0, 0),
            dst: SocketAddrV6::new(Ipv6Addr::from(u.arbitrary::<u128>()?), u.arbitrary()?, 0, 0),
            hop_limit: u.arbitrary()?,
            traffic_class: u.arbitrary()?,
            flow_label: u.arbitrary()?,
            udp_checksum: mode,
        };
        buf[spec.header_len()..spec.header_len() + payload_len].fill(fill);
        let emitted = spec
            .emit(&mut buf, payload_len)
            .map(|len| (len, spec.src.into(), spec.dst.into()));
        if mode == UdpChecksumMode::None {
            assert!(
                emitted.is_err(),
                "an IPv6 frame without UDP checksum was emitted"
            );
            return Ok(());
        }
        (emitted, spec.header_len(), spec.traffic_class)
    } else {
        let spec = Ipv4UdpSpec {
            link,
            src: SocketAddrV4::new(Ipv4Addr::from(u.arbitrary::<u32>()?), u.arbitrary()?),
            dst: SocketAddrV4::new(Ipv4Addr::from(u.arbitrary::<u32>()?), u.arbitrary()?),
            ttl: u.arbitrary()?,
            tos: u.arbitrary()?,
            identification: u.arbitrary()?,
            dont_fragment: u.arbitrary()?,
            udp_checksum: mode,
        };
        buf[spec.header_len()..spec.header_len() + payload_len].fill(fill);
        let emitted = spec
            .emit(&mut buf, payload_len)
            .map(|len| (len, spec.src.into(), spec.dst.into()));
        (emitted, spec.header_len(), spec.tos)
    };
    let (len, src, dst) = emitted.expect("emitting into a buffer with room failed");
    let frame = &buf[..len];
    let parsed = parse_udp_frame(frame).expect("a frame the emitters wrote does not parse");
    assert_eq!(parsed.src, src);
    assert_eq!(parsed.dst, dst);
    assert_eq!(parsed.payload, header_len..header_len + payload_len);
    assert_eq!(parsed.vlan_id, link.vlan_tci.map(|tci| tci & 0x0fff));
    assert_eq!(parsed.traffic_class, traffic_class);
    if mode != UdpChecksumMode::PseudoHeaderOnly {
        assert!(
            parsed.udp_checksum_ok(frame),
            "the checksum the emitter wrote does not verify"
        );
    }
    received(frame);
    Ok(())
}
