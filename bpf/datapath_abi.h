/* The layout shared by the tc-BPF datapath programs (datapath.bpf.c) and their loader
 * (datapath.cpp): map keys, map values, counter indices. C, included by both sides. */
#ifndef GDOID_BPF_DATAPATH_ABI_H
#define GDOID_BPF_DATAPATH_ABI_H

#include <linux/bpf.h> /* struct bpf_spin_lock */
#include <linux/types.h>

/* Slots in the slot table. The mark field may use fewer (2^slot_bits), never more. */
#define GDOID_SLOT_CAPACITY 65536
#define GDOID_SLOT_MAX_BITS 16
/* How many consecutive slots LAN ingress tries before giving up (linear probing). */
#define GDOID_SLOT_PROBES 8
/* Entries in each prefix trie and in the SPI set. */
#define GDOID_MAX_PREFIXES 4096
#define GDOID_MAX_SPIS 1024

/* gdoid_config.flags */
#define GDOID_CFG_ENABLED 0x1u   /* programs pass everything through while clear */
#define GDOID_CFG_COPY_TTL 0x2u  /* outer TTL/hop limit := the inner packet's after forwarding */
#define GDOID_CFG_SET_DF 0x4u    /* df-bit = set: the egress program sets DF on the group's IPv4 ESP */
#define GDOID_CFG_HAVE_V4 0x10u  /* the v4 anchors are valid */
#define GDOID_CFG_HAVE_V6 0x20u  /* the v6 anchors are valid */

/* The single entry of the config map. Addresses in network byte order. */
struct gdoid_config {
    __u32 flags;
    /* Reserved skb->mark bits: the slot index lives in (mark >> slot_shift) & (2^slot_bits - 1),
     * flag_mark is one bit outside that field; reserved_mask covers both. */
    __u32 reserved_mask;
    __u32 flag_mark;
    __u32 slot_shift;
    __u32 slot_bits;
    /* Packets with any of these mark bits set are never touched at LAN ingress. */
    __u32 bypass_mark;
    /* A slot unused for longer than this is free (and cannot be restored from). */
    __u64 slot_idle_ns;
    /* v4 anchors: the outbound state's source (our WAN address), its dummy destination,
     * the inbound state's destination. */
    __u32 v4_local;
    __u32 v4_remote;
    __u32 v4_inbound;
    /* Seeds the (source, destination) hash, so LAN hosts cannot aim pairs at one slot. */
    __u32 hash_seed;
    __u8 v6_local[16];
    __u8 v6_remote[16];
    __u8 v6_inbound[16];
    /* tcp-mss: SYNs toward the group's remote prefixes advertise at most this MSS (0 = off). */
    __u16 tcp_mss;
    /* pre-fragmentation (gdoid.conf(5) FRAGMENTATION): forwarded IPv4 toward the remote
     * prefixes, DF clear and longer than this, gets pre_fragment_mark at LAN ingress, which
     * routes it through gdoid's XFRM interface of that MTU (0 = off). */
    __u16 pre_fragment_mtu;
    /* One bit of reserved_mask (its lowest) when pre-fragmentation is on, else 0. */
    __u32 pre_fragment_mark;
    /* The dummy destination of the XFRM interface's outbound states (network byte order):
     * restored like v4_remote. 0 = none. */
    __u32 v4_remote_pre_fragment;
};

/* One slot: the addresses LAN ingress saw, for WAN egress to restore. */
struct gdoid_slot {
    struct bpf_spin_lock lock;
    __u8 family; /* 0 = never used, 4 or 6 */
    __u8 ttl;    /* TTL / hop limit the inner packet leaves the router with */
    __u16 pad0;
    __u64 last_used_ns; /* bpf_ktime_get_ns() (CLOCK_MONOTONIC) of the last packet using it */
    __u32 saddr[4]; /* network byte order; IPv4 uses saddr[0] only, the rest stay 0 */
    __u32 daddr[4];
};

/* Keys of the LPM tries (prefixlen first, as BPF_MAP_TYPE_LPM_TRIE requires). */
struct gdoid_lpm_v4 {
    __u32 prefixlen;
    __u8 addr[4];
};
struct gdoid_lpm_v6 {
    __u32 prefixlen;
    __u8 addr[16];
};

/* Per-CPU counters, one __u64 per index in the counters map. */
enum gdoid_counter {
    GDOID_CTR_LAN_MARKED = 0,     /* LAN ingress: packet got a slot and the flag */
    GDOID_CTR_LAN_SLOT_REUSED,    /* ... the slot already held the same pair */
    GDOID_CTR_LAN_SLOT_COLLISION, /* a probe step skipped a live slot of another pair */
    GDOID_CTR_LAN_SLOT_EXHAUSTED, /* every probed slot was live: packet left unflagged */
    GDOID_CTR_LAN_BYPASS,         /* bypass mark set: left alone */
    GDOID_CTR_OUT_RESTORED,       /* WAN egress: addresses restored from the slot */
    GDOID_CTR_OUT_FRAGMENTS,      /* ... of which IP fragments */
    GDOID_CTR_OUT_UNRESTORED,     /* flagged, slot empty/stale/other family: dropped */
    GDOID_CTR_OUT_UNFLAGGED,      /* toward the dummy anchor without the flag: dropped */
    GDOID_CTR_IN_REWRITTEN,       /* WAN ingress: destination := inbound anchor */
    GDOID_CTR_IN_FRAGMENTS,       /* ... of which non-first fragments (no SPI) */
    GDOID_CTR_IN_UNKNOWN_SPI,     /* ESP toward a local prefix with an SPI not in the set */
    GDOID_CTR_MALFORMED,          /* truncated headers / bad IHL: passed untouched */
    GDOID_CTR_LAN_MSS_CLAMPED,    /* LAN ingress: a SYN's MSS option lowered to tcp_mss */
    GDOID_CTR_OUT_MULTICAST,      /* WAN egress: restored toward a multicast group */
    GDOID_CTR_IN_CLEAR_MULTICAST, /* WAN ingress: clear text toward a protected group: dropped */
    GDOID_CTR_OUT_DF_SET,         /* WAN egress: DF set on an outer header (df-bit set) */
    GDOID_CTR_LAN_PRE_FRAGMENT,   /* LAN ingress: oversize DF-clear IPv4 sent to be fragmented */
    GDOID_CTR_OUT_PRE_FRAGMENTED, /* WAN egress: restored ESP of the XFRM interface (one per fragment) */
    GDOID_CTR_COUNT
};

#endif
