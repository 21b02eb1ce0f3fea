#include "gdoi/push/push_ack.hpp"

#include "gdoi/push/push_crypto.hpp"
#include "gdoi/wire/message.hpp"

namespace gdoi::push {

using namespace gdoi::wire;

SecretBytes derive_ack_key(const KekPolicy& kek) {
    const uint8_t length[2] = {static_cast<uint8_t>(AckProfile::key_bits >> 8),
                               static_cast<uint8_t>(AckProfile::key_bits & 0xff)};
    std::span<const uint8_t> label(reinterpret_cast<const uint8_t*>(AckProfile::key_label.data()),
                                   AckProfile::key_label.size());
    return crypto::hmac(AckProfile::prf_hash, kek.key.reveal(), {label, kek.spi, length});
}

namespace {

IdPayload member_id(const IpAddress& member) {
    IdPayload id;
    id.id_type = member.family == IpFamily::v4 ? id_type::ipv4_addr : id_type::ipv6_addr;
    id.protocol = AckProfile::id_protocol;
    id.port = AckProfile::id_port;
    id.data.assign(member.bytes.begin(),
                   member.bytes.begin() + static_cast<long>(member.width_bytes()));
    return id;
}

std::vector<uint8_t> ack_hash(const KekPolicy& kek, std::span<const uint8_t> seq_payload,
                              std::span<const uint8_t> id_payload) {
    SecretBytes key = derive_ack_key(kek);
    return crypto::hmac_public(AckProfile::prf_hash, key.reveal(), {seq_payload, id_payload});
}

} // namespace

std::vector<uint8_t> build_ack(const KekPolicy& kek, uint32_t sequence, const IpAddress& member) {
    std::vector<Payload> tail = {SeqPayload{sequence}, member_id(member)};
    // HASH covers SEQ and ID as they go on the wire: encode them once, hash those octets.
    std::vector<uint8_t> seq_bytes = encode_payload(tail[0], payload::identification);
    std::vector<uint8_t> id_bytes = encode_payload(tail[1], payload::none);

    Message ack;
    ack.header.set_cookies(kek.spi);
    ack.header.exchange_type = AckProfile::exchange_type;
    ack.header.flags = AckProfile::flags;
    ack.header.message_id = AckProfile::message_id;
    ack.payloads = {HashPayload{ack_hash(kek, seq_bytes, id_bytes)}, tail[0], tail[1]};
    return encode_message(ack);
}

AckCheck verify_ack(std::span<const uint8_t> datagram, const KekPolicy& kek) {
    AckCheck check;
    Message m;
    try {
        m = decode_message(datagram);
    } catch (const DecodeError& e) {
        check.reason = "ack does not parse: " + e.context() + ": " + e.detail();
        return check;
    }
    if (m.header.exchange_type != AckProfile::exchange_type) {
        check.reason = "exchange type " + std::to_string(m.header.exchange_type) +
                       " is not GROUPKEY-PUSH ACK (" + std::to_string(AckProfile::exchange_type) +
                       ")";
        return check;
    }
    if (m.header.flags != AckProfile::flags || m.header.message_id != AckProfile::message_id) {
        check.reason = "ack header flags " + std::to_string(m.header.flags) + " / message ID " +
                       std::to_string(m.header.message_id) + " differ from the profile";
        return check;
    }
    if (m.header.cookies() != kek.spi) {
        check.reason =
            "ack names KEK SPI " + hex(m.header.cookies()) + ", expected " + hex(kek.spi);
        return check;
    }
    if (m.payloads.size() != 3 || m.payloads[0].type() != payload::hash ||
        m.payloads[1].type() != payload::sequence ||
        m.payloads[2].type() != payload::identification) {
        check.reason = "ack payloads are not HASH, SEQ, ID";
        return check;
    }
    auto expected = ack_hash(kek, payload_bytes(datagram, m.payloads[1]),
                             payload_bytes(datagram, m.payloads[2]));
    if (!crypto::equal_constant_time(expected, m.payloads[0].get<HashPayload>()->data)) {
        check.reason = "ack HASH does not verify with this KEK";
        return check;
    }
    check.sequence = m.payloads[1].get<SeqPayload>()->sequence;
    const IdPayload& id = *m.payloads[2].get<IdPayload>();
    if (id.id_type == id_type::ipv4_addr && id.data.size() == 4) {
        check.member = IpAddress::v4(id.data[0], id.data[1], id.data[2], id.data[3]);
    } else if (id.id_type == id_type::ipv6_addr && id.data.size() == 16) {
        IpAddress a;
        a.family = IpFamily::v6;
        std::copy(id.data.begin(), id.data.end(), a.bytes.begin());
        check.member = a;
    }
    check.valid = true;
    return check;
}

} // namespace gdoi::push
