// Kernel XFRM notifications for the daemon's event loop: expiries, acquires, policy expiries,
// and deletions made by others. Non-blocking; poll fd() and call read_events() when readable.
#pragma once

#include "netlink/kernel_ipsec.hpp"
#include "netlink/netlink_socket.hpp"

#include <cstdint>
#include <set>
#include <vector>

namespace netlink {

class XfrmEventSocket {
public:
    // Subscribes to XFRMNLGRP_EXPIRE, ACQUIRE, SA and POLICY. With owned_only (the default),
    // events about objects that are not gdoid's (netlink/ownership.hpp) are dropped.
    explicit XfrmEventSocket(bool owned_only = true);

    int fd() const { return socket_.fd(); }
    // Changes requested through this netlink port (NetlinkKernelIpsec::port_id()) are our own:
    // their notifications are not reported back.
    void ignore_port_id(uint32_t port_id) { ignored_ports_.insert(port_id); }
    void set_receive_buffer(int bytes); // tests shrink it to provoke an overrun

    // Everything queued now; never blocks. A receive-buffer overrun (ENOBUFS: notifications
    // were lost) becomes one resync_needed event: re-read the kernel with the dump calls. So does
    // a flush made by someone else.
    std::vector<KernelEvent> read_events();

private:
    void decode(const nlmsghdr* message, std::vector<KernelEvent>& events);
    NetlinkSocket socket_;
    bool owned_only_;
    std::set<uint32_t> ignored_ports_;
    std::vector<uint8_t> buffer_;
};

} // namespace netlink
