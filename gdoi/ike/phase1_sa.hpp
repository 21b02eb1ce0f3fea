// The result of a completed Main Mode: what GROUPKEY-PULL and protected informational
// exchanges need (cookies, SKEYID_a, the encryption state with its IV chains).
#pragma once

#include "gdoi/crypto/isakmp_cipher.hpp"
#include "gdoi/ike/exchange_clock.hpp"
#include "gdoi/ike/phase1_proposal.hpp"
#include "gdoi/ip_address.hpp"
#include "gdoi/secret_bytes.hpp"
#include "gdoi/wire/payloads.hpp"

#include <optional>

namespace gdoi::ike {

struct Phase1Sa {
    wire::Cookie initiator_cookie{};
    wire::Cookie responder_cookie{};
    Phase1Proposal proposal;
    uint32_t doi = 1; // DOI of the Phase 1 SA payload (1 or 2)
    IpAddress local;
    IpAddress peer;
    SecretBytes skeyid_d;
    SecretBytes skeyid_a;
    std::optional<crypto::IsakmpCipher> cipher; // always set once established
    TimePoint established{};

    crypto::HashAlgorithm hash() const { return proposal.hash; }
};

} // namespace gdoi::ike
