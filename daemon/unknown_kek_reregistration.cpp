#include "daemon/unknown_kek_reregistration.hpp"

#include <algorithm>

namespace gdoid::daemon {

UnknownKekReregistration::Decision
UnknownKekReregistration::on_unknown_kek(const ServerAddress& from,
                                         std::span<const ServerAddress> servers,
                                         bool registration_under_way, Clock::time_point now) {
    // Pushes come from the key server's port 848 or from its KEK source port; the address is
    // what names one of our servers. Anyone else's datagram is noise, whatever its cookies.
    const bool configured =
        std::any_of(servers.begin(), servers.end(),
                    [&](const ServerAddress& s) { return s.address == from.address; });
    if (!configured) return Decision::not_a_server;
    if (registration_under_way) return Decision::registration_busy;
    // The address of a UDP datagram is easy to forge: at most one re-registration per interval,
    // so a flood costs the key server one Main Mode a minute and us nothing we hold.
    if (last_ && now - *last_ < interval_) {
        ++held_off_;
        return Decision::held_off;
    }
    last_ = now;
    held_off_ = 0;
    return Decision::reregister;
}

} // namespace gdoid::daemon
