// SA KEK (RFC 6407 section 5.3):
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ! Next Payload  !   RESERVED    !         Payload Length        !
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// !   Protocol    !  SRC ID Type  !         SRC ID Port           !
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// !SRC ID Data Len!          SRC Identification Data              ~
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ! DST ID Type   !         DST ID Port           !DST ID Data Len!
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// !                    DST Identification Data                    ~
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// !                                                               !
// ~              SPI (16 octets)                                  ~
// !                                                               !
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// !                        RESERVED                               !
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ~                        KEK Attributes                         ~
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// Field disagreements in deployed servers (gdoi-wire-notes.md): TrustCore writes 2-octet ID
// Data Len; the reference server writes 6 octets of RESERVED. We try the RFC layout first and
// then the variants, taking the one whose attributes end exactly at the payload length.
#include "gdoi/wire/id_data.hpp"
#include "gdoi/wire/payload_codec.hpp"
#include "gdoi/wire/sa_id_endpoint.hpp"

#include <optional>
#include <string>

namespace gdoi::wire::detail {

namespace {

SaKekPayload decode_with(std::span<const uint8_t> body, size_t base, const std::string& context,
                         uint8_t width, uint8_t extra) {
    Reader r(body, context, base);
    SaKekPayload p;
    p.id_length_octets = width;
    p.extra_reserved_octets = extra;
    p.protocol = r.u8("Protocol");
    read_id_endpoint(r, p.source, width, "SRC");
    read_id_endpoint(r, p.destination, width, "DST");
    auto spi = r.bytes(kKekSpiSize, "SPI");
    std::copy(spi.begin(), spi.end(), p.spi.begin());
    r.skip(kSaKekReservedSize + extra, "RESERVED");
    while (!r.done()) {
        size_t at = r.position();
        auto attribute = decode_attribute(r);
        if (attribute.type == 0) r.fail_at(at, "KEK attribute type 0 is reserved");
        p.attributes.push_back(std::move(attribute));
    }
    return p;
}

} // namespace

SaKekPayload decode_sa_kek(Reader& r, BodyDecode& d) {
    const size_t base = r.offset();
    const auto body = r.rest();
    std::vector<uint8_t> widths;
    switch (d.ctx.quirks.sa_kek_id_length) {
    case IdLengthWidth::one_octet:
        widths = {1};
        break;
    case IdLengthWidth::two_octets:
        widths = {2};
        break;
    case IdLengthWidth::automatic:
        widths = {1, 2};
        break;
    }
    std::optional<DecodeError> first_error;
    for (uint8_t width : widths)
        for (uint8_t extra : {uint8_t{0}, uint8_t{kSaKekReferenceExtraOctets}}) {
            try {
                auto p = decode_with(body, base, r.context(), width, extra);
                d.observe(width == 1 ? ObservationKind::sa_kek_id_length_1
                                     : ObservationKind::sa_kek_id_length_2,
                          "SA KEK ID Data Len is " + std::to_string(width) + " octet(s)");
                if (extra)
                    d.observe(ObservationKind::sa_kek_extra_reserved,
                              "SA KEK has " + std::to_string(extra) +
                                  " extra octets after RESERVED");
                return p;
            } catch (const DecodeError& e) {
                if (!first_error) first_error = e;
            }
        }
    throw *first_error;
}

void encode_sa_kek(Writer& w, const SaKekPayload& p, const EncodeContext& ctx) {
    uint8_t width = p.id_length_octets;
    if (ctx.quirks.sa_kek_id_length == IdLengthWidth::two_octets) width = 2;
    if (ctx.quirks.sa_kek_id_length == IdLengthWidth::one_octet) width = 1;
    if (width != 1 && width != 2) width = 1;
    w.u8(p.protocol);
    write_id_endpoint(w, p.source, width, "SA KEK SRC");
    write_id_endpoint(w, p.destination, width, "SA KEK DST");
    w.bytes(p.spi);
    w.zeros(kSaKekReservedSize + p.extra_reserved_octets);
    encode_attributes(w, p.attributes);
}

} // namespace gdoi::wire::detail
