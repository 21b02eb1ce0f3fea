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
#include <string>

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
    // The server certificate's subject when Phase 1 ran with RSA signatures; empty with a PSK.
    std::string peer_certificate;

    crypto::HashAlgorithm hash() const { return proposal.hash; }

    // The SA carries only the GROUPKEY-PULL (RFC 6407 section 3: the Phase 1 SA protects the
    // registration) and is never rekeyed: once its negotiated lifetime (RFC 2409 appendix A,
    // Life Duration; both ends keep the smaller of the two offers) has passed, neither end may
    // start or continue an exchange under it; a later registration runs Main Mode again.
    TimePoint expires() const { return established + proposal.lifetime; }
    bool expired(TimePoint now) const { return now >= expires(); }
};

} // namespace gdoi::ike
