// The systemd service protocol: READY/RELOADING/STOPPING/STATUS notifications and the watchdog,
// pinged from an event-loop timer so that a wedged loop really stops the pings.
// Without $NOTIFY_SOCKET (not started by systemd) every call does nothing.
#pragma once

#include <memory>
#include <string_view>

#include "daemon/sd_event_ptr.hpp"

namespace gdoid::daemon {

void notify_ready(std::string_view status);
void notify_status(std::string_view status);
// RELOADING=1 with MONOTONIC_USEC=, as Type=notify-reload (systemd 253+) requires; older
// managers ignore the extra field.
void notify_reloading(std::string_view status);
void notify_stopping(std::string_view status);

class Watchdog {
public:
    // nullptr when the service manager did not ask for a watchdog (WatchdogSec= unset).
    static std::unique_ptr<Watchdog> start(sd_event* event);
    uint64_t interval_usec() const { return interval_usec_; }

private:
    static int on_timer(sd_event_source* source, uint64_t usec, void* userdata);
    uint64_t interval_usec_ = 0;
    SdEventSourcePtr timer_;
};

} // namespace gdoid::daemon
