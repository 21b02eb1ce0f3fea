// The daemon's view of one configured group: its configuration and where it stands. A plain
// model: registration, rekey and kernel wiring update it; the control socket reports it.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/config.hpp"
#include "policy/esp_overhead.hpp"

namespace gdoid::daemon {

enum class GroupState : uint8_t {
    idle,                  // configured, not (yet) registered
    registering,           // Phase 1 / GROUPKEY-PULL in progress
    registered,            // keys installed, traffic protected
    rekeying,              // a pull for new keys is in progress while the current ones stay in use
    failed,                // every server tried, no usable key left; waiting for the next round
    servers_unreachable,   // every server tried, but unexpired keys still protect the traffic
    removed_by_key_server, // the key server deleted our keys / ejected us
    interface_down,        // the WAN interface is down: nothing to do until it comes back
};

std::string_view to_string(GroupState state);

// What the control socket shows of the Phase 1 SA of the last registration.
struct Phase1Summary {
    std::string proposal;           // Phase1Proposal::describe()
    std::string server_certificate; // subject; empty with a pre-shared key
};

// What the control socket shows of the KEK (never the key).
struct KekSummary {
    std::string spi;          // the rekey SA's cookie pair, hex
    std::string cipher;       // "aes-256-cbc"
    std::string signature;    // how its pushes are signed: "ECDSA-256/SHA256"
    // Monotonic: a wall clock step (NTP, an operator's `date`) moves neither key expiry nor the
    // time the status shows as left (status_report converts at the moment it reports).
    std::chrono::steady_clock::time_point expires;
};

// What the control socket shows of one TEK (never the key).
struct TekSummary {
    uint32_t spi = 0;
    std::string cipher;       // "aes-256-cbc/hmac-sha256"
    std::string source;       // traffic selector, "10.1.0.0/16"
    std::string destination;
    std::chrono::steady_clock::time_point expires; // monotonic, as KekSummary::expires
    // What its ESP tunnel adds to each packet (policy/esp_overhead.hpp); nullopt for a TEK
    // gdoid cannot install.
    std::optional<policy::EspOverhead> esp_overhead;
};

struct GroupCounters {
    uint64_t registrations = 0;     // successful GROUPKEY-PULL exchanges
    uint64_t registration_failures = 0;
    uint64_t pushes_accepted = 0;   // GROUPKEY-PUSH messages applied
    uint64_t pushes_rejected = 0;   // bad signature, replayed sequence, malformed...
    uint64_t acks_sent = 0;         // RFC 8263 acknowledgements
    uint64_t ack_requests_ignored = 0; // pushes whose ack request went unanswered (push-ack off...)
    // Refused pushes by the first check that failed ("bad_signature", "replayed_seq" ...).
    std::map<std::string, uint64_t> pushes_rejected_by_reason;
    // Datagrams that are neither a push nor part of a registration under way: from an address
    // that is not a configured key server, or with no exchange open (stale or forged replies).
    uint64_t datagrams_ignored = 0;
};

// How the current keys arrived: "pull" (registration) or "push" (a rekey from the server).
struct GroupRekeyRecord {
    std::string kind;
    std::chrono::system_clock::time_point when;
};

// What the group's kernel objects look like now (GroupDataplane keeps it current).
struct GroupKernelSummary {
    enum class State : uint8_t { waiting, installed, error, unavailable } state = State::waiting;
    size_t states = 0;
    size_t policies = 0;
    size_t per_destination_flows = 0; // flows with their own outbound state (policy::AcquiredFlow)
    bool fail_closed = false;
    bool fail_open = false;
    std::vector<std::string> problems;
    std::vector<std::string> notes; // installed, with what cannot work said (policy::DesiredObjects)
    std::optional<std::string> error;
    std::optional<std::string> warning; // working, but not as configured (destination-only fallback)
    // Times gdoid put back states or policies someone else removed (ip xfrm state flush ...).
    uint64_t repairs = 0;
    // Objects an earlier gdoid left are carrying the traffic until the group registers again.
    bool adopted = false;
};

struct GroupError {
    std::string message;
    std::chrono::system_clock::time_point when;
};

class Group {
public:
    explicit Group(GroupConfig config) : config_(std::move(config)) {}

    const GroupConfig& config() const { return config_; }
    const std::string& name() const { return config_.name; }
    GroupState state() const { return state_; }

    void set_state(GroupState state) { state_ = state; }
    // Index into config().servers of the server we talk to; nullopt when none.
    std::optional<size_t> server_in_use() const { return server_in_use_; }
    void set_server_in_use(std::optional<size_t> index) { server_in_use_ = index; }

    const std::optional<GroupError>& last_error() const { return last_error_; }
    void record_error(std::string message,
                      std::chrono::system_clock::time_point when = std::chrono::system_clock::now()) {
        last_error_ = GroupError{std::move(message), when};
    }

    std::optional<KekSummary> kek;
    std::optional<Phase1Summary> phase1;
    std::vector<TekSummary> teks;
    // The key server's ACL deny entries (installed as bypass policies), in ACL order:
    // "udp 10.1.0.0/16 -> 10.2.0.0/16 port 161" as protocol, source, destination.
    std::vector<std::array<std::string, 3>> deny_entries;
    std::optional<uint32_t> sequence; // the last accepted GROUPKEY-PUSH sequence number
    std::optional<GroupRekeyRecord> last_rekey;
    // When the member pulls new keys by itself unless a push renews them first.
    std::optional<std::chrono::steady_clock::time_point> next_pull; // monotonic
    GroupCounters counters;
    GroupKernelSummary kernel;

private:
    GroupConfig config_;
    GroupState state_ = GroupState::idle;
    std::optional<size_t> server_in_use_;
    std::optional<GroupError> last_error_;
};

} // namespace gdoid::daemon
