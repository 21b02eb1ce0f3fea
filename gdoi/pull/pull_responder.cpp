#include "gdoi/pull/pull_responder.hpp"

#include "gdoi/crypto/prf.hpp"
#include "gdoi/ike/isakmp_io.hpp"
#include "gdoi/wire/message.hpp"

#include <algorithm>

namespace gdoi::pull {

using namespace gdoi::wire;
using ike::Datagram;
using ike::LogLevel;

namespace {
std::vector<uint8_t> mid_bytes(uint32_t mid) {
    return {uint8_t(mid >> 24), uint8_t(mid >> 16), uint8_t(mid >> 8), uint8_t(mid)};
}
} // namespace

PullResponder::PullResponder(ike::Phase1Sa& sa, uint32_t message_id, PullAuthorizer authorizer,
                             ike::LogSink log)
    : sa_(sa), message_id_(message_id), authorizer_(std::move(authorizer)), log_(std::move(log)) {}

void PullResponder::log(LogLevel level, const std::string& text) const {
    if (log_) log_(level, "GROUPKEY-PULL from " + sa_.peer.to_string() + ": " + text);
}

Datagram PullResponder::seal_with_hash(
    std::vector<Payload> payloads,
    const std::function<std::vector<uint8_t>(std::span<const uint8_t>)>& hash) {
    Message m;
    m.header.initiator_cookie = sa_.initiator_cookie;
    m.header.responder_cookie = sa_.responder_cookie;
    m.header.exchange_type = exchange::groupkey_pull;
    m.header.flags = flags::encryption;
    m.header.message_id = message_id_;
    m.payloads = std::move(payloads);
    EncodeContext ctx;
    if (grant_) ctx.quirks = grant_->options.quirks;
    auto clear = ike::encode_with_leading_hash(m, crypto::hash_length(sa_.hash()), hash, ctx);
    clear = ike::encrypt_encoded(clear, *sa_.cipher);
    return clear;
}

std::vector<Datagram> PullResponder::on_datagram(std::span<const uint8_t> datagram,
                                                 ike::TimePoint now) {
    last_activity_ = now;
    if (!last_request_.empty() &&
        std::equal(datagram.begin(), datagram.end(), last_request_.begin(), last_request_.end())) {
        log(LogLevel::debug, "retransmitted request, answering again");
        return {last_answer_};
    }
    if (state_ == State::completed || state_ == State::refused) return {};
    try {
        auto header = decode_header(datagram);
        if (header.exchange_type != exchange::groupkey_pull || header.message_id != message_id_ ||
            !(header.flags & flags::encryption))
            return {};
        auto opened = ike::open(datagram, *sa_.cipher);
        if (!opened) return {};
        auto chain = walk_payload_chain(opened->plaintext);
        if (chain.payloads.empty() || chain.payloads[0].type != payload::hash) {
            log(LogLevel::warning, "message without a leading HASH dropped");
            return {};
        }
        auto received =
            payload_bytes(opened->plaintext, chain.payloads[0]).subspan(kGenericPayloadHeaderSize);
        auto rest = ike::after_first_payload(opened->plaintext);
        auto mid = mid_bytes(message_id_);
        std::vector<uint8_t> expected;
        if (state_ == State::waiting_1)
            expected = crypto::hmac_public(sa_.hash(), sa_.skeyid_a.reveal(), {mid, rest});
        else
            expected = crypto::hmac_public(sa_.hash(), sa_.skeyid_a.reveal(),
                                           {mid, nonce_i_, nonce_r_, rest});
        if (!crypto::equal_constant_time(expected, received)) {
            log(LogLevel::warning, std::string("HASH(") + (state_ == State::waiting_1 ? "1" : "3") +
                                       ") does not verify; dropped (INVALID-HASH-INFORMATION)");
            return {};
        }
        sa_.cipher->commit(message_id_, opened->next_iv);
        auto answer =
            state_ == State::waiting_1 ? handle_1(opened->plaintext) : handle_3(opened->plaintext);
        if (!answer.empty()) {
            last_request_.assign(datagram.begin(), datagram.end());
            last_answer_ = answer.back();
        }
        return answer;
    } catch (const DecodeError& e) {
        log(LogLevel::warning, std::string("dropped a malformed message: ") + e.what());
        return {};
    }
}

std::vector<Datagram> PullResponder::handle_1(std::span<const uint8_t> plaintext) {
    Message m = decode_message(plaintext, DecodeContext{{}, TrailingData::padding});
    auto* nonce = m.find<NoncePayload>();
    auto* id = m.find<IdPayload>();
    if (!nonce || !id) {
        log(LogLevel::warning, "message 1 without nonce or ID dropped");
        return {};
    }
    nonce_i_ = nonce->data;
    std::vector<uint32_t> candidates;
    if (auto network = id->group_id(GroupIdByteOrder::network)) candidates.push_back(*network);
    if (auto little = id->group_id(GroupIdByteOrder::little_endian);
        little && (candidates.empty() || *little != candidates[0]))
        candidates.push_back(*little);
    PullDecision decision =
        candidates.empty()
            ? PullDecision{PullRefusal{NotifyType::invalid_id_information,
                                       "the ID is not a 4-octet KEY_ID group number"}}
            : authorizer_(sa_.peer, candidates);
    if (auto* refusal = std::get_if<PullRefusal>(&decision)) {
        state_ = State::refused;
        log(LogLevel::warning, "refused: " + refusal->reason + " (answering " +
                                   notify_type_name(refusal->notify) + ")");
        return {ike::protected_notify(sa_, refusal->notify)};
    }
    grant_ = std::get<PullGrant>(std::move(decision));
    group_id_ = grant_->policy.group_id;
    nonce_r_ = crypto::random_bytes(16);
    auto gdoi_sa = write_group_sa(grant_->policy, grant_->options);
    auto mid = mid_bytes(message_id_);
    state_ = State::sent_2;
    log(LogLevel::info, "member asks for group " + std::to_string(*group_id_) +
                            ", sending the policy (" + std::to_string(grant_->policy.teks.size()) +
                            " TEKs)");
    return {
        seal_with_hash({HashPayload{}, NoncePayload{nonce_r_}, std::move(gdoi_sa)}, [&](auto rest) {
            // HASH(2) = prf(SKEYID_a, M-ID | Ni_b | Nr | SA)
            return crypto::hmac_public(sa_.hash(), sa_.skeyid_a.reveal(), {mid, nonce_i_, rest});
        })};
}

std::vector<Datagram> PullResponder::handle_3(std::span<const uint8_t>) {
    auto mid = mid_bytes(message_id_);
    std::vector<Payload> payloads{HashPayload{}, SeqPayload{grant_->sequence},
                                  write_key_download(grant_->policy, grant_->options)};
    auto answer = seal_with_hash(std::move(payloads), [&](auto rest) {
        // HASH(4) = prf(SKEYID_a, M-ID | Ni_b | Nr_b | SEQ | KD)
        return crypto::hmac_public(sa_.hash(), sa_.skeyid_a.reveal(),
                                   {mid, nonce_i_, nonce_r_, rest});
    });
    state_ = State::completed;
    log(LogLevel::info, "member registered in group " + std::to_string(*group_id_));
    return {answer};
}

} // namespace gdoi::pull
