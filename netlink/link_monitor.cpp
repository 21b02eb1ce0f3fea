#include "netlink/link_monitor.hpp"

#include "netlink/kernel_ipsec.hpp"

#include <cerrno>
#include <cstring>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <string_view>
#include <sys/socket.h>
#include <utility>

namespace netlink {

namespace {

// A link notification with its attributes fits easily; a larger one (MSG_TRUNC) is read as
// lost notifications.
constexpr size_t notification_buffer_size = 32 * 1024;

// See xfrm_event_socket.cpp: mnl_nlmsg_ok compares the length as an int.
bool message_fits(const nlmsghdr* m, int left) {
    return left >= 0 && m->nlmsg_len <= unsigned(left);
}

bool link_is_up(unsigned flags) {
    return (flags & IFF_UP) && (flags & IFF_RUNNING);
}

template <class T> bool read_header(const nlmsghdr* m, T& out) {
    if (m->nlmsg_len < NLMSG_HDRLEN + sizeof(T)) return false;
    std::memcpy(&out, mnl_nlmsg_get_payload(m), sizeof out);
    return true;
}

// The attributes of an rtnetlink message after its fixed header, by type (the last of each
// type wins, as in the kernel's own parsing); types the table has no room for are skipped.
template <size_t N>
void read_attributes(const nlmsghdr* m, size_t header_size, const nlattr* (&table)[N]) {
    for (auto& entry : table)
        entry = nullptr;
    if (m->nlmsg_len < MNL_NLMSG_HDRLEN + MNL_ALIGN(header_size)) return;
    mnl_attr_parse(
        m, unsigned(header_size),
        [](const nlattr* attribute, void* data) {
            const uint16_t type = mnl_attr_get_type(attribute);
            if (type < N) static_cast<const nlattr**>(data)[type] = attribute;
            return int(MNL_CB_OK);
        },
        table);
}

// An interface's name from IFLA_IFNAME (NUL-terminated by the kernel; not trusted to be).
std::string attribute_string(const nlattr* attribute) {
    if (!attribute) return {};
    const auto* text = static_cast<const char*>(mnl_attr_get_payload(attribute));
    return std::string(text, strnlen(text, mnl_attr_get_payload_len(attribute)));
}

std::optional<gdoi::IpPrefix> address_of(const nlattr* attribute, int family, uint8_t length) {
    if (!attribute || (family != AF_INET && family != AF_INET6)) return std::nullopt;
    gdoi::IpPrefix p;
    p.address.family = family == AF_INET ? gdoi::IpFamily::v4 : gdoi::IpFamily::v6;
    if (mnl_attr_get_payload_len(attribute) != p.address.width_bytes()) return std::nullopt;
    std::memcpy(p.address.bytes.data(), mnl_attr_get_payload(attribute), p.address.width_bytes());
    p.length = length;
    return p;
}

struct LinkState {
    int index = 0;
    unsigned flags = 0;
};

// RTM_GETLINK by name: nullopt when there is no such interface.
std::optional<LinkState> query_link(NetlinkSocket& socket, const std::string& name) {
    if (name.empty() || name.size() >= IF_NAMESIZE) return std::nullopt;
    std::vector<uint8_t> buffer(MNL_SOCKET_BUFFER_SIZE);
    nlmsghdr* request = mnl_nlmsg_put_header(buffer.data());
    request->nlmsg_type = RTM_GETLINK;
    request->nlmsg_flags = NLM_F_REQUEST;
    auto* info = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(request, sizeof(ifinfomsg)));
    info->ifi_family = AF_UNSPEC;
    mnl_attr_put_strz(request, IFLA_IFNAME, name.c_str());
    std::vector<std::vector<uint8_t>> replies;
    if (auto failure = socket.request({buffer.data(), request->nlmsg_len}, &replies)) {
        if (failure->error_number == ENODEV) return std::nullopt;
        throw KernelError(format_kernel_error("rtnetlink: looking up interface " + name, *failure),
                          failure->error_number);
    }
    for (const auto& reply : replies) {
        const auto* m = reinterpret_cast<const nlmsghdr*>(reply.data());
        ifinfomsg found;
        if (m->nlmsg_type == RTM_NEWLINK && read_header(m, found))
            return LinkState{found.ifi_index, found.ifi_flags};
    }
    return std::nullopt;
}

} // namespace

std::optional<int> ifindex_by_name(const std::string& name) {
    NetlinkSocket socket(NETLINK_ROUTE);
    auto link = query_link(socket, name);
    if (!link) return std::nullopt;
    return link->index;
}

LinkMonitor::LinkMonitor(std::set<std::string> interfaces)
    : interfaces_(std::move(interfaces)), socket_(NETLINK_ROUTE, true),
      buffer_(new uint8_t[notification_buffer_size]) {
    // Subscribed first, then the current state (one request each): a change between the two
    // is then an event rather than lost, and the first event is a real change.
    for (unsigned group : {RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR, RTNLGRP_TC})
        socket_.subscribe(group);
    NetlinkSocket query(NETLINK_ROUTE);
    for (const auto& name : interfaces_) {
        auto link = query_link(query, name);
        if (!link) continue;
        names_[link->index] = name;
        up_[name] = link_is_up(link->flags);
    }
}

LinkMonitor::~LinkMonitor() = default;

int LinkMonitor::fd() const {
    return socket_.fd();
}

bool LinkMonitor::watched(const std::string& name) const {
    return interfaces_.empty() || interfaces_.count(name);
}

std::optional<bool> LinkMonitor::is_up(const std::string& name) const {
    auto it = up_.find(name);
    if (it == up_.end()) return std::nullopt;
    return it->second;
}

void LinkMonitor::handle(const nlmsghdr* message) {
    switch (message->nlmsg_type) {
    case RTM_DELTFILTER:
    case RTM_DELQDISC: {
        tcmsg tc;
        if (!read_header(message, tc)) return;
        pending_.push_back({LinkEventType::tc_removed, {}, tc.tcm_ifindex, {}});
        return;
    }
    case RTM_NEWLINK:
    case RTM_DELLINK:
        handle_link(message);
        return;
    case RTM_NEWADDR:
    case RTM_DELADDR:
        handle_address(message);
        return;
    default:
        return;
    }
}

void LinkMonitor::handle_link(const nlmsghdr* message) {
    ifinfomsg info;
    if (!read_header(message, info)) return;
    const nlattr* attributes[IFLA_IFNAME + 1];
    read_attributes(message, sizeof info, attributes);
    std::string name = attribute_string(attributes[IFLA_IFNAME]);
    if (name.empty()) name = names_[info.ifi_index];
    if (!watched(name)) return;
    names_[info.ifi_index] = name;
    const bool up = message->nlmsg_type != RTM_DELLINK && link_is_up(info.ifi_flags);
    auto known = up_.find(name);
    if (known != up_.end() && known->second == up) return; // no change
    up_[name] = up;
    pending_.push_back(
        {up ? LinkEventType::link_up : LinkEventType::link_down, name, info.ifi_index, {}});
}

void LinkMonitor::handle_address(const nlmsghdr* message) {
    ifaddrmsg info;
    if (!read_header(message, info)) return;
    const int index = int(info.ifa_index);
    std::string name;
    if (auto it = names_.find(index); it != names_.end()) {
        name = it->second;
    } else {
        char buffer[IF_NAMESIZE] = {};
        if (if_indextoname(unsigned(index), buffer)) name = buffer;
    }
    if (name.empty() || !watched(name)) return;
    const nlattr* attributes[IFA_LOCAL + 1];
    read_attributes(message, sizeof info, attributes);
    // IPv4 sends the local address as IFA_LOCAL (IFA_ADDRESS is the peer's on point-to-point
    // links); IPv6 sends only IFA_ADDRESS, which is then the local one.
    const nlattr* local = attributes[IFA_LOCAL] ? attributes[IFA_LOCAL] : attributes[IFA_ADDRESS];
    pending_.push_back({message->nlmsg_type == RTM_DELADDR ? LinkEventType::address_removed
                                                           : LinkEventType::address_added,
                        name, index, address_of(local, info.ifa_family, info.ifa_prefixlen)});
}

std::vector<LinkEvent> LinkMonitor::read_events() {
    for (;;) {
        const ssize_t n = recv(socket_.fd(), buffer_.get(), notification_buffer_size, MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            if (errno == ENOBUFS) { // notifications were lost
                pending_.push_back({LinkEventType::resync_needed, {}, 0, {}});
                continue;
            }
            throw KernelError(format_kernel_error("rtnetlink: reading events", {errno, {}}), errno);
        }
        int left = int(n);
        for (auto* m = reinterpret_cast<const nlmsghdr*>(buffer_.get());
             mnl_nlmsg_ok(m, left) && message_fits(m, left); m = mnl_nlmsg_next(m, &left))
            handle(m);
    }
    return std::exchange(pending_, {});
}

} // namespace netlink
