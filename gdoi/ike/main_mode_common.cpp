#include "gdoi/ike/main_mode_common.hpp"

#include "gdoi/crypto/ike_keys.hpp"
#include "gdoi/wire/message.hpp"

namespace gdoi::ike {

using namespace gdoi::wire;

SaPayload make_phase1_sa(const std::vector<Phase1Proposal>& proposals, uint32_t doi) {
    SaPayload sa;
    sa.doi = doi;
    sa.situation = doi == doi::gdoi ? 0 : kSituationIdentityOnly;
    Proposal proposal;
    proposal.number = 1;
    proposal.protocol_id = kProtoIsakmp;
    uint8_t number = 1;
    for (const auto& p : proposals)
        proposal.transforms.push_back(to_transform(p, number++));
    sa.proposals.push_back(std::move(proposal));
    return sa;
}

std::vector<uint8_t> first_payload_body(std::span<const uint8_t> message) {
    auto chain = walk_payload_chain(message);
    if (chain.payloads.empty()) return {};
    auto body = payload_bytes(message, chain.payloads[0]).subspan(kGenericPayloadHeaderSize);
    return {body.begin(), body.end()};
}

Phase1Derivation derive_phase1(const Phase1Proposal& chosen, const SecretBytes& pre_shared_key,
                               std::span<const uint8_t> nonce_i, std::span<const uint8_t> nonce_r,
                               const SecretBytes& shared_secret, const Cookie& icookie,
                               const Cookie& rcookie, std::span<const uint8_t> g_xi,
                               std::span<const uint8_t> g_xr) {
    auto skeyid =
        chosen.authentication == Phase1Authentication::rsa_signature
            ? crypto::skeyid_signature(chosen.hash, nonce_i, nonce_r, shared_secret)
            : crypto::skeyid_pre_shared(chosen.hash, pre_shared_key, nonce_i, nonce_r);
    auto keys = crypto::derive_phase1_keys(chosen.hash, chosen.cipher, skeyid, shared_secret,
                                           icookie, rcookie);
    Phase1Derivation out{std::move(skeyid), {}};
    out.sa.initiator_cookie = icookie;
    out.sa.responder_cookie = rcookie;
    out.sa.proposal = chosen;
    out.sa.skeyid_d = std::move(keys.skeyid_d);
    out.sa.skeyid_a = std::move(keys.skeyid_a);
    out.sa.cipher.emplace(chosen.cipher, chosen.hash, std::move(keys.encryption_key),
                          crypto::phase1_initial_iv(chosen.hash, g_xi, g_xr,
                                                    crypto::cipher_block_size(chosen.cipher)));
    return out;
}

std::vector<uint8_t> main_mode_hash(crypto::HashAlgorithm hash, const SecretBytes& skeyid,
                                    bool initiator, std::span<const uint8_t> g_xi,
                                    std::span<const uint8_t> g_xr, const Cookie& icookie,
                                    const Cookie& rcookie, std::span<const uint8_t> sai_b,
                                    std::span<const uint8_t> id_b) {
    if (initiator)
        return crypto::hmac_public(hash, skeyid.reveal(),
                                   {g_xi, g_xr, icookie, rcookie, sai_b, id_b});
    return crypto::hmac_public(hash, skeyid.reveal(), {g_xr, g_xi, rcookie, icookie, sai_b, id_b});
}

NotifyPayload initial_contact_notify(const Cookie& icookie, const Cookie& rcookie) {
    NotifyPayload n;
    n.doi = doi::ipsec;
    n.protocol_id = kProtoIsakmp;
    n.notify_type = static_cast<uint16_t>(NotifyType::initial_contact);
    n.spi.assign(icookie.begin(), icookie.end());
    n.spi.insert(n.spi.end(), rcookie.begin(), rcookie.end());
    return n;
}

} // namespace gdoi::ike
