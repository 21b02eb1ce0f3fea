#include "daemon/oneshot_timer.hpp"

#include "daemon/log.hpp"

#include <algorithm>

namespace gdoid::daemon {

bool OneshotTimer::arm_at(std::chrono::steady_clock::time_point when) {
    const auto since_boot = std::chrono::duration_cast<std::chrono::microseconds>(when.time_since_epoch());
    const uint64_t usec = uint64_t(std::max<int64_t>(since_boot.count(), 1));
    if (!source_) {
        sd_event_source* source = nullptr;
        if (sd_event_add_time(event_, &source, CLOCK_MONOTONIC, usec, 10000, on_timer, this) < 0) {
            log_error("cannot arm the " + purpose_ + " timer");
            return false;
        }
        source_.reset(source);
    } else {
        sd_event_source_set_time(source_.get(), usec);
    }
    sd_event_source_set_enabled(source_.get(), SD_EVENT_ONESHOT);
    return true;
}

void OneshotTimer::disarm() {
    if (source_) sd_event_source_set_enabled(source_.get(), SD_EVENT_OFF);
}

int OneshotTimer::on_timer(sd_event_source*, uint64_t, void* userdata) {
    static_cast<OneshotTimer*>(userdata)->callback_();
    return 0;
}

} // namespace gdoid::daemon
