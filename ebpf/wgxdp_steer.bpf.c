// SPDX-License-Identifier: GPL-2.0 OR MIT
//
// wgxdp steering program: sends WireGuard transport-data datagrams addressed to the listen port of one of the
// link's own addresses to the AF_XDP socket of the packet's RX queue, and passes everything else (handshakes,
// cookie replies, fragments, other ports, ARP/ND, traffic for other hosts on the same wire such as bridged VMs,
// macvlan containers or routed packets, tagging the userspace parser does not take, sources outside the
// operator's allow-list, ...) to the kernel, where the ordinary UDP socket path or the rest of the stack handles
// it.
//
// Self-contained on purpose: no kernel or libbpf headers, only the project's own xdp_common.h (shared with the
// sink program), so it builds with a bare `clang -target bpf` on any distribution. Every constant below is part of
// the stable kernel UAPI.
//
// The counter indices below are mirrored by `SteerReason` in crates/io-xdp/src/steer_counters.rs: keep them in
// step.

#include "xdp_common.h"

// --- UAPI constants beyond xdp_common.h (linux/bpf.h, linux/if_ether.h, linux/in.h) ------------------------
#define BPF_F_NO_PREALLOC 1
#define ETH_P_8021Q 0x8100
#define ETH_P_8021AD 0x88A8
#define VLAN_VID_MASK 0x0FFF
// The pre-standard QinQ TPID some switches still use for the outer tag.
#define ETH_P_QINQ1 0x9100
// IPv6 extension headers that may precede UDP; seeing one means "not for the fast path".
#define IPPROTO_HOPOPTS 0
#define IPPROTO_ROUTING 43
#define IPPROTO_FRAGMENT 44
#define IPPROTO_DSTOPTS 60
#define IPPROTO_AH 51
#define IPPROTO_ESP 50
#define IPPROTO_MH 135

// --- Helper calls, by their stable UAPI numbers -------------------------------------------------------------
static long (*bpf_redirect_map)(void *map, __u64 key, __u64 flags) = (void *)51;

// --- Maps ---------------------------------------------------------------------------------------------------

// Upper bound on RX queues we can serve; the loader may shrink it to the device's queue count.
#define MAX_QUEUES 64

struct {
    __uint(type, BPF_MAP_TYPE_XSKMAP);
    __uint(max_entries, MAX_QUEUES);
    __type(key, __u32);
    __type(value, __u32);
} xsks SEC(".maps");

// Why a packet went where it went. Index 0 is the only "redirected" outcome; all the others passed.
enum steer_reason {
    REASON_REDIRECTED = 0,
    REASON_NOT_IP = 1,
    REASON_FRAGMENT = 2,
    REASON_NOT_UDP = 3,
    REASON_OTHER_PORT = 4,
    REASON_NOT_TRANSPORT = 5,
    REASON_SHORT = 6,
    REASON_IPV6_EXTENSION = 7,
    REASON_NO_SOCKET = 8,
    REASON_FAMILY_DISABLED = 9,
    REASON_OBSERVE_ONLY = 10,
    REASON_TOO_BIG = 11,
    REASON_NOT_LOCAL = 12,
    REASON_TAGGING = 13,
    REASON_SOURCE_NOT_ALLOWED = 14,
    REASON_COUNT = 15,
};

COUNTER_ARRAY(REASON_COUNT);

// The link's own addresses, kept in step with the kernel by the loader (filled at attach time, then from netlink
// address events). Only transport data to one of them is ours: the rest of the wire (bridged VMs, macvlan
// children, routed traffic) belongs to the kernel. Keys in network byte order; the value is unused.
#define MAX_LOCAL_ADDRESSES 1024

struct in6_bytes {
    __u8 bytes[16];
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, MAX_LOCAL_ADDRESSES);
    __type(key, __u32);
    __type(value, __u8);
} local_v4 SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, MAX_LOCAL_ADDRESSES);
    __type(key, struct in6_bytes);
    __type(value, __u8);
} local_v6 SEC(".maps");

// The operator's allow-list of source prefixes (`--xdp-allow-source`), looked up only when STEER_ALLOW_LIST is
// set. A source outside it is passed to the kernel (host firewall, kernel socket), never dropped here.
#define MAX_ALLOWED_PREFIXES 1024

struct lpm_v4_key {
    __u32 prefixlen;
    __u32 addr;
};

struct lpm_v6_key {
    __u32 prefixlen;
    struct in6_bytes addr;
};

struct {
    __uint(type, BPF_MAP_TYPE_LPM_TRIE);
    __uint(max_entries, MAX_ALLOWED_PREFIXES);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __type(key, struct lpm_v4_key);
    __type(value, __u8);
} allow_v4 SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_LPM_TRIE);
    __uint(max_entries, MAX_ALLOWED_PREFIXES);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __type(key, struct lpm_v6_key);
    __type(value, __u8);
} allow_v6 SEC(".maps");

// --- Load-time configuration (aya's EbpfLoader::override_global patches .rodata before loading) --------------
// The verifier sees these as constants, so branches on them are pruned.

// The WireGuard listen port, in host byte order. 0 steers nothing.
volatile const __u16 listen_port = 0;

#define STEER_IPV4 (1u << 0)
#define STEER_IPV6 (1u << 1)
// Count and classify but pass everything: lets an operator watch the program without taking traffic.
#define STEER_OBSERVE_ONLY (1u << 2)
// Steer only sources inside the allow_v4/allow_v6 prefixes (an empty list in the CLI leaves this bit clear).
#define STEER_ALLOW_LIST (1u << 3)
volatile const __u32 steer_flags = STEER_IPV4 | STEER_IPV6;

// The longest frame an AF_XDP socket's UMEM frame can take (the frame size less the kernel's XDP headroom). A
// longer one redirected would be dropped by the kernel (counted only as the socket's rx_dropped); passed, it
// reaches the kernel's UDP socket, which the daemon also serves. 0 passes every transport frame.
volatile const __u32 max_frame_len = 0;

// --- Packet layouts -----------------------------------------------------------------------------------------
struct vlan_tag {
    __u16 tci;
    __u16 encapsulated_proto;
} __attribute__((packed));


// BPF on x86/arm64 hosts is little-endian; network order needs a swap.
#define ntohs(x) bswap16(x)

#define IPV4_MF 0x2000
#define IPV4_OFFSET_MASK 0x1fff
// WireGuard transport data: type 4 then three reserved zero bytes, as one little-endian word.
#define WG_TRANSPORT_WORD 0x00000004u
// Smallest transport-data message: 16-byte header plus the 16-byte Poly1305 tag of an empty (keepalive) payload.
#define WG_TRANSPORT_MIN_LEN 32

static __attribute__((always_inline)) void count(__u32 reason) {
    __u64 *slot = bpf_map_lookup_elem(&counters, &reason);
    if (slot)
        *slot += 1; // per-CPU slot: no other writer, no atomic needed
}

static __attribute__((always_inline)) int pass(__u32 reason) {
    count(reason);
    return XDP_PASS;
}

SEC("xdp")
int wgxdp_steer(struct xdp_md *ctx) {
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;

    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > data_end)
        return pass(REASON_SHORT);
    __u16 proto = eth->h_proto;
    void *l3 = eth + 1;

    // Untagged frames, or one priority tag (802.1Q with VLAN id 0): what the userspace parser (crates/wire,
    // EthernetFrame) takes and what the datapath answers correctly, since it writes its frames untagged. A frame
    // of a real VLAN belongs to the VLAN device the kernel would hand it to (and a reply would need the tag), and
    // an 802.1ad (or pre-standard 0x9100) outer tag or a second tag of any kind would be refused by the parser
    // after the redirect took the frame from the kernel: pass those instead.
    if (proto == bswap16(ETH_P_8021AD) || proto == bswap16(ETH_P_QINQ1))
        return pass(REASON_TAGGING);
    if (proto == bswap16(ETH_P_8021Q)) {
        struct vlan_tag *tag = l3;
        if ((void *)(tag + 1) > data_end)
            return pass(REASON_SHORT);
        if (tag->tci & bswap16(VLAN_VID_MASK))
            return pass(REASON_TAGGING);
        proto = tag->encapsulated_proto;
        l3 = tag + 1;
        if (proto == bswap16(ETH_P_8021Q) || proto == bswap16(ETH_P_8021AD) ||
            proto == bswap16(ETH_P_QINQ1))
            return pass(REASON_TAGGING);
    }

    struct udphdr *udp;
    // The addresses, copied out for the map lookups below (keys in network byte order).
    int is_ipv4;
    __u32 src4 = 0, dst4 = 0;
    struct in6_bytes src6 = {}, dst6 = {};
    if (proto == bswap16(ETH_P_IP)) {
        if (!(steer_flags & STEER_IPV4))
            return pass(REASON_FAMILY_DISABLED);
        struct iphdr *ip = l3;
        if ((void *)(ip + 1) > data_end)
            return pass(REASON_SHORT);
        if ((ip->ihl_version >> 4) != 4)
            return pass(REASON_NOT_IP);
        __u32 ihl = ip->ihl_version & 0x0f;
        if (ihl < 5)
            return pass(REASON_NOT_IP);
        // Any fragment (more-fragments set or a non-zero offset) goes to the kernel, which reassembles it.
        if (ntohs(ip->frag_off) & (IPV4_MF | IPV4_OFFSET_MASK))
            return pass(REASON_FRAGMENT);
        if (ip->protocol != IPPROTO_UDP)
            return pass(REASON_NOT_UDP);
        // IHL is masked to 4 bits above, so this offset is bounded (<= 60) for the verifier.
        udp = (void *)ip + ihl * 4;
        is_ipv4 = 1;
        src4 = ip->saddr;
        dst4 = ip->daddr;
    } else if (proto == bswap16(ETH_P_IPV6)) {
        if (!(steer_flags & STEER_IPV6))
            return pass(REASON_FAMILY_DISABLED);
        struct ipv6hdr *ip6 = l3;
        if ((void *)(ip6 + 1) > data_end)
            return pass(REASON_SHORT);
        __u8 next = ip6->nexthdr;
        if (next == IPPROTO_FRAGMENT)
            return pass(REASON_FRAGMENT);
        if (next == IPPROTO_HOPOPTS || next == IPPROTO_ROUTING || next == IPPROTO_DSTOPTS ||
            next == IPPROTO_AH || next == IPPROTO_ESP || next == IPPROTO_MH)
            return pass(REASON_IPV6_EXTENSION);
        if (next != IPPROTO_UDP)
            return pass(REASON_NOT_UDP);
        udp = (void *)(ip6 + 1);
        is_ipv4 = 0;
        __builtin_memcpy(&src6, ip6->saddr, sizeof(src6));
        __builtin_memcpy(&dst6, ip6->daddr, sizeof(dst6));
    } else {
        // ARP, LLDP, MPLS, ...
        return pass(REASON_NOT_IP);
    }

    if ((void *)(udp + 1) > data_end)
        return pass(REASON_SHORT);
    if (listen_port == 0 || udp->dest != bswap16(listen_port))
        return pass(REASON_OTHER_PORT);

    // The UDP length field, not the frame length: Ethernet padding may trail short frames.
    __u16 udp_len = ntohs(udp->len);
    __u32 *first_word = (void *)(udp + 1);
    if (udp_len < sizeof(struct udphdr) + WG_TRANSPORT_MIN_LEN ||
        (void *)first_word + WG_TRANSPORT_MIN_LEN > data_end)
        return pass(REASON_SHORT);
    if (*first_word != WG_TRANSPORT_WORD)
        return pass(REASON_NOT_TRANSPORT);

    // WireGuard-shaped, to our port: but is it for this host? Traffic to another host's address on the same wire
    // (a bridged VM, a macvlan container, a packet being routed) is the kernel's.
    if (is_ipv4) {
        if (!bpf_map_lookup_elem(&local_v4, &dst4))
            return pass(REASON_NOT_LOCAL);
    } else {
        if (!bpf_map_lookup_elem(&local_v6, &dst6))
            return pass(REASON_NOT_LOCAL);
    }

    // The operator's allow-list: the rest goes where the host firewall sees it.
    if (steer_flags & STEER_ALLOW_LIST) {
        void *allowed;
        if (is_ipv4) {
            struct lpm_v4_key key = {.prefixlen = 32, .addr = src4};
            allowed = bpf_map_lookup_elem(&allow_v4, &key);
        } else {
            struct lpm_v6_key key = {.prefixlen = 128, .addr = src6};
            allowed = bpf_map_lookup_elem(&allow_v6, &key);
        }
        if (!allowed)
            return pass(REASON_SOURCE_NOT_ALLOWED);
    }

    if ((__u64)(data_end - data) > max_frame_len)
        return pass(REASON_TOO_BIG);

    if (steer_flags & STEER_OBSERVE_ONLY)
        return pass(REASON_OBSERVE_ONLY);

    // With XDP_PASS in the low bits of the flags, a queue without a registered socket falls back to the kernel
    // instead of dropping the packet: the socket path still sees it.
    long action = bpf_redirect_map(&xsks, ctx->rx_queue_index, XDP_PASS);
    if (action == XDP_REDIRECT) {
        count(REASON_REDIRECTED);
        return XDP_REDIRECT;
    }
    return pass(REASON_NO_SOCKET);
}

char _license[] SEC("license") = "GPL";
