#include "gdoi/push/push_receiver.hpp"

#include "gdoi/crypto/kek_signature.hpp"
#include "gdoi/push/push_ack.hpp"
#include "gdoi/push/push_crypto.hpp"
#include "gdoi/push/push_interpret.hpp"
#include "gdoi/wire/message.hpp"

#include <openssl/crypto.h>
#include <stdexcept>

namespace gdoi::push {

using namespace gdoi::wire;

namespace {

PushVerdict reject(PushReason reason, std::string message) {
    PushVerdict v;
    v.reason = reason;
    v.message = std::move(message);
    return v;
}

// The decrypted push holds KD key material: no copy may outlive its use unwiped.
struct WipeOnExit {
    std::vector<uint8_t>& bytes;
    ~WipeOnExit() {
        if (!bytes.empty()) OPENSSL_cleanse(bytes.data(), bytes.size());
    }
};

uint32_t be32(std::span<const uint8_t> b, size_t at) {
    return uint32_t(b[at]) << 24 | uint32_t(b[at + 1]) << 16 | uint32_t(b[at + 2]) << 8 |
           uint32_t(b[at + 3]);
}

} // namespace

PushVerdict check_push(std::span<const uint8_t> datagram, const KekPolicy& kek,
                       uint32_t last_sequence, TimePoint now,
                       std::span<const TekPolicy> current_teks, const PushReceiverConfig& config,
                       crypto::KekKeyCache* kek_keys) {
    // 1. ISAKMP header (RFC 2408 section 3.1).
    if (datagram.size() < kHeaderSize)
        return reject(PushReason::bad_header,
                      "push of " + std::to_string(datagram.size()) +
                          " octets is shorter than the 28-octet ISAKMP header");
    if ((datagram[17] >> 4) != (kIsakmpVersion >> 4))
        return reject(PushReason::bad_header, "ISAKMP major version " +
                                                  std::to_string(datagram[17] >> 4) +
                                                  " (1 expected)");
    if (uint32_t length = be32(datagram, 24); length != datagram.size())
        return reject(PushReason::bad_header, "ISAKMP length field says " + std::to_string(length) +
                                                  " octets, the datagram has " +
                                                  std::to_string(datagram.size()));
    // 2. Exchange type and encryption.
    if (datagram[18] != exchange::groupkey_push)
        return reject(PushReason::not_push, "exchange type " + std::to_string(datagram[18]) +
                                                " is not GROUPKEY-PUSH (33)");
    if ((datagram[19] & flags::encryption) == 0)
        return reject(PushReason::not_encrypted,
                      "GROUPKEY-PUSH without the encryption flag: pushes are always encrypted "
                      "with the KEK, refused");
    // 3. The cookie pair names the KEK; a push under any other KEK is not for us (or stale).
    KekSpi cookies{};
    std::copy(datagram.begin(), datagram.begin() + 16, cookies.begin());
    if (cookies != kek.spi)
        return reject(PushReason::unknown_kek_spi,
                      "unknown KEK SPI " + hex(cookies) + " (current KEK is " + hex(kek.spi) + ")");

    // 4. Decrypt with the KEK: CBC, static IV from the KEK key packet, reset for every push.
    // Reserve first: GCC 12's -Warray-bounds misreads an insert into a fresh 28-octet vector.
    std::vector<uint8_t> plain;
    plain.reserve(datagram.size());
    plain.insert(plain.end(), datagram.begin(), datagram.begin() + kHeaderSize);
    WipeOnExit wipe_plain{plain};
    size_t block = 0;
    try {
        crypto::CbcCipher cipher = kek_cbc_cipher(kek);
        block = crypto::cipher_block_size(cipher);
        size_t body = datagram.size() - kHeaderSize;
        if (body == 0 || body % block != 0)
            return reject(PushReason::decrypt_failed,
                          "encrypted body of " + std::to_string(body) + " octets is not whole " +
                              std::to_string(block) + "-octet " +
                              std::string(crypto::cipher_name(cipher)) + " blocks");
        auto decrypted =
            crypto::cbc_decrypt(cipher, kek.key, kek.iv, datagram.subspan(kHeaderSize));
        WipeOnExit wipe_decrypted{decrypted};
        plain.insert(plain.end(), decrypted.begin(), decrypted.end());
    } catch (const std::exception& e) {
        return reject(PushReason::decrypt_failed,
                      std::string("cannot decrypt with KEK ") + hex(kek.spi) + ": " + e.what());
    }

    // 5. The end of the zero-padded chain, found by walking it; then decode with the quirks.
    PushVerdict verdict;
    verdict.plaintext = SecretBytes(plain);
    Message message;
    PayloadChain chain;
    try {
        chain = walk_payload_chain(plain);
        if (plain.size() - chain.end > block)
            throw DecodeError(NotifyType::payload_malformed, "GROUPKEY-PUSH",
                              std::to_string(plain.size() - chain.end) +
                                  " octets after the payload chain, more than one block of padding",
                              chain.end);
        message = decode_message(plain, DecodeContext{config.quirks, TrailingData::padding});
    } catch (const DecodeError& e) {
        verdict.reason = PushReason::malformed;
        verdict.message =
            "decrypted push does not parse (wrong KEK key, or a damaged message): " + e.context() +
            " at offset " + std::to_string(e.offset()) + ": " + e.detail();
        return verdict;
    }
    verdict.observations = message.observations;

    // 6. SIG present, exactly once, and last; SEQ present exactly once.
    const auto& payloads = message.payloads;
    size_t sigs = message.find_all<SigPayload>().size();
    if (sigs != 1 || payloads.back().type() != payload::signature) {
        verdict.reason = PushReason::malformed;
        verdict.message = sigs == 0 ? "push carries no SIG payload"
                                    : "SIG is not the single last payload of the push";
        return verdict;
    }
    if (message.find_all<SeqPayload>().size() != 1) {
        verdict.reason = PushReason::malformed;
        verdict.message = "push must carry exactly one SEQ payload";
        return verdict;
    }

    // 7. Signature by the key server's key from the KEK, over "rekey" | HDR (E set, unpadded
    // length) | payloads before SIG, with the KEK's SIG_ALGORITHM (gdoi/crypto/kek_signature.hpp):
    // RSA PKCS#1 v1.5 (the reference key server signs the bare digest, RFC 3447 signers wrap it
    // in DigestInfo: both are accepted), or ECDSA-256/-384 as r | s (RFC 4754 section 7).
    const Payload& sig = payloads.back();
    auto refuse_signature = [&](const std::string& why) {
        verdict.reason = PushReason::bad_signature;
        verdict.message = "push under KEK " + hex(kek.spi) + " refused: " + why;
        return verdict;
    };
    try {
        auto suite = crypto::kek_signature_suite(kek.signature_algorithm, kek.signature_hash);
        std::optional<crypto::KekPublicKey> read_now;
        const crypto::KekPublicKey& ks_key =
            kek_keys ? kek_keys->get(suite.scheme, kek.public_key_der)
                     : read_now.emplace(crypto::KekPublicKey::from_der(suite.scheme,
                                                                       kek.public_key_der));
        auto signed_data = push_signed_data(plain, sig.offset, chain.end);
        WipeOnExit wipe_signed{signed_data};
        auto checked =
            ks_key.verify(suite.hash, {kSignaturePrefix, signed_data}, sig.get<SigPayload>()->data);
        if (!checked.valid) return refuse_signature(checked.why);
    } catch (const std::exception& e) {
        return refuse_signature(std::string("cannot verify the signature: ") + e.what());
    }

    // 8. Anti-replay. RFC 6407 section 5.7 (paraphrased, verbatim text not reachable here):
    // the SEQ of a GROUPKEY-PUSH must be greater than that of the last push accepted; a
    // member rejects a push whose SEQ is not.
    uint32_t seq = message.find<SeqPayload>()->sequence;
    if (seq <= last_sequence) {
        verdict.reason = PushReason::replayed_seq;
        verdict.message = "SEQ " + std::to_string(seq) + " is not greater than the last accepted " +
                          std::to_string(last_sequence) + ": replayed or reordered push refused";
        return verdict;
    }

    // Only now is the content interpreted, and only when its size is one we agreed to program.
    if (const auto* sa = message.find<GdoiSaPayload>(); sa && sa->teks().size() > config.max_teks) {
        verdict.reason = PushReason::invalid_policy;
        verdict.message = "authentic push SEQ " + std::to_string(seq) + " carries " +
                          std::to_string(sa->teks().size()) + " TEKs, more than max-teks (" +
                          std::to_string(config.max_teks) + "): refused, nothing changed";
        return verdict;
    }
    auto update = interpret_push(message, kek, current_teks, config.quirks, now);
    if (auto* error = std::get_if<std::string>(&update)) {
        verdict.reason = PushReason::invalid_policy;
        verdict.message =
            "authentic push SEQ " + std::to_string(seq) + " cannot be applied: " + *error;
        return verdict;
    }
    verdict.reason = PushReason::accepted;
    verdict.update = std::move(std::get<PushUpdate>(update));
    verdict.message = "push SEQ " + std::to_string(seq) + " accepted";
    // RFC 8263 7.2: an ack only after the push passed every check above, when the most recently
    // received SA KEK asks; sent under the KEK that decrypted the push (section 2.1).
    if (verdict.update->ack_request != AckRequest::none) {
        const uint16_t type = verdict.update->ack_type;
        const auto unanswerable = unanswerable_ack_request(verdict.update->ack_request, type);
        if (!config.answer_ack_requests)
            verdict.ack_declined = "the key server asks for an acknowledgement (" +
                                   ack_request_name(verdict.update->ack_request, type) +
                                   "), and this member is set not to answer ack requests";
        else if (unanswerable)
            verdict.ack_declined = *unanswerable;
        else if (!config.member_address)
            verdict.ack_declined = "the member's own address, which the ack names, is not known";
        else
            verdict.ack = build_ack(kek, *ack_suite(type), seq, *config.member_address);
    }
    return verdict;
}

PushVerdict PushReceiver::receive(std::span<const uint8_t> datagram, const KekPolicy& kek,
                                  uint32_t last_sequence, TimePoint now,
                                  std::span<const TekPolicy> current_teks) {
    PushVerdict v = check_push(datagram, kek, last_sequence, now, current_teks, config_, &kek_keys_);
    counters_.count(v.reason);
    if (v.update) counters_.rejected_teks += v.update->rejected_teks.size();
    if (v.ack) ++counters_.acks_built;
    if (v.ack_declined) ++counters_.ack_requests_declined;
    return v;
}

} // namespace gdoi::push
