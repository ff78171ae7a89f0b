//! Every checked view of the wire crate over the same bytes, every accessor called: the views promise never to
//! panic whatever the input, and what their accessors return must agree with the bytes they were built from.

use wgxdp_wire::ipv6_ext::upper_layer;
use wgxdp_wire::{
    inner_packet, message_type, CookieReply, CookieReplyMut, HandshakeInitiation,
    HandshakeInitiationMut, HandshakeResponse, HandshakeResponseMut, Ipv4Packet, Ipv4PacketMut,
    Ipv6Packet, Ipv6PacketMut, TransportData, TransportDataMut, UdpDatagram, UdpDatagramMut,
    WgMessage,
};

/// Consumes a value so the optimiser keeps the call that made it.
fn keep<T>(value: T) {
    std::hint::black_box(value);
}

/// IPv4, IPv6 (with its extension headers), UDP and the inner-packet parse, read-only and writable.
pub fn ip_views(bytes: &[u8]) {
    if let Ok(inner) = inner_packet(bytes) {
        assert!(
            inner.len <= bytes.len(),
            "inner packet longer than its buffer: {inner:?}"
        );
        assert!(inner.len > 0, "inner packet of length 0: {inner:?}");
    }
    if let Ok(ip) = Ipv4Packet::new(bytes) {
        keep((
            ip.version(),
            ip.header_len(),
            ip.tos(),
            ip.ecn(),
            ip.total_len(),
        ));
        keep((ip.identification(), ip.dont_fragment(), ip.more_fragments()));
        keep((
            ip.fragment_offset(),
            ip.is_fragment(),
            ip.ttl(),
            ip.protocol(),
        ));
        keep((ip.checksum(), ip.checksum_ok(), ip.src(), ip.dst()));
        assert_eq!(ip.header_len() + ip.payload().len(), ip.total_len());
        assert_eq!(ip.options().len(), ip.header_len() - 20);
        udp_views(ip.payload());
        let mut copy = bytes.to_vec();
        let mut writable =
            Ipv4PacketMut::new(&mut copy).expect("writable view refuses what the view took");
        writable.set_ttl(ip.ttl().wrapping_sub(1));
        writable.fill_checksum();
        assert!(
            writable.as_view().checksum_ok(),
            "checksum just filled does not verify"
        );
        assert_eq!(writable.as_view().ttl(), ip.ttl().wrapping_sub(1));
    }
    if let Ok(ip) = Ipv6Packet::new(bytes) {
        keep((
            ip.version(),
            ip.traffic_class(),
            ip.ecn(),
            ip.flow_label(),
            ip.payload_len(),
        ));
        keep((
            ip.total_len(),
            ip.next_header(),
            ip.hop_limit(),
            ip.src(),
            ip.dst(),
        ));
        keep(ip.fragment_header_follows());
        assert_eq!(ip.payload().len(), ip.payload_len());
        if let Ok(upper) = ip.upper_layer() {
            keep((upper.protocol, upper.is_fragment(), upper.fragment));
            assert!(upper.payload.len() <= ip.payload().len());
            udp_views(upper.payload);
        }
        let mut copy = bytes.to_vec();
        let mut writable =
            Ipv6PacketMut::new(&mut copy).expect("writable view refuses what the view took");
        writable.set_flow_label(ip.flow_label() ^ 0x5_5555);
        writable.set_hop_limit(ip.hop_limit() ^ 1);
        assert_eq!(
            writable.as_view().flow_label(),
            (ip.flow_label() ^ 0x5_5555) & 0xf_ffff
        );
        assert_eq!(writable.as_view().hop_limit(), ip.hop_limit() ^ 1);
        assert_eq!(writable.as_view().src(), ip.src());
    }
    // The extension-header walk on its own, from any starting header.
    if let Some((&next, rest)) = bytes.split_first() {
        if let Ok(upper) = upper_layer(next, rest) {
            assert!(upper.payload.len() <= rest.len());
        }
    }
}

/// The UDP view, read-only and writable.
pub fn udp_views(bytes: &[u8]) {
    if let Ok(udp) = UdpDatagram::new(bytes) {
        keep((udp.src_port(), udp.dst_port(), udp.checksum()));
        assert_eq!(udp.datagram_len(), udp.payload().len() + 8);
        let mut copy = bytes.to_vec();
        let mut writable =
            UdpDatagramMut::new(&mut copy).expect("writable view refuses what the view took");
        writable.set_src_port(udp.dst_port());
        writable.set_dst_port(udp.src_port());
        assert_eq!(writable.as_view().src_port(), udp.dst_port());
        assert_eq!(writable.as_view().payload(), udp.payload());
        wg_views(udp.payload());
    }
}

/// The four WireGuard messages: the dispatching parse and each fixed view, read-only and writable.
pub fn wg_views(bytes: &[u8]) {
    let kind = message_type(bytes).ok();
    match WgMessage::parse(bytes) {
        Ok(message) => assert_eq!(kind, Some(message.message_type())),
        Err(error) => keep(error.to_string()),
    }
    if let Ok(init) = HandshakeInitiation::new(bytes) {
        keep((
            init.sender_index(),
            init.ephemeral(),
            init.encrypted_static(),
        ));
        keep((init.encrypted_timestamp(), init.mac1(), init.mac2()));
        assert_eq!(init.mac1_input().len(), 116);
        assert_eq!(init.mac2_input().len(), 132);
        let mut copy = bytes.to_vec();
        let mut writable = HandshakeInitiationMut::new(&mut copy).expect("writable view");
        writable.set_sender_index(!init.sender_index());
        writable.set_mac2(&[0xa5; 16]);
        assert_eq!(writable.as_view().sender_index(), !init.sender_index());
        assert_eq!(writable.as_view().mac1(), init.mac1());
    }
    if let Ok(response) = HandshakeResponse::new(bytes) {
        keep((
            response.sender_index(),
            response.receiver_index(),
            response.ephemeral(),
        ));
        keep((response.encrypted_empty(), response.mac1(), response.mac2()));
        assert_eq!(response.mac1_input().len(), 60);
        assert_eq!(response.mac2_input().len(), 76);
        let mut copy = bytes.to_vec();
        let mut writable = HandshakeResponseMut::new(&mut copy).expect("writable view");
        writable.set_receiver_index(!response.receiver_index());
        assert_eq!(
            writable.as_view().receiver_index(),
            !response.receiver_index()
        );
        assert_eq!(writable.as_view().sender_index(), response.sender_index());
    }
    if let Ok(reply) = CookieReply::new(bytes) {
        keep((
            reply.receiver_index(),
            reply.nonce(),
            reply.encrypted_cookie(),
        ));
        let mut copy = bytes.to_vec();
        let mut writable = CookieReplyMut::new(&mut copy).expect("writable view");
        writable.set_nonce(&[7; 24]);
        assert_eq!(writable.as_view().nonce(), &[7; 24]);
        assert_eq!(writable.as_view().receiver_index(), reply.receiver_index());
    }
    if let Ok(transport) = TransportData::new(bytes) {
        keep((
            transport.receiver_index(),
            transport.counter(),
            transport.tag(),
        ));
        assert_eq!(
            transport.ciphertext().len() + 32,
            transport.as_bytes().len()
        );
        let mut copy = bytes.to_vec();
        let mut writable = TransportDataMut::new(&mut copy).expect("writable view");
        writable.set_counter(transport.counter().wrapping_add(1));
        writable.set_receiver_index(transport.receiver_index() ^ 1);
        let body_len = writable.body_mut().len();
        assert_eq!(body_len, transport.as_bytes().len() - 16);
        let reread = TransportData::new(&copy).expect("edited message still a transport message");
        assert_eq!(reread.counter(), transport.counter().wrapping_add(1));
        assert_eq!(reread.receiver_index(), transport.receiver_index() ^ 1);
    }
}
