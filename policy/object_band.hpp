// Where gdoid's XFRM objects sit in the reqid and priority spaces, so they can be told apart
// from anyone else's (strongSwan, an operator's `ip xfrm`) and from another group's.
//
// The values follow the netlink/ convention (netlink/ownership.hpp, not yet in git when this
// was written: reqids and priorities 0x6d000000-0x6dffffff belong to gdoid, the low 24 bits are
// policy/'s). This is the one place in policy/ that knows them.
// Layout of the low 24 bits: group slot (8 bits) << 16 | offset within the group (16 bits).
// Priorities inside a group, lower matches first:
//   0x0000 bypass mark  0x0001 local LAN bypass  0x0100+i deny entries, then bypass classes
//   0x1000+i fail-open rules  0x2000+i TEK policies in the key server's ACL order
//   0xf000 fail-closed block
#pragma once

#include "netlink/xfrm_objects.hpp"

#include <cstdint>

namespace policy::band {

inline constexpr uint32_t first = 0x6d000000;
inline constexpr uint32_t last = 0x6dffffff;
inline constexpr uint32_t max_group_slot = 0xff;

inline constexpr uint32_t bypass_mark_offset = 0x0000;
inline constexpr uint32_t local_bypass_offset = 0x0001;
inline constexpr uint32_t deny_offset = 0x0100;
inline constexpr uint32_t fail_open_offset = 0x1000;
inline constexpr uint32_t tek_offset = 0x2000;
inline constexpr uint32_t block_offset = 0xf000;
inline constexpr uint32_t max_deny_entries = fail_open_offset - deny_offset;
inline constexpr uint32_t max_tek_positions = block_offset - tek_offset;
inline constexpr uint32_t max_reqid_slots = 0xffff; // reqid offsets 1..0xffff

constexpr uint32_t group_base(uint32_t group_slot) {
    return first + ((group_slot & 0xff) << 16);
}
constexpr uint32_t priority(uint32_t group_slot, uint32_t offset) {
    return group_base(group_slot) + (offset & 0xffff);
}
constexpr uint32_t reqid(uint32_t group_slot, uint32_t reqid_slot) {
    return group_base(group_slot) + (reqid_slot & 0xffff);
}
constexpr bool in_band(uint32_t value) {
    return value >= first && value <= last;
}
constexpr bool in_group(uint32_t value, uint32_t group_slot) {
    return in_band(value) && ((value - first) >> 16) == (group_slot & 0xff);
}

// gdoid's state of this group: its reqid is in the group's part of the band.
inline bool owns(const netlink::XfrmState& state, uint32_t group_slot) {
    return in_group(state.reqid, group_slot);
}

// gdoid's policy of this group: priority in the group's part of the band, and every template
// (if any) names one of the group's reqids. A foreign policy that happens to use a priority in
// our band but points at a foreign reqid is not ours.
inline bool owns(const netlink::XfrmPolicy& policy, uint32_t group_slot) {
    if (!in_group(policy.priority, group_slot)) return false;
    for (const auto& t : policy.templates)
        if (!in_group(t.reqid, group_slot)) return false;
    return true;
}

} // namespace policy::band
