//! The seed's case: the gateway gives peer B 100.64.0.0/16 and peer C 100.64.9.0/24. B's packets from
//! 100.64.1.1 arrive; from 100.64.9.9 they are dropped as ACL drops, and `explain` says why.

mod common;

use common::{hex, ipv4, Net};
use wgxdp_device::{DropReason, Inbound};

const GW: usize = 0;
const B: usize = 1;
const C: usize = 2;

fn seed_net() -> Net {
    let mut net = Net::new(3);
    net.configure(GW, &[(B, &["100.64.0.0/16"]), (C, &["100.64.9.0/24"])]);
    net.configure(B, &[(GW, &["0.0.0.0/0"])]);
    net.configure(C, &[(GW, &["0.0.0.0/0"])]);
    net
}

#[test]
fn more_specific_prefix_of_another_peer_wins_the_acl() {
    let mut net = seed_net();
    let ok = ipv4("100.64.1.1", "10.0.0.1", 10);
    net.ping(B, &ok);
    assert_eq!(net.nodes[GW].tun, vec![ok]);

    net.send_tun(B, &ipv4("100.64.9.9", "10.0.0.1", 10));
    let d = net.wire.pop_front().unwrap();
    assert_eq!(net.deliver(d), Some(Inbound::Dropped(DropReason::Acl)));
    assert_eq!(net.nodes[GW].tun.len(), 1);
    assert_eq!(net.nodes[GW].dev.counters().dropped(DropReason::Acl), 1);

    // C may send from its /24.
    let from_c = ipv4("100.64.9.9", "10.0.0.1", 10);
    net.ping(C, &from_c);
    assert_eq!(net.nodes[GW].tun.last(), Some(&from_c));
}

#[test]
fn explain_names_peer_c_and_its_prefix() {
    let net = seed_net();
    let b = net.nodes[B].public.to_base64();
    let c = net.nodes[C].public.to_base64();
    let gw = &net.nodes[GW].dev;

    let text = gw
        .explain_address("100.64.9.9".parse().unwrap())
        .to_string();
    assert!(text.contains(&c), "{text}");
    assert!(text.contains("100.64.9.0/24"), "{text}");
    assert!(
        text.contains(&format!("accepted only from peer {c}")),
        "{text}"
    );
    assert!(text.contains(&format!("from peer {b}: drop")), "{text}");
    assert!(text.contains("100.64.0.0/16"), "{text}");

    let text = gw
        .explain_address("100.64.1.1".parse().unwrap())
        .to_string();
    assert!(
        text.contains(&format!("routes to peer {b} via 100.64.0.0/16")),
        "{text}"
    );
    assert!(text.contains("1 other peer"), "{text}");

    let text = gw
        .explain_address("192.168.1.1".parse().unwrap())
        .to_string();
    assert!(text.contains("no route"), "{text}");
    assert!(text.contains("dropped from every peer"), "{text}");

    let peer_b = gw.explain_peer(&net.nodes[B].public).unwrap();
    assert_eq!(peer_b.shadowed.len(), 1);
    let text = peer_b.to_string();
    assert!(text.contains("partly shadowed"), "{text}");
    assert!(
        text.contains(&c) && text.contains("100.64.9.0/24"),
        "{text}"
    );
    assert!(
        text.contains(&format!("(endpoint {})", net.nodes[B].addr)),
        "{text}"
    );

    let peer_c = gw.explain_peer(&net.nodes[C].public).unwrap();
    assert!(peer_c.shadowed.is_empty());
    assert_eq!(peer_c.shadows_others.len(), 1);
    assert!(peer_c
        .to_string()
        .contains("takes over part of another peer's range"));

    assert_eq!(gw.explain_all().len(), 2);
    assert!(gw.explain_peer(&net.nodes[GW].public).is_none());
}

#[test]
fn applying_a_shadowing_config_warns() {
    let mut net = Net::new(3);
    let outcome = net.set(
        GW,
        &format!(
            "private_key={}\npublic_key={}\nallowed_ip=100.64.0.0/16\npublic_key={}\nallowed_ip=100.64.9.0/24\n",
            hex(&net.nodes[GW].private),
            hex(net.nodes[B].public.as_bytes()),
            hex(net.nodes[C].public.as_bytes()),
        ),
    );
    assert_eq!(outcome.warnings.len(), 1, "{:?}", outcome.warnings);
    assert!(outcome.warnings[0].contains("100.64.9.0/24"));
    assert!(outcome.warnings[0].contains(&net.nodes[C].public.to_base64()));
    // Removing C's prefix clears the warning.
    let outcome = net.set(
        GW,
        &format!(
            "public_key={}\nallowed_ip=-100.64.9.0/24\n",
            hex(net.nodes[C].public.as_bytes())
        ),
    );
    assert!(outcome.warnings.is_empty(), "{:?}", outcome.warnings);
}
