//! Table-driven IPv4 and IPv6 edge cases: /0, host routes, overlaps, moves, masking, bad input.

use std::net::IpAddr;

use wgxdp_allowedips::{AllowedIps, InsertError, Prefix, PrefixError};

fn p(s: &str) -> Prefix {
    s.parse().unwrap()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// One scenario: prefixes inserted in order, then (address, expected owner) checks.
struct Case {
    name: &'static str,
    inserts: &'static [(&'static str, char)],
    removes: &'static [&'static str],
    expect: &'static [(&'static str, Option<char>)],
}

const CASES: &[Case] = &[
    Case {
        name: "v4 default route catches everything",
        inserts: &[("0.0.0.0/0", 'A')],
        removes: &[],
        expect: &[
            ("0.0.0.0", Some('A')),
            ("255.255.255.255", Some('A')),
            ("::1", None),
        ],
    },
    Case {
        name: "v6 default route catches everything v6 only",
        inserts: &[("::/0", 'A')],
        removes: &[],
        expect: &[
            ("::", Some('A')),
            ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", Some('A')),
            ("1.2.3.4", None),
        ],
    },
    Case {
        name: "v4 host route beats its covering prefixes",
        inserts: &[
            ("10.0.0.0/8", 'A'),
            ("10.1.2.3/32", 'B'),
            ("0.0.0.0/0", 'C'),
        ],
        removes: &[],
        expect: &[
            ("10.1.2.3", Some('B')),
            ("10.1.2.2", Some('A')),
            ("10.1.2.4", Some('A')),
            ("11.0.0.0", Some('C')),
        ],
    },
    Case {
        name: "v6 host route beats its covering prefixes",
        inserts: &[("fd00::/8", 'A'), ("fd00::1/128", 'B')],
        removes: &[],
        expect: &[
            ("fd00::1", Some('B')),
            ("fd00::", Some('A')),
            ("fd00::2", Some('A')),
            ("fe00::1", None),
        ],
    },
    Case {
        name: "overlapping v4 prefixes: most specific wins regardless of insert order",
        inserts: &[
            ("10.1.2.0/24", 'C'),
            ("10.1.0.0/16", 'B'),
            ("10.0.0.0/8", 'A'),
        ],
        removes: &[],
        expect: &[
            ("10.1.2.200", Some('C')),
            ("10.1.3.1", Some('B')),
            ("10.2.0.1", Some('A')),
            ("9.255.255.255", None),
            ("11.0.0.0", None),
        ],
    },
    Case {
        name: "prefix boundaries on odd lengths",
        inserts: &[
            ("192.168.0.0/23", 'A'),
            ("192.168.2.0/25", 'B'),
            ("192.168.2.128/27", 'C'),
        ],
        removes: &[],
        expect: &[
            ("192.168.1.255", Some('A')),
            ("192.168.2.0", Some('B')),
            ("192.168.2.127", Some('B')),
            ("192.168.2.128", Some('C')),
            ("192.168.2.159", Some('C')),
            ("192.168.2.160", None),
        ],
    },
    Case {
        name: "re-insert moves a prefix to another peer",
        inserts: &[("10.0.0.0/8", 'A'), ("10.0.0.0/8", 'B')],
        removes: &[],
        expect: &[("10.9.9.9", Some('B'))],
    },
    Case {
        name: "host bits set in the inserted prefix are masked",
        inserts: &[("10.1.2.3/8", 'A'), ("fd00::dead:beef/16", 'B')],
        removes: &[],
        expect: &[
            ("10.200.0.1", Some('A')),
            ("fd00:1::1", Some('B')),
            ("fd01::1", None),
        ],
    },
    Case {
        name: "removing a more specific prefix falls back to the covering one",
        inserts: &[
            ("10.0.0.0/8", 'A'),
            ("10.1.0.0/16", 'B'),
            ("10.1.2.0/24", 'C'),
        ],
        removes: &["10.1.0.0/16"],
        expect: &[("10.1.2.1", Some('C')), ("10.1.3.1", Some('A'))],
    },
    Case {
        name: "removing the covering prefix keeps the more specific ones",
        inserts: &[
            ("0.0.0.0/0", 'A'),
            ("10.1.0.0/16", 'B'),
            ("2001:db8::/32", 'C'),
            ("::/0", 'D'),
        ],
        removes: &["0.0.0.0/0", "::/0"],
        expect: &[
            ("10.1.0.1", Some('B')),
            ("10.2.0.1", None),
            ("2001:db8::1", Some('C')),
            ("2001:db9::1", None),
        ],
    },
    Case {
        name: "removing with host bits set removes the masked prefix",
        inserts: &[("10.0.0.0/8", 'A')],
        removes: &["10.9.9.9/8"],
        expect: &[("10.0.0.1", None)],
    },
    Case {
        name: "v4 and v6 are separate: ::ffff:10.0.0.1 is not 10.0.0.1",
        inserts: &[("10.0.0.0/8", 'A')],
        removes: &[],
        expect: &[("::ffff:10.0.0.1", None), ("10.0.0.1", Some('A'))],
    },
    Case {
        name: "/31 and /127 siblings",
        inserts: &[
            ("10.0.0.0/31", 'A'),
            ("10.0.0.2/31", 'B'),
            ("fd::/127", 'C'),
            ("fd::2/127", 'D'),
        ],
        removes: &[],
        expect: &[
            ("10.0.0.1", Some('A')),
            ("10.0.0.2", Some('B')),
            ("10.0.0.4", None),
            ("fd::1", Some('C')),
            ("fd::3", Some('D')),
        ],
    },
];

#[test]
fn table_driven_cases() {
    for case in CASES {
        let table = AllowedIps::new();
        for &(prefix, peer) in case.inserts {
            table.insert(p(prefix), peer).unwrap();
        }
        for &prefix in case.removes {
            assert!(
                table.remove(p(prefix)).is_some(),
                "{}: remove {prefix}",
                case.name
            );
        }
        for &(addr, want) in case.expect {
            assert_eq!(table.lookup(ip(addr)), want, "{}: lookup {addr}", case.name);
        }
    }
}

#[test]
fn insert_returns_previous_owner_and_moves_between_peer_lists() {
    let table = AllowedIps::new();
    assert_eq!(table.insert(p("10.0.0.0/8"), 1u32), Ok(None));
    assert_eq!(table.insert(p("10.0.0.0/8"), 1), Ok(Some(1)));
    assert_eq!(table.insert(p("10.0.0.0/8"), 2), Ok(Some(1)));
    assert!(table.prefixes_of(1).is_empty());
    assert_eq!(table.prefixes_of(2), vec![p("10.0.0.0/8")]);
    assert_eq!(table.len(), 1);
}

#[test]
fn remove_peer_and_prefix_lists() {
    let table = AllowedIps::new();
    for s in ["10.0.0.0/8", "fd00::/8", "192.168.1.1/32"] {
        table.insert(p(s), 7u32).unwrap();
    }
    table.insert(p("10.1.0.0/16"), 8).unwrap();
    assert_eq!(
        table.prefixes_of(7),
        vec![p("10.0.0.0/8"), p("192.168.1.1/32"), p("fd00::/8")]
    );
    assert_eq!(table.remove_peer(7), 3);
    assert_eq!(table.remove_peer(7), 0);
    assert_eq!(table.lookup(ip("10.2.0.0")), None);
    assert_eq!(table.lookup(ip("10.1.0.0")), Some(8));
    assert_eq!(table.remove(p("10.1.0.0/16")), Some(8));
    assert_eq!(table.remove(p("10.1.0.0/16")), None);
    assert!(table.is_empty());
    assert_eq!(table.chunk_count(), (0, 0), "all trie chunks given back");
}

#[test]
fn invalid_lengths_are_errors_not_panics() {
    let table = AllowedIps::<u32>::new();
    assert_eq!(
        table.insert_addr(ip("10.0.0.0"), 33, 1),
        Err(InsertError::Prefix(PrefixError::LengthTooLong {
            len: 33,
            max: 32
        }))
    );
    assert_eq!(
        table.insert_addr(ip("::"), 129, 1),
        Err(InsertError::Prefix(PrefixError::LengthTooLong {
            len: 129,
            max: 128
        }))
    );
    assert_eq!(
        table.insert_addr(ip("::"), 255, 1).unwrap_err().to_string(),
        "invalid prefix: prefix length /255 is longer than the address (at most /128)"
    );
    assert!(table.is_empty());
    assert!(
        table.prefixes_of(1).is_empty(),
        "a failed insert leaves no trace"
    );
}

#[test]
fn prefix_parsing_and_display() {
    let ok: &[(&str, &str)] = &[
        ("10.0.0.0/8", "10.0.0.0/8"),
        ("10.1.2.3/8", "10.0.0.0/8"),
        ("10.1.2.3", "10.1.2.3/32"),
        (" 0.0.0.0/0 ", "0.0.0.0/0"),
        ("fd00::/8", "fd00::/8"),
        ("fd00::1", "fd00::1/128"),
        ("2001:db8::dead/32", "2001:db8::/32"),
        ("::/0", "::/0"),
    ];
    for &(input, shown) in ok {
        assert_eq!(p(input).to_string(), shown, "{input}");
    }
    let bad: &[(&str, PrefixError)] = &[
        (
            "10.0.0.0/33",
            PrefixError::LengthTooLong { len: 33, max: 32 },
        ),
        (
            "fd00::/129",
            PrefixError::LengthTooLong { len: 129, max: 128 },
        ),
        ("10.0.0/8", PrefixError::BadAddress("10.0.0".into())),
        ("", PrefixError::BadAddress(String::new())),
        ("10.0.0.0/", PrefixError::BadLength(String::new())),
        ("10.0.0.0/-1", PrefixError::BadLength("-1".into())),
        ("10.0.0.0/256", PrefixError::BadLength("256".into())),
        ("10.0.0.0/8/8", PrefixError::BadLength("8/8".into())),
    ];
    for (input, err) in bad {
        assert_eq!(&input.parse::<Prefix>().unwrap_err(), err, "{input:?}");
        assert!(!err.to_string().is_empty());
    }
}

#[test]
fn inbound_acl_uses_the_global_lookup() {
    // The example from the issue: A owns 10.0.0.0/8, B owns 10.1.0.0/16.
    let table = AllowedIps::new();
    table.insert(p("10.0.0.0/8"), 'A').unwrap();
    table.insert(p("10.1.0.0/16"), 'B').unwrap();
    assert!(
        !table.check_source('A', ip("10.1.2.3")),
        "inside A's prefix but routed to B"
    );
    assert!(table.check_source('A', ip("10.2.0.1")));
    assert!(table.check_source('B', ip("10.1.2.3")));
    assert!(!table.check_source('B', ip("10.2.0.1")));
    assert!(
        !table.check_source('A', ip("192.168.0.1")),
        "no route at all"
    );
}

#[test]
fn transaction_publishes_once() {
    let table = AllowedIps::new();
    let before = table.snapshot().generation();
    table.apply(|t| {
        for i in 0..100u32 {
            t.insert_addr(IpAddr::V4((0x0a00_0000 + (i << 8)).into()), 24, i % 3)
                .unwrap();
        }
        t.remove(p("10.0.5.0/24"));
        assert_eq!(t.len(), 99);
    });
    let snap = table.snapshot();
    assert_eq!(snap.generation(), before + 1);
    assert_eq!(snap.len(), 99);
    assert_eq!(snap.lookup(ip("10.0.4.1")), Some(1));
    assert_eq!(snap.lookup(ip("10.0.5.1")), None);
    // A transaction that changes nothing publishes nothing.
    table.apply(|t| t.remove(p("1.2.3.0/24")));
    assert_eq!(table.snapshot().generation(), before + 1);
}

#[test]
fn panicking_transaction_still_publishes_what_it_applied() {
    let table = AllowedIps::new();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        table.apply(|t| {
            t.insert(p("10.0.0.0/8"), 1u32).unwrap();
            panic!("control plane bug");
        })
    }));
    assert!(result.is_err());
    // Writer state and published snapshot agree, and the table still works.
    assert_eq!(table.lookup(ip("10.0.0.1")), Some(1));
    assert_eq!(table.prefixes_of(1), vec![p("10.0.0.0/8")]);
    table.insert(p("10.1.0.0/16"), 2).unwrap();
    assert_eq!(table.lookup(ip("10.1.0.1")), Some(2));
}

#[test]
fn memory_is_reported() {
    let table = AllowedIps::new();
    let empty = table.memory();
    assert_eq!(empty.prefixes, 0);
    assert_eq!(empty.lookup_bytes_per_prefix(), 0.0);
    for i in 0..1000u32 {
        table
            .insert_addr(IpAddr::V4((i << 12).into()), 20, i)
            .unwrap();
    }
    let m = table.memory();
    assert_eq!(m.prefixes, 1000);
    assert!(m.lookup_bytes > empty.lookup_bytes);
    assert!(m.writer_bytes > empty.writer_bytes);
    assert!(m.total_bytes_per_prefix() > m.lookup_bytes_per_prefix());
}
