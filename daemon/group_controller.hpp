// One group's life in the event loop: registers with its key servers (RegistrationDriver),
// accepts GROUPKEY-PUSH rekeys (unicast on the shared GDOI socket, multicast on a socket of its
// own that joins the KEK's destination group), acknowledges them when the KEK asks and push-ack
// is on (RFC 8263), pulls again inside the pull window when no push came, and hands every policy
// to the group's GroupDataplane. Every step is reflected in the Group model (`gdoictl status`)
// and the log.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <span>

#include <systemd/sd-event.h>

#include "daemon/gdoi_socket.hpp"
#include "daemon/group.hpp"
#include "daemon/group_dataplane.hpp"
#include "daemon/oneshot_timer.hpp"
#include "daemon/push_ack_requests.hpp"
#include "daemon/rate_limiter.hpp"
#include "daemon/registration_driver.hpp"
#include "daemon/unknown_kek_reregistration.hpp"
#include "gdoi/group_policy.hpp"
#include "gdoi/push/push_apply.hpp"
#include "gdoi/push/push_receiver.hpp"

namespace gdoid::daemon {

class GroupController {
public:
    GroupController(sd_event* event, Group& group, GdoiSocket& socket, GroupDataplane& dataplane);
    ~GroupController();
    GroupController(const GroupController&) = delete;
    GroupController& operator=(const GroupController&) = delete;

    void start();
    // A datagram on the group's unicast socket: a registration reply or a unicast push.
    void on_datagram(const ServerAddress& from, std::span<const uint8_t> bytes);
    // Registers again from the preferred server now (gdoictl re-register / rekey). With
    // `reuse_phase1` (only the pull for expiring keys asks for it) the first attempt runs the
    // GROUPKEY-PULL under the live Phase 1 SA with that server instead of a new Main Mode.
    void reregister(const std::string& why, bool reuse_phase1 = false);
    // The WAN interface went down: the group's SAs are cleared and registration stops; when it
    // comes back up the group registers from scratch (Juniper Group VPNv2 behaviour).
    void interface_down();
    void interface_up();

    Group& group() { return group_; }
    const std::optional<gdoi::GroupPolicy>& policy() const { return policy_; }

private:
    void pump();
    void handle(RegistrationProgress& progress);
    void arm_registration_timer();
    void on_push(const ServerAddress& from, std::span<const uint8_t> bytes);
    void ignore_datagram(const ServerAddress& from, size_t size, const std::string& why, LogLevel level);
    void on_unknown_kek(const ServerAddress& from);
    void apply_removals();
    // Superseded or deleted TEKs leave the policy for good (servers keep listing them).
    void drop_retired_teks();
    void retire(uint32_t spi);
    void schedule_pull();
    void sync_multicast_socket();
    void send_due_acks();

    sd_event* event_;
    Group& group_;
    GdoiSocket& socket_;
    GroupDataplane& dataplane_;
    RegistrationDriver driver_;
    OneshotTimer registration_timer_;
    OneshotTimer pull_timer_;    // pull again when no push renewed the keys in time
    OneshotTimer removal_timer_; // TEK removals a push scheduled (deletes honouring the DTD)
    OneshotTimer ack_timer_;     // acks wait a random jitter (see on_push)
    struct PendingAck {
        std::chrono::steady_clock::time_point due;
        ServerAddress to;
        std::vector<uint8_t> datagram;
    };
    std::vector<PendingAck> pending_acks_;
    std::optional<gdoi::GroupPolicy> policy_;
    std::chrono::steady_clock::time_point kek_received_{}; // when policy_->kek's lifetime was given
    gdoi::push::PushReceiver push_receiver_;
    PushAckRequests ack_requests_; // acks to send, unanswered requests counted and logged
    std::vector<gdoi::push::TekRemoval> pending_removals_;
    std::unique_ptr<GdoiSocket> multicast_;
    std::optional<gdoi::IpAddress> multicast_group_;
    bool ejected_ = false; // a push removed us; a refused re-registration confirms it
    std::set<uint32_t> retired_spis_;
    std::vector<gdoi::TekPolicy> retired_teks_; // their policies, for telling old from new
    std::set<size_t> contacted_servers_; // INITIAL-CONTACT only on first contact (RFC 2407 4.6.3.3)
    RateLimiter rejected_push_log_;
    UnknownKekReregistration unknown_kek_; // a server that restarted with a new KEK
    std::mt19937_64 random_;
};

} // namespace gdoid::daemon
