// Registration of one group across its key servers: which server to ask, how often to retry,
// when to move on. Wraps gdoi::pull::Registration (one Main Mode + GROUPKEY-PULL attempt) with
// the schedule operators of Juniper members know: the preferred server first, the configured
// number of retries at the configured interval (default 3 x 10 s), then the next server, and
// round again from the preferred one when every server failed. Keeps the Phase 1 SA of the last
// registration with each server, so a pull for expiring keys can run under it without a new
// Main Mode. I/O free: datagrams and clock in, datagrams and events out; the group controller
// owns the socket and the timer.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "daemon/config.hpp"
#include "gdoi/group_policy.hpp"
#include "gdoi/ike/exchange_clock.hpp"
#include "gdoi/pull/registration.hpp"

namespace gdoid::daemon {

using gdoi::ike::TimePoint;

struct OutgoingDatagram {
    ServerAddress to;
    std::vector<uint8_t> bytes;
};

struct RegistrationProgress {
    enum class Kind {
        attempt_started,    // a new Main Mode toward `server`, or a PULL under its live Phase 1 SA
        attempt_failed,     // that attempt ended; `reason` says why, `next_attempt_at` when we go on
        registered,         // `policy` holds what the server gave us
        all_servers_failed, // every server failed this round; a new round starts at `next_attempt_at`
    };
    Kind kind = Kind::attempt_started;
    size_t server_index = 0;
    uint32_t attempt = 0; // 1 = first try of this server in this round
    std::string reason;
    std::optional<TimePoint> next_attempt_at;
    std::optional<gdoi::GroupPolicy> policy;
    // attempt_started: no Main Mode, the GROUPKEY-PULL runs under the Phase 1 SA of the last
    // registration with this server, which ends at `phase1_expires`.
    bool reused_phase1 = false;
    std::optional<TimePoint> phase1_expires;
    // registered: the Phase 1 SA the registration ran under ("AES-256-CBC/SHA384/ECP-384 (group
    // 20), 28800 s, RSA signatures") and the server certificate's subject (empty with a PSK).
    std::string phase1;
    std::string server_certificate;
};

class RegistrationDriver {
public:
    // Builds the configuration of one attempt toward one server (tests inject their own).
    using AttemptFactory = std::function<gdoi::pull::RegistrationConfig(const ServerAddress& server)>;

    RegistrationDriver(const GroupConfig& config, AttemptFactory factory);
    // The attempt configuration gdoid uses: the group's proposal, PSK, quirks, and a
    // retransmission budget of one retry interval so an attempt never outlives its slot.
    static gdoi::pull::RegistrationConfig attempt_config(const GroupConfig& config, const ServerAddress& server,
                                                         gdoi::ike::LogSink log);

    // Starts a registration round at the preferred server (server 0). With `reuse_phase1`, the
    // round's first attempt runs only the GROUPKEY-PULL when we hold a Phase 1 SA with that server
    // that outlives the attempt; every other attempt (retries included) negotiates a new one.
    void start(TimePoint now, bool reuse_phase1 = false);
    // Stops registering and forgets every Phase 1 SA: the next round starts with Main Mode.
    void stop();
    bool active() const { return active_; }

    // A datagram from `from`; ignored unless it comes from the server of the current attempt.
    // False when the datagram was not taken: not from the server of the attempt under way, or
    // no attempt under way.
    bool on_datagram(const ServerAddress& from, std::span<const uint8_t> bytes, TimePoint now);
    void on_timer(TimePoint now);
    std::optional<TimePoint> next_timer() const;

    std::vector<OutgoingDatagram> take_datagrams();
    std::vector<RegistrationProgress> take_events();

private:
    void begin_attempt(TimePoint now);
    void collect(TimePoint now);
    // `counted`: the attempt was one of the server's configured tries (a failed PULL under a
    // reused Phase 1 SA is not: Main Mode with the same server follows at once).
    void attempt_failed(std::string reason, TimePoint now, bool counted = true);
    RegistrationProgress progress(RegistrationProgress::Kind kind) const;

    const GroupConfig& config_;
    AttemptFactory factory_;
    bool active_ = false;
    size_t server_index_ = 0;
    uint32_t attempt_number_ = 0; // within the current server, 1-based
    TimePoint attempt_started_{};
    std::optional<TimePoint> wait_until_; // between attempts
    std::unique_ptr<gdoi::pull::Registration> attempt_;
    bool attempt_done_ = false;
    bool reuse_on_next_attempt_ = false; // the first attempt of a round started with reuse
    // The Phase 1 SA of the last successful registration with each server (by index), until it
    // expires, a PULL under it fails, or stop().
    std::map<size_t, gdoi::ike::Phase1Sa> live_phase1_;
    std::vector<OutgoingDatagram> out_;
    std::vector<RegistrationProgress> events_;
};

} // namespace gdoid::daemon
