// Group policy + local settings + time -> the kernel objects and datapath entries that should
// exist for one group right now (design.md "Header preservation on a stock kernel").
// Pure: everything it needs is passed in, nothing is read from the system.
#pragma once

#include "netlink/xfrm_objects.hpp"
#include "policy/datapath_entries.hpp"
#include "policy/local_settings.hpp"
#include "policy/pre_fragmentation.hpp"
#include "policy/tek_schedule.hpp"

#include <string>
#include <vector>

namespace policy {

struct DesiredObjects {
    std::vector<netlink::XfrmState> states;
    std::vector<netlink::XfrmPolicy> policies;
    DatapathEntries datapath;
    // What gdoid's routing rules send through the pre-fragmentation interface (empty without).
    PreFragmentationRules pre_fragmentation;
    // What each object is for, in the design's words (same order as states / policies):
    // shown by the dump so an operator can tell an anchor state from a fail-closed block.
    std::vector<std::string> state_roles;
    std::vector<std::string> policy_roles;
    // TEKs or settings that could not be turned into kernel objects, and why. The rest of the
    // group is still translated.
    std::vector<std::string> problems;
    // Installed, but what the kernel cannot do for it said plainly (forwarded multicast).
    std::vector<std::string> notes;
    // True while at least one TEK of the group is usable (otherwise fail-closed applies).
    bool has_valid_sa = false;
};

DesiredObjects desired_objects(const GroupTimeline& timeline, const LocalSettings& settings,
                               const GroupStatus& status, TimePoint now);

// Only the blocks of fail-closed (and the bypasses ahead of them), whatever keys the timeline
// holds: for a group whose SAs cannot be installed at all (no header-preservation datapath),
// so that its traffic is blocked instead of passing in clear text.
DesiredObjects blocked_objects(const GroupTimeline& timeline, const LocalSettings& settings,
                               const GroupStatus& status);

// A TEK we may send with: not receive-only by the key server's SA direction or by validation,
// and not AES-GCM: with one key shared by many senders, GCM needs the RFC 6054 sender IDs to
// keep every sender's IVs apart, and Linux's IV generators do not embed them.
bool can_send(const gdoi::TekPolicy& tek);
bool can_receive(const gdoi::TekPolicy& tek);

// Selector -> kernel selectors: ranges split into prefixes, every source prefix paired with
// every destination prefix.
std::vector<netlink::XfrmSelector> kernel_selectors(const gdoi::TrafficSelector& selector);

} // namespace policy
