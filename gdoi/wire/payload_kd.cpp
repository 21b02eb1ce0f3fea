// KD, Key Download (RFC 6407 section 5.6):
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ! Next Payload  !   RESERVED    !         Payload Length        !
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// !   Number of Key Packets       !            RESERVED2          !
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ~                    Key Packets                                ~
// Key packet:
// !   KD Type     !   RESERVED    !            KD Length          !
// !    SPI Size   !                   SPI (variable)              ~
// ~                    Key Packet Attributes                      ~
// KD Length covers the 4-octet key packet header too. Key values go straight into SecretBytes.
#include "gdoi/wire/payload_codec.hpp"

#include <string>

namespace gdoi::wire::detail {

KdPayload decode_kd(Reader& r, BodyDecode&) {
    KdPayload kd;
    size_t count = r.u16("Number of Key Packets");
    r.skip(2, "RESERVED2");
    // Each key packet takes at least its 4-octet header and the SPI Size octet.
    if (count > r.remaining() / (kKeyPacketHeaderSize + 1))
        r.fail(std::to_string(count) + " key packets declared, " + std::to_string(r.remaining()) +
               " octets left");
    for (size_t i = 0; i < count; ++i) {
        std::string context = "KD key packet " + std::to_string(i + 1);
        size_t start = r.position();
        KeyPacket packet;
        packet.kd_type = r.u8(context + " KD Type");
        r.skip(1, "RESERVED");
        size_t length = r.u16(context + " KD Length");
        if (length < kKeyPacketHeaderSize)
            r.fail_at(start, context + ": KD Length " + std::to_string(length) + " is below 4");
        if (length - kKeyPacketHeaderSize > r.remaining())
            r.fail_at(start, context + ": KD Length " + std::to_string(length) + " exceeds the " +
                                 std::to_string(r.remaining() + kKeyPacketHeaderSize) +
                                 " octets left");
        auto sub = r.sub(length - kKeyPacketHeaderSize, context, "key packet");
        size_t spi_size = sub.u8("SPI Size");
        auto spi = sub.bytes(spi_size, "SPI");
        packet.spi.assign(spi.begin(), spi.end());
        packet.attributes = decode_key_attributes(sub);
        sub.assert_done();
        kd.packets.push_back(std::move(packet));
    }
    r.assert_done();
    return kd;
}

void encode_kd(Writer& w, const KdPayload& kd) {
    if (kd.packets.size() > 0xffff) throw EncodeError("KD: too many key packets");
    w.u16(static_cast<uint16_t>(kd.packets.size()));
    w.u16(0);
    for (const auto& packet : kd.packets) {
        size_t start = w.size();
        w.u8(packet.kd_type);
        w.u8(0);
        size_t length_at = w.placeholder_u16();
        if (packet.spi.size() > 0xff) throw EncodeError("KD key packet: SPI exceeds 255 octets");
        w.u8(static_cast<uint8_t>(packet.spi.size()));
        w.bytes(packet.spi);
        encode_key_attributes(w, packet.attributes);
        w.patch_length_u16(length_at, start, "KD key packet");
    }
}

} // namespace gdoi::wire::detail
