#include "gdoi/ike/main_mode_initiator.hpp"

#include "gdoi/crypto/ike_keys.hpp"
#include "gdoi/ike/isakmp_io.hpp"
#include "gdoi/ike/main_mode_common.hpp"

#include <algorithm>

namespace gdoi::ike {

using namespace gdoi::wire;

MainModeInitiator::MainModeInitiator(MainModeInitiatorConfig config)
    : config_(std::move(config)), retransmit_(config_.retransmit) {
    if (config_.proposals.empty()) throw std::invalid_argument("Main Mode needs a proposal");
    for (auto& proposal : config_.proposals)
        proposal.authentication = config_.certificate ? Phase1Authentication::rsa_signature
                                                      : Phase1Authentication::pre_shared_key;
    if (config_.certificate && !config_.certificate->private_key)
        throw std::invalid_argument("certificate authentication needs a private key");
}

void MainModeInitiator::log(LogLevel level, const std::string& text) const {
    if (config_.log)
        config_.log(level, "Main Mode with " + config_.server_address.to_string() + ": " + text);
}

int MainModeInitiator::message_number() const {
    switch (state_) {
    case State::sent_mm1:
        return 1;
    case State::sent_mm3:
        return 3;
    case State::sent_mm5:
        return 5;
    default:
        return 0;
    }
}

void MainModeInitiator::fail(const std::string& reason) {
    state_ = State::failed;
    failure_ = reason;
    retransmit_.stop();
    if (dh_) dh_.reset();
    log(LogLevel::error, reason);
}

void MainModeInitiator::send(Datagram message, TimePoint now) {
    retransmit_.sent(message, now, false);
    out_.push_back(std::move(message));
}

std::vector<Datagram> MainModeInitiator::take_datagrams() {
    return std::exchange(out_, {});
}

std::optional<TimePoint> MainModeInitiator::next_timer() const {
    if (state_ == State::established || state_ == State::failed) return std::nullopt;
    return retransmit_.next();
}

std::optional<Phase1Sa> MainModeInitiator::take_sa() {
    if (state_ != State::established) return std::nullopt;
    return std::exchange(sa_, std::nullopt);
}

void MainModeInitiator::start(TimePoint now) {
    icookie_ = random_cookie();
    Message m;
    m.header.initiator_cookie = icookie_;
    m.header.exchange_type = exchange::identity_protection;
    m.payloads.push_back(make_phase1_sa(config_.proposals, config_.quirks.phase1_doi));
    Datagram bytes = encode_message(m);
    sai_body_ = first_payload_body(bytes);
    state_ = State::sent_mm1;
    std::string offered;
    for (const auto& p : config_.proposals)
        offered += (offered.empty() ? "" : "; ") + p.describe();
    log(LogLevel::info, "starting, offering " + offered);
    send(std::move(bytes), now);
}

void MainModeInitiator::on_timer(TimePoint now) {
    switch (retransmit_.on_timer(now)) {
    case Retransmitter::Tick::nothing:
        return;
    case Retransmitter::Tick::resend:
        log(LogLevel::debug,
            "no answer to message " + std::to_string(message_number()) + ", sending it again");
        out_.push_back(retransmit_.last_message());
        return;
    case Retransmitter::Tick::expired: {
        std::string reason =
            "key server " + config_.server_address.to_string() +
            " did not answer Main Mode message " + std::to_string(message_number()) + " within " +
            std::to_string(
                std::chrono::duration_cast<std::chrono::seconds>(retransmit_.budget()).count()) +
            " s";
        if (state_ == State::sent_mm5)
            reason += config_.certificate
                          ? " (a server that stays silent when it refuses our certificate looks "
                            "like this)"
                          : " (a server that stays silent on a wrong pre-shared key looks like "
                            "this)";
        fail(reason);
        return;
    }
    }
}

void MainModeInitiator::on_datagram(std::span<const uint8_t> datagram, TimePoint now) {
    if (state_ == State::idle || state_ == State::established || state_ == State::failed) return;
    Header header;
    try {
        header = decode_header(datagram);
    } catch (const DecodeError& e) {
        log(LogLevel::warning, std::string("dropped an unreadable datagram: ") + e.what());
        return;
    }
    if (header.initiator_cookie != icookie_) return; // not ours
    if (header.exchange_type == exchange::informational) return handle_informational(datagram);
    if (header.exchange_type != exchange::identity_protection) return;
    // A duplicate of the answer we already acted on (our retransmission crossed it): ignore.
    if (std::equal(datagram.begin(), datagram.end(), last_received_.begin(), last_received_.end()))
        return;
    if (state_ != State::sent_mm1 && header.responder_cookie != rcookie_) return;
    try {
        switch (state_) {
        case State::sent_mm1:
            handle_mm2(datagram, now);
            break;
        case State::sent_mm3:
            handle_mm4(datagram, now);
            break;
        case State::sent_mm5:
            handle_mm6(datagram, now);
            break;
        default:
            break;
        }
    } catch (const DecodeError& e) {
        // Malformed or stale message: the retransmission timer keeps the exchange going.
        log(LogLevel::warning, std::string("dropped a malformed message: ") + e.what());
    }
}

void MainModeInitiator::handle_mm2(std::span<const uint8_t> datagram, TimePoint now) {
    Message m = decode_message(datagram);
    if (m.header.flags & flags::encryption) return;
    auto* sa = m.find<SaPayload>();
    if (!sa) return; // an out-of-order MM4 or junk: wait for MM2
    if (m.header.responder_cookie == Cookie{}) return;
    if (sa->proposals.size() != 1 || sa->proposals[0].transforms.size() != 1)
        return fail("key server " + config_.server_address.to_string() + " answered with " +
                    std::to_string(sa->proposals.size()) +
                    " proposals instead of the one it chose (RFC 2409 section 5)");
    std::string why;
    auto chosen = from_transform(sa->proposals[0].transforms[0], why);
    if (!chosen)
        return fail("key server " + config_.server_address.to_string() +
                    " chose a Phase 1 transform we cannot use: " + why);
    auto ours = std::find_if(config_.proposals.begin(), config_.proposals.end(),
                             [&](const Phase1Proposal& p) { return p.same_algorithms(*chosen); });
    if (ours == config_.proposals.end())
        return fail("key server " + config_.server_address.to_string() +
                    " chose a Phase 1 transform we did not offer: " + chosen->describe());
    chosen_ = *chosen;
    chosen_.lifetime = std::min(chosen->lifetime, ours->lifetime);
    rcookie_ = m.header.responder_cookie;
    last_received_.assign(datagram.begin(), datagram.end());
    log(LogLevel::info, "key server chose " + chosen_.describe());

    dh_.emplace(chosen_.group);
    nonce_i_ = crypto::random_bytes(kMainModeNonceSize);
    Message mm3;
    mm3.header.initiator_cookie = icookie_;
    mm3.header.responder_cookie = rcookie_;
    mm3.header.exchange_type = exchange::identity_protection;
    mm3.payloads = {KePayload{dh_->public_value()}, NoncePayload{nonce_i_}};
    if (config_.certificate)
        for (auto& request : certificate_requests(*config_.certificate))
            mm3.payloads.emplace_back(std::move(request));
    state_ = State::sent_mm3;
    send(encode_message(mm3), now);
}

void MainModeInitiator::handle_mm4(std::span<const uint8_t> datagram, TimePoint now) {
    Message m = decode_message(datagram);
    if (m.header.flags & flags::encryption) return;
    auto* ke = m.find<KePayload>();
    auto* nonce = m.find<NoncePayload>();
    if (!ke || !nonce) return; // a late MM2 or junk
    if (nonce->data.size() < 8 || nonce->data.size() > 256)
        return fail("key server " + config_.server_address.to_string() + " sent a nonce of " +
                    std::to_string(nonce->data.size()) +
                    " octets (RFC 2409 section 5: between 8 and 256)");
    SecretBytes shared;
    try {
        shared = dh_->shared_secret(ke->data);
    } catch (const crypto::CryptoError& e) {
        return fail("key server " + config_.server_address.to_string() +
                    " sent an unusable Diffie-Hellman value: " + e.what());
    }
    last_received_.assign(datagram.begin(), datagram.end());
    g_xi_ = dh_->public_value();
    g_xr_ = ke->data;
    auto derived = derive_phase1(chosen_, config_.pre_shared_key, nonce_i_, nonce->data, shared,
                                 icookie_, rcookie_, g_xi_, g_xr_);
    skeyid_ = std::move(derived.skeyid);
    sa_.emplace(std::move(derived.sa));
    sa_->doi = config_.quirks.phase1_doi;
    sa_->local = config_.local_address;
    sa_->peer = config_.server_address;
    dh_.reset(); // the private value is no longer needed

    auto id = config_.certificate
                  ? certificate_identity_payload(*config_.certificate, config_.local_address)
                  : IdPayload::address(config_.local_address);
    auto hash_i = main_mode_hash(chosen_.hash, skeyid_, true, g_xi_, g_xr_, icookie_, rcookie_,
                                 sai_body_, encode_payload_body(id));
    Message mm5;
    mm5.header.initiator_cookie = icookie_;
    mm5.header.responder_cookie = rcookie_;
    mm5.header.exchange_type = exchange::identity_protection;
    mm5.header.flags = flags::encryption;
    if (config_.certificate) {
        // RFC 2409 section 5.1: HDR*, IDii, [ CERT, ] SIG_I, SIG_I being HASH_I signed.
        mm5.payloads = {id};
        for (auto& cert : certificate_payloads(*config_.certificate))
            mm5.payloads.emplace_back(std::move(cert));
        mm5.payloads.emplace_back(SigPayload{config_.certificate->private_key->sign(hash_i)});
    } else {
        mm5.payloads = {id, HashPayload{hash_i}};
    }
    if (config_.initial_contact) mm5.payloads.push_back(initial_contact_notify(icookie_, rcookie_));
    state_ = State::sent_mm5;
    send(seal(mm5, &*sa_->cipher), now);
}

void MainModeInitiator::handle_mm6(std::span<const uint8_t> datagram, TimePoint now) {
    const auto header = decode_header(datagram);
    if (!(header.flags & flags::encryption)) return;
    // Main Mode runs under message ID 0 (RFC 2408 section 3.1: the Message ID is zero during
    // Phase 1). Any other ID would ask the cipher for a Phase 2 IV before Phase 1 is complete,
    // which throws: found by test/fuzz/fuzz_main_mode.cpp (corpus-main-mode/crash-mm6-message-id).
    if (header.message_id != 0) return;
    auto opened = open(datagram, *sa_->cipher);
    if (!opened) return;
    Message m;
    try {
        m = decode_message(opened->plaintext, DecodeContext{config_.quirks, TrailingData::padding});
    } catch (const DecodeError& e) {
        log(LogLevel::warning, std::string("message 6 does not decrypt to a valid message (") +
                                   e.what() + "); waiting for a retransmission");
        return;
    }
    auto* id = m.find<IdPayload>();
    auto* hash = m.find<HashPayload>();
    const Payload* id_payload = m.find_payload(payload::identification);
    if (!id || !id_payload || (!hash && !config_.certificate)) {
        log(LogLevel::warning, "message 6 lacks ID or HASH; waiting for a retransmission");
        return;
    }
    // HASH_R = prf(SKEYID, g^xr | g^xi | CKY-R | CKY-I | SAi_b | IDir_b)
    auto expected = main_mode_hash(chosen_.hash, skeyid_, false, g_xi_, g_xr_, icookie_, rcookie_,
                                   sai_body_, payload_body_bytes(opened->plaintext, *id_payload));
    if (config_.certificate) {
        auto check = check_peer(*config_.certificate, m, expected);
        if (!check.authenticated)
            return fail("key server " + config_.server_address.to_string() +
                        " failed certificate authentication: " + check.failure);
        peer_subject_ = check.peer_subject;
        sa_->peer_certificate = peer_subject_;
        log(LogLevel::info, "key server authenticated by certificate \"" + peer_subject_ + "\"");
    } else if (!crypto::equal_constant_time(expected, hash->data)) {
        return fail("key server " + config_.server_address.to_string() +
                    " failed to prove it knows our pre-shared key (HASH_R mismatch)");
    }
    for (const auto* n : m.find_all<NotifyPayload>())
        if (n->notify_type == static_cast<uint16_t>(NotifyType::initial_contact))
            log(LogLevel::debug, "key server sent INITIAL-CONTACT");
    sa_->cipher->commit(0, opened->next_iv);
    sa_->cipher->finish_phase1();
    sa_->established = now;
    skeyid_.wipe();
    state_ = State::established;
    retransmit_.stop();
    log(LogLevel::info, "Phase 1 established (" + chosen_.describe() + ")");
}

void MainModeInitiator::handle_informational(std::span<const uint8_t> datagram) {
    std::string why;
    auto notify = read_informational(datagram, sa_ ? &*sa_ : nullptr, why);
    if (!notify) {
        log(LogLevel::debug, "ignored an informational exchange: " + why);
        return;
    }
    // Status notifications (16384 and up) are not errors (RFC 2408 section 3.14.1).
    if (notify->notify_type >= 16384) return;
    if (config_.certificate) {
        switch (static_cast<NotifyType>(notify->notify_type)) {
        case NotifyType::authentication_failed:
        case NotifyType::invalid_signature:
        case NotifyType::invalid_certificate:
        case NotifyType::invalid_cert_authority:
        case NotifyType::certificate_unavailable:
            return fail("key server " + config_.server_address.to_string() +
                        " refused our certificate \"" + config_.certificate->certificate.subject() +
                        "\" (" + notify_type_name(static_cast<NotifyType>(notify->notify_type)) +
                        "; its log says why: CA, validity, revocation or authorisation)");
        default:
            break;
        }
    }
    fail(describe_rejection(config_.server_address, notify->notify_type, "Phase 1"));
}

} // namespace gdoi::ike
