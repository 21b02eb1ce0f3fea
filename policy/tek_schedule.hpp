// The life of each TEK of a group as explicit times: when its inbound state is installed, when
// outbound traffic switches to it, when that stops and when its inbound state goes. Computed
// from the times policies were received, the TEK lifetimes, the key server's ATD/DTD and the
// local activation lead. Pure: the caller passes every time in.
#pragma once

#include "gdoi/group_policy.hpp"

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <set>
#include <vector>

namespace policy {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
inline constexpr TimePoint never = TimePoint::max();

// One ACL entry of the key server: the selector TEKs are rekeyed under. Old and new TEK of a
// rekey share it, and with it the reqid (the fwd/in templates accept either while both live).
struct TekSlot {
    gdoi::TrafficSelector selector;
    uint32_t reqid_slot = 0;   // 1..band::max_reqid_slots, stable for the slot's life
    uint32_t acl_position = 0; // 0 = first; the order of the latest policy
};

struct TekSchedule {
    uint32_t spi = 0;
    size_t slot = 0; // index into GroupTimeline::slots()
    TimePoint received_at;
    TimePoint install_at;             // inbound state (and its datapath SPI entry) from here
    TimePoint activate_outbound_at;   // outbound state and the `out` policies switch to it
    TimePoint deactivate_outbound_at; // the next TEK of the slot took over, or expiry
    TimePoint remove_at;  // inbound state removed (after the DTD, at the latest at expiry)
    TimePoint expires_at; // never: the server gave no lifetime

    bool inbound_at(TimePoint now) const { return install_at <= now && now < remove_at; }
    bool outbound_at(TimePoint now) const {
        return activate_outbound_at <= now && now < deactivate_outbound_at;
    }
    // Senders have moved on from it but it is still received: its outbound states stay until
    // remove_at, for packets that met an `out` policy just before the switch.
    bool retired_sender_at(TimePoint now) const {
        return activate_outbound_at < deactivate_outbound_at && deactivate_outbound_at <= now &&
               inbound_at(now);
    }
};

class GroupTimeline {
public:
    struct KnownTek {
        gdoi::TekPolicy tek;
        TimePoint received_at;
        std::optional<std::chrono::seconds> activation_delay;   // ATD of the policy it came in
        std::optional<std::chrono::seconds> deactivation_delay; // DTD of the policy it came in
        uint64_t arrival = 0;                                   // observation order, breaks ties
    };

    explicit GroupTimeline(std::chrono::seconds activate_before_expiry = std::chrono::seconds(30))
        : lead_(activate_before_expiry) {}

    // Records a policy from a PULL or a PUSH. A TEK already known (same SPI) keeps its first
    // receipt time: a push repeats the old TEK with only the remainder of its life. A known
    // TEK absent from the policy lives on until its schedule ends (or forget_tek()).
    void observe(const gdoi::GroupPolicy& policy, TimePoint received_at);
    // A DELETE payload named this SPI, or its DTD ran out: it is gone at once, whatever its
    // schedule said, and stays gone: key servers keep listing a superseded TEK (with its
    // remaining lifetime) in later pushes and PULLs, and taking it back would make it the newest
    // TEK of its slot and switch senders back to it.
    void forget_tek(uint32_t spi);
    bool retired(uint32_t spi) const { return retired_.contains(spi); }
    // Ejection or re-registration from scratch: no TEK remains (the slots stay known, so
    // fail-closed can still cover the last known selectors).
    void forget_all_teks();
    // Drops TEKs whose schedule has ended, so the timeline does not grow without bound.
    void prune(TimePoint now);
    // After a restart: reuse the reqid an installed state of a known TEK carries, so adopted
    // objects match exactly. `reqid_slot_of` maps an installed state's SPI to its reqid slot.
    void adopt_reqid_slot(uint32_t spi, uint32_t reqid_slot);

    std::vector<TekSchedule> schedule() const;
    // The first time after `now` at which the desired objects change; nullopt: nothing planned.
    std::optional<TimePoint> next_change_after(TimePoint now) const;

    const std::vector<TekSlot>& slots() const { return slots_; }
    const std::vector<KnownTek>& teks() const { return teks_; }
    const std::vector<gdoi::TrafficSelector>& deny() const { return deny_; }
    const KnownTek* find(uint32_t spi) const;
    std::chrono::seconds activate_before_expiry() const { return lead_; }

private:
    size_t slot_for(const gdoi::TrafficSelector& selector);
    uint32_t free_reqid_slot() const;

    std::chrono::seconds lead_;
    std::vector<TekSlot> slots_;
    std::vector<KnownTek> teks_;
    std::vector<gdoi::TrafficSelector> deny_;
    uint64_t arrivals_ = 0;
    // SPIs forgotten one by one, oldest first; bounded (SPIs are random 32-bit values, so an
    // old tombstone hiding a new TEK is as unlikely as an SPI collision).
    std::set<uint32_t> retired_;
    std::deque<uint32_t> retired_order_;
    static constexpr size_t max_retired = 4096;
};

} // namespace policy
