#include "daemon/notify.hpp"

#include <ctime>
#include <string>

#include <systemd/sd-daemon.h>

#include "daemon/log.hpp"

namespace gdoid::daemon {

namespace {

void send(const std::string& state) {
    // unset_environment = 0: children we might start later are not ours to notify for anyway,
    // and the socket must stay known for the watchdog and later state changes.
    sd_notify(0, state.c_str());
}

// STATUS= is one line; anything after a newline would be taken for another assignment.
std::string one_line(std::string_view text) {
    std::string line(text);
    for (auto& c : line)
        if (c == '\n' || c == '\r') c = ' ';
    return line;
}

uint64_t monotonic_usec() {
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    return uint64_t(now.tv_sec) * 1000000 + uint64_t(now.tv_nsec) / 1000;
}

} // namespace

void notify_ready(std::string_view status) { send("READY=1\nSTATUS=" + one_line(status)); }
void notify_status(std::string_view status) { send("STATUS=" + one_line(status)); }
void notify_stopping(std::string_view status) { send("STOPPING=1\nSTATUS=" + one_line(status)); }

void notify_reloading(std::string_view status) {
    send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(monotonic_usec()) + "\nSTATUS=" + one_line(status));
}

std::unique_ptr<Watchdog> Watchdog::start(sd_event* event) {
    uint64_t timeout = 0;
    if (sd_watchdog_enabled(0, &timeout) <= 0 || timeout == 0) return nullptr;
    auto watchdog = std::make_unique<Watchdog>();
    watchdog->interval_usec_ = timeout / 2;
    sd_event_source* source = nullptr;
    // Accuracy 1 ms: sd-event's default slack (250 ms) would eat into short watchdog intervals.
    if (sd_event_add_time_relative(event, &source, CLOCK_MONOTONIC, watchdog->interval_usec_, 1000, on_timer,
                                   watchdog.get()) < 0) {
        log_error("cannot arm the watchdog timer; systemd will consider gdoid hung");
        return nullptr;
    }
    watchdog->timer_.reset(source);
    sd_event_source_set_enabled(source, SD_EVENT_ON);
    sd_notify(0, "WATCHDOG=1");
    log_debug("watchdog: pinging every " + std::to_string(watchdog->interval_usec_ / 1000) + " ms");
    return watchdog;
}

int Watchdog::on_timer(sd_event_source* source, uint64_t usec, void* userdata) {
    const auto* watchdog = static_cast<Watchdog*>(userdata);
    sd_notify(0, "WATCHDOG=1");
    sd_event_source_set_time(source, usec + watchdog->interval_usec_);
    return 0;
}

} // namespace gdoid::daemon
