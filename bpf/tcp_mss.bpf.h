/* tcp-mss for the tc-BPF datapath: a TCP SYN (or SYN-ACK) a LAN host sends toward the group's
 * remote prefixes advertises at most the configured MSS, so the peer's segments plus the ESP
 * tunnel overhead fit the path without fragments (datapath-notes pitfall 9: clamp TCP MSS as
 * well). Each member clamps its own hosts' SYNs: between two gdoid members both directions of
 * a connection are clamped; a Cisco or Juniper peer clamps its side itself (ip tcp adjust-mss).
 * Included by datapath.bpf.c after packet.bpf.h. */
#ifndef GDOID_BPF_TCP_MSS_H
#define GDOID_BPF_TCP_MSS_H

#include "packet.bpf.h"

/* Options walked before giving up: the MSS option is nearly always the first; 12 steps cover
 * any 40-octet option area made of NOPs and short options. */
#define GDOID_TCP_OPTION_STEPS 12
#define GDOID_TCPOPT_EOL 0
#define GDOID_TCPOPT_NOP 1
#define GDOID_TCPOPT_MSS 2
#define GDOID_TCP_FLAG_SYN 0x02

/* Returns 1 when the SYN's MSS option was lowered to `limit`, 0 otherwise (not TCP, not a SYN,
 * no MSS option, already small enough, or anything unreadable: the packet is left as it is). */
static __always_inline int gdoid_clamp_mss(struct __sk_buff* skb, const struct gdoid_packet* pkt,
                                           __u16 limit) {
    if (!limit || pkt->proto != IPPROTO_TCP || pkt->later_fragment) return 0;
    __u8 head[14]; /* up to the flags octet: data offset at 12, flags at 13 */
    if (bpf_skb_load_bytes(skb, pkt->l4_off, head, sizeof(head)) < 0) return 0;
    if (!(head[13] & GDOID_TCP_FLAG_SYN)) return 0;
    __u32 end = pkt->l4_off + (__u32)(head[12] >> 4) * 4;
    __u32 opt = pkt->l4_off + 20;

    /* A bounded loop (the verifier accepts those since Linux 5.3), not unrolled: the step
     * width depends on each option's length. */
    for (int i = 0; i < GDOID_TCP_OPTION_STEPS; i++) {
        if (opt >= end) return 0;
        __u8 kind_len[2];
        if (bpf_skb_load_bytes(skb, opt, kind_len, 1) < 0) return 0;
        if (kind_len[0] == GDOID_TCPOPT_EOL) return 0;
        if (kind_len[0] == GDOID_TCPOPT_NOP) {
            opt += 1;
            continue;
        }
        if (bpf_skb_load_bytes(skb, opt, kind_len, 2) < 0 || kind_len[1] < 2) return 0;
        if (kind_len[0] == GDOID_TCPOPT_MSS && kind_len[1] == 4 && opt + 4 <= end) {
            __be16 mss;
            if (bpf_skb_load_bytes(skb, opt + 2, &mss, sizeof(mss)) < 0) return 0;
            if (bpf_ntohs(mss) <= limit) return 0;
            __be16 clamped = bpf_htons(limit);
            /* The checksum first (it reads nothing we change), then the option. */
            if (bpf_l4_csum_replace(skb, pkt->l4_off + 16, mss, clamped, sizeof(clamped)) < 0) return 0;
            if (bpf_skb_store_bytes(skb, opt + 2, &clamped, sizeof(clamped), 0) < 0) return 0;
            return 1;
        }
        opt += kind_len[1];
    }
    return 0;
}

#endif
