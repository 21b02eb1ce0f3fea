// How gdoid recognises the XFRM objects it created, so that it can adopt them after a restart
// and never touch anyone else's (strongSwan, libreswan or an operator's `ip xfrm` may share the
// box).
//
// The convention (policy/ and the daemon MUST follow it; NetlinkKernelIpsec enforces it):
//  - every state gdoid adds has a reqid in [owned_reqid_first, owned_reqid_last]
//    (0x6d000000-0x6dffffff: 0x6d is ASCII 'm', "member"); the low 24 bits are free for policy/.
//  - every policy gdoid adds has a priority in [owned_priority_first, owned_priority_last]
//    (0x6d000000-0x6dffffff too). Lower values match first, so within the band policy/ orders
//    bypass < deny < group policies; the band as a whole sits below (matches after) the small
//    priorities IKE daemons use, so a specific site-to-site tunnel keeps precedence.
//  - every template of a gdoid policy carries an owned reqid (a template-less policy is a plain
//    allow/block and is recognised by its priority alone).
// An object is "owned" only if all of the applicable rules hold: a foreign policy that happens
// to sit in our priority band but points at a foreign reqid is left alone.
#pragma once

#include "netlink/xfrm_objects.hpp"

#include <cstdint>

namespace netlink {

inline constexpr uint32_t owned_reqid_first = 0x6d000000;
inline constexpr uint32_t owned_reqid_last = 0x6dffffff;
inline constexpr uint32_t owned_priority_first = 0x6d000000;
inline constexpr uint32_t owned_priority_last = 0x6dffffff;

constexpr bool is_owned_reqid(uint32_t reqid) {
    return reqid >= owned_reqid_first && reqid <= owned_reqid_last;
}
constexpr bool is_owned_priority(uint32_t priority) {
    return priority >= owned_priority_first && priority <= owned_priority_last;
}
// The reqid of the placeholder states that grow the kernel's SA table before anything else is
// installed (netlink/state_hash.hpp). Offset 0 of the band: policy/ never gives a state a reqid
// whose low 16 bits are 0 (policy/object_band.hpp: reqid slots start at 1).
inline constexpr uint32_t owned_placeholder_reqid = owned_reqid_first;

// Helpers for policy/: offset 0..0xffffff inside the band.
constexpr uint32_t owned_reqid(uint32_t offset) {
    return owned_reqid_first + (offset & 0xffffff);
}
constexpr uint32_t owned_priority(uint32_t offset) {
    return owned_priority_first + (offset & 0xffffff);
}

inline bool is_owned(const XfrmState& state) {
    return is_owned_reqid(state.reqid);
}

inline bool is_owned(const XfrmPolicy& policy) {
    if (!is_owned_priority(policy.priority)) return false;
    for (const auto& t : policy.templates)
        if (!is_owned_reqid(t.reqid)) return false;
    return true;
}

} // namespace netlink
