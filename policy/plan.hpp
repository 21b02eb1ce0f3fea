// (desired, installed) -> the ordered kernel and datapath operations that get from one to the
// other without a moment in which protected traffic has no valid state (make-before-break):
// new inbound states, then their datapath entries, new outbound states, policy additions and
// switches, policy removals, and only then datapath removals and old states.
#pragma once

#include "netlink/xfrm_objects.hpp"
#include "policy/datapath_entries.hpp"
#include "policy/desired_objects.hpp"

#include <optional>
#include <string>
#include <vector>

namespace policy {

// What gdoid finds installed: the kernel's dump (anybody's objects) and the datapath maps.
struct InstalledObjects {
    std::vector<netlink::XfrmState> states;
    std::vector<netlink::XfrmPolicy> policies;
    DatapathEntries datapath;
};

struct Operation {
    enum class Kind : uint8_t {
        add_state,
        update_state,
        delete_state,
        add_policy,
        update_policy,
        delete_policy,
        add_map_entry,
        remove_map_entry,
    };
    Kind kind = Kind::add_state;
    netlink::XfrmState state;   // add/update_state; delete_state uses state.id
    netlink::XfrmPolicy policy; // add/update_policy; delete_policy uses policy.id
    MapEntry entry;             // map entries

    // "add state in 100.127.0.1 esp spi 0x10000001 reqid 0x6d000001" -- never a key.
    std::string to_string() const;
};

struct Plan {
    std::vector<Operation> operations;
    // When the desired objects change next (a TEK's schedule); nullopt: nothing planned.
    std::optional<TimePoint> next_due;
};

// Only objects of this group (policy/object_band.hpp) are looked at; everything else in
// `installed` is foreign and never touched. Objects equal to the desired ones (keys aside,
// which the kernel never reports) are adopted as they are.
std::vector<Operation> diff(const DesiredObjects& desired, const InstalledObjects& installed,
                            uint32_t group_slot);

// The operations due at `now` for one group, and when to call again.
Plan plan(const GroupTimeline& timeline, const LocalSettings& settings, const GroupStatus& status,
          const InstalledObjects& installed, TimePoint now);

// Equal as far as the kernel reports: every field but keys and the policy index.
bool same_installed(const netlink::XfrmState& desired, const netlink::XfrmState& installed);
// Whether XFRM_MSG_UPDSA can turn `installed` into `desired`. xfrm_state_update() changes a
// valid state's selector, lifetimes and output mark in place and nothing else: a changed flag
// (nopmtudisc: df-bit), algorithm, replay window, mode or reqid needs a new state.
bool updatable_in_place(const netlink::XfrmState& desired, const netlink::XfrmState& installed);
bool same_installed(const netlink::XfrmPolicy& desired, const netlink::XfrmPolicy& installed);

} // namespace policy
