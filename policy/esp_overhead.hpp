// How much of a link's MTU a group TEK's ESP tunnel leaves for the inner packet: the TEK's
// algorithms (IV, block size, ICV) and the outer header's family, computed the way Linux does
// (net/xfrm/xfrm_state.c, xfrm_state_mtu(), tunnel mode), so gdoictl names the same MTU the
// kernel puts in "fragmentation needed" / Packet Too Big.
#pragma once

#include "gdoi/group_policy.hpp"

#include <cstdint>
#include <optional>

namespace policy {

struct EspOverhead {
    uint32_t outer_header = 0; // 20 (IPv4) or 40 (IPv6)
    uint32_t esp_header = 8;   // SPI + sequence number (RFC 4303 2)
    uint32_t iv = 0;           // per-packet IV: AES-CBC 16, 3DES 8, AES-GCM 8 (RFC 4106 3.1)
    uint32_t icv = 0;          // AES-GCM 16, HMAC-SHA-256-128 16, HMAC-SHA-1-96 12 ...
    uint32_t block = 4;        // the cipher's block size aligned to 4 (RFC 4303 2.4)
    uint32_t trailer = 2;      // pad length + next header
};

// nullopt for a TEK gdoid cannot install (no cipher, or neither integrity nor AEAD).
std::optional<EspOverhead> esp_overhead(const gdoi::TekPolicy& tek, bool outer_ipv6);

// The largest inner packet that leaves as one ESP packet of at most `link_mtu` octets
// (0 when even an empty one would not fit).
uint32_t inner_mtu(const EspOverhead& overhead, uint32_t link_mtu);

} // namespace policy
