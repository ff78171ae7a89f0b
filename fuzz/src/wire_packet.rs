//! Target `wire_packet`: bare IP packets (what TUN gives and what decryption yields, parsed by `inner_packet`),
//! UDP datagrams and WireGuard messages (what the kernel socket gives), through every checked view.

use crate::views::{ip_views, udp_views, wg_views};

/// The target's entry point.
pub fn run(data: &[u8]) {
    ip_views(data);
    udp_views(data);
    wg_views(data);
}
