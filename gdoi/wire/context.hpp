// What the codec needs to know about the peer (its quirks) and what it tells back about the
// variants it met on the wire ("observations", for the caller to log once per server).
#pragma once

#include "gdoi/server_quirks.hpp"

#include <cstddef>
#include <string>
#include <vector>

namespace gdoi::wire {

enum class ObservationKind : uint8_t {
    sa_tek_id_length_1, // SA TEK ID Data Len was 1 octet (reference server)
    sa_tek_id_length_2, // SA TEK ID Data Len was 2 octets (Wireshark/TrustCore reading)
    sa_kek_id_length_1,
    sa_kek_id_length_2,
    sa_kek_extra_reserved,  // 2 extra octets after the SA KEK RESERVED field
    group_id_little_endian, // KEY_ID group number in host (x86) order
    group_id_network_order,
    phase1_doi_ipsec,         // Phase 1 SA with DOI 1
    phase1_doi_gdoi,          // Phase 1 SA with DOI 2
    unknown_payload_skipped,  // non-critical payload of an unknown type
    trailing_padding,         // octets after the payload chain (decrypted padding)
    numeric_attribute_as_tlv, // a numeric attribute arrived as TLV
    numeric_attribute_as_tv,  // an attribute the RFC defines as variable arrived as TV
};

struct Observation {
    ObservationKind kind;
    std::string detail; // human-readable, no secrets

    bool operator==(const Observation&) const = default;
};

const char* observation_name(ObservationKind kind);

enum class TrailingData : uint8_t {
    reject,  // the header length and the payload chain must end together
    padding, // decrypted data: octets after the chain are CBC padding (ignored, reported)
};

struct DecodeContext {
    ServerQuirks quirks;
    TrailingData trailing = TrailingData::reject;
};

struct EncodeContext {
    ServerQuirks quirks;
};

} // namespace gdoi::wire
