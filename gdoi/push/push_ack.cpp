#include "gdoi/push/push_ack.hpp"

#include "gdoi/push/push_crypto.hpp"
#include "gdoi/wire/message.hpp"

namespace gdoi::push {

using namespace gdoi::wire;

std::optional<AckSuite> ack_suite(uint16_t type) {
    // RFC 8263 2.1 / 2.3: PRF-HMAC-SHA-256 / -512 over the KEK key; L is the prf block size.
    switch (type) {
    case kek_ack_type::rekey_ack_kek_sha256:
        return AckSuite{type, crypto::HashAlgorithm::sha256, 512};
    case kek_ack_type::rekey_ack_kek_sha512:
        return AckSuite{type, crypto::HashAlgorithm::sha512, 1024};
    default:
        return std::nullopt;
    }
}

std::string ack_type_name(uint16_t type) {
    static constexpr std::string_view names[] = {"", "REKEY_ACK_KEK_SHA256", "REKEY_ACK_LKH_SHA256",
                                                 "REKEY_ACK_KEK_SHA512", "REKEY_ACK_LKH_SHA512"};
    if (type >= 1 && type <= 4) return std::string(names[type]) + " (" + std::to_string(type) + ")";
    if (type == 0) return "reserved value 0";
    return (type >= 129 && type <= 255 ? "private-use value " : "unassigned value ") +
           std::to_string(type);
}

std::string ack_request_name(AckRequest request, uint16_t type) {
    switch (request) {
    case AckRequest::none:
        return "no ack";
    case AckRequest::cisco_legacy:
        return "KEK attribute 129 (Cisco) value " + std::to_string(type);
    case AckRequest::rfc8263:
        break;
    }
    return "KEK_ACK_REQUESTED " + ack_type_name(type);
}

std::optional<std::string> unanswerable_ack_request(AckRequest request, uint16_t type) {
    switch (request) {
    case AckRequest::none:
        return std::nullopt;
    case AckRequest::cisco_legacy:
        return "the key server asks with KEK attribute 129 (Cisco's private pre-RFC 8263 request, "
               "value " +
               std::to_string(type) + "), whose ack format is not published";
    case AckRequest::rfc8263:
        break;
    }
    if (ack_suite(type)) return std::nullopt;
    if (type == kek_ack_type::rekey_ack_lkh_sha256 || type == kek_ack_type::rekey_ack_lkh_sha512)
        return "the key server asks for KEK_ACK_REQUESTED " + ack_type_name(type) +
               ", keyed with an LKH key, and gdoid takes no LKH key download";
    return "the key server asks for KEK_ACK_REQUESTED " + ack_type_name(type) +
           ", which RFC 8263 does not define";
}

SecretBytes derive_ack_key(const KekPolicy& kek, const AckSuite& suite) {
    // RFC 8263 3.2: ack_key = prf(base_key, "GROUPKEY-PUSH ACK" | SPI | L); base_key = the KEK
    // key without its IV, SPI = the push's cookie pair (the KEK SPI), L in two octets.
    const uint8_t length[2] = {static_cast<uint8_t>(suite.length_bits >> 8),
                               static_cast<uint8_t>(suite.length_bits & 0xff)};
    std::span<const uint8_t> label(reinterpret_cast<const uint8_t*>(AckProfile::key_label.data()),
                                   AckProfile::key_label.size());
    return crypto::hmac(suite.prf, kek.key.reveal(), {label, kek.spi, length});
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

// RFC 8263 3.2: HASH = prf(ack_key, SEQ | ID), over the whole SEQ and ID payloads.
std::vector<uint8_t> ack_hash(const KekPolicy& kek, const AckSuite& suite,
                              std::span<const uint8_t> seq_payload,
                              std::span<const uint8_t> id_payload) {
    SecretBytes key = derive_ack_key(kek, suite);
    return crypto::hmac_public(suite.prf, key.reveal(), {seq_payload, id_payload});
}

} // namespace

std::vector<uint8_t> build_ack(const KekPolicy& kek, const AckSuite& suite, uint32_t sequence,
                               const IpAddress& member) {
    std::vector<Payload> tail = {SeqPayload{sequence}, member_id(member)};
    // HASH covers SEQ and ID as they go on the wire: encode them once, hash those octets.
    std::vector<uint8_t> seq_bytes = encode_payload(tail[0], payload::identification);
    std::vector<uint8_t> id_bytes = encode_payload(tail[1], payload::none);

    Message ack;
    ack.header.set_cookies(kek.spi);
    ack.header.exchange_type = AckProfile::exchange_type;
    ack.header.flags = AckProfile::flags;
    ack.header.message_id = AckProfile::message_id;
    ack.payloads = {HashPayload{ack_hash(kek, suite, seq_bytes, id_bytes)}, tail[0], tail[1]};
    return encode_message(ack);
}

AckCheck verify_ack(std::span<const uint8_t> datagram, const KekPolicy& kek) {
    AckCheck check;
    if (auto why = unanswerable_ack_request(kek.ack_request, kek.ack_type)) {
        check.reason = "no RFC 8263 ack can verify: " + *why;
        return check;
    }
    if (kek.ack_request == AckRequest::none) {
        check.reason = "this KEK asks for no ack";
        return check;
    }
    const AckSuite suite = *ack_suite(kek.ack_type);
    Message m;
    try {
        m = decode_message(datagram);
    } catch (const DecodeError& e) {
        check.reason = "ack does not parse: " + e.context() + ": " + e.detail();
        return check;
    }
    if (m.header.exchange_type != AckProfile::exchange_type) {
        check.reason = "exchange type " + std::to_string(m.header.exchange_type) +
                       " is not GROUPKEY-PUSH-ACK (" + std::to_string(AckProfile::exchange_type) +
                       ")";
        return check;
    }
    if (m.header.flags != AckProfile::flags || m.header.message_id != AckProfile::message_id) {
        check.reason = "ack header flags " + std::to_string(m.header.flags) + " / message ID " +
                       std::to_string(m.header.message_id) + " are not 0 (RFC 8263 3.1)";
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
    auto expected = ack_hash(kek, suite, payload_bytes(datagram, m.payloads[1]),
                             payload_bytes(datagram, m.payloads[2]));
    if (!crypto::equal_constant_time(expected, m.payloads[0].get<HashPayload>()->data)) {
        check.reason = "ack HASH does not verify with this KEK (" + ack_type_name(suite.type) + ")";
        return check;
    }
    check.sequence = m.payloads[1].get<SeqPayload>()->sequence;
    const IdPayload& id = *m.payloads[2].get<IdPayload>();
    if (id.protocol != AckProfile::id_protocol || id.port != AckProfile::id_port) {
        check.reason = "ack ID protocol " + std::to_string(id.protocol) + " / port " +
                       std::to_string(id.port) + " are not 0 (RFC 8263 3.4)";
        return check;
    }
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
