// GDOI SA (RFC 6407 section 5.1):
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ! Next Payload  !   RESERVED    !         Payload Length        !
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// !                            DOI                                !
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// !                          Situation                            !
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ! SA Attribute Next Payload     !          RESERVED2            !
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// "Payload Length (2 octets) -- Is the octet length of the current payload including the
// generic payload header and all TEK and KEK payloads." The SA KEK, GAP and SA TEK payloads
// follow inside that length, chained by their own Next Payload fields starting with the
// SA Attribute Next Payload; the last one has Next Payload 0.
#include "gdoi/wire/payload_codec.hpp"

#include <string>

namespace gdoi::wire::detail {

GdoiSaPayload decode_gdoi_sa(Reader& r, BodyDecode& d) {
    GdoiSaPayload sa;
    sa.doi = r.u32("DOI");
    if (sa.doi != doi::gdoi)
        r.fail_at(0, "DOI " + std::to_string(sa.doi) + " is not GDOI (2)",
                  NotifyType::doi_not_supported);
    sa.situation = r.u32("Situation");
    uint16_t next = r.u16("SA Attribute Next Payload");
    r.skip(2, "RESERVED2");
    size_t index = 0;
    while (next != payload::none) {
        ++index;
        size_t start = r.position();
        std::string name = payload_name(static_cast<uint8_t>(next));
        if (next != payload::sa_kek && next != payload::sa_tek && next != payload::gap)
            r.fail_at(start,
                      "SA attribute payload " + std::to_string(index) + " has type " +
                          std::to_string(next) + ", expected SA KEK, GAP or SA TEK",
                      NotifyType::invalid_payload_type);
        uint8_t following = r.u8(name + " next payload");
        r.skip(1, "RESERVED");
        size_t length = r.u16(name + " payload length");
        if (length < kGenericPayloadHeaderSize)
            r.fail_at(start, name + " length " + std::to_string(length) + " is below 4");
        if (length - kGenericPayloadHeaderSize > r.remaining())
            r.fail_at(start, name + " length " + std::to_string(length) + " exceeds the " +
                                 std::to_string(r.remaining() + kGenericPayloadHeaderSize) +
                                 " octets left in SA");
        auto sub = r.sub(length - kGenericPayloadHeaderSize, name, "payload body");
        switch (next) {
        case payload::sa_kek:
            sa.attributes.emplace_back(decode_sa_kek(sub, d));
            break;
        case payload::gap:
            sa.attributes.emplace_back(decode_gap(sub, d));
            break;
        default:
            sa.attributes.emplace_back(decode_sa_tek(sub, d));
            break;
        }
        sub.assert_done();
        next = following;
    }
    // "a length that lies cannot go unnoticed": the SA length must end with its last TEK.
    r.assert_done();
    return sa;
}

void encode_gdoi_sa(Writer& w, const GdoiSaPayload& sa, const EncodeContext& ctx) {
    auto type_of = [](const SaAttributePayload& a) -> uint8_t {
        if (std::holds_alternative<SaKekPayload>(a)) return payload::sa_kek;
        if (std::holds_alternative<GapPayload>(a)) return payload::gap;
        return payload::sa_tek;
    };
    w.u32(sa.doi);
    w.u32(sa.situation);
    w.u16(sa.attributes.empty() ? payload::none : type_of(sa.attributes.front()));
    w.u16(0);
    for (size_t i = 0; i < sa.attributes.size(); ++i) {
        const auto& a = sa.attributes[i];
        size_t start = w.size();
        w.u8(i + 1 < sa.attributes.size() ? type_of(sa.attributes[i + 1]) : payload::none);
        w.u8(0);
        size_t length_at = w.placeholder_u16();
        if (auto* kek = std::get_if<SaKekPayload>(&a))
            encode_sa_kek(w, *kek, ctx);
        else if (auto* gap = std::get_if<GapPayload>(&a))
            encode_gap(w, *gap);
        else
            encode_sa_tek(w, std::get<SaTekPayload>(a), ctx);
        w.patch_length_u16(length_at, start, payload_name(type_of(a)));
    }
}

} // namespace gdoi::wire::detail
