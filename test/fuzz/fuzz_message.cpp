// libFuzzer target for the GDOI/ISAKMP message decoder (and, through it, every payload codec and
// the policy conversion). Invariants checked beyond "no crash, no out-of-bounds read":
//  - decoding throws only DecodeError;
//  - a decoded message re-encodes (same quirks) and decodes again to the same payloads.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "gdoi/wire/describe.hpp"
#include "gdoi/wire/message.hpp"
#include "gdoi/wire/policy_codec.hpp"

using namespace gdoi;
using namespace gdoi::wire;

namespace {

void check(bool condition) {
    if (!condition) std::abort();
}

bool same_payloads(const Message& a, const Message& b) {
    if (a.header.exchange_type != b.header.exchange_type || a.payloads.size() != b.payloads.size())
        return false;
    for (size_t i = 0; i < a.payloads.size(); ++i)
        if (!(a.payloads[i].body == b.payloads[i].body)) return false;
    return true;
}

void one(std::span<const uint8_t> input, const DecodeContext& ctx) {
    Message m;
    try {
        m = decode_message(input, ctx);
    } catch (const DecodeError&) {
        return;
    }
    (void)describe_message(m);
    (void)walk_payload_chain(input);
    for (const auto& p : m.payloads) check(payload_bytes(input, p).size() == p.length);
    EncodeContext ectx{ctx.quirks};
    std::vector<uint8_t> again;
    try {
        again = encode_message(m, ectx);
    } catch (const EncodeError&) {
        return; // e.g. a non-ESP TEK kept opaque is still re-encodable; others may not be
    }
    Message back = decode_message(again, DecodeContext{ctx.quirks, TrailingData::reject});
    check(same_payloads(m, back));
    if (auto* sa = m.find<GdoiSaPayload>()) {
        try {
            (void)group_policy_from(*sa, m.find<KdPayload>(), ctx.quirks);
        } catch (const PolicyError&) {
        }
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::span<const uint8_t> input(data, size);
    ServerQuirks reference;
    reference.group_id_byte_order = GroupIdByteOrder::little_endian;
    reference.sa_tek_ipv4_byte_reversed = true;
    one(input, DecodeContext{ServerQuirks{}, TrailingData::reject});
    one(input, DecodeContext{reference, TrailingData::padding});
    ServerQuirks two;
    two.sa_tek_id_length = IdLengthWidth::two_octets;
    two.sa_kek_id_length = IdLengthWidth::two_octets;
    one(input, DecodeContext{two, TrailingData::reject});
    return 0;
}
