// GROUPKEY-PULL, key server side (the test key server), I/O free: one object per exchange
// (Phase 1 SA + message ID). Decides with a callback whether the member gets the group, and
// answers retransmitted requests with the answer already given.
#pragma once

#include "gdoi/group_policy.hpp"
#include "gdoi/ike/exchange_clock.hpp"
#include "gdoi/ike/phase1_sa.hpp"
#include "gdoi/pull/group_policy_codec.hpp"
#include "gdoi/wire/constants.hpp"

#include <functional>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

namespace gdoi::pull {

struct PullGrant {
    GroupPolicy policy; // with keys
    PolicyEncodeOptions options;
    uint32_t sequence = 0; // SEQ in message 4: the last push number sent
};
struct PullRefusal {
    wire::NotifyType notify = wire::NotifyType::invalid_id_information;
    std::string reason;
};
using PullDecision = std::variant<PullGrant, PullRefusal>;
// Called with the member's address and the group number it asked for (read in both byte
// orders: `group_ids` holds one or two candidates).
using PullAuthorizer =
    std::function<PullDecision(const IpAddress& member, const std::vector<uint32_t>& group_ids)>;

class PullResponder {
public:
    PullResponder(ike::Phase1Sa& sa, uint32_t message_id, PullAuthorizer authorizer,
                  ike::LogSink log);

    std::vector<ike::Datagram> on_datagram(std::span<const uint8_t> datagram, ike::TimePoint now);

    bool completed() const { return state_ == State::completed; }
    bool refused() const { return state_ == State::refused; }
    std::optional<uint32_t> group_id() const { return group_id_; }
    ike::TimePoint last_activity() const { return last_activity_; }

private:
    enum class State { waiting_1, sent_2, completed, refused };

    std::vector<ike::Datagram> handle_1(std::span<const uint8_t> plaintext);
    std::vector<ike::Datagram> handle_3(std::span<const uint8_t> plaintext);
    ike::Datagram
    seal_with_hash(std::vector<wire::Payload> payloads,
                   const std::function<std::vector<uint8_t>(std::span<const uint8_t>)>& hash);
    void log(ike::LogLevel level, const std::string& text) const;

    ike::Phase1Sa& sa_;
    uint32_t message_id_;
    PullAuthorizer authorizer_;
    ike::LogSink log_;
    State state_ = State::waiting_1;
    ike::TimePoint last_activity_{};
    ike::Datagram last_request_, last_answer_;
    std::vector<uint8_t> nonce_i_, nonce_r_;
    std::optional<uint32_t> group_id_;
    std::optional<PullGrant> grant_;
};

} // namespace gdoi::pull
