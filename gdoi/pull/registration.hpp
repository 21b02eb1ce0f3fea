// A group member's registration with one key server: Main Mode, then GROUPKEY-PULL (or only the
// PULL, under a live Phase 1 SA from an earlier registration), as one I/O-free state machine for
// the daemon's event loop:
//   reg.start(now); send(reg.take_datagrams());
//   on readable: reg.on_datagram(bytes, now);   on timer: reg.on_timer(now);
//   arm the timer at reg.next_timer(); drain reg.take_datagrams() and reg.take_events().
#pragma once

#include "gdoi/group_policy.hpp"
#include "gdoi/ike/main_mode_initiator.hpp"
#include "gdoi/pull/pull_initiator.hpp"

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace gdoi::pull {

struct RegistrationConfig {
    // Addresses, PSK, proposals, quirks, log. phase1.initial_contact: true (the default) on the
    // first registration with this server since start, false on later ones (RFC 2407 section
    // 4.6.3.3: INITIAL-CONTACT only when we hold no other SA with the peer).
    ike::MainModeInitiatorConfig phase1;
    uint32_t group_id = 0;
    size_t max_teks = kDefaultMaxTeks; // PullInitiatorConfig::max_teks
    ike::RetransmitPolicy pull_retransmit;
    // The Phase 1 SA of an earlier registration with this server. When it is with this server
    // and lives past this attempt's retransmission budget, start() skips Main Mode and runs the
    // GROUPKEY-PULL under it (new message ID, RFC 2409 appendix B IV); otherwise Main Mode runs.
    std::optional<ike::Phase1Sa> reuse_phase1;
};

struct RegistrationEvent {
    enum class Kind { registered, failed };
    Kind kind = Kind::failed;
    std::optional<GroupPolicy> policy; // registered
    std::string reason;                // failed: one sentence for the operator
};

class Registration {
public:
    explicit Registration(RegistrationConfig config);
    Registration(const Registration&) = delete; // the PULL holds a reference to our Phase 1 SA
    Registration& operator=(const Registration&) = delete;

    void start(ike::TimePoint now);
    void on_datagram(std::span<const uint8_t> datagram, ike::TimePoint now);
    void on_timer(ike::TimePoint now);
    std::optional<ike::TimePoint> next_timer() const;
    std::vector<ike::Datagram> take_datagrams();
    std::vector<RegistrationEvent> take_events();

    bool finished() const { return finished_; }
    // True from start() on when the PULL runs under the reused SA instead of after Main Mode.
    bool reused_phase1() const { return reused_phase1_; }
    // The Phase 1 SA once Main Mode finished (kept for later PULLs / protected notifications).
    ike::Phase1Sa* phase1_sa() { return sa_ ? &*sa_ : nullptr; }
    // After a successful registration: the Phase 1 SA, for the next PULL with this server
    // (RegistrationConfig::reuse_phase1). Moved out: call once; nullopt before success.
    std::optional<ike::Phase1Sa> take_phase1_sa();

private:
    // Whether config_.reuse_phase1 may carry this attempt's PULL from `now` to its end.
    bool reusable(const ike::Phase1Sa& sa, ike::TimePoint now) const;
    void start_pull(ike::TimePoint now);
    void log_debug(const std::string& text) const;
    void advance(ike::TimePoint now);
    void finish_failed(const std::string& reason);

    RegistrationConfig config_;
    ike::MainModeInitiator main_mode_;
    std::optional<ike::Phase1Sa> sa_;
    std::unique_ptr<PullInitiator> pull_;
    std::vector<ike::Datagram> out_;
    std::vector<RegistrationEvent> events_;
    bool finished_ = false;
    bool registered_ = false;
    bool reused_phase1_ = false;
};

} // namespace gdoi::pull
