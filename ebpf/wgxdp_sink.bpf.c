// SPDX-License-Identifier: GPL-2.0 OR MIT
//
// wgxdp sink program: the counting end of wgxdp-loadgen. Attached to the interface where the load arrives, it
// counts the load's packets in per-CPU counters and drops them, so nothing above XDP costs the sink anything; a
// sample goes on to the kernel (XDP_PASS), where a UDP socket of the load generator reads it to check contents,
// ordering and latency. Everything that is not load (ARP, ND, handshakes, ...) passes untouched.
//
// Two modes, chosen at load time:
//   SINK_INNER      plaintext UDP datagrams to `sink_port` whose payload starts with `sink_magic` (the LAN side:
//                   what a gateway decrypted). A datagram whose flags word has SAMPLE_FLAG set is passed.
//   SINK_WIREGUARD  WireGuard transport data to `sink_port` (the underlay side: what a gateway encrypted). Data
//                   whose counter has no bit of `sample_mask` set is passed; keepalives (empty payload) are counted
//                   apart and dropped; handshake messages and cookie replies pass.
//
// Self-contained like wgxdp_steer.bpf.c: no kernel or libbpf headers, only xdp_common.h. The counter indices are mirrored by
// `SinkCounter` in crates/io-xdp/src/sink_counters.rs (a unit test keeps the two in step).

#include "xdp_common.h"

enum sink_counter {
    COUNTER_DATA_PACKETS = 0,
    COUNTER_DATA_BYTES = 1,
    COUNTER_SAMPLED = 2,
    COUNTER_KEEPALIVES = 3,
    COUNTER_HANDSHAKES = 4,
    COUNTER_OTHER = 5,
    COUNTER_MALFORMED = 6,
    COUNTER_COUNT = 7,
};

COUNTER_ARRAY(COUNTER_COUNT);

#define SINK_INNER 1
#define SINK_WIREGUARD 2

// Load-time configuration (patched into .rodata by the loader; the verifier prunes on it).
volatile const __u32 sink_mode = 0;
// UDP destination port of the load, host byte order. 0 counts nothing.
volatile const __u16 sink_port = 0;
// SINK_INNER: the first payload word of a load datagram, as the little-endian word read from the wire.
volatile const __u32 sink_magic = 0;
// SINK_WIREGUARD: transport data whose counter has none of these bits set is passed as a sample.
volatile const __u64 sample_mask = ~0ull;

#define SAMPLE_FLAG 1u


// The first 16 bytes of a WireGuard transport message.
struct wg_transport {
    __u32 type_word;
    __u32 receiver;
    __u64 counter;
} __attribute__((packed));

// The first 8 bytes of a load generator payload.
struct load_head {
    __u32 magic;
    __u32 flags;
} __attribute__((packed));

#define ntohs(x) bswap16(x)

#define IPV4_MF 0x2000
#define IPV4_OFFSET_MASK 0x1fff
#define WG_TRANSPORT_WORD 0x00000004u
#define WG_TRANSPORT_MIN_LEN 32
// Type words of the handshake initiation, response and cookie reply.
#define WG_INITIATION_WORD 0x00000001u
#define WG_RESPONSE_WORD 0x00000002u
#define WG_COOKIE_WORD 0x00000003u

static __attribute__((always_inline)) void add(__u32 counter, __u64 amount) {
    __u64 *slot = bpf_map_lookup_elem(&counters, &counter);
    if (slot)
        *slot += amount; // per-CPU slot: no other writer
}

static __attribute__((always_inline)) int pass_other(void) {
    add(COUNTER_OTHER, 1);
    return XDP_PASS;
}

static __attribute__((always_inline)) int malformed(void) {
    add(COUNTER_MALFORMED, 1);
    return XDP_DROP;
}

// Counts one packet of the load; passes it when it is a sample.
static __attribute__((always_inline)) int data(__u64 frame_len, int sample) {
    add(COUNTER_DATA_PACKETS, 1);
    add(COUNTER_DATA_BYTES, frame_len);
    if (sample) {
        add(COUNTER_SAMPLED, 1);
        return XDP_PASS;
    }
    return XDP_DROP;
}

SEC("xdp")
int wgxdp_sink(struct xdp_md *ctx) {
    void *data_start = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    __u64 frame_len = (__u64)(data_end - data_start);

    struct ethhdr *eth = data_start;
    if ((void *)(eth + 1) > data_end)
        return pass_other();

    struct udphdr *udp;
    if (eth->h_proto == bswap16(ETH_P_IP)) {
        struct iphdr *ip = (void *)(eth + 1);
        if ((void *)(ip + 1) > data_end)
            return pass_other();
        __u32 ihl = ip->ihl_version & 0x0f;
        if ((ip->ihl_version >> 4) != 4 || ihl < 5 || ip->protocol != IPPROTO_UDP)
            return pass_other();
        if (ntohs(ip->frag_off) & (IPV4_MF | IPV4_OFFSET_MASK))
            return pass_other();
        udp = (void *)ip + ihl * 4;
    } else if (eth->h_proto == bswap16(ETH_P_IPV6)) {
        struct ipv6hdr *ip6 = (void *)(eth + 1);
        if ((void *)(ip6 + 1) > data_end)
            return pass_other();
        if (ip6->nexthdr != IPPROTO_UDP)
            return pass_other();
        udp = (void *)(ip6 + 1);
    } else {
        return pass_other();
    }

    if ((void *)(udp + 1) > data_end)
        return pass_other();
    if (sink_port == 0 || udp->dest != bswap16(sink_port))
        return pass_other();
    __u16 udp_len = ntohs(udp->len);

    if (sink_mode == SINK_INNER) {
        struct load_head *head = (void *)(udp + 1);
        if ((void *)(head + 1) > data_end || udp_len < sizeof(struct udphdr) + sizeof(struct load_head))
            return malformed();
        if (head->magic != sink_magic)
            return malformed();
        return data(frame_len, head->flags & SAMPLE_FLAG);
    }

    if (sink_mode == SINK_WIREGUARD) {
        struct wg_transport *wg = (void *)(udp + 1);
        if ((void *)(wg + 1) > data_end)
            return malformed();
        __u32 word = wg->type_word;
        if (word == WG_INITIATION_WORD || word == WG_RESPONSE_WORD || word == WG_COOKIE_WORD) {
            add(COUNTER_HANDSHAKES, 1);
            return XDP_PASS;
        }
        if (word != WG_TRANSPORT_WORD || udp_len < sizeof(struct udphdr) + WG_TRANSPORT_MIN_LEN)
            return malformed();
        if (udp_len == sizeof(struct udphdr) + WG_TRANSPORT_MIN_LEN) {
            add(COUNTER_KEEPALIVES, 1);
            return XDP_DROP;
        }
        return data(frame_len, (wg->counter & sample_mask) == 0);
    }
    return pass_other();
}

char _license[] SEC("license") = "GPL";
