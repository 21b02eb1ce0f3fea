// The group fuzz-push runs in (fuzz_push.cpp) and its seed maker (make_push_seeds.cpp) share:
// the current KEK (AES-128, ECDSA P-256 signatures: fast enough to sign every input), the TEK the
// member holds, and the SEQ it last accepted. Fixed keys, so seeds are the same on every run.
#pragma once

#include "gdoi/crypto/kek_signature.hpp"
#include "gdoi/group_policy.hpp"
#include "gdoi/ip_address.hpp"

#include <chrono>
#include <vector>

namespace fuzz::push_harness {

inline gdoi::SelectorEndpoint endpoint(const char* prefix) {
    return gdoi::SelectorEndpoint::from_prefix(*gdoi::IpPrefix::parse(prefix));
}

// The key server's signing key (made once per process: only signatures depend on it).
inline const gdoi::crypto::KekPrivateKey& signer() {
    static const auto key =
        gdoi::crypto::KekPrivateKey::generate(gdoi::crypto::KekSignatureScheme::ecdsa_p256);
    return key;
}
// Another key server's key: inputs with flag bit 0 are signed with it and must be refused.
inline const gdoi::crypto::KekPrivateKey& foreign_signer() {
    static const auto key =
        gdoi::crypto::KekPrivateKey::generate(gdoi::crypto::KekSignatureScheme::ecdsa_p256);
    return key;
}

inline gdoi::KekPolicy current_kek() {
    gdoi::KekPolicy k;
    for (size_t i = 0; i < k.spi.size(); ++i)
        k.spi[i] = uint8_t(0xc0 + i);
    k.cipher = gdoi::KekCipher::aes_cbc;
    k.key_bits = 128;
    k.key = gdoi::SecretBytes(std::vector<uint8_t>(16, 0x4b));
    k.iv = std::vector<uint8_t>(16, 0x1f);
    k.signature_algorithm = gdoi::SignatureAlgorithm::ecdsa_256;
    k.signature_hash = gdoi::SignatureHash::sha256;
    k.signature_key_bits = 256;
    k.public_key_der = signer().public_key_der();
    k.lifetime = std::chrono::seconds(86400);
    k.source = endpoint("192.0.2.1/32");
    k.destination = endpoint("192.0.2.10/32");
    return k;
}

inline gdoi::TekPolicy tek(uint32_t spi, const char* source = "10.0.0.0/8",
                           const char* destination = "10.0.0.0/8") {
    gdoi::TekPolicy t;
    t.spi = spi;
    t.selector = {0, endpoint(source), endpoint(destination)};
    t.cipher = gdoi::TekCipher::aes_cbc;
    t.cipher_key_bits = 128;
    t.integrity = gdoi::TekIntegrity::hmac_sha256;
    t.cipher_key = gdoi::SecretBytes(std::vector<uint8_t>(16, uint8_t(spi)));
    t.integrity_key = gdoi::SecretBytes(std::vector<uint8_t>(32, uint8_t(spi >> 8)));
    t.lifetime = std::chrono::seconds(3600);
    return t;
}

inline constexpr uint32_t held_tek_spi = 0x10000001;

// What the member holds when the push arrives (SEQ set per input by the harness).
inline gdoi::GroupPolicy current_policy() {
    gdoi::GroupPolicy p;
    p.group_id = 1234;
    p.kek = current_kek();
    p.teks = {tek(held_tek_spi)};
    return p;
}

} // namespace fuzz::push_harness
