//! Next-hop resolution over netlink in a scratch namespace pair (root only).

mod common;

use std::time::Duration;

use common::*;
use wgxdp_io_xdp::NeighbourCache;
use wgxdp_wire::MacAddr;

#[test]
fn resolves_direct_and_gateway_next_hops_once_the_kernel_knows_the_neighbour() {
    if !can_run("resolves_direct_and_gateway_next_hops_once_the_kernel_knows_the_neighbour") {
        return;
    }
    let pair = NetnsPair::create("neigh");
    let a_mac = MacAddr(pair.mac(&pair.a, A_IF));
    let b_mac = MacAddr(pair.mac(&pair.b, B_IF));
    run(
        "ip",
        &["-n", &pair.a, "route", "add", "198.19.7.0/24", "via", B_V4],
    );
    pair.enter_a();
    let mut cache = NeighbourCache::new(Duration::from_millis(400)).expect("netlink");

    // Nobody has talked to B yet: no neighbour entry, so the caller must use the kernel socket.
    assert_eq!(cache.resolve(ip(B_V4)).expect("resolve"), None);
    assert_eq!(cache.resolve(ip("198.19.7.9")).expect("resolve"), None);

    // The kernel resolves B (as a send through the kernel socket would); after a refresh the cache knows it.
    ping(&pair, &pair.a, B_V4);
    ping(&pair, &pair.a, B_V6);
    std::thread::sleep(Duration::from_millis(450));
    let direct = cache
        .resolve(ip(B_V4))
        .expect("resolve")
        .expect("B is a neighbour now");
    assert_eq!(
        (direct.src_mac, direct.dst_mac, direct.gateway),
        (a_mac, b_mac, None)
    );
    assert_eq!(direct.src_ip, Some(ip(A_V4)));
    let routed = cache
        .resolve(ip("198.19.7.9"))
        .expect("resolve")
        .expect("via B");
    assert_eq!((routed.dst_mac, routed.gateway), (b_mac, Some(ip(B_V4))));
    let v6 = cache
        .resolve(ip(B_V6))
        .expect("resolve")
        .expect("B over IPv6");
    assert_eq!((v6.src_mac, v6.dst_mac), (a_mac, b_mac));

    // Cached: repeated lookups within the refresh interval cost no netlink request.
    let queries = cache.netlink_queries();
    for _ in 0..100 {
        cache.resolve(ip(B_V4)).expect("resolve");
    }
    assert_eq!(cache.netlink_queries(), queries);

    // Destinations without a unicast route, and local addresses, are never sent at layer 2.
    assert_eq!(
        cache.resolve(ip(A_V4)).expect("resolve"),
        None,
        "local address"
    );
    assert!(
        cache.resolve(ip("203.0.113.1")).is_err(),
        "no route at all (ENETUNREACH)"
    );

    fn ping(pair: &NetnsPair, ns: &str, to: &str) {
        pair.exec(ns, &["ping", "-c", "1", "-W", "2", to]);
    }
}
