// Interface events over rtnetlink (libmnl, through NetlinkSocket): a watched interface going up
// or down, an address added or removed on it, and interface index lookups by name.
// Non-blocking; poll fd() from the event loop and call read_events() when it is readable.
#pragma once

#include "gdoi/ip_address.hpp"
#include "netlink/netlink_socket.hpp"

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace netlink {

// tc_removed: a tc filter or qdisc was deleted on any interface (ifindex set; the name is not
// looked up): the owner of filters there checks its own.
enum class LinkEventType { link_up, link_down, address_added, address_removed, resync_needed, tc_removed };

struct LinkEvent {
    LinkEventType type;
    std::string interface; // name
    int ifindex = 0;
    std::optional<gdoi::IpPrefix> address; // address events: the local address and prefix
};

// The index of a named interface, or nullopt when it does not exist (one rtnetlink request).
std::optional<int> ifindex_by_name(const std::string& name);

class LinkMonitor {
public:
    // Watches the named interfaces (all when the list is empty). Their current up/down state is
    // read once now, so later events report changes only.
    explicit LinkMonitor(std::set<std::string> interfaces = {});
    ~LinkMonitor();
    LinkMonitor(const LinkMonitor&) = delete;
    LinkMonitor& operator=(const LinkMonitor&) = delete;

    int fd() const;
    // Everything queued now; never blocks. Lost notifications (ENOBUFS) become resync_needed.
    std::vector<LinkEvent> read_events();
    // Current up state as last seen (nullopt for an interface never seen).
    std::optional<bool> is_up(const std::string& name) const;

private:
    void handle(const nlmsghdr* message);
    void handle_link(const nlmsghdr* message);
    void handle_address(const nlmsghdr* message);
    bool watched(const std::string& name) const;

    std::set<std::string> interfaces_;
    NetlinkSocket socket_;
    std::unique_ptr<uint8_t[]> buffer_; // one notification; not zero-filled (bench/memory.sh)
    std::map<int, std::string> names_; // ifindex -> name, as last seen
    std::map<std::string, bool> up_;
    std::vector<LinkEvent> pending_;
};

} // namespace netlink
