#include "policy/plan.hpp"

#include "policy/object_band.hpp"
#include "policy/render.hpp"

#include <algorithm>
#include <map>

namespace policy {

using netlink::XfrmPolicy;
using netlink::XfrmState;

namespace {

bool same_algorithm(const std::optional<netlink::XfrmAlgorithm>& a,
                    const std::optional<netlink::XfrmAlgorithm>& b) {
    if (a.has_value() != b.has_value()) return false;
    return !a || (a->name == b->name && a->icv_or_trunc_bits == b->icv_or_trunc_bits);
}

// Inbound states have a wildcard source (any member may send under the SPI).
bool is_inbound(const XfrmState& state) {
    return state.source.is_unspecified();
}

Operation state_op(Operation::Kind kind, const XfrmState& state) {
    Operation op;
    op.kind = kind;
    op.state = state;
    return op;
}

Operation policy_op(Operation::Kind kind, const XfrmPolicy& policy) {
    Operation op;
    op.kind = kind;
    op.policy = policy;
    return op;
}

Operation map_op(Operation::Kind kind, const MapEntry& entry) {
    Operation op;
    op.kind = kind;
    op.entry = entry;
    return op;
}

std::vector<MapEntry> entries(const DatapathEntries& d, MapEntry::Kind kind) {
    std::vector<MapEntry> result;
    switch (kind) {
    case MapEntry::Kind::inbound_spi:
        for (uint32_t spi : d.inbound_spis)
            result.push_back({kind, spi, {}, {}});
        break;
    case MapEntry::Kind::protected_destination:
        for (const auto& p : d.protected_destinations)
            result.push_back({kind, 0, p, {}});
        break;
    case MapEntry::Kind::outbound_flow:
        for (const auto& [s, d2] : d.outbound_flows)
            result.push_back({kind, 0, s, d2});
        break;
    }
    return result;
}

// Entries of `kind` in `from` that are not in `other`.
std::vector<MapEntry> missing(const DatapathEntries& from, const DatapathEntries& other,
                              MapEntry::Kind kind) {
    std::vector<MapEntry> result;
    const auto in_other = entries(other, kind);
    for (const auto& e : entries(from, kind))
        if (std::find(in_other.begin(), in_other.end(), e) == in_other.end()) result.push_back(e);
    return result;
}

} // namespace

bool same_installed(const XfrmState& desired, const XfrmState& installed) {
    return desired.id == installed.id && desired.source == installed.source &&
           desired.mode == installed.mode && desired.reqid == installed.reqid &&
           desired.selector == installed.selector &&
           same_algorithm(desired.encryption, installed.encryption) &&
           same_algorithm(desired.authentication, installed.authentication) &&
           same_algorithm(desired.aead, installed.aead) &&
           desired.replay_window == installed.replay_window &&
           desired.no_pmtu_discovery == installed.no_pmtu_discovery &&
           desired.output_sequence_may_wrap == installed.output_sequence_may_wrap &&
           desired.set_mark == installed.set_mark && desired.if_id == installed.if_id &&
           // No offload_device: it is a request the kernel grants only when the driver can (a
           // state dumps without it when it runs in software), and an update cannot change it.
           // Kernels before XFRMA_SA_DIR report no direction.
           (installed.direction == netlink::XfrmStateDirection::unspecified ||
            desired.direction == installed.direction) &&
           desired.hard_lifetime_seconds == installed.hard_lifetime_seconds &&
           desired.soft_lifetime_seconds == installed.soft_lifetime_seconds;
}

bool updatable_in_place(const XfrmState& desired, const XfrmState& installed) {
    XfrmState updated = installed;
    updated.selector = desired.selector;
    updated.hard_lifetime_seconds = desired.hard_lifetime_seconds;
    updated.soft_lifetime_seconds = desired.soft_lifetime_seconds;
    if (desired.set_mark) updated.set_mark = desired.set_mark; // a zero mark is not applied
    return same_installed(desired, updated);
}

bool same_installed(const XfrmPolicy& desired, const XfrmPolicy& installed) {
    return desired.id == installed.id && desired.priority == installed.priority &&
           desired.action == installed.action && desired.templates == installed.templates;
}

std::vector<Operation> diff(const DesiredObjects& desired, const InstalledObjects& installed,
                            uint32_t group_slot) {
    using K = Operation::Kind;
    std::map<netlink::XfrmStateId, const XfrmState*> own_states;
    for (const auto& s : installed.states)
        // SPI 0 is the kernel's placeholder for an ACQUIRE raised by one of our traps: the
        // kernel's bookkeeping, removed by whoever answers the ACQUIRE, never by a plan.
        if (band::owns(s, group_slot) && s.id.spi != 0) own_states[s.id] = &s;
    std::map<netlink::XfrmPolicyId, const XfrmPolicy*> own_policies;
    for (const auto& p : installed.policies)
        if (band::owns(p, group_slot)) own_policies[p.id] = &p;

    std::vector<Operation> ops;
    auto add_states = [&](bool inbound) {
        for (const auto& s : desired.states) {
            if (is_inbound(s) != inbound) continue;
            const auto it = own_states.find(s.id);
            if (it == own_states.end()) {
                ops.push_back(state_op(K::add_state, s));
            } else if (it->second->source != s.source || !updatable_in_place(s, *it->second)) {
                // UPDSA keeps the old source address and flags: a state that must leave from
                // another address (a per-destination state whose flow changed) or with another
                // DF rule (df-bit changed by a reload) is replaced, delete and add in one batch.
                ops.push_back(state_op(K::delete_state, *it->second));
                ops.push_back(state_op(K::add_state, s));
            } else if (!same_installed(s, *it->second)) {
                ops.push_back(state_op(K::update_state, s));
            }
        }
    };
    auto delete_states = [&](bool inbound) {
        for (const auto& [id, s] : own_states) {
            if (is_inbound(*s) != inbound) continue;
            const bool wanted = std::any_of(desired.states.begin(), desired.states.end(),
                                            [&](const XfrmState& d) { return d.id == id; });
            if (!wanted) ops.push_back(state_op(K::delete_state, *s));
        }
    };
    auto add_entries = [&](MapEntry::Kind kind) {
        for (const auto& e : missing(desired.datapath, installed.datapath, kind))
            ops.push_back(map_op(K::add_map_entry, e));
    };
    auto remove_entries = [&](MapEntry::Kind kind) {
        for (const auto& e : missing(installed.datapath, desired.datapath, kind))
            ops.push_back(map_op(K::remove_map_entry, e));
    };

    // 1. Inbound states, then the entries that steer group ESP to them (datapath-notes.md
    //    pitfall 4: an SPI in the rewrite set without its state drops packets).
    add_states(true);
    add_entries(MapEntry::Kind::protected_destination);
    add_entries(MapEntry::Kind::inbound_spi);
    // 2. Outbound states, then the LAN ingress flows, before any policy sends through them.
    add_states(false);
    add_entries(MapEntry::Kind::outbound_flow);
    // 3. Policies: additions and switches (an `out` policy update moves traffic to the new
    //    TEK in one step), in precedence order; only then removals.
    for (const auto& p : desired.policies) {
        const auto it = own_policies.find(p.id);
        if (it == own_policies.end())
            ops.push_back(policy_op(K::add_policy, p));
        else if (!same_installed(p, *it->second))
            ops.push_back(policy_op(K::update_policy, p));
    }
    for (const auto& [id, p] : own_policies) {
        const bool wanted = std::any_of(desired.policies.begin(), desired.policies.end(),
                                        [&](const XfrmPolicy& d) { return d.id == id; });
        if (!wanted) ops.push_back(policy_op(K::delete_policy, *p));
    }
    // 4. What nothing points at any more: flows and outbound states, then SPI entries before
    //    their inbound states (the map entry goes first), then the inbound states.
    remove_entries(MapEntry::Kind::outbound_flow);
    delete_states(false);
    remove_entries(MapEntry::Kind::inbound_spi);
    remove_entries(MapEntry::Kind::protected_destination);
    delete_states(true);
    return ops;
}

Plan plan(const GroupTimeline& timeline, const LocalSettings& settings, const GroupStatus& status,
          const InstalledObjects& installed, TimePoint now) {
    Plan result;
    result.operations =
        diff(desired_objects(timeline, settings, status, now), installed, settings.group_slot);
    result.next_due = timeline.next_change_after(now);
    return result;
}

std::string Operation::to_string() const {
    switch (kind) {
    case Kind::add_state:
        return "add state " + describe(state.id);
    case Kind::update_state:
        return "update state " + describe(state.id);
    case Kind::delete_state:
        return "delete state " + describe(state.id);
    case Kind::add_policy:
        return "add policy " + describe(policy);
    case Kind::update_policy:
        return "update policy " + describe(policy);
    case Kind::delete_policy:
        return "delete policy " + describe(policy.id);
    case Kind::add_map_entry:
        return "add map entry " + entry.to_string();
    case Kind::remove_map_entry:
        return "remove map entry " + entry.to_string();
    }
    return "?";
}

} // namespace policy
