// Pieces both ends of Main Mode share: the SA payload, key derivation into a Phase1Sa,
// HASH_I / HASH_R (RFC 2409 section 5) and the INITIAL-CONTACT notification.
#pragma once

#include "gdoi/ike/phase1_sa.hpp"
#include "gdoi/wire/payloads.hpp"

#include <span>
#include <vector>

namespace gdoi::ike {

inline constexpr size_t kMainModeNonceSize = 20;

// SA payload with one ISAKMP proposal holding one transform per proposal, in order.
// RFC 2407 section 4.2: DOI 1 carries SIT_IDENTITY_ONLY; GDOI (DOI 2) servers use situation 0.
wire::SaPayload make_phase1_sa(const std::vector<Phase1Proposal>& proposals, uint32_t doi);

// The body (after the generic header) of the first payload of an encoded message.
std::vector<uint8_t> first_payload_body(std::span<const uint8_t> message);

// SKEYID (RFC 2409 section 5: from the pre-shared key, or for signatures from the nonces and
// g^xy), SKEYID_d/a/e, the encryption key and the Phase 1 IV. `pre_shared_key` is ignored when
// the chosen method is RSA signatures.
struct Phase1Derivation {
    SecretBytes skeyid; // needed for HASH_I / HASH_R only
    Phase1Sa sa;
};
Phase1Derivation derive_phase1(const Phase1Proposal& chosen, const SecretBytes& pre_shared_key,
                               std::span<const uint8_t> nonce_i, std::span<const uint8_t> nonce_r,
                               const SecretBytes& shared_secret, const wire::Cookie& icookie,
                               const wire::Cookie& rcookie, std::span<const uint8_t> g_xi,
                               std::span<const uint8_t> g_xr);

// HASH_I = prf(SKEYID, g^xi | g^xr | CKY-I | CKY-R | SAi_b | IDii_b)
// HASH_R = prf(SKEYID, g^xr | g^xi | CKY-R | CKY-I | SAi_b | IDir_b)
std::vector<uint8_t> main_mode_hash(crypto::HashAlgorithm hash, const SecretBytes& skeyid,
                                    bool initiator, std::span<const uint8_t> g_xi,
                                    std::span<const uint8_t> g_xr, const wire::Cookie& icookie,
                                    const wire::Cookie& rcookie, std::span<const uint8_t> sai_b,
                                    std::span<const uint8_t> id_b);

// INITIAL-CONTACT (RFC 2407 section 4.6.3.3): DOI 1, protocol ISAKMP, SPI = both cookies.
wire::NotifyPayload initial_contact_notify(const wire::Cookie& icookie,
                                           const wire::Cookie& rcookie);

} // namespace gdoi::ike
