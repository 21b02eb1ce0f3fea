#include "gdoi/ike/main_mode_responder.hpp"

#include "gdoi/ike/isakmp_io.hpp"
#include "gdoi/ike/main_mode_common.hpp"
#include "gdoi/wire/message.hpp"

#include <algorithm>

namespace gdoi::ike {

using namespace gdoi::wire;

MainModeResponder::MainModeResponder(const MainModeResponderConfig& config, IpAddress peer)
    : config_(config), peer_(peer) {}

void MainModeResponder::log(LogLevel level, const std::string& text) const {
    if (config_.log) config_.log(level, "Main Mode from " + peer_.to_string() + ": " + text);
}

std::vector<Datagram> MainModeResponder::refuse(NotifyType type, const std::string& reason,
                                                bool notify) {
    state_ = State::failed;
    failure_ = reason;
    log(LogLevel::warning, reason + (notify ? std::string(", answering ") + notify_type_name(type)
                                            : std::string(", staying silent")));
    if (!notify) return {};
    return {clear_notify(icookie_, rcookie_, doi_, type)};
}

std::vector<Datagram> MainModeResponder::on_datagram(std::span<const uint8_t> datagram,
                                                     TimePoint now) {
    last_activity_ = now;
    if (state_ == State::failed) return {};
    // A retransmitted request: the peer lost our answer. Send the same answer again.
    if (!last_request_.empty() &&
        std::equal(datagram.begin(), datagram.end(), last_request_.begin(), last_request_.end())) {
        log(LogLevel::debug, "retransmitted request, answering again");
        return {last_answer_};
    }
    try {
        auto header = decode_header(datagram);
        if (header.exchange_type != exchange::identity_protection) return {};
        std::vector<Datagram> answer;
        switch (state_) {
        case State::waiting_mm1:
            answer = handle_mm1(datagram);
            break;
        case State::sent_mm2:
            if (header.responder_cookie != rcookie_) return {};
            answer = handle_mm3(datagram);
            break;
        case State::sent_mm4:
            if (header.responder_cookie != rcookie_) return {};
            answer = handle_mm5(datagram, now);
            break;
        default:
            return {};
        }
        if (!answer.empty() && state_ != State::failed) {
            last_request_.assign(datagram.begin(), datagram.end());
            last_answer_ = answer.back();
        }
        return answer;
    } catch (const DecodeError& e) {
        log(LogLevel::warning, std::string("dropped a malformed message: ") + e.what());
        return {};
    }
}

std::vector<Datagram> MainModeResponder::handle_mm1(std::span<const uint8_t> datagram) {
    Message m = decode_message(datagram);
    auto* sa = m.find<SaPayload>();
    if (!sa || (m.header.flags & flags::encryption) || m.header.responder_cookie != Cookie{})
        return {};
    icookie_ = m.header.initiator_cookie;
    rcookie_ = random_cookie();
    doi_ = sa->doi;
    if (doi_ != doi::ipsec && doi_ != doi::gdoi)
        return refuse(NotifyType::doi_not_supported,
                      "Phase 1 SA with DOI " + std::to_string(doi_) + " (only 1 and 2 exist here)",
                      true);
    auto psk = config_.pre_shared_key_for ? config_.pre_shared_key_for(peer_) : std::nullopt;
    if (!psk && !config_.certificate)
        return refuse(NotifyType::authentication_failed,
                      "no pre-shared key is configured for this member", true);
    if (psk) pre_shared_key_ = std::move(*psk);
    auto method_available = [&](Phase1Authentication method) {
        return method == Phase1Authentication::rsa_signature ? config_.certificate.has_value()
                                                             : !pre_shared_key_.empty();
    };
    const Transform* picked = nullptr;
    uint8_t proposal_number = 1;
    for (const auto& proposal : sa->proposals) {
        if (proposal.protocol_id != kProtoIsakmp) continue;
        for (const auto& transform : proposal.transforms) {
            std::string why;
            auto offered = from_transform(transform, why);
            if (!offered) {
                log(LogLevel::debug,
                    "skipping transform " + std::to_string(transform.number) + ": " + why);
                continue;
            }
            if (!method_available(offered->authentication)) {
                log(LogLevel::debug, "skipping transform " + std::to_string(transform.number) +
                                         ": its authentication method is not configured here");
                continue;
            }
            auto match = std::find_if(
                config_.acceptable.begin(), config_.acceptable.end(), [&](const Phase1Proposal& p) {
                    return p.cipher == offered->cipher && p.hash == offered->hash &&
                           p.group == offered->group;
                });
            if (match == config_.acceptable.end()) continue;
            chosen_ = *offered;
            chosen_.lifetime = std::min(offered->lifetime, match->lifetime);
            picked = &transform;
            proposal_number = proposal.number;
            break;
        }
        if (picked) break;
    }
    if (!picked)
        return refuse(NotifyType::no_proposal_chosen,
                      "none of the offered transforms is acceptable", true);
    sai_body_ = first_payload_body(datagram);
    log(LogLevel::info, "chose " + chosen_.describe() + " (DOI " + std::to_string(doi_) + ")");
    Message mm2;
    mm2.header.initiator_cookie = icookie_;
    mm2.header.responder_cookie = rcookie_;
    mm2.header.exchange_type = exchange::identity_protection;
    SaPayload answer;
    answer.doi = sa->doi; // answer in kind
    answer.situation = sa->situation;
    Proposal proposal;
    proposal.number = proposal_number;
    proposal.protocol_id = kProtoIsakmp;
    proposal.transforms.push_back(*picked);
    answer.proposals.push_back(std::move(proposal));
    mm2.payloads.push_back(std::move(answer));
    state_ = State::sent_mm2;
    return {encode_message(mm2)};
}

std::vector<Datagram> MainModeResponder::handle_mm3(std::span<const uint8_t> datagram) {
    Message m = decode_message(datagram);
    auto* ke = m.find<KePayload>();
    auto* nonce = m.find<NoncePayload>();
    if (!ke || !nonce || (m.header.flags & flags::encryption)) return {};
    certificate_requested_ = !m.find_all<CertRequestPayload>().empty();
    if (nonce->data.size() < 8 || nonce->data.size() > 256)
        return refuse(NotifyType::payload_malformed, "nonce outside 8..256 octets", true);
    crypto::DiffieHellman dh(chosen_.group);
    SecretBytes shared;
    try {
        shared = dh.shared_secret(ke->data);
    } catch (const crypto::CryptoError& e) {
        return refuse(NotifyType::invalid_key_information, e.what(), true);
    }
    auto nonce_r = crypto::random_bytes(kMainModeNonceSize);
    g_xi_ = ke->data;
    g_xr_ = dh.public_value();
    auto derived = derive_phase1(chosen_, pre_shared_key_, nonce->data, nonce_r, shared, icookie_,
                                 rcookie_, g_xi_, g_xr_);
    skeyid_ = std::move(derived.skeyid);
    sa_.emplace(std::move(derived.sa));
    sa_->doi = doi_;
    sa_->local = config_.local_address;
    sa_->peer = peer_;
    Message mm4;
    mm4.header.initiator_cookie = icookie_;
    mm4.header.responder_cookie = rcookie_;
    mm4.header.exchange_type = exchange::identity_protection;
    mm4.payloads = {KePayload{g_xr_}, NoncePayload{nonce_r}};
    if (signatures())
        for (auto& request : certificate_requests(*config_.certificate))
            mm4.payloads.emplace_back(std::move(request));
    state_ = State::sent_mm4;
    return {encode_message(mm4)};
}

std::vector<Datagram> MainModeResponder::handle_mm5(std::span<const uint8_t> datagram,
                                                    TimePoint now) {
    const auto header = decode_header(datagram);
    if (!(header.flags & flags::encryption)) return {};
    // RFC 2408 section 3.1: the Message ID is zero during Phase 1 (any other would ask the
    // cipher for a Phase 2 IV before Phase 1 is complete), as the initiator checks in message 6.
    if (header.message_id != 0) return {};
    auto opened = open(datagram, *sa_->cipher);
    const std::string mismatch =
        signatures() ? "message 5 does not decrypt to a valid message"
                     : "HASH_I mismatch: the member's pre-shared key differs from ours";
    if (!opened)
        return refuse(NotifyType::authentication_failed, mismatch,
                      config_.notify_authentication_failure);
    Message m;
    try {
        m = decode_message(opened->plaintext, DecodeContext{{}, TrailingData::padding});
    } catch (const DecodeError&) {
        // With a wrong key the decryption is noise: the same fault as a wrong HASH_I.
        return refuse(NotifyType::authentication_failed,
                      mismatch + " (message 5 decrypts to noise)",
                      config_.notify_authentication_failure);
    }
    auto* hash = m.find<HashPayload>();
    const Payload* id_payload = m.find_payload(payload::identification);
    if (!id_payload || (!hash && !signatures()))
        return refuse(NotifyType::authentication_failed, mismatch + " (no ID or HASH in message 5)",
                      config_.notify_authentication_failure);
    auto expected = main_mode_hash(chosen_.hash, skeyid_, true, g_xi_, g_xr_, icookie_, rcookie_,
                                   sai_body_, payload_body_bytes(opened->plaintext, *id_payload));
    if (signatures()) {
        auto refusal = handle_signed_mm5(m, expected);
        if (state_ == State::failed) return refusal;
    } else if (!crypto::equal_constant_time(expected, hash->data)) {
        return refuse(NotifyType::authentication_failed, mismatch,
                      config_.notify_authentication_failure);
    }
    for (const auto* n : m.find_all<NotifyPayload>())
        if (n->notify_type == static_cast<uint16_t>(NotifyType::initial_contact))
            log(LogLevel::info, "INITIAL-CONTACT: the member forgot every earlier SA with us");
    sa_->cipher->commit(0, opened->next_iv);

    auto id = signatures()
                  ? certificate_identity_payload(*config_.certificate, config_.local_address)
                  : IdPayload::address(config_.local_address);
    auto hash_r = main_mode_hash(chosen_.hash, skeyid_, false, g_xi_, g_xr_, icookie_, rcookie_,
                                 sai_body_, encode_payload_body(id));
    Message mm6;
    mm6.header.initiator_cookie = icookie_;
    mm6.header.responder_cookie = rcookie_;
    mm6.header.exchange_type = exchange::identity_protection;
    mm6.header.flags = flags::encryption;
    if (signatures()) {
        using Send = MainModeResponderConfig::SendCertificate;
        mm6.payloads = {id};
        if (config_.send_certificate == Send::always ||
            (config_.send_certificate == Send::on_request && certificate_requested_))
            for (auto& cert : certificate_payloads(*config_.certificate))
                mm6.payloads.emplace_back(std::move(cert));
        mm6.payloads.emplace_back(SigPayload{config_.certificate->private_key->sign(hash_r)});
    } else {
        mm6.payloads = {id, HashPayload{hash_r}};
    }
    if (config_.initial_contact) mm6.payloads.push_back(initial_contact_notify(icookie_, rcookie_));
    auto bytes = seal(mm6, &*sa_->cipher);
    sa_->cipher->finish_phase1();
    sa_->established = now;
    skeyid_.wipe();
    state_ = State::established;
    log(LogLevel::info, "Phase 1 established (" + chosen_.describe() + ")");
    return {bytes};
}

std::vector<Datagram> MainModeResponder::handle_signed_mm5(const Message& m,
                                                           std::span<const uint8_t> hash_i) {
    auto check = check_peer(*config_.certificate, m, hash_i);
    if (!check.authenticated)
        return refuse(check.signature_failed ? NotifyType::invalid_signature
                                             : NotifyType::authentication_failed,
                      "member certificate refused: " + check.failure,
                      config_.notify_authentication_failure);
    if (config_.authorise_certificate && !config_.authorise_certificate(peer_, check.peer_subject))
        return refuse(NotifyType::authentication_failed,
                      "member certificate \"" + check.peer_subject +
                          "\" is trusted but not authorised to register",
                      config_.notify_authentication_failure);
    peer_subject_ = check.peer_subject;
    log(LogLevel::info, "member authenticated by certificate \"" + peer_subject_ + "\"");
    return {};
}

} // namespace gdoi::ike
