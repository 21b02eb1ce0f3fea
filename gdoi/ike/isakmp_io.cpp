#include "gdoi/ike/isakmp_io.hpp"

#include "gdoi/crypto/prf.hpp"

#include <algorithm>

namespace gdoi::ike {

using namespace gdoi::wire;

Datagram seal(const Message& message, crypto::IsakmpCipher* cipher, const EncodeContext& ctx) {
    Datagram bytes = encode_message(message, ctx);
    if (!(message.header.flags & flags::encryption)) return bytes;
    if (!cipher) throw EncodeError("an encrypted message needs a Phase 1 SA");
    return encrypt_encoded(bytes, *cipher);
}

Datagram encrypt_encoded(std::span<const uint8_t> clear, crypto::IsakmpCipher& cipher) {
    auto header = decode_header(clear);
    auto encrypted = cipher.encrypt(header.message_id, clear.subspan(kHeaderSize));
    // Sized once and copied into: GCC 12 flags growing inserts here with false positives
    // (-Warray-bounds / -Wstringop-overflow).
    Datagram out(kHeaderSize + encrypted.size());
    std::copy_n(clear.begin(), kHeaderSize, out.begin());
    std::copy(encrypted.begin(), encrypted.end(), out.begin() + kHeaderSize);
    rewrite_header_length(out, static_cast<uint32_t>(out.size()));
    return out;
}

std::span<const uint8_t> after_first_payload(std::span<const uint8_t> message) {
    auto chain = walk_payload_chain(message);
    if (chain.payloads.empty()) return {};
    size_t from = chain.payloads[0].offset + chain.payloads[0].length;
    return message.subspan(from, chain.end - from);
}

Datagram encode_with_leading_hash(Message message, size_t hash_length,
                                  const HashPrefix& compute_hash, const EncodeContext& ctx) {
    if (message.payloads.empty() || !message.payloads[0].get<HashPayload>())
        throw EncodeError("the first payload must be a HASH");
    message.payloads[0] = HashPayload{std::vector<uint8_t>(hash_length, 0)};
    // Encode in the clear first, so the hash covers exactly the octets that will be sent.
    auto clear = message;
    clear.header.flags &= static_cast<uint8_t>(~flags::encryption);
    Datagram bytes = encode_message(clear, ctx);
    auto hash = compute_hash(after_first_payload(bytes));
    if (hash.size() != hash_length) throw EncodeError("HASH has the wrong length");
    auto chain = walk_payload_chain(bytes);
    std::copy(hash.begin(), hash.end(),
              bytes.begin() +
                  static_cast<long>(chain.payloads[0].offset + kGenericPayloadHeaderSize));
    set_header_flags(bytes, message.header.flags);
    return bytes;
}

std::optional<Opened> open(std::span<const uint8_t> datagram, const crypto::IsakmpCipher& cipher) {
    if (datagram.size() <= kHeaderSize) return std::nullopt;
    auto header = decode_header(datagram);
    auto decrypted = cipher.decrypt(header.message_id, datagram.subspan(kHeaderSize));
    if (!decrypted) return std::nullopt;
    Opened out;
    // Reserved up front: a reallocation would leave an unwiped copy of the keys behind.
    out.plaintext.reserve(kHeaderSize + decrypted->plaintext.size());
    out.plaintext.assign(datagram.begin(), datagram.begin() + kHeaderSize);
    out.plaintext.insert(out.plaintext.end(), decrypted->plaintext.begin(),
                         decrypted->plaintext.end());
    out.next_iv = std::move(decrypted->next_iv);
    return out;
}

Datagram clear_notify(const Cookie& icookie, const Cookie& rcookie, uint32_t doi, NotifyType type) {
    Message m;
    m.header.initiator_cookie = icookie;
    m.header.responder_cookie = rcookie;
    m.header.exchange_type = exchange::informational;
    m.header.message_id = 0;
    NotifyPayload n;
    n.doi = doi == doi::gdoi ? doi::ipsec : doi; // notifications are IPsec DOI
    n.protocol_id = kProtoIsakmp;
    n.notify_type = static_cast<uint16_t>(type);
    n.spi.assign(icookie.begin(), icookie.end());
    n.spi.insert(n.spi.end(), rcookie.begin(), rcookie.end());
    m.payloads.push_back(n);
    return encode_message(m);
}

Datagram protected_notify(Phase1Sa& sa, NotifyType type, std::span<const uint8_t> data) {
    Message m;
    m.header.initiator_cookie = sa.initiator_cookie;
    m.header.responder_cookie = sa.responder_cookie;
    m.header.exchange_type = exchange::informational;
    m.header.flags = flags::encryption;
    m.header.message_id = random_message_id();
    NotifyPayload n;
    n.doi = doi::ipsec;
    n.protocol_id = kProtoIsakmp;
    n.notify_type = static_cast<uint16_t>(type);
    n.spi.assign(sa.initiator_cookie.begin(), sa.initiator_cookie.end());
    n.spi.insert(n.spi.end(), sa.responder_cookie.begin(), sa.responder_cookie.end());
    n.data.assign(data.begin(), data.end());
    m.payloads = {HashPayload{}, n};
    const uint32_t mid = m.header.message_id;
    const uint8_t mid_bytes[4] = {uint8_t(mid >> 24), uint8_t(mid >> 16), uint8_t(mid >> 8),
                                  uint8_t(mid)};
    auto clear = encode_with_leading_hash(m, crypto::hash_length(sa.hash()), [&](auto rest) {
        // RFC 2409 section 5.7: HASH(1) = prf(SKEYID_a, M-ID | N/D)
        return crypto::hmac_public(sa.hash(), sa.skeyid_a.reveal(), {mid_bytes, rest});
    });
    auto out = encrypt_encoded(clear, *sa.cipher);
    sa.cipher->forget(mid);
    return out;
}

std::optional<NotifyPayload> read_informational(std::span<const uint8_t> datagram, Phase1Sa* sa,
                                                std::string& why) {
    try {
        auto header = decode_header(datagram);
        if (header.exchange_type != exchange::informational) {
            why = "not an informational exchange";
            return std::nullopt;
        }
        if (!(header.flags & flags::encryption)) {
            auto m = decode_message(datagram);
            if (auto* n = m.find<NotifyPayload>()) return *n;
            why = "informational exchange without a notification";
            return std::nullopt;
        }
        if (!sa || !sa->cipher || !sa->cipher->phase1_finished()) {
            why = "encrypted informational exchange before Phase 1 keys exist";
            return std::nullopt;
        }
        auto opened = open(datagram, *sa->cipher);
        if (!opened) {
            why = "encrypted informational exchange is not a whole number of blocks";
            return std::nullopt;
        }
        auto m = decode_message(opened->plaintext, DecodeContext{{}, TrailingData::padding});
        auto* hash = m.payloads.empty() ? nullptr : m.payloads[0].get<HashPayload>();
        if (!hash) {
            why = "protected informational exchange does not start with HASH";
            return std::nullopt;
        }
        const uint32_t mid = header.message_id;
        const uint8_t mid_bytes[4] = {uint8_t(mid >> 24), uint8_t(mid >> 16), uint8_t(mid >> 8),
                                      uint8_t(mid)};
        auto expected = crypto::hmac_public(sa->hash(), sa->skeyid_a.reveal(),
                                            {mid_bytes, after_first_payload(opened->plaintext)});
        if (!crypto::equal_constant_time(expected, hash->data)) {
            why = "protected informational exchange failed its HASH check";
            return std::nullopt;
        }
        if (auto* n = m.find<NotifyPayload>()) return *n;
        why = "informational exchange without a notification";
    } catch (const std::exception& e) {
        why = std::string("unreadable informational exchange: ") + e.what();
    }
    return std::nullopt;
}

std::string describe_rejection(const IpAddress& server, uint16_t notify_type,
                               const std::string& during) {
    const std::string who = "key server " + server.to_string();
    const std::string name = notify_type_name(static_cast<NotifyType>(notify_type));
    switch (static_cast<NotifyType>(notify_type)) {
    case NotifyType::authentication_failed:
        return who + " rejected our pre-shared key (" + name + ")";
    case NotifyType::invalid_hash_information:
        return who + " found our HASH invalid during " + during +
               "; the pre-shared keys probably differ (" + name + ")";
    case NotifyType::no_proposal_chosen:
        return who + " accepted none of our " + during + " proposals (" + name + ")";
    case NotifyType::invalid_id_information:
        return who + " refused the identity we sent during " + during +
               " (unknown group or address) (" + name + ")";
    default:
        return who + " refused " + during + " (" + name + ", notification " +
               std::to_string(notify_type) + ")";
    }
}

uint32_t random_message_id() {
    while (true) {
        auto b = crypto::random_bytes(4);
        uint32_t mid = uint32_t(b[0]) << 24 | uint32_t(b[1]) << 16 | uint32_t(b[2]) << 8 | b[3];
        if (mid != 0) return mid;
    }
}

Cookie random_cookie() {
    while (true) {
        auto b = crypto::random_bytes(kCookieSize);
        Cookie c{};
        std::copy(b.begin(), b.end(), c.begin());
        if (c != Cookie{}) return c;
    }
}

} // namespace gdoi::ike
