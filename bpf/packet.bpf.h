/* Header parsing for the datapath programs: Ethernet (up to two VLAN tags in the frame),
 * IPv4 with options, IPv6 with at most a fragment header. Reads go through
 * bpf_skb_load_bytes so paged (non-linear) skbs parse the same as linear ones. */
#ifndef GDOID_BPF_PACKET_BPF_H
#define GDOID_BPF_PACKET_BPF_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <stddef.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#define GDOID_IPPROTO_ESP 50
#define GDOID_IPV6_FRAGMENT 44
#define GDOID_IP_MF 0x2000
#define GDOID_IP_DF 0x4000
#define GDOID_IP_OFFSET 0x1fff

/* IPv6 fragment header (RFC 8200 4.5). */
struct gdoid_frag6 {
    __u8 nexthdr;
    __u8 reserved;
    __be16 frag_off; /* offset << 3 | M */
    __be32 identification;
};

struct gdoid_packet {
    __u32 l3_off; /* from skb->data (the MAC header at tc) */
    __u32 l4_off; /* first octet after the IP header(s) */
    __u8 family;  /* 4 or 6 */
    __u8 proto;   /* IPv4 protocol, or IPv6 next header after a fragment header */
    __u8 ttl;     /* TTL / hop limit */
    __u8 fragment;       /* an IP fragment (first or later) */
    __u8 later_fragment; /* offset != 0: carries no ESP header */
    __u32 saddr[4];      /* network byte order, v4 in [0] */
    __u32 daddr[4];
    __be16 v4_frag_off;  /* IPv4 flags + offset as on the wire */
};

/* Returns 0 when an IPv4 or IPv6 header was found and read, -1 otherwise (not IP, truncated,
 * bad IHL). */
static __always_inline int gdoid_parse(struct __sk_buff* skb, struct gdoid_packet* pkt) {
    struct ethhdr eth;
    __u32 off = sizeof(eth);

    if (bpf_skb_load_bytes(skb, 0, &eth, sizeof(eth)) < 0) return -1;
    __be16 proto = eth.h_proto;
#pragma unroll
    for (int i = 0; i < 2; i++) {
        if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD)) break;
        __be16 vlan[2]; /* TCI, encapsulated protocol */
        if (bpf_skb_load_bytes(skb, off, vlan, sizeof(vlan)) < 0) return -1;
        proto = vlan[1];
        off += sizeof(vlan);
    }
    pkt->l3_off = off;

    if (proto == bpf_htons(ETH_P_IP)) {
        struct iphdr ip;
        if (bpf_skb_load_bytes(skb, off, &ip, sizeof(ip)) < 0) return -1;
        if (ip.version != 4 || ip.ihl < 5) return -1;
        pkt->family = 4;
        pkt->l4_off = off + ip.ihl * 4u;
        pkt->proto = ip.protocol;
        pkt->ttl = ip.ttl;
        pkt->v4_frag_off = ip.frag_off;
        __u16 frag = bpf_ntohs(ip.frag_off);
        pkt->fragment = (frag & (GDOID_IP_MF | GDOID_IP_OFFSET)) != 0;
        pkt->later_fragment = (frag & GDOID_IP_OFFSET) != 0;
        pkt->saddr[0] = ip.saddr;
        pkt->daddr[0] = ip.daddr;
        pkt->saddr[1] = pkt->saddr[2] = pkt->saddr[3] = 0;
        pkt->daddr[1] = pkt->daddr[2] = pkt->daddr[3] = 0;
        return 0;
    }
    if (proto == bpf_htons(ETH_P_IPV6)) {
        struct ipv6hdr ip6;
        if (bpf_skb_load_bytes(skb, off, &ip6, sizeof(ip6)) < 0) return -1;
        if (ip6.version != 6) return -1;
        pkt->family = 6;
        pkt->l4_off = off + sizeof(ip6);
        pkt->proto = ip6.nexthdr;
        pkt->ttl = ip6.hop_limit;
        pkt->v4_frag_off = 0;
        pkt->fragment = 0;
        pkt->later_fragment = 0;
        __builtin_memcpy(pkt->saddr, &ip6.saddr, 16);
        __builtin_memcpy(pkt->daddr, &ip6.daddr, 16);
        if (ip6.nexthdr == GDOID_IPV6_FRAGMENT) {
            struct gdoid_frag6 frag;
            if (bpf_skb_load_bytes(skb, pkt->l4_off, &frag, sizeof(frag)) < 0) return -1;
            pkt->proto = frag.nexthdr;
            pkt->fragment = 1;
            pkt->later_fragment = (bpf_ntohs(frag.frag_off) & 0xfff8) != 0;
            pkt->l4_off += sizeof(frag);
        }
        return 0;
    }
    return -1;
}

static __always_inline int gdoid_addr_eq(const __u32* a, const __u32* b, __u8 family) {
    if (family == 4) return a[0] == b[0];
    return a[0] == b[0] && a[1] == b[1] && a[2] == b[2] && a[3] == b[3];
}

#endif
