// One group's life in the event loop: registers with its key servers (RegistrationDriver),
// keeps what the server gave us, and reflects every step in the Group model that
// `gdoictl status` shows and in the log. Owns the group's timer; the socket is shared.
#pragma once

#include <chrono>
#include <optional>
#include <span>

#include <systemd/sd-event.h>

#include "daemon/gdoi_socket.hpp"
#include "daemon/group_dataplane.hpp"
#include "daemon/group.hpp"
#include "daemon/registration_driver.hpp"
#include "daemon/sd_event_ptr.hpp"
#include "gdoi/group_policy.hpp"

namespace gdoid::daemon {

class GroupController {
public:
    GroupController(sd_event* event, Group& group, GdoiSocket& socket, GroupDataplane& dataplane);
    ~GroupController();
    GroupController(const GroupController&) = delete;
    GroupController& operator=(const GroupController&) = delete;

    void start();
    void on_datagram(const ServerAddress& from, std::span<const uint8_t> bytes);

    Group& group() { return group_; }
    const std::optional<gdoi::GroupPolicy>& policy() const { return policy_; }

private:
    void pump();
    void handle(RegistrationProgress& progress);
    void arm_timer();
    static int on_timer(sd_event_source* source, uint64_t usec, void* userdata);

    sd_event* event_;
    Group& group_;
    GdoiSocket& socket_;
    GroupDataplane& dataplane_;
    RegistrationDriver driver_;
    SdEventSourcePtr timer_;
    std::optional<gdoi::GroupPolicy> policy_;
};

// What the control socket shows of a policy (never keys): cipher names, selectors, expiry.
KekSummary summarize_kek(const gdoi::KekPolicy& kek, std::chrono::system_clock::time_point received);
TekSummary summarize_tek(const gdoi::TekPolicy& tek, std::chrono::system_clock::time_point received);

} // namespace gdoid::daemon
