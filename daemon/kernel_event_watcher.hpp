// Kernel XFRM notifications on the event loop: today the ACQUIREs raised by the groups'
// per-destination traps (policy/per_destination.hpp), handed to the owning group by the
// policy's priority (policy/object_band.hpp). Other notifications are read and dropped.
#pragma once

#include "daemon/sd_event_ptr.hpp"
#include "netlink/kernel_ipsec.hpp"
#include "netlink/xfrm_event_socket.hpp"

#include <functional>
#include <memory>

namespace gdoid::daemon {

class KernelEventWatcher {
public:
    using Handler = std::function<void(const netlink::KernelEvent&)>;
    // Null when the kernel refuses the subscription (logged): traffic that needs a
    // per-destination state then stays dropped by the traps.
    static std::unique_ptr<KernelEventWatcher> create(sd_event* event, uint32_t own_port_id, Handler handler);

private:
    KernelEventWatcher(uint32_t own_port_id, Handler handler);
    static int on_readable(sd_event_source* source, int fd, uint32_t events, void* userdata);
    netlink::XfrmEventSocket socket_;
    Handler handler_;
    SdEventSourcePtr source_;
};

} // namespace gdoid::daemon
