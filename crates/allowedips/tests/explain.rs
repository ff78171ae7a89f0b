//! Explanations: source verdicts, routes and shadowed prefixes, including their operator-facing text.

use std::net::IpAddr;

use wgxdp_allowedips::{AllowedIps, Prefix, SourceVerdict};

fn p(s: &str) -> Prefix {
    s.parse().unwrap()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn table(entries: &[(&str, char)]) -> AllowedIps<char> {
    let t = AllowedIps::new();
    t.apply(|t| {
        for &(prefix, peer) in entries {
            t.insert(p(prefix), peer).unwrap();
        }
    });
    t
}

#[test]
fn source_verdicts_say_why() {
    let t = table(&[
        ("10.0.0.0/8", 'A'),
        ("10.1.0.0/16", 'B'),
        ("192.168.0.0/16", 'B'),
    ]);
    let cases: &[(char, &str, bool, &str)] = &[
        ('A', "10.2.0.1", true, "accept: 10.2.0.1 from peer A is inside its allowed IP 10.0.0.0/8"),
        (
            'A',
            "10.1.2.3",
            false,
            "drop: 10.1.2.3 routes to peer B via 10.1.0.0/16 (more specific than peer A's 10.0.0.0/8)",
        ),
        (
            'A',
            "192.168.1.1",
            false,
            "drop: 192.168.1.1 routes to peer B via 192.168.0.0/16; peer A has no allowed IP containing it",
        ),
        ('A', "172.16.0.1", false, "drop: 172.16.0.1 from peer A: no peer's allowed IPs contain it"),
        ('C', "10.2.0.1", false, "drop: 10.2.0.1 routes to peer A via 10.0.0.0/8; peer C has no allowed IP containing it"),
    ];
    for &(peer, source, accept, text) in cases {
        let verdict = t.explain_source(peer, ip(source));
        assert_eq!(verdict.is_accept(), accept, "{text}");
        assert_eq!(
            verdict.is_accept(),
            t.check_source(peer, ip(source)),
            "explain agrees with the ACL"
        );
        assert_eq!(verdict.to_string(), text);
    }
    assert_eq!(
        t.explain_source('A', ip("10.1.2.3")),
        SourceVerdict::OtherPeer {
            source: ip("10.1.2.3"),
            peer: 'A',
            winner: 'B',
            via: p("10.1.0.0/16"),
            own: Some(p("10.0.0.0/8")),
        }
    );
}

#[test]
fn verdicts_can_name_peers() {
    let t = AllowedIps::new();
    t.insert(p("fd00::/8"), 0u32).unwrap();
    t.insert(p("fd00:1::/32"), 1u32).unwrap();
    let names = ["alice", "bob"];
    let verdict = t
        .explain_source(0, ip("fd00:1::5"))
        .map_peer(|id| names[id as usize]);
    assert_eq!(verdict.to_string(), "drop: fd00:1::5 routes to peer bob via fd00:1::/32 (more specific than peer alice's fd00::/8)");
}

#[test]
fn routes_list_what_they_override() {
    let t = table(&[
        ("0.0.0.0/0", 'A'),
        ("10.0.0.0/8", 'B'),
        ("10.1.0.0/16", 'C'),
    ]);
    let r = t.explain_route(ip("10.1.2.3"));
    assert_eq!(r.via, Some((p("10.1.0.0/16"), 'C')));
    assert_eq!(
        r.overrides,
        vec![(p("10.0.0.0/8"), 'B'), (p("0.0.0.0/0"), 'A')]
    );
    assert_eq!(
        r.to_string(),
        "10.1.2.3 routes to peer C via 10.1.0.0/16 (more specific than peer B's 10.0.0.0/8, peer A's 0.0.0.0/0)"
    );
    assert_eq!(
        t.explain_route(ip("8.8.8.8")).to_string(),
        "8.8.8.8 routes to peer A via 0.0.0.0/0"
    );
    assert_eq!(
        t.explain_route(ip("::1")).to_string(),
        "::1: no route (no peer's allowed IPs contain it)"
    );
}

#[test]
fn shadows_list_outermost_foreign_prefixes() {
    let t = table(&[
        ("10.0.0.0/8", 'A'),
        ("10.1.0.0/16", 'B'),
        ("10.1.2.0/24", 'C'), // inside B's shadow: not listed again under A
        ("10.1.3.0/24", 'A'), // A's own more specific prefix, inside B's
        ("10.1.3.0/25", 'D'),
        ("10.2.0.0/16", 'A'), // A's own: no shadow
        ("192.168.0.0/24", 'A'),
        ("192.168.0.0/25", 'B'),
        ("192.168.0.128/25", 'C'),
    ]);
    let shadows = t.shadowed('A');
    type Summary = (Prefix, Vec<(Prefix, char)>, bool);
    let summary: Vec<Summary> = shadows
        .iter()
        .map(|s| (s.prefix, s.by.clone(), s.fully))
        .collect();
    assert_eq!(
        summary,
        vec![
            (p("10.0.0.0/8"), vec![(p("10.1.0.0/16"), 'B')], false),
            (p("10.1.3.0/24"), vec![(p("10.1.3.0/25"), 'D')], false),
            (
                p("192.168.0.0/24"),
                vec![(p("192.168.0.0/25"), 'B'), (p("192.168.0.128/25"), 'C')],
                true
            ),
        ]
    );
    assert_eq!(
        shadows[2].to_string(),
        "peer A's 192.168.0.0/24 is entirely shadowed by peer B's 192.168.0.0/25, peer C's 192.168.0.128/25: \
         no traffic routes to it there, and every packet it sends from there is dropped"
    );
    assert_eq!(
        shadows[0].to_string(),
        "peer A's 10.0.0.0/8 is partly shadowed by peer B's 10.1.0.0/16: \
         traffic to those parts goes elsewhere, and packets it sends from them are dropped"
    );
    assert!(t.shadowed('C').is_empty());
    assert!(t.shadowed('Z').is_empty());
}

#[test]
fn full_shadow_of_the_v6_default_route() {
    // Two /1s cover all of ::/0: the 2^128 total must not overflow into "partly".
    let t = table(&[
        ("::/0", 'A'),
        ("::/1", 'B'),
        ("8000::/1", 'C'),
        ("0.0.0.0/0", 'A'),
        ("0.0.0.0/1", 'B'),
    ]);
    let shadows = t.shadowed('A');
    assert_eq!(shadows.len(), 2);
    let v4 = shadows.iter().find(|s| s.prefix.is_ipv4()).unwrap();
    let v6 = shadows.iter().find(|s| !s.prefix.is_ipv4()).unwrap();
    assert!(!v4.fully);
    assert!(v6.fully);
}

#[test]
fn a_prefix_taken_over_entirely_is_a_shadow_of_nothing_but_is_gone() {
    // Re-inserting moves a prefix: it is B's now, so A has nothing left to be shadowed.
    let t = table(&[("10.0.0.0/8", 'A'), ("10.0.0.0/8", 'B')]);
    assert!(t.prefixes_of('A').is_empty());
    assert!(t.shadowed('A').is_empty());
    assert_eq!(
        t.explain_source('A', ip("10.0.0.1")).to_string(),
        "drop: 10.0.0.1 routes to peer B via 10.0.0.0/8; peer A has no allowed IP containing it"
    );
}
