// A Phase 1 (IKEv1 Main Mode, pre-shared key) proposal: cipher, hash, DH group, lifetime, and
// its translation to and from the ISAKMP transform attributes (RFC 2409 appendix A).
#pragma once

#include "gdoi/crypto/cbc_cipher.hpp"
#include "gdoi/crypto/dh_group.hpp"
#include "gdoi/crypto/prf.hpp"
#include "gdoi/wire/payloads.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace gdoi::ike {

struct Phase1Proposal {
    crypto::CbcCipher cipher = crypto::CbcCipher::aes256;
    crypto::HashAlgorithm hash = crypto::HashAlgorithm::sha256;
    crypto::DhGroup group = crypto::DhGroup::modp2048;
    std::chrono::seconds lifetime{86400};

    bool same_algorithms(const Phase1Proposal& o) const {
        return cipher == o.cipher && hash == o.hash && group == o.group;
    }
    std::string describe() const; // "AES-256-CBC/SHA256/MODP-2048 (group 14), 86400 s"
};

// The transform (transform ID KEY_IKE, authentication = pre-shared key) for a proposal.
wire::Transform to_transform(const Phase1Proposal& proposal, uint8_t number);

// Reads a transform; nullopt with `why` set when it asks for something we do not do
// (another authentication method, an unknown cipher/hash/group, AES with a bad key length).
std::optional<Phase1Proposal> from_transform(const wire::Transform& transform, std::string& why);

} // namespace gdoi::ike
