// The kernel facade: the only way the rest of gdoid changes XFRM state. One implementation
// speaks netlink (NetlinkKernelIpsec), one records calls for unit tests (FakeKernelIpsec).
#pragma once

#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "netlink/xfrm_objects.hpp"

namespace netlink {

// A kernel refusal, phrased for an operator: what was attempted, on which object, and the
// kernel's own words (extended ack) when it gave any.
class KernelError : public std::runtime_error {
public:
    KernelError(std::string message, int error_number)
        : std::runtime_error(std::move(message)), error_number_(error_number) {}
    int error_number() const { return error_number_; }

private:
    int error_number_;
};

enum class KernelEventType { state_expired, acquire, policy_expired, state_deleted, policy_deleted, resync_needed };

struct KernelEvent {
    KernelEventType type = KernelEventType::resync_needed;
    std::optional<XfrmStateId> state;   // for state events
    std::optional<XfrmPolicyId> policy; // for policy and acquire events
    bool hard = false;                  // expire: hard or soft
    IpAddress acquire_source;           // acquire: the packet that triggered it
    IpAddress acquire_destination;
    uint32_t policy_priority = 0;       // acquire: the policy that asked (which group)
    std::optional<AcquirePlaceholder> placeholder; // acquire: what the kernel holds meanwhile
};

class KernelIpsec {
public:
    virtual ~KernelIpsec() = default;

    virtual void add_state(const XfrmState& state) = 0;
    virtual void update_state(const XfrmState& state) = 0;
    virtual void delete_state(const XfrmStateId& id) = 0;
    virtual std::vector<XfrmState> dump_states() = 0; // keys are not read back

    virtual void add_policy(const XfrmPolicy& policy) = 0;
    virtual void update_policy(const XfrmPolicy& policy) = 0;
    virtual void delete_policy(const XfrmPolicyId& id) = 0;
    virtual std::vector<XfrmPolicy> dump_policies() = 0;

    // Removes the kernel's placeholder for an ACQUIRE that has been answered (or refused), so
    // the next flow through the same template raises its own ACQUIRE at once instead of being
    // dropped until the placeholder expires (net.core.xfrm_acq_expires, 30 s). Gone already
    // is fine.
    virtual void discard_acquire(const AcquirePlaceholder& placeholder) = 0;

    // Exempt one socket from every XFRM policy (IP_XFRM_POLICY/IPV6_XFRM_POLICY bypass),
    // so the daemon's own GDOI traffic can never be swallowed by a group policy.
    virtual void bypass_socket(int fd, IpFamily family) = 0;
};

} // namespace netlink
