#include "gdoi/crypto/kek_key_cache.hpp"

#include <algorithm>

namespace gdoi::crypto {

const KekPublicKey& KekKeyCache::get(KekSignatureScheme scheme, std::span<const uint8_t> der) {
    if (key_ && scheme == scheme_ && std::ranges::equal(der, der_)) return *key_;
    key_.reset();
    der_.clear();
    ++reads_;
    key_ = KekPublicKey::from_der(scheme, der);
    scheme_ = scheme;
    der_.assign(der.begin(), der.end());
    return *key_;
}

} // namespace gdoi::crypto
