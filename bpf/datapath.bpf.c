// SPDX-License-Identifier: GPL-2.0-or-later
/* gdoid's tc-BPF datapath for GET VPN header preservation on a stock kernel (design.md,
 * "Header preservation on a stock kernel"; datapath-notes.md for the pitfalls cited below).
 *   LAN ingress: remember (source, destination, TTL) of packets toward protected remote
 *                prefixes in a slot; put the slot index and a flag in reserved skb->mark bits.
 *   WAN egress:  ESP from the local anchor to the dummy remote anchor: restore the addresses
 *                from the slot named by the mark; never let anything reach the dummy anchor.
 *   WAN ingress: group ESP toward our protected prefixes: destination := the inbound anchor,
 *                where the one inbound state per TEK waits. */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include <bpf/bpf_helpers.h>

#include "datapath_abi.h"
#include "packet.bpf.h"
#include "tcp_mss.bpf.h"

char LICENSE[] SEC("license") = "GPL";

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct gdoid_config);
} gdoid_config SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, GDOID_SLOT_CAPACITY);
    __type(key, __u32);
    __type(value, struct gdoid_slot);
} gdoid_slots SEC(".maps");

#define GDOID_LPM_MAP(name, key_type)                                                          \
    struct {                                                                                   \
        __uint(type, BPF_MAP_TYPE_LPM_TRIE);                                                   \
        __uint(max_entries, GDOID_MAX_PREFIXES);                                               \
        __uint(map_flags, BPF_F_NO_PREALLOC);                                                  \
        __type(key, key_type);                                                                 \
        __type(value, __u32);                                                                  \
    } name SEC(".maps")

/* The group's remote protected prefixes (LAN ingress) and our own (WAN ingress). */
GDOID_LPM_MAP(gdoid_remote_v4, struct gdoid_lpm_v4);
GDOID_LPM_MAP(gdoid_remote_v6, struct gdoid_lpm_v6);
GDOID_LPM_MAP(gdoid_local_v4, struct gdoid_lpm_v4);
GDOID_LPM_MAP(gdoid_local_v6, struct gdoid_lpm_v6);

/* SPIs (network byte order, as on the wire) of the active inbound group SAs. */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, GDOID_MAX_SPIS);
    __type(key, __u32);
    __type(value, __u32);
} gdoid_spis SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, GDOID_CTR_COUNT);
    __type(key, __u32);
    __type(value, __u64);
} gdoid_counters SEC(".maps");

static __always_inline void count(__u32 counter) {
    __u64* value = bpf_map_lookup_elem(&gdoid_counters, &counter);
    if (value) *value += 1;
}

static __always_inline const struct gdoid_config* config(void) {
    __u32 zero = 0;
    const struct gdoid_config* cfg = bpf_map_lookup_elem(&gdoid_config, &zero);
    if (!cfg || !(cfg->flags & GDOID_CFG_ENABLED)) return 0;
    return cfg;
}

static __always_inline int family_enabled(const struct gdoid_config* cfg, __u8 family) {
    return cfg->flags & (family == 4 ? GDOID_CFG_HAVE_V4 : GDOID_CFG_HAVE_V6);
}

/* murmur3's finaliser: cheap and mixes every input bit into every output bit. */
static __always_inline __u32 mix32(__u32 h) {
    h ^= h >> 16;
    h *= 0x85ebca6b;
    h ^= h >> 13;
    h *= 0xc2b2ae35;
    h ^= h >> 16;
    return h;
}

static __always_inline __u32 pair_hash(const struct gdoid_packet* pkt, __u32 seed) {
    __u32 h = seed;
#pragma unroll
    for (int i = 0; i < 4; i++) h = mix32(h ^ pkt->saddr[i]) + 0x9e3779b9;
#pragma unroll
    for (int i = 0; i < 4; i++) h = mix32(h ^ pkt->daddr[i]) + 0x9e3779b9;
    return h;
}

/* A slot stamped after `now` (another CPU, racing) is live. */
static __always_inline int is_stale(__u64 last_used_ns, __u64 now, __u64 idle) {
    return now > last_used_ns && now - last_used_ns > idle;
}

/* What WAN egress copies out of a slot under its lock. */
struct saved_pair {
    __u64 last_used_ns;
    __u32 saddr[4];
    __u32 daddr[4];
    __u8 family;
    __u8 ttl;
};

enum claim { CLAIM_NONE, CLAIM_SAME, CLAIM_NEW };

/* Takes the slot if it is free or already holds this pair. Under the slot's lock so a
 * concurrent restore never reads a half-written pair. */
static __always_inline enum claim claim_slot(struct gdoid_slot* slot,
                                             const struct gdoid_packet* pkt, __u8 ttl, __u64 now,
                                             __u64 idle) {
    enum claim result = CLAIM_NONE;
    bpf_spin_lock(&slot->lock);
    if (slot->family == pkt->family && gdoid_addr_eq(slot->saddr, pkt->saddr, 6) &&
        gdoid_addr_eq(slot->daddr, pkt->daddr, 6)) {
        result = CLAIM_SAME;
    } else if (slot->family == 0 || is_stale(slot->last_used_ns, now, idle)) {
        result = CLAIM_NEW;
        slot->family = pkt->family;
        __builtin_memcpy(slot->saddr, pkt->saddr, 16);
        __builtin_memcpy(slot->daddr, pkt->daddr, 16);
    }
    if (result != CLAIM_NONE) {
        slot->ttl = ttl;
        slot->last_used_ns = now;
    }
    bpf_spin_unlock(&slot->lock);
    return result;
}

/* pre-fragmentation: policy-based XFRM encrypts a DF-clear IPv4 packet whole and fragments
 * the ESP packet (datapath-notes.md, "Fragmentation before encryption"). Such a packet, when
 * it would not fit the tunnel, is marked so that gdoid's routing rules send it through the
 * XFRM interface, whose MTU makes ip_finish_output() fragment it before the transform. A
 * DF-set packet stays on the policy path, which answers "fragmentation needed". */
static __always_inline int needs_pre_fragmentation(struct __sk_buff* skb,
                                                   const struct gdoid_config* cfg,
                                                   const struct gdoid_packet* pkt) {
    if (!cfg->pre_fragment_mark || !cfg->pre_fragment_mtu || pkt->family != 4) return 0;
    if (pkt->v4_frag_off & bpf_htons(0x4000)) return 0; /* DF */
    __be16 total;
    if (bpf_skb_load_bytes(skb, pkt->l3_off + 2, &total, sizeof(total)) < 0) return 0;
    return bpf_ntohs(total) > cfg->pre_fragment_mtu;
}

SEC("tc")
int gdoid_lan_in(struct __sk_buff* skb) {
    const struct gdoid_config* cfg = config();
    if (!cfg) return TC_ACT_OK;
    if (skb->mark & cfg->bypass_mark) {
        count(GDOID_CTR_LAN_BYPASS);
        return TC_ACT_OK;
    }
    struct gdoid_packet pkt = {};
    if (gdoid_parse(skb, &pkt) < 0 || !family_enabled(cfg, pkt.family)) return TC_ACT_OK;

    void* remote;
    if (pkt.family == 4) {
        struct gdoid_lpm_v4 key = {.prefixlen = 32};
        __builtin_memcpy(key.addr, pkt.daddr, 4);
        remote = bpf_map_lookup_elem(&gdoid_remote_v4, &key);
    } else {
        struct gdoid_lpm_v6 key = {.prefixlen = 128};
        __builtin_memcpy(key.addr, pkt.daddr, 16);
        remote = bpf_map_lookup_elem(&gdoid_remote_v6, &key);
    }
    if (!remote) return TC_ACT_OK;
    if (gdoid_clamp_mss(skb, &pkt, cfg->tcp_mss)) count(GDOID_CTR_LAN_MSS_CLAMPED);

    /* The kernel does not copy the inner TTL into the outer header (datapath-notes: "TTL is
     * not copied"); carry the value the inner packet leaves with, after forwarding's -1. */
    __u8 ttl = pkt.ttl > 1 ? pkt.ttl - 1 : 1;
    __u64 now = bpf_ktime_get_ns();
    __u32 slot_mask = (1u << (cfg->slot_bits & 31)) - 1;
    __u32 start = pair_hash(&pkt, cfg->hash_seed);

#pragma unroll
    for (__u32 i = 0; i < GDOID_SLOT_PROBES; i++) {
        __u32 index = (start + i) & slot_mask & (GDOID_SLOT_CAPACITY - 1);
        struct gdoid_slot* slot = bpf_map_lookup_elem(&gdoid_slots, &index);
        if (!slot) break;
        enum claim claim = claim_slot(slot, &pkt, ttl, now, cfg->slot_idle_ns);
        if (claim == CLAIM_NONE) {
            count(GDOID_CTR_LAN_SLOT_COLLISION);
            continue;
        }
        if (claim == CLAIM_SAME) count(GDOID_CTR_LAN_SLOT_REUSED);
        count(GDOID_CTR_LAN_MARKED);
        __u32 mark = (skb->mark & ~cfg->reserved_mask) | (index << cfg->slot_shift) |
                     cfg->flag_mark;
        if (needs_pre_fragmentation(skb, cfg, &pkt)) {
            mark |= cfg->pre_fragment_mark;
            count(GDOID_CTR_LAN_PRE_FRAGMENT);
        }
        skb->mark = mark;
        return TC_ACT_OK;
    }
    /* No slot: leave the packet unflagged rather than overwrite a live pair. If XFRM encrypts
     * it, WAN egress drops and counts it as unflagged; it never goes out with wrong addresses. */
    count(GDOID_CTR_LAN_SLOT_EXHAUSTED);
    return TC_ACT_OK;
}

static __always_inline int v4_replace(struct __sk_buff* skb, __u32 l3_off, __u32 field_off,
                                      __u32 old_value, __u32 new_value, __u32 size) {
    if (bpf_skb_store_bytes(skb, l3_off + field_off, &new_value, size, 0) < 0) return -1;
    return bpf_l3_csum_replace(skb, l3_off + offsetof(struct iphdr, check), old_value, new_value,
                               size);
}

/* df-bit set: DF on an outer IPv4 header that lacks it. Never on a fragment: the kernel
 * already fragmented that packet, DF on one piece would mean nothing to the core. */
static __always_inline int set_df_v4(struct __sk_buff* skb, const struct gdoid_packet* pkt) {
    if (pkt->family != 4 || pkt->fragment || pkt->v4_frag_off & bpf_htons(GDOID_IP_DF)) return 0;
    __u16 new_frag = pkt->v4_frag_off | bpf_htons(GDOID_IP_DF);
    if (v4_replace(skb, pkt->l3_off, offsetof(struct iphdr, frag_off), pkt->v4_frag_off, new_frag,
                   2))
        return -1;
    count(GDOID_CTR_OUT_DF_SET);
    return 0;
}

/* Router-originated group ESP (per-destination states, design.md header preservation item 4)
 * leaves with its own addresses and never toward the dummy anchor: it is recognised as ESP
 * from one of our protected prefixes to one of the group's remote prefixes, the only ESP
 * with those outer addresses the router sends. */
static __always_inline int is_router_group_esp(const struct gdoid_packet* pkt) {
    if (pkt->family != 4 || pkt->proto != GDOID_IPPROTO_ESP) return 0;
    struct gdoid_lpm_v4 key = {.prefixlen = 32};
    __builtin_memcpy(key.addr, &pkt->saddr[0], 4);
    if (!bpf_map_lookup_elem(&gdoid_local_v4, &key)) return 0;
    __builtin_memcpy(key.addr, &pkt->daddr[0], 4);
    return bpf_map_lookup_elem(&gdoid_remote_v4, &key) != 0;
}

/* Rewrites the outer header from the slot. Returns 0 on success. */
static __always_inline int restore_v4(struct __sk_buff* skb, const struct gdoid_config* cfg,
                                      const struct gdoid_packet* pkt,
                                      const struct saved_pair* saved) {
    __u32 l3 = pkt->l3_off;
    if (v4_replace(skb, l3, offsetof(struct iphdr, saddr), pkt->saddr[0], saved->saddr[0], 4) ||
        v4_replace(skb, l3, offsetof(struct iphdr, daddr), pkt->daddr[0], saved->daddr[0], 4))
        return -1;
    if (cfg->flags & GDOID_CFG_COPY_TTL && saved->ttl != pkt->ttl) {
        /* TTL shares a 16-bit checksum word with the protocol. */
        __u16 old_word = bpf_htons((__u16)pkt->ttl << 8 | pkt->proto);
        __u16 new_word = bpf_htons((__u16)saved->ttl << 8 | pkt->proto);
        if (v4_replace(skb, l3, offsetof(struct iphdr, ttl), old_word, new_word, 2)) return -1;
    }
    if (cfg->flags & GDOID_CFG_SET_DF) return set_df_v4(skb, pkt);
    return 0;
}

static __always_inline int restore_v6(struct __sk_buff* skb, const struct gdoid_config* cfg,
                                      const struct gdoid_packet* pkt,
                                      const struct saved_pair* saved) {
    __u32 l3 = pkt->l3_off;
    /* saddr and daddr are adjacent: one store. No IPv6 header checksum; ESP has none. */
    __u32 addrs[8];
    __builtin_memcpy(addrs, saved->saddr, 16);
    __builtin_memcpy(addrs + 4, saved->daddr, 16);
    if (bpf_skb_store_bytes(skb, l3 + offsetof(struct ipv6hdr, saddr), addrs, 32, 0) < 0)
        return -1;
    if (cfg->flags & GDOID_CFG_COPY_TTL) {
        __u8 hop_limit = saved->ttl;
        if (bpf_skb_store_bytes(skb, l3 + offsetof(struct ipv6hdr, hop_limit), &hop_limit, 1, 0) <
            0)
            return -1;
    }
    return 0;
}

static __always_inline int is_multicast(const __u32* addr, __u8 family) {
    const __u8* first = (const __u8*)addr;
    return family == 4 ? (first[0] & 0xf0) == 0xe0 : first[0] == 0xff;
}

/* The packet left the XFRM bundle addressed to the dummy anchor, so its frame goes to the
 * gateway's MAC. Restored toward a group, it gets the group's MAC (RFC 1112 6.4, RFC 2464 7),
 * as a multicast router would send it, so every router and switch on the WAN treats it as
 * the group's traffic. */
static __always_inline int set_group_mac(struct __sk_buff* skb, const struct saved_pair* saved) {
    const __u8* group = (const __u8*)saved->daddr;
    __u8 mac[6];
    if (saved->family == 4) {
        mac[0] = 0x01, mac[1] = 0x00, mac[2] = 0x5e;
        mac[3] = group[1] & 0x7f, mac[4] = group[2], mac[5] = group[3];
    } else {
        mac[0] = 0x33, mac[1] = 0x33;
        mac[2] = group[12], mac[3] = group[13], mac[4] = group[14], mac[5] = group[15];
    }
    return bpf_skb_store_bytes(skb, 0, mac, sizeof(mac), 0);
}

SEC("tc")
int gdoid_wan_out(struct __sk_buff* skb) {
    const struct gdoid_config* cfg = config();
    if (!cfg) return TC_ACT_OK;
    struct gdoid_packet pkt = {};
    if (gdoid_parse(skb, &pkt) < 0 || !family_enabled(cfg, pkt.family)) return TC_ACT_OK;

    const __u32* remote = pkt.family == 4 ? &cfg->v4_remote : (const __u32*)cfg->v6_remote;
    const __u32* local = pkt.family == 4 ? &cfg->v4_local : (const __u32*)cfg->v6_local;
    /* The XFRM interface's states point at a dummy destination of their own (a second state
     * with the same SPI toward A_R would collide with the policy path's). */
    int pre_fragmented = pkt.family == 4 && cfg->v4_remote_pre_fragment &&
                         pkt.daddr[0] == cfg->v4_remote_pre_fragment;
    if (!pre_fragmented && !gdoid_addr_eq(pkt.daddr, remote, pkt.family)) {
        /* A failed DF store leaves the packet as the kernel made it (DF copied): sent. */
        if (cfg->flags & GDOID_CFG_SET_DF && is_router_group_esp(&pkt)) set_df_v4(skb, &pkt);
        return TC_ACT_OK;
    }

    /* Everything toward the dummy anchor is ours to restore or to drop: it would die at the
     * first router anyway (pitfall 10), and must never leak. The restore never looks at the
     * SPI: IP fragments carry none but inherit skb->mark (pitfall 8). */
    __u32 mark = skb->mark;
    if (!(mark & cfg->flag_mark)) {
        count(GDOID_CTR_OUT_UNFLAGGED);
        return TC_ACT_SHOT;
    }
    if (pkt.proto != GDOID_IPPROTO_ESP || !gdoid_addr_eq(pkt.saddr, local, pkt.family)) {
        count(GDOID_CTR_OUT_UNRESTORED);
        return TC_ACT_SHOT;
    }
    __u32 index = (mark >> (cfg->slot_shift & 31)) & ((1u << (cfg->slot_bits & 31)) - 1);
    struct gdoid_slot* slot = bpf_map_lookup_elem(&gdoid_slots, &index);
    if (!slot) {
        count(GDOID_CTR_OUT_UNRESTORED);
        return TC_ACT_SHOT;
    }
    struct saved_pair saved = {};
    __u64 now = bpf_ktime_get_ns();
    bpf_spin_lock(&slot->lock);
    saved.family = slot->family;
    saved.ttl = slot->ttl;
    saved.last_used_ns = slot->last_used_ns;
    __builtin_memcpy(saved.saddr, slot->saddr, 16);
    __builtin_memcpy(saved.daddr, slot->daddr, 16);
    bpf_spin_unlock(&slot->lock);
    if (saved.family != pkt.family || is_stale(saved.last_used_ns, now, cfg->slot_idle_ns)) {
        count(GDOID_CTR_OUT_UNRESTORED);
        return TC_ACT_SHOT;
    }

    int err = pkt.family == 4 ? restore_v4(skb, cfg, &pkt, &saved)
                              : restore_v6(skb, cfg, &pkt, &saved);
    if (!err && is_multicast(saved.daddr, saved.family)) {
        err = set_group_mac(skb, &saved);
        if (!err) count(GDOID_CTR_OUT_MULTICAST);
    }
    if (err) {
        count(GDOID_CTR_OUT_UNRESTORED);
        return TC_ACT_SHOT;
    }
    skb->mark = mark & ~cfg->reserved_mask;
    count(GDOID_CTR_OUT_RESTORED);
    if (pkt.fragment) count(GDOID_CTR_OUT_FRAGMENTS);
    if (pre_fragmented) count(GDOID_CTR_OUT_PRE_FRAGMENTED);
    return TC_ACT_OK;
}

#define GDOID_IPPROTO_UDP 17
#define GDOID_GDOI_PORT 848 /* RFC 6407 section 5 */

/* Link-local groups (224.0.0.0/24, ff02::/16: IGMP, PIM, OSPF hellos) are never forwarded. */
static __always_inline int is_link_local_group(const __u32* addr, __u8 family) {
    const __u8* a = (const __u8*)addr;
    return family == 4 ? a[0] == 224 && a[1] == 0 && a[2] == 0 : a[0] == 0xff && (a[1] & 0x0f) <= 2;
}

static __always_inline void* local_prefix(const struct gdoid_packet* pkt) {
    if (pkt->family == 4) {
        struct gdoid_lpm_v4 key = {.prefixlen = 32};
        __builtin_memcpy(key.addr, pkt->daddr, 4);
        return bpf_map_lookup_elem(&gdoid_local_v4, &key);
    }
    struct gdoid_lpm_v6 key = {.prefixlen = 128};
    __builtin_memcpy(key.addr, pkt->daddr, 16);
    return bpf_map_lookup_elem(&gdoid_local_v6, &key);
}

/* Multicast forwarding (ip_mr_input, net/ipv4/ipmr.c) checks no XFRM policy: clear text toward
 * a group the group's TEKs protect would be forwarded to the LAN as if it had been decrypted.
 * A packet that was decrypted passes here a second time, with its secpath (xfrm_input hands
 * the inner packet back to the same device); one without it came in clear and is dropped. */
static __always_inline int clear_multicast_check(struct __sk_buff* skb,
                                                 const struct gdoid_packet* pkt) {
    if (!is_multicast(pkt->daddr, pkt->family) || is_link_local_group(pkt->daddr, pkt->family) ||
        !local_prefix(pkt))
        return TC_ACT_OK;
    /* A key server's multicast rekey (GDOI, UDP 848) toward a group a TEK also covers must
     * still arrive: it is signed with the KEK, and without it the group loses its keys. */
    __be16 dport;
    if (pkt->proto == GDOID_IPPROTO_UDP && !pkt->later_fragment &&
        bpf_skb_load_bytes(skb, pkt->l4_off + 2, &dport, sizeof(dport)) == 0 &&
        dport == bpf_htons(GDOID_GDOI_PORT))
        return TC_ACT_OK;
    struct bpf_xfrm_state state;
    if (bpf_skb_get_xfrm_state(skb, 0, &state, sizeof(state), 0) == 0) return TC_ACT_OK;
    count(GDOID_CTR_IN_CLEAR_MULTICAST);
    return TC_ACT_SHOT;
}

SEC("tc")
int gdoid_wan_in(struct __sk_buff* skb) {
    const struct gdoid_config* cfg = config();
    if (!cfg) return TC_ACT_OK;
    struct gdoid_packet pkt = {};
    if (gdoid_parse(skb, &pkt) < 0) {
        return TC_ACT_OK;
    }
    if (!family_enabled(cfg, pkt.family)) return TC_ACT_OK;
    if (pkt.proto != GDOID_IPPROTO_ESP) return clear_multicast_check(skb, &pkt);

    if (!local_prefix(&pkt)) return TC_ACT_OK;

    /* Non-first fragments carry no SPI; without the rewrite their first fragment goes to the
     * anchor and they do not, and reassembly fails (pitfall 8). */
    if (!pkt.later_fragment) {
        __u32 spi;
        if (bpf_skb_load_bytes(skb, pkt.l4_off, &spi, sizeof(spi)) < 0) {
            count(GDOID_CTR_MALFORMED);
            return TC_ACT_OK;
        }
        /* An SPI not (yet) installed stays untouched: the inbound state is installed before
         * its SPI enters this set, and leaves after (pitfall 4). */
        if (!bpf_map_lookup_elem(&gdoid_spis, &spi)) {
            count(GDOID_CTR_IN_UNKNOWN_SPI);
            return TC_ACT_OK;
        }
    }

    __u32 l3 = pkt.l3_off;
    if (pkt.family == 4) {
        if (v4_replace(skb, l3, offsetof(struct iphdr, daddr), pkt.daddr[0], cfg->v4_inbound, 4))
            return TC_ACT_OK;
    } else {
        /* CHECKSUM_COMPLETE covers the IPv6 header: keep skb->csum right. */
        if (bpf_skb_store_bytes(skb, l3 + offsetof(struct ipv6hdr, daddr), cfg->v6_inbound, 16,
                                BPF_F_RECOMPUTE_CSUM) < 0)
            return TC_ACT_OK;
    }
    count(GDOID_CTR_IN_REWRITTEN);
    if (pkt.later_fragment) count(GDOID_CTR_IN_FRAGMENTS);
    return TC_ACT_OK;
}
