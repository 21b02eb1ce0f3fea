#include "gdoi/pull/pull_initiator.hpp"

#include "gdoi/crypto/prf.hpp"
#include "gdoi/ike/isakmp_io.hpp"
#include "gdoi/pull/group_policy_codec.hpp"
#include "gdoi/wire/message.hpp"

#include <algorithm>

namespace gdoi::pull {

using namespace gdoi::wire;
using ike::Datagram;
using ike::LogLevel;
using ike::TimePoint;

namespace {
constexpr size_t kPullNonceSize = 16; // what the reference implementation sends

std::vector<uint8_t> mid_bytes(uint32_t mid) {
    return {uint8_t(mid >> 24), uint8_t(mid >> 16), uint8_t(mid >> 8), uint8_t(mid)};
}
} // namespace

PullInitiator::PullInitiator(PullInitiatorConfig config, ike::Phase1Sa& sa)
    : config_(std::move(config)), sa_(sa), retransmit_(config_.retransmit) {}

void PullInitiator::log(LogLevel level, const std::string& text) const {
    if (config_.log)
        config_.log(level, "GROUPKEY-PULL for group " + std::to_string(config_.group_id) +
                               " with " + sa_.peer.to_string() + ": " + text);
}

void PullInitiator::log_warnings(const std::vector<std::string>& warnings) const {
    for (const auto& w : warnings)
        log(LogLevel::warning, w);
}

void PullInitiator::fail(const std::string& reason) {
    state_ = State::failed;
    failure_ = reason;
    retransmit_.stop();
    policy_ = GroupPolicy{};
    sa_.cipher->forget(message_id_);
    log(LogLevel::error, reason);
}

void PullInitiator::send(Datagram message, TimePoint now) {
    retransmit_.sent(message, now, false);
    out_.push_back(std::move(message));
}

std::vector<Datagram> PullInitiator::take_datagrams() {
    return std::exchange(out_, {});
}

std::optional<TimePoint> PullInitiator::next_timer() const {
    if (state_ != State::sent_1 && state_ != State::sent_3) return std::nullopt;
    auto next = retransmit_.next();
    // Wake up at the end of the Phase 1 SA's life too: the PULL fails then (see sa_expired).
    return next ? std::min(*next, sa_.expires()) : sa_.expires();
}

bool PullInitiator::sa_expired(TimePoint now) {
    if (!sa_.expired(now)) return false;
    auto lifetime = sa_.proposal.lifetime.count();
    std::string reason = "Phase 1 SA with key server " + sa_.peer.to_string() +
                         " reached its negotiated lifetime of " + std::to_string(lifetime) +
                         " s before GROUPKEY-PULL " +
                         (state_ == State::idle ? "could start" : "completed") +
                         "; registering again needs a new Main Mode";
    if (state_ == State::idle) {
        state_ = State::failed;
        failure_ = reason;
        log(LogLevel::error, reason);
    } else {
        fail(reason);
    }
    return true;
}

std::optional<GroupPolicy> PullInitiator::take_policy() {
    if (state_ != State::done) return std::nullopt;
    return std::exchange(policy_, GroupPolicy{});
}

void PullInitiator::start(TimePoint now) {
    if (sa_expired(now)) return;
    message_id_ = ike::random_message_id();
    nonce_i_ = crypto::random_bytes(kPullNonceSize);
    Message m;
    m.header.initiator_cookie = sa_.initiator_cookie;
    m.header.responder_cookie = sa_.responder_cookie;
    m.header.exchange_type = exchange::groupkey_pull;
    m.header.flags = flags::encryption;
    m.header.message_id = message_id_;
    m.payloads = {HashPayload{}, NoncePayload{nonce_i_},
                  IdPayload::group_key_id(config_.group_id, config_.quirks.group_id_byte_order)};
    const auto mid = mid_bytes(message_id_);
    auto clear = ike::encode_with_leading_hash(m, crypto::hash_length(sa_.hash()), [&](auto rest) {
        // HASH(1) = prf(SKEYID_a, M-ID | Ni | ID)
        return crypto::hmac_public(sa_.hash(), sa_.skeyid_a.reveal(), {mid, rest});
    });
    clear = ike::encrypt_encoded(clear, *sa_.cipher);
    state_ = State::sent_1;
    log(LogLevel::info, "requesting the group policy");
    send(std::move(clear), now);
}

void PullInitiator::on_timer(TimePoint now) {
    if ((state_ == State::sent_1 || state_ == State::sent_3) && sa_expired(now)) return;
    switch (retransmit_.on_timer(now)) {
    case ike::Retransmitter::Tick::nothing:
        return;
    case ike::Retransmitter::Tick::resend:
        out_.push_back(retransmit_.last_message());
        return;
    case ike::Retransmitter::Tick::expired:
        fail("key server " + sa_.peer.to_string() + " did not answer GROUPKEY-PULL message " +
             (state_ == State::sent_1 ? "1" : "3") + " within " +
             std::to_string(
                 std::chrono::duration_cast<std::chrono::seconds>(retransmit_.budget()).count()) +
             " s");
        return;
    }
}

bool PullInitiator::check_hash(std::span<const uint8_t> plaintext, std::span<const uint8_t> prefix,
                               const char* which) {
    auto chain = walk_payload_chain(plaintext);
    if (chain.payloads.empty() || chain.payloads[0].type != payload::hash) {
        log(LogLevel::warning, std::string(which) + ": message does not start with HASH; dropped");
        return false;
    }
    auto received = payload_bytes(plaintext, chain.payloads[0]).subspan(kGenericPayloadHeaderSize);
    auto expected = crypto::hmac_public(sa_.hash(), sa_.skeyid_a.reveal(),
                                        {prefix, ike::after_first_payload(plaintext)});
    if (!crypto::equal_constant_time(expected, received)) {
        // RFC 6407 section 3.2: a HASH that does not verify means the message is dropped.
        log(LogLevel::warning,
            std::string(which) + " does not verify (INVALID-HASH-INFORMATION); dropped");
        return false;
    }
    return true;
}

void PullInitiator::on_datagram(std::span<const uint8_t> datagram, TimePoint now) {
    if (state_ != State::sent_1 && state_ != State::sent_3) return;
    if (sa_expired(now)) return;
    Header header;
    try {
        header = decode_header(datagram);
    } catch (const DecodeError&) {
        return;
    }
    if (header.initiator_cookie != sa_.initiator_cookie ||
        header.responder_cookie != sa_.responder_cookie)
        return;
    if (header.exchange_type == exchange::informational) {
        std::string why;
        auto notify = ike::read_informational(datagram, &sa_, why);
        if (!notify) {
            log(LogLevel::debug, "ignored an informational exchange: " + why);
            return;
        }
        if (notify->notify_type >= 16384) return;
        std::string reason =
            ike::describe_rejection(sa_.peer, notify->notify_type,
                                    "GROUPKEY-PULL for group " + std::to_string(config_.group_id));
        if (notify->notify_type == static_cast<uint16_t>(NotifyType::invalid_id_information))
            reason = "key server " + sa_.peer.to_string() + " does not serve group " +
                     std::to_string(config_.group_id) + " (INVALID-ID-INFORMATION)";
        if (notify->notify_type == static_cast<uint16_t>(NotifyType::authentication_failed))
            reason = "key server " + sa_.peer.to_string() + " refused to register us in group " +
                     std::to_string(config_.group_id) +
                     ": not an authorised member (AUTHENTICATION-FAILED)";
        return fail(reason);
    }
    if (header.exchange_type != exchange::groupkey_pull || header.message_id != message_id_) return;
    if (!(header.flags & flags::encryption)) {
        log(LogLevel::warning, "unencrypted GROUPKEY-PULL message dropped");
        return;
    }
    if (std::equal(datagram.begin(), datagram.end(), last_received_.begin(), last_received_.end()))
        return; // a duplicate of what we already acted on
    auto opened = ike::open(datagram, *sa_.cipher);
    if (!opened) return;
    try {
        if (state_ == State::sent_1)
            handle_2(opened->plaintext, std::move(opened->next_iv), now);
        else
            handle_4(opened->plaintext, std::move(opened->next_iv), now);
        if (state_ != State::failed) last_received_.assign(datagram.begin(), datagram.end());
    } catch (const DecodeError& e) {
        // Authentic (the HASH matched) yet unreadable: the server sent something we cannot use.
        fail("key server " + sa_.peer.to_string() +
             " sent a GROUPKEY-PULL message we cannot read: " + e.what());
    }
}

void PullInitiator::handle_2(std::span<const uint8_t> plaintext, std::vector<uint8_t> next_iv,
                             TimePoint now) {
    auto mid = mid_bytes(message_id_);
    // Nr sits right after HASH; HASH(2) = prf(SKEYID_a, M-ID | Ni_b | Nr | SA).
    std::vector<uint8_t> prefix = mid;
    prefix.insert(prefix.end(), nonce_i_.begin(), nonce_i_.end());
    if (!check_hash(plaintext, prefix, "HASH(2)")) return;
    sa_.cipher->commit(message_id_, std::move(next_iv));
    Message m = decode_message(plaintext, DecodeContext{config_.quirks, TrailingData::padding});
    for (const auto& o : m.observations)
        log(LogLevel::debug, std::string(observation_name(o.kind)) + ": " + o.detail);
    auto* nonce = m.find<NoncePayload>();
    auto* sa = m.find<GdoiSaPayload>();
    if (!nonce || !sa)
        return fail("key server " + sa_.peer.to_string() +
                    " answered GROUPKEY-PULL message 1 without " + (nonce ? "an SA" : "a nonce"));
    nonce_r_ = nonce->data;
    if (const size_t teks = sa->teks().size(); teks > config_.max_teks)
        return fail("key server " + sa_.peer.to_string() + " sent " + std::to_string(teks) +
                    " TEKs for group " + std::to_string(config_.group_id) + ", more than max-teks (" +
                    std::to_string(config_.max_teks) +
                    "): policy refused, nothing installed (raise max-teks if the group really has that many)");
    policy_ = GroupPolicy{};
    policy_.group_id = config_.group_id;
    auto check = read_group_sa(*sa, config_.quirks, policy_);
    log_warnings(check.warnings);
    rejected_ = check.rejected;
    if (!check.ok())
        return fail("key server " + sa_.peer.to_string() +
                    " sent a group policy we cannot use: " + *check.error);

    Message m3;
    m3.header.initiator_cookie = sa_.initiator_cookie;
    m3.header.responder_cookie = sa_.responder_cookie;
    m3.header.exchange_type = exchange::groupkey_pull;
    m3.header.flags = flags::encryption;
    m3.header.message_id = message_id_;
    m3.payloads = {HashPayload{}};
    auto clear = ike::encode_with_leading_hash(m3, crypto::hash_length(sa_.hash()), [&](auto) {
        // HASH(3) = prf(SKEYID_a, M-ID | Ni_b | Nr_b)
        return crypto::hmac_public(sa_.hash(), sa_.skeyid_a.reveal(), {mid, nonce_i_, nonce_r_});
    });
    clear = ike::encrypt_encoded(clear, *sa_.cipher);
    state_ = State::sent_3;
    send(std::move(clear), now);
}

void PullInitiator::handle_4(std::span<const uint8_t> plaintext, std::vector<uint8_t> next_iv,
                             TimePoint) {
    std::vector<uint8_t> prefix = mid_bytes(message_id_);
    prefix.insert(prefix.end(), nonce_i_.begin(), nonce_i_.end());
    prefix.insert(prefix.end(), nonce_r_.begin(), nonce_r_.end());
    // HASH(4) = prf(SKEYID_a, M-ID | Ni_b | Nr_b [| SEQ] | KD)
    if (!check_hash(plaintext, prefix, "HASH(4)")) return;
    sa_.cipher->commit(message_id_, std::move(next_iv));
    Message m = decode_message(plaintext, DecodeContext{config_.quirks, TrailingData::padding});
    auto* kd = m.find<KdPayload>();
    if (!kd)
        return fail("key server " + sa_.peer.to_string() +
                    " sent GROUPKEY-PULL message 4 without KD");
    if (auto* seq = m.find<SeqPayload>()) policy_.sequence = seq->sequence;
    auto keys = read_key_download(*kd, policy_);
    log_warnings(keys.warnings);
    rejected_.insert(rejected_.end(), keys.rejected.begin(), keys.rejected.end());
    for (const auto& r : rejected_)
        log(LogLevel::warning, "TEK rejected, never installed: " + r);
    if (!keys.ok())
        return fail("key server " + sa_.peer.to_string() + " sent unusable keys: " + *keys.error);
    auto valid = validate_group_policy(policy_);
    log_warnings(valid.warnings);
    if (!valid.ok()) {
        std::string reason = "group " + std::to_string(config_.group_id) + " from key server " +
                             sa_.peer.to_string() + " rejected: " + *valid.error;
        for (const auto& r : rejected_)
            reason += "; rejected TEK " + r;
        return fail(reason);
    }
    state_ = State::done;
    retransmit_.stop();
    sa_.cipher->forget(message_id_);
    std::string summary = std::to_string(policy_.teks.size()) + " TEK(s)";
    for (const auto& tek : policy_.teks)
        summary += "; " + describe_tek(tek);
    log(LogLevel::info, "registered: " + summary + (policy_.kek ? ", KEK present" : ", no KEK"));
}

} // namespace gdoi::pull
