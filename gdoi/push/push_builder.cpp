#include "gdoi/push/push_builder.hpp"

#include "gdoi/crypto/cbc_cipher.hpp"
#include "gdoi/push/push_crypto.hpp"
#include "gdoi/push/push_policy_codec.hpp"
#include "gdoi/wire/message.hpp"

#include <openssl/crypto.h>
#include <stdexcept>

namespace gdoi::push {

using namespace gdoi::wire;

namespace {

crypto::KekSignatureSuite signature_suite(const KekPolicy& kek,
                                          const crypto::KekPrivateKey& signer) {
    crypto::KekSignatureSuite suite;
    try {
        suite = crypto::kek_signature_suite(kek.signature_algorithm, kek.signature_hash);
    } catch (const crypto::CryptoError& e) {
        throw std::invalid_argument(std::string("build_push: ") + e.what());
    }
    if (suite.scheme != signer.scheme())
        throw std::invalid_argument(
            "build_push: the KEK names SIG_ALGORITHM " +
            std::string(crypto::sig_algorithm_name(kek.signature_algorithm)) +
            " but the signing key is " + std::string(crypto::scheme_key_name(signer.scheme())));
    return suite;
}

} // namespace

std::vector<uint8_t> push_chain(const PushSpec& spec, const std::function<void(Message&)>& edit) {
    Message m;
    m.header.set_cookies(spec.kek.spi);
    m.header.exchange_type = exchange::groupkey_push;
    m.header.flags = flags::encryption;
    m.header.message_id = 0;
    m.payloads.push_back(SeqPayload{spec.sequence});
    if (!spec.deletes.tek_spis.empty() || spec.deletes.all_teks) {
        DeletePayload d;
        d.doi = doi::gdoi;
        d.protocol_id = tek_protocol::esp;
        d.spi_size = kTekSpiSize;
        if (spec.deletes.all_teks) d.spis.push_back(std::vector<uint8_t>(kTekSpiSize, 0));
        for (uint32_t spi : spec.deletes.tek_spis)
            d.spis.push_back(
                {uint8_t(spi >> 24), uint8_t(spi >> 16), uint8_t(spi >> 8), uint8_t(spi)});
        m.payloads.push_back(std::move(d));
    }
    if (!spec.deletes.kek_spis.empty() || spec.deletes.all_keks) {
        DeletePayload d;
        d.doi = doi::gdoi;
        d.protocol_id = kProtoIsakmp;
        d.spi_size = kKekSpiSize;
        if (spec.deletes.all_keks) d.spis.push_back(std::vector<uint8_t>(kKekSpiSize, 0));
        for (const auto& spi : spec.deletes.kek_spis)
            d.spis.emplace_back(spi.begin(), spi.end());
        m.payloads.push_back(std::move(d));
    }

    if (spec.sa_kek || spec.gap || !spec.teks.empty()) {
        GdoiSaPayload sa;
        KdPayload kd;
        if (spec.sa_kek) {
            sa.attributes.push_back(kek_to_wire(*spec.sa_kek));
            kd.packets.push_back(kek_key_packet(
                *spec.sa_kek, spec.kd_kek_label_old_spi ? spec.kek.spi : spec.sa_kek->spi));
        }
        if (spec.gap) sa.attributes.push_back(gap_to_wire(*spec.gap));
        for (const auto& tek : spec.teks) {
            sa.attributes.push_back(tek_to_wire(tek, spec.quirks));
            kd.packets.push_back(tek_key_packet(tek));
        }
        m.payloads.push_back(std::move(sa));
        if (!kd.packets.empty()) m.payloads.push_back(std::move(kd));
    }

    // An empty SIG last, so the chain's last next-payload names it; then header and SIG go.
    m.payloads.push_back(SigPayload{});
    if (edit) edit(m);
    std::vector<uint8_t> plain = encode_message(m, EncodeContext{spec.quirks});
    std::vector<uint8_t> chain(plain.begin() + kHeaderSize,
                               plain.end() - static_cast<long>(kGenericPayloadHeaderSize));
    OPENSSL_cleanse(plain.data(), plain.size()); // KD key material
    return chain;
}

std::vector<uint8_t> seal_push(const KekPolicy& kek, const crypto::KekPrivateKey& signer,
                               crypto::SignatureForm form, uint8_t first_payload,
                               std::span<const uint8_t> chain) {
    const auto suite = signature_suite(kek, signer);
    // Header and a SIG with a placeholder of the final size, so the header length (signed) is
    // final; the chain goes between them.
    Message m;
    m.header.set_cookies(kek.spi);
    m.header.exchange_type = exchange::groupkey_push;
    m.header.flags = flags::encryption;
    m.header.message_id = 0;
    const size_t sig_size = signer.signature_size();
    m.payloads.push_back(SigPayload{std::vector<uint8_t>(sig_size, 0)});
    std::vector<uint8_t> plain = encode_message(m, EncodeContext{});
    plain[16] = first_payload; // the header's next-payload
    plain.insert(plain.begin() + static_cast<long>(kHeaderSize), chain.begin(), chain.end());
    rewrite_header_length(plain, static_cast<uint32_t>(plain.size()));
    const size_t sig_offset = kHeaderSize + chain.size();
    auto signed_data = push_signed_data(plain, sig_offset, plain.size());
    auto signature = signer.sign(suite.hash, {kSignaturePrefix, signed_data}, form);
    if (signature.size() != sig_size) throw std::logic_error("build_push: signature size changed");
    std::copy(signature.begin(), signature.end(),
              plain.begin() + static_cast<long>(sig_offset + kGenericPayloadHeaderSize));

    // Encrypt everything after the header with the KEK (CBC, the KEK's static IV), zero padded.
    crypto::CbcCipher cipher = kek_cbc_cipher(kek);
    auto body = crypto::isakmp_pad(std::span(plain).subspan(kHeaderSize),
                                   crypto::cipher_block_size(cipher));
    auto encrypted = crypto::cbc_encrypt(cipher, kek.key, kek.iv, body);
    // Reserve first: GCC 12's -Warray-bounds misreads an insert into a fresh 28-octet vector.
    std::vector<uint8_t> out;
    out.reserve(kHeaderSize + encrypted.size());
    out.insert(out.end(), plain.begin(), plain.begin() + kHeaderSize);
    out.insert(out.end(), encrypted.begin(), encrypted.end());
    // The plaintext copies carry the KD key material.
    OPENSSL_cleanse(plain.data(), plain.size());
    OPENSSL_cleanse(body.data(), body.size());
    OPENSSL_cleanse(signed_data.data(), signed_data.size());
    rewrite_header_length(out, static_cast<uint32_t>(out.size())); // wire length with padding
    return out;
}

std::vector<uint8_t> build_push(const PushSpec& spec) {
    if (!spec.signer) throw std::invalid_argument("build_push: no signing key");
    signature_suite(spec.kek, *spec.signer); // refuse before encoding anything
    auto chain = push_chain(spec);
    auto out = seal_push(spec.kek, *spec.signer, spec.signature_form, payload::sequence, chain);
    OPENSSL_cleanse(chain.data(), chain.size());
    return out;
}

} // namespace gdoi::push
