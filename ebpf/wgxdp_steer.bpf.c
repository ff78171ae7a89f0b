// SPDX-License-Identifier: GPL-2.0 OR MIT
//
// wgxdp steering program: sends WireGuard transport-data datagrams addressed to the listen port to the AF_XDP
// socket of the packet's RX queue, and passes everything else (handshakes, cookie replies, fragments, other
// ports, ARP/ND, ...) to the kernel, where the ordinary UDP socket path handles it.
//
// Self-contained on purpose: no kernel or libbpf headers, so it builds with a bare `clang -target bpf` on any
// distribution (the multiarch <asm/types.h> is not on the BPF target's include path). Every constant below is
// part of the stable kernel UAPI.
//
// The counter indices below are mirrored by `SteerReason` in crates/io-xdp/src/steer_counters.rs: keep them in
// step.

typedef unsigned char __u8;
typedef unsigned short __u16;
typedef unsigned int __u32;
typedef unsigned long long __u64;

// --- UAPI constants (linux/bpf.h, linux/if_ether.h, linux/in.h) ---------------------------------------------
#define XDP_PASS 2
#define XDP_REDIRECT 4
#define BPF_MAP_TYPE_PERCPU_ARRAY 6
#define BPF_MAP_TYPE_XSKMAP 17
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define ETH_P_8021Q 0x8100
#define ETH_P_8021AD 0x88A8
#define IPPROTO_UDP 17
// IPv6 extension headers that may precede UDP; seeing one means "not for the fast path".
#define IPPROTO_HOPOPTS 0
#define IPPROTO_ROUTING 43
#define IPPROTO_FRAGMENT 44
#define IPPROTO_DSTOPTS 60
#define IPPROTO_AH 51
#define IPPROTO_ESP 50
#define IPPROTO_MH 135

// The context the kernel hands an XDP program.
struct xdp_md {
    __u32 data;
    __u32 data_end;
    __u32 data_meta;
    __u32 ingress_ifindex;
    __u32 rx_queue_index;
    __u32 egress_ifindex;
};

// --- Helper calls, by their stable UAPI numbers -------------------------------------------------------------
static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)1;
static long (*bpf_redirect_map)(void *map, __u64 key, __u64 flags) = (void *)51;

// --- BTF-defined maps (the layout libbpf and aya both understand) -------------------------------------------
#define SEC(name) __attribute__((section(name), used))
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name

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
    REASON_COUNT = 12,
};

// Per-CPU so the hot path never contends on a shared cache line; the loader sums the CPUs.
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, REASON_COUNT);
    __type(key, __u32);
    __type(value, __u64);
} counters SEC(".maps");

// --- Load-time configuration (aya's EbpfLoader::override_global patches .rodata before loading) --------------
// The verifier sees these as constants, so branches on them are pruned.

// The WireGuard listen port, in host byte order. 0 steers nothing.
volatile const __u16 listen_port = 0;

#define STEER_IPV4 (1u << 0)
#define STEER_IPV6 (1u << 1)
// Count and classify but pass everything: lets an operator watch the program without taking traffic.
#define STEER_OBSERVE_ONLY (1u << 2)
volatile const __u32 steer_flags = STEER_IPV4 | STEER_IPV6;

// The longest frame an AF_XDP socket's UMEM frame can take (the frame size less the kernel's XDP headroom). A
// longer one redirected would be dropped by the kernel (counted only as the socket's rx_dropped); passed, it
// reaches the kernel's UDP socket, which the daemon also serves. 0 passes every transport frame.
volatile const __u32 max_frame_len = 0;

// --- Packet layouts -----------------------------------------------------------------------------------------
struct ethhdr {
    __u8 h_dest[6];
    __u8 h_source[6];
    __u16 h_proto;
} __attribute__((packed));

struct vlan_tag {
    __u16 tci;
    __u16 encapsulated_proto;
} __attribute__((packed));

struct iphdr {
    __u8 ihl_version; // low nibble IHL, high nibble version (little-endian bitfield order, written out)
    __u8 tos;
    __u16 tot_len;
    __u16 id;
    __u16 frag_off;
    __u8 ttl;
    __u8 protocol;
    __u16 check;
    __u32 saddr;
    __u32 daddr;
} __attribute__((packed));

struct ipv6hdr {
    __u32 ver_tc_flow;
    __u16 payload_len;
    __u8 nexthdr;
    __u8 hop_limit;
    __u8 saddr[16];
    __u8 daddr[16];
} __attribute__((packed));

struct udphdr {
    __u16 source;
    __u16 dest;
    __u16 len;
    __u16 check;
} __attribute__((packed));

#define bswap16(x) ((__u16)((((x) & 0xff) << 8) | (((x) >> 8) & 0xff)))
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

    // At most one 802.1Q/802.1ad tag; a second tag leaves `proto` as a VLAN type and counts as not-ip.
    if (proto == bswap16(ETH_P_8021Q) || proto == bswap16(ETH_P_8021AD)) {
        struct vlan_tag *tag = l3;
        if ((void *)(tag + 1) > data_end)
            return pass(REASON_SHORT);
        proto = tag->encapsulated_proto;
        l3 = tag + 1;
    }

    struct udphdr *udp;
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
    } else {
        // ARP, LLDP, a second VLAN tag, ...
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
