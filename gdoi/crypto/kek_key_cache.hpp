// The key server's public key of one group's KEK, read from DER once and reused for every push
// under that KEK. Reading an RSA SubjectPublicKeyInfo through OpenSSL 3's decoders costs about
// as much as verifying a push's signature with it; the push profile (bench/push_processing.cpp)
// showed that read, done on every push, as most of a push's processing.
#pragma once

#include "gdoi/crypto/kek_signature.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace gdoi::crypto {

class KekKeyCache {
public:
    // The key `der` read as `scheme`: the held one when both are what it was read from, else
    // read now (throws CryptoError like KekPublicKey::from_der, and then holds nothing).
    const KekPublicKey& get(KekSignatureScheme scheme, std::span<const uint8_t> der);
    // How many times get() read a DER key, refused ones included.
    size_t reads() const { return reads_; }

private:
    size_t reads_ = 0;
    std::optional<KekPublicKey> key_;
    KekSignatureScheme scheme_ = KekSignatureScheme::rsa;
    std::vector<uint8_t> der_;
};

} // namespace gdoi::crypto
