// What the figure 3 benchmarks share: a key server group made by test/ks's own code (RSA-2048
// KEK, two TEKs), the member's view of it after registering, and percentiles.
#pragma once

#include "gdoi/crypto/kek_signature.hpp"
#include "gdoi/crypto/prf.hpp"
#include "test/ks/rekey.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <memory>
#include <stdexcept>
#include <vector>

namespace bench {

inline const gdoi::IpAddress push_member = gdoi::IpAddress::v4(10, 77, 0, 2);

inline gdoi::TekPolicy push_tek(uint32_t spi, const char* from, const char* to) {
    gdoi::TekPolicy t;
    t.spi = spi;
    t.selector = {0, gdoi::SelectorEndpoint::from_prefix(*gdoi::IpPrefix::parse(from)),
                  gdoi::SelectorEndpoint::from_prefix(*gdoi::IpPrefix::parse(to))};
    t.cipher = gdoi::TekCipher::aes_cbc;
    t.cipher_key_bits = 256;
    t.integrity = gdoi::TekIntegrity::hmac_sha256;
    t.cipher_key = gdoi::crypto::random_secret(32);
    t.integrity_key = gdoi::crypto::random_secret(32);
    t.lifetime = std::chrono::seconds(3600);
    return t;
}

// One group of the test key server: RSA-2048 KEK (AES-128), two TEKs (10.1/16 <-> 10.2/16).
inline gdoi_test_ks::KsGroup push_group() {
    using namespace gdoi;
    gdoi_test_ks::KsGroup g;
    g.signer = std::make_shared<const crypto::KekPrivateKey>(
        crypto::KekPrivateKey::generate(crypto::KekSignatureScheme::rsa));
    g.policy.group_id = 1234;
    g.policy.sequence = 1;
    KekPolicy kek;
    auto spi = crypto::random_bytes(16);
    std::copy(spi.begin(), spi.end(), kek.spi.begin());
    kek.key_bits = 128;
    kek.key = crypto::random_secret(16);
    kek.iv = crypto::random_bytes(16);
    kek.public_key_der = g.signer->public_key_der();
    kek.signature_key_bits = 2048;
    kek.lifetime = std::chrono::seconds(86400);
    kek.source = SelectorEndpoint::from_prefix(*IpPrefix::parse("10.77.0.1/32"), 848);
    kek.destination = SelectorEndpoint::from_prefix(*IpPrefix::parse("10.77.0.2/32"), 848);
    g.policy.kek = kek;
    g.policy.teks = {push_tek(0x10000001, "10.1.0.0/16", "10.2.0.0/16"),
                     push_tek(0x10000002, "10.2.0.0/16", "10.1.0.0/16")};
    g.tek_templates = g.policy.teks;
    return g;
}

// This thread's CPU time (user + system) in seconds: what a loaded machine's preemption does
// not add to, unlike the wall clock.
inline double thread_cpu_seconds() {
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return double(t.tv_sec) + double(t.tv_nsec) * 1e-9;
}

} // namespace bench
