// Push-specific wrappers around the codec's semantic conversion (gdoi/wire/policy_codec.hpp):
// the KEK packet labelled with the old SPI, keeping the current key when a push repeats the
// KEK without a key packet, supported push signatures only, GCM receive-only, errors as values.
#include "gdoi/push/push_policy_codec.hpp"

#include "gdoi/crypto/kek_signature.hpp"
#include "gdoi/push/push_crypto.hpp"
#include "gdoi/wire/policy_codec.hpp"

#include <algorithm>

namespace gdoi::push {

using namespace gdoi::wire;

size_t integrity_key_size(TekIntegrity integrity) {
    return tek_integrity_key_octets(integrity);
}

Converted<KekPolicy> kek_from_wire(const SaKekPayload& sa, const KeyPacket* kd_kek,
                                   const KekPolicy& current, std::vector<std::string>& notes) {
    const std::string what = "SA KEK " + hex(sa.spi) + ": ";
    KekPolicy kek;
    try {
        kek = kek_policy_from(sa);
        // RSA, ECDSA-256 and ECDSA-384, with the hash their curve fixes (kek_signature.hpp).
        crypto::kek_signature_suite(kek.signature_algorithm, kek.signature_hash);
        if (!kd_kek) {
            // A TEK push repeats the current KEK without its key; a new KEK needs one.
            if (sa.spi != current.spi || kek.cipher != current.cipher)
                return {std::nullopt, what + "announces a new KEK but the KD carries no KEK key "
                                             "packet: later pushes could not be decrypted"};
            kek.key = current.key;
            kek.iv = current.iv;
        } else {
            if (!std::equal(kd_kek->spi.begin(), kd_kek->spi.end(), sa.spi.begin(), sa.spi.end())) {
                if (!std::equal(kd_kek->spi.begin(), kd_kek->spi.end(), current.spi.begin(),
                                current.spi.end()))
                    return {std::nullopt, what + "the KD KEK packet names SPI " + hex(kd_kek->spi) +
                                              ", neither this KEK nor the current one"};
                notes.push_back(
                    "KD KEK packet is labelled with the old KEK SPI " + hex(current.spi) +
                    " (reference key server behaviour); its key is taken for " + hex(sa.spi));
            }
            apply_kek_key_packet(kek, *kd_kek);
        }
    } catch (const PolicyError& e) {
        return {std::nullopt, e.what()};
    } catch (const crypto::CryptoError& e) {
        return {std::nullopt, what + e.what()};
    }
    // A push that carries no SIG_ALGORITHM_KEY keeps the key server's known public key.
    if (kek.public_key_der.empty()) kek.public_key_der = current.public_key_der;
    if (kek.public_key_der.empty())
        return {std::nullopt, what + "no key server public key (SIG_ALGORITHM_KEY) known"};
    // Later pushes are verified with this key: one that does not fit SIG_ALGORITHM is refused
    // now, while the current KEK still works. The current KEK's key under the same algorithm
    // is the one this push's signature was just verified with: not read again.
    if (kek.signature_algorithm == current.signature_algorithm &&
        kek.public_key_der == current.public_key_der)
        return {std::move(kek), {}};
    try {
        crypto::KekPublicKey::from_der(kek.signature_algorithm, kek.public_key_der);
    } catch (const crypto::CryptoError& e) {
        return {std::nullopt, what + e.what()};
    }
    return {std::move(kek), {}};
}

Converted<TekPolicy> tek_from_wire(const SaTekPayload& sa, const KeyPacket* kd_tek,
                                   const ServerQuirks& quirks) {
    const std::string what = "TEK " + spi_hex(sa.spi) + ": ";
    TekPolicy tek;
    try {
        tek = tek_policy_from(sa, quirks);
        if (tek.cipher == TekCipher::null_encryption && tek.integrity == TekIntegrity::none)
            return {std::nullopt, what + "NULL encryption without integrity protects nothing"};
        if (!kd_tek)
            return {std::nullopt, what + "no KD key packet for this SPI: refused, never "
                                         "installed without its keys"};
        apply_tek_key_packet(tek, *kd_tek);
    } catch (const PolicyError& e) {
        return {std::nullopt, e.what()};
    }
    // Linux's GCM IV generators do not embed RFC 6054 sender IDs: receive only.
    if (tek.cipher == TekCipher::aes_gcm_16) tek.receive_only = true;
    return {std::move(tek), {}};
}

GroupAssociatedPolicy gap_from_wire(const GapPayload& gap) {
    return gap_policy_from(gap);
}

SaKekPayload kek_to_wire(const KekPolicy& kek) {
    return sa_kek_from(kek);
}

KeyPacket kek_key_packet(const KekPolicy& kek, const KekSpi& label_spi) {
    KeyPacket p = kek_key_packet_from(kek);
    p.spi.assign(label_spi.begin(), label_spi.end());
    return p;
}

SaTekPayload tek_to_wire(const TekPolicy& tek, const ServerQuirks& quirks) {
    return sa_tek_from(tek, quirks);
}

KeyPacket tek_key_packet(const TekPolicy& tek) {
    return tek_key_packet_from(tek);
}

GapPayload gap_to_wire(const GroupAssociatedPolicy& gap) {
    return gap_payload_from(gap);
}

} // namespace gdoi::push
