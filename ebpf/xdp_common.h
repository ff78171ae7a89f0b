// SPDX-License-Identifier: GPL-2.0 OR MIT
//
// What both XDP programs (wgxdp_steer.bpf.c, wgxdp_sink.bpf.c) need from the kernel's UAPI, written out so that a
// bare `clang -target bpf` builds them on any distribution (the multiarch <asm/types.h> is not on the BPF target's
// include path): fixed-width types, the XDP actions and map types they use, the context, the map-lookup helper, the
// BTF map macros, and the Ethernet, IPv4, IPv6 and UDP headers. Every constant is part of the stable kernel UAPI.

#ifndef WGXDP_XDP_COMMON_H
#define WGXDP_XDP_COMMON_H

typedef unsigned char __u8;
typedef unsigned short __u16;
typedef unsigned int __u32;
typedef unsigned long long __u64;

// --- UAPI constants (linux/bpf.h, linux/if_ether.h, linux/in.h) ---------------------------------------------
#define XDP_DROP 1
#define XDP_PASS 2
#define XDP_REDIRECT 4
#define BPF_MAP_TYPE_HASH 1
#define BPF_MAP_TYPE_PERCPU_ARRAY 6
#define BPF_MAP_TYPE_LPM_TRIE 11
#define BPF_MAP_TYPE_XSKMAP 17
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define IPPROTO_UDP 17

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

// --- BTF-defined maps (the layout libbpf and aya both understand) -------------------------------------------
#define SEC(name) __attribute__((section(name), used))
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name

// The per-CPU counter array each program keeps, `n` slots of u64, named `counters` (the loader reads it by that
// name: crates/io-xdp/src/per_cpu_sums.rs). Per-CPU, so the hot path never contends on a shared cache line.
#define COUNTER_ARRAY(n)                                                                                        \
    struct {                                                                                                    \
        __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);                                                                \
        __uint(max_entries, n);                                                                                 \
        __type(key, __u32);                                                                                     \
        __type(value, __u64);                                                                                   \
    } counters SEC(".maps")

// --- Packet layouts -----------------------------------------------------------------------------------------
struct ethhdr {
    __u8 h_dest[6];
    __u8 h_source[6];
    __u16 h_proto;
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

#endif
