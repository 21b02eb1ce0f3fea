// SA TEK (RFC 6407 section 5.4) with PROTO_IPSEC_ESP (section 5.4.1):
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ! Next Payload  !   RESERVED    !         Payload Length        !
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ! Protocol-ID   !       TEK Protocol-Specific Payload           ~
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ESP:
// !   Protocol    !  SRC ID Type  !         SRC ID Port           !
// !SRC ID Data Len!          SRC Identification Data              ~
// ! DST ID Type   !         DST ID Port           !DST ID Data Len!
// !                    DST Identification Data                    ~
// ! Transform ID  !                        SPI                    !
// !      SPI      !                  SA Attributes                ~
// The Cisco reference implementation writes 1-octet ID Data Len; Wireshark and TrustCore read
// 2. Decoding tries the configured width (automatic: 1, then 2) and keeps the one that makes
// the attributes end exactly at the payload length.
#include "gdoi/wire/payload_codec.hpp"
#include "gdoi/wire/sa_id_endpoint.hpp"

#include <optional>
#include <string>

namespace gdoi::wire::detail {

namespace {

// RFC 6407 section 5.4.1 draws SRC/DST ID Data Len as one octet.
inline constexpr uint8_t kRfcTekIdLengthOctets = 1;

SaTekPayload decode_esp(std::span<const uint8_t> body, size_t base, const std::string& context,
                        uint8_t width) {
    Reader r(body, context, base);
    SaTekPayload p;
    p.id_length_octets = width;
    p.protocol_id = r.u8("Protocol-ID");
    p.ip_protocol = r.u8("Protocol");
    read_id_endpoint(r, p.source, width, "SRC");
    read_id_endpoint(r, p.destination, width, "DST");
    p.transform_id = r.u8("Transform ID");
    p.spi = r.u32("SPI");
    while (!r.done()) {
        size_t at = r.position();
        auto attribute = decode_attribute(r);
        if (attribute.type == 0) r.fail_at(at, "SA attribute type 0 is reserved");
        p.attributes.push_back(std::move(attribute));
    }
    return p;
}

} // namespace

SaTekPayload decode_sa_tek(Reader& r, BodyDecode& d) {
    const size_t base = r.offset();
    const auto body = r.rest();
    if (body.empty()) Reader(body, r.context(), base).fail("empty body");
    if (body[0] != tek_protocol::esp) {
        // Other TEK protocols (AH) are kept opaque: we cannot install them anyway.
        SaTekPayload p;
        p.protocol_id = body[0];
        p.opaque_body.assign(body.begin() + 1, body.end());
        return p;
    }
    std::vector<uint8_t> widths;
    switch (d.ctx.quirks.sa_tek_id_length) {
    case IdLengthWidth::one_octet:
        widths = {1};
        break;
    case IdLengthWidth::two_octets:
        widths = {2};
        break;
    case IdLengthWidth::automatic:
        widths = {kRfcTekIdLengthOctets, 3 - kRfcTekIdLengthOctets};
        break;
    }
    std::optional<DecodeError> first_error;
    for (uint8_t width : widths) {
        try {
            auto p = decode_esp(body, base, r.context(), width);
            d.observe(width == 1 ? ObservationKind::sa_tek_id_length_1
                                 : ObservationKind::sa_tek_id_length_2,
                      "SA TEK ID Data Len is " + std::to_string(width) + " octet(s)");
            return p;
        } catch (const DecodeError& e) {
            if (!first_error) first_error = e;
        }
    }
    throw *first_error;
}

void encode_sa_tek(Writer& w, const SaTekPayload& p, const EncodeContext& ctx) {
    w.u8(p.protocol_id);
    if (p.protocol_id != tek_protocol::esp) {
        w.bytes(p.opaque_body);
        return;
    }
    uint8_t width = p.id_length_octets;
    if (ctx.quirks.sa_tek_id_length == IdLengthWidth::two_octets) width = 2;
    if (ctx.quirks.sa_tek_id_length == IdLengthWidth::one_octet) width = 1;
    if (width != 1 && width != 2) width = kRfcTekIdLengthOctets;
    w.u8(p.ip_protocol);
    write_id_endpoint(w, p.source, width, "SA TEK SRC");
    write_id_endpoint(w, p.destination, width, "SA TEK DST");
    w.u8(p.transform_id);
    w.u32(p.spi);
    encode_attributes(w, p.attributes);
}

} // namespace gdoi::wire::detail
