// SA KEK / SA TEK / GAP / KD key packets <-> gdoi::KekPolicy / TekPolicy / GroupAssociatedPolicy,
// as a push carries them, on top of gdoi/wire/policy_codec.hpp. Decoding validates: a TEK
// without its keys, with a key of the wrong size, or with an algorithm we cannot install is
// refused with a reason (a value, not an exception), never passed on.
#pragma once

#include "gdoi/group_policy.hpp"
#include "gdoi/server_quirks.hpp"
#include "gdoi/wire/payloads.hpp"

#include <optional>
#include <string>
#include <vector>

namespace gdoi::push {

template <typename T> struct Converted {
    std::optional<T> value;
    std::string error; // set when value is empty: what is wrong, for the operator
};

// The KEK an SA KEK describes. `kd_kek` is the KD KEK packet (or nullptr); without it the
// SA KEK must name `current`'s SPI and the current key and IV are kept. A missing public key
// keeps the current one. Notes (e.g. "KD KEK packet labelled with the old SPI") are appended.
Converted<KekPolicy> kek_from_wire(const wire::SaKekPayload& sa, const wire::KeyPacket* kd_kek,
                                   const KekPolicy& current, std::vector<std::string>& notes);

// One TEK with its keys from `kd_tek` (nullptr: no key packet for its SPI).
Converted<TekPolicy> tek_from_wire(const wire::SaTekPayload& sa, const wire::KeyPacket* kd_tek,
                                   const ServerQuirks& quirks);

GroupAssociatedPolicy gap_from_wire(const wire::GapPayload& gap);

// ---- encoding (the test key server) ----
wire::SaKekPayload kek_to_wire(const KekPolicy& kek);
// KEK_ALGORITHM_KEY = IV | key, SIG_ALGORITHM_KEY = public key; SPI field = `label_spi`
// (the reference server labels a rollover's packet with the old SPI).
wire::KeyPacket kek_key_packet(const KekPolicy& kek, const KekSpi& label_spi);
wire::SaTekPayload tek_to_wire(const TekPolicy& tek, const ServerQuirks& quirks);
wire::KeyPacket tek_key_packet(const TekPolicy& tek);
wire::GapPayload gap_to_wire(const GroupAssociatedPolicy& gap);

// Octets of the HMAC key of an ESP integrity algorithm (RFC 2404, 4868); 0 for none.
size_t integrity_key_size(TekIntegrity integrity);

} // namespace gdoi::push
