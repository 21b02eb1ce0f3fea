// The UDP socket gdoid speaks GDOI on (port 848 on a group's local address). It is exempt from
// every XFRM policy, so a group policy that encrypts "everything" can never swallow the
// daemon's own key-server traffic, and bound to the VRF device when a routing instance is set.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <systemd/sd-event.h>

#include "daemon/config.hpp"
#include "daemon/sd_event_ptr.hpp"
#include "gdoi/ip_address.hpp"
#include "netlink/kernel_ipsec.hpp"

namespace gdoid::daemon {

class GdoiSocket {
public:
    using Receiver = std::function<void(const ServerAddress& from, std::span<const uint8_t> bytes)>;

    // Binds [address]:port (on `vrf` when set), applies the per-socket XFRM bypass through
    // `kernel` (when given) and adds a reader to the event loop. On failure returns nullptr with
    // `error` set to an operator sentence ("cannot bind 192.0.2.10:848: Address in use").
    static std::unique_ptr<GdoiSocket> open(sd_event* event, const gdoi::IpAddress& address, uint16_t port,
                                            const std::optional<std::string>& vrf, netlink::KernelIpsec* kernel,
                                            Receiver receiver, std::string& error);
    // Binds group:port and joins the multicast `group` on `interface` (whose address is `local`),
    // for GROUPKEY-PUSH messages a key server sends to the KEK's multicast destination.
    static std::unique_ptr<GdoiSocket> open_multicast(sd_event* event, const gdoi::IpAddress& group, uint16_t port,
                                                      const gdoi::IpAddress& local, const std::string& interface,
                                                      const std::optional<std::string>& vrf, Receiver receiver,
                                                      std::string& error);
    ~GdoiSocket();
    GdoiSocket(const GdoiSocket&) = delete;
    GdoiSocket& operator=(const GdoiSocket&) = delete;

    // False (and a log line) when the kernel refused the datagram.
    bool send(const ServerAddress& to, std::span<const uint8_t> bytes);
    const gdoi::IpAddress& address() const { return address_; }
    bool bypassed() const { return bypassed_; }

private:
    GdoiSocket() = default;
    // The socket both openers start from (family of `address`, bound to `vrf` when set);
    // `what` names it in errors ("the GDOI socket for 192.0.2.10:848").
    static std::unique_ptr<GdoiSocket> create(const gdoi::IpAddress& address, const std::optional<std::string>& vrf,
                                              Receiver receiver, const std::string& what, std::string& error);
    // Adds the reader to the event loop.
    bool watch(sd_event* event, const std::string& what, std::string& error);
    static int on_readable(sd_event_source* source, int fd, uint32_t events, void* userdata);

    UniqueFd fd_;
    gdoi::IpAddress address_;
    bool bypassed_ = false;
    Receiver receiver_;
    SdEventSourcePtr source_;
};

} // namespace gdoid::daemon
