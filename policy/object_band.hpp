// Where gdoid's XFRM objects sit in the reqid and priority spaces, so they can be told apart
// from anyone else's (strongSwan, an operator's `ip xfrm`) and from another group's.
//
// gdoid's band is netlink/'s ownership convention (netlink/ownership.hpp: reqids and
// priorities 0x6d000000-0x6dffffff, the low 24 bits are policy/'s). This is the one place in
// policy/ that lays out those 24 bits:
//   group slot (8 bits) << 16 | offset within the group (16 bits).
// Priorities inside a group, lower matches first:
//   0x0000 bypass mark  0x0001 local LAN bypass  0x0100+i deny entries, then bypass classes
//   0x1000+i fail-open rules  0x2000+4i.. ACL entry i (key server's order):
//     +0 router-originated per-destination policies, +1 router-originated ACQUIRE trap,
//     +2 the entry's encrypt / decrypt / block policies (destination-only: its per-destination
//     policies), +3 the destination-only ACQUIRE trap
//   0xf000 fail-closed block
// Reqids: the TEK slot's reqid_slot (1..0x7fff) for its anchor states; with bit 15 set for
// the slot's per-destination states and its ACQUIRE traps.
#pragma once

#include "netlink/ownership.hpp"
#include "netlink/xfrm_objects.hpp"

#include <cstdint>

namespace policy::band {

inline constexpr uint32_t first = netlink::owned_reqid_first;
inline constexpr uint32_t last = netlink::owned_reqid_last;
// One layout serves reqids and priorities, so the two bands must coincide.
static_assert(netlink::owned_priority_first == first && netlink::owned_priority_last == last);
static_assert(last - first == 0xffffff, "8 bits of group slot, 16 bits of offset");
inline constexpr uint32_t max_group_slot = 0xff;

inline constexpr uint32_t bypass_mark_offset = 0x0000;
inline constexpr uint32_t local_bypass_offset = 0x0001;
inline constexpr uint32_t deny_offset = 0x0100;
inline constexpr uint32_t fail_open_offset = 0x1000;
inline constexpr uint32_t tek_offset = 0x2000;
inline constexpr uint32_t block_offset = 0xf000;
inline constexpr uint32_t max_deny_entries = fail_open_offset - deny_offset;
// Each ACL entry takes four priorities (see above), so the first matching policy is always
// the entry the key server meant.
inline constexpr uint32_t priorities_per_entry = 4;
inline constexpr uint32_t max_tek_positions = (block_offset - tek_offset) / priorities_per_entry;
enum class EntryRank : uint32_t { router_destination = 0, router_trap = 1, entry = 2, destination_trap = 3 };
constexpr uint32_t entry_offset(uint32_t acl_position, EntryRank rank) {
    const uint32_t position = acl_position < max_tek_positions ? acl_position : max_tek_positions - 1;
    return tek_offset + position * priorities_per_entry + uint32_t(rank);
}
inline constexpr uint32_t max_reqid_slots = 0x7fff; // reqid offsets 1..0x7fff
inline constexpr uint32_t acquire_reqid_bit = 0x8000;

constexpr uint32_t group_base(uint32_t group_slot) {
    return first + ((group_slot & 0xff) << 16);
}
constexpr uint32_t priority(uint32_t group_slot, uint32_t offset) {
    return group_base(group_slot) + (offset & 0xffff);
}
constexpr uint32_t reqid(uint32_t group_slot, uint32_t reqid_slot) {
    return group_base(group_slot) + (reqid_slot & 0xffff);
}
// The reqid of a TEK slot's per-destination states and ACQUIRE traps.
constexpr uint32_t acquire_reqid(uint32_t group_slot, uint32_t reqid_slot) {
    return reqid(group_slot, (reqid_slot & max_reqid_slots) | acquire_reqid_bit);
}
// The TEK slot an acquire reqid belongs to, or 0 when it is not one.
constexpr uint32_t reqid_slot_of_acquire_reqid(uint32_t reqid) {
    const uint32_t offset = reqid & 0xffff;
    return (offset & acquire_reqid_bit) ? offset & max_reqid_slots : 0;
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
