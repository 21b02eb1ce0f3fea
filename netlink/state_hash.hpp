// The kernel's SA table (SAD) is a hash that starts with 8 buckets and doubles, in a work item,
// whenever a state is added to a full table. A packet whose state lookup overlaps the start of
// such a resize is dropped: xfrm_state_find() sees the table's generation change and returns
// -EAGAIN, which xfrm_lookup() counts as XfrmOutNoStates (net/xfrm/xfrm_state.c; with
// net.core.xfrm_larval_drop = 1, Debian's default, nothing queues the packet). A member holding
// four states crosses 8 at its first rekey, under traffic: VM 060 lost one echo that way in CI.
// The table never shrinks, so gdoid grows it once, before it installs anything, with short-lived
// placeholder states, and rekeys never resize it under traffic again.
#pragma once

#include "netlink/netlink_kernel_ipsec.hpp"

#include <chrono>
#include <cstdint>

namespace netlink {

// Enough for the states of a few hundred ACL entries through a rekey (two TEKs each, inbound
// and outbound) and their per-destination flows: 1,024 buckets cost the kernel 24 KiB.
inline constexpr uint32_t wanted_state_hash_buckets = 1024;

struct StateHashGrowth {
    StateHashSize before;
    StateHashSize after;
    size_t placeholders = 0; // states added (and removed again) to make the kernel grow it
    std::chrono::milliseconds took{0};
};

// Grows the SA table to at least `buckets` (at most the kernel's maximum) by adding placeholder
// states and removing them again; a table that is already large enough is left alone. The
// placeholders are gdoid's (netlink/ownership.hpp: reqid owned_placeholder_reqid), ESP toward
// 0.0.0.0, where no packet is ever received, and no policy names them; any left by a gdoid
// killed while growing are removed first. Throws KernelError when the kernel refuses them
// (a kernel without ESP): the table then grows by itself, as before.
StateHashGrowth grow_state_hash(NetlinkKernelIpsec& kernel, uint32_t buckets = wanted_state_hash_buckets);

} // namespace netlink
