// Known ways in which deployed key servers depart from RFC 6407 on the wire. Decoding detects
// what it can by structure; the rest follows these per-server switches from the configuration.
// Encoding follows the RFC unless a switch says otherwise. Keep every such hypothesis here.
#pragma once

#include <cstdint>

namespace gdoi {

enum class GroupIdByteOrder : uint8_t {
    network,       // RFC: big-endian
    little_endian, // the Cisco reference implementation on x86 copies it in host order
};

enum class IdLengthWidth : uint8_t { automatic, one_octet, two_octets };

struct ServerQuirks {
    // How we send the group number in PULL message 1 (we accept both orders when reading).
    GroupIdByteOrder group_id_byte_order = GroupIdByteOrder::network;
    // SA TEK / SA KEK ID Data Len width; automatic = the width that makes the payload end
    // exactly where its length says.
    IdLengthWidth sa_tek_id_length = IdLengthWidth::automatic;
    IdLengthWidth sa_kek_id_length = IdLengthWidth::automatic;
    // The reference key server sends IPv4 addresses and masks in SA TEK IDs byte-reversed.
    bool sa_tek_ipv4_byte_reversed = false;
    // DOI in our Phase 1 SA payload: 1 (IPsec, RFC 6407 says so) or 2 (GDOI, older servers).
    uint32_t phase1_doi = 1;
};

} // namespace gdoi
