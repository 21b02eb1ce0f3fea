// A Phase 1 (IKEv1 Main Mode) proposal: cipher, hash, DH group, authentication method (pre-shared
// key or RSA signatures with certificates), lifetime, and its translation to and from the ISAKMP transform attributes (RFC 2409 appendix A).
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

// RFC 2409 appendix A, Authentication Method: 1 pre-shared key, 3 RSA signatures.
enum class Phase1Authentication : uint8_t { pre_shared_key, rsa_signature };

struct Phase1Proposal {
    crypto::CbcCipher cipher = crypto::CbcCipher::aes256;
    crypto::HashAlgorithm hash = crypto::HashAlgorithm::sha256;
    crypto::DhGroup group = crypto::DhGroup::modp2048;
    std::chrono::seconds lifetime{86400};
    Phase1Authentication authentication = Phase1Authentication::pre_shared_key;

    bool same_algorithms(const Phase1Proposal& o) const {
        return cipher == o.cipher && hash == o.hash && group == o.group &&
               authentication == o.authentication;
    }
    // "AES-256-CBC/SHA256/MODP-2048 (group 14), 86400 s" (+ ", RSA signatures" when so)
    std::string describe() const;
};

// The transform (transform ID KEY_IKE) for a proposal.
wire::Transform to_transform(const Phase1Proposal& proposal, uint8_t number);

// Reads a transform; nullopt with `why` set when it asks for something we do not do
// (another authentication method, an unknown cipher/hash/group, AES with a bad key length).
std::optional<Phase1Proposal> from_transform(const wire::Transform& transform, std::string& why);

} // namespace gdoi::ike
