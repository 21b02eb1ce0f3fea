// When a push under a KEK SPI we do not know makes us register again: a key server that
// restarted (or lost its state) rekeys under a new KEK we were never given. Pure: the caller
// passes the sender, the group's state and the time.
#pragma once

#include "daemon/config.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>

namespace gdoid::daemon {

class UnknownKekReregistration {
public:
    using Clock = std::chrono::steady_clock;

    enum class Decision {
        not_a_server,      // from an address that is none of the group's key servers: drop
        registration_busy, // a registration is under way already: it will bring the new KEK
        held_off,          // one re-registration for this reason within `interval`: drop
        reregister,        // register again now (the SAs we hold stay until they expire)
    };

    explicit UnknownKekReregistration(std::chrono::seconds interval = std::chrono::minutes(1))
        : interval_(interval) {}

    // A GROUPKEY-PUSH from `from` was refused only because its KEK SPI is not ours. The push
    // is never acted on (it cannot be authenticated); at most its sender's address is used.
    Decision on_unknown_kek(const ServerAddress& from, std::span<const ServerAddress> servers,
                            bool registration_under_way, Clock::time_point now);
    // Refused pushes held off since the last re-registration (for the log line).
    uint64_t held_off() const { return held_off_; }

private:
    std::chrono::seconds interval_;
    std::optional<Clock::time_point> last_;
    uint64_t held_off_ = 0;
};

} // namespace gdoid::daemon
