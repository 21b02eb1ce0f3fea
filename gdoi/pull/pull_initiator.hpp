// GROUPKEY-PULL, member side (RFC 6407 section 3), I/O free, under an established Phase 1 SA:
//   GM -> KS  HDR*, HASH(1), Ni, ID
//   KS -> GM  HDR*, HASH(2), Nr, SA
//   GM -> KS  HDR*, HASH(3)
//   KS -> GM  HDR*, HASH(4), [SEQ,] KD
// Ends with a validated GroupPolicy or one operator-readable failure sentence. The Phase 1 SA
// is not rekeyed: a PULL is neither started nor continued past its lifetime (Phase1Sa::expired).
#pragma once

#include "gdoi/group_policy.hpp"
#include "gdoi/ike/exchange_clock.hpp"
#include "gdoi/ike/phase1_sa.hpp"
#include "gdoi/server_quirks.hpp"

#include <optional>
#include <span>
#include <string>
#include <vector>

namespace gdoi::pull {

struct PullInitiatorConfig {
    uint32_t group_id = 0;
    ServerQuirks quirks;
    // The most SA TEK payloads one policy may carry (`max-teks`): each TEK becomes kernel states
    // and policies, so a key server (or whoever holds its keys) must not be able to make the
    // member program an unbounded number of them. Above it the registration fails, naming both.
    size_t max_teks = kDefaultMaxTeks;
    ike::RetransmitPolicy retransmit;
    ike::LogSink log;
};

class PullInitiator {
public:
    // `sa` must stay alive (and established) for the life of this object.
    PullInitiator(PullInitiatorConfig config, ike::Phase1Sa& sa);

    void start(ike::TimePoint now);
    // Datagrams of this exchange (M-ID) and informational exchanges of the Phase 1 SA.
    void on_datagram(std::span<const uint8_t> datagram, ike::TimePoint now);
    void on_timer(ike::TimePoint now);
    std::optional<ike::TimePoint> next_timer() const;
    std::vector<ike::Datagram> take_datagrams();

    bool done() const { return state_ == State::done; }
    bool failed() const { return state_ == State::failed; }
    const std::string& failure_reason() const { return failure_; }
    std::optional<GroupPolicy> take_policy();
    uint32_t message_id() const { return message_id_; }

private:
    enum class State { idle, sent_1, sent_3, done, failed };

    void handle_2(std::span<const uint8_t> plaintext, std::vector<uint8_t> next_iv,
                  ike::TimePoint now);
    void handle_4(std::span<const uint8_t> plaintext, std::vector<uint8_t> next_iv,
                  ike::TimePoint now);
    bool check_hash(std::span<const uint8_t> plaintext, std::span<const uint8_t> prefix,
                    const char* which);
    void send(ike::Datagram message, ike::TimePoint now);
    void fail(const std::string& reason);
    // Fails the exchange when the Phase 1 SA's lifetime is over (true then).
    bool sa_expired(ike::TimePoint now);
    void log(ike::LogLevel level, const std::string& text) const;
    void log_warnings(const std::vector<std::string>& warnings) const;

    PullInitiatorConfig config_;
    ike::Phase1Sa& sa_;
    State state_ = State::idle;
    std::string failure_;
    ike::Retransmitter retransmit_;
    std::vector<ike::Datagram> out_;
    ike::Datagram last_received_;
    uint32_t message_id_ = 0;
    std::vector<uint8_t> nonce_i_, nonce_r_;
    GroupPolicy policy_;
    std::vector<std::string> rejected_;
};

} // namespace gdoi::pull
