#include "netlink/link_monitor.hpp"

#include "netlink/kernel_ipsec.hpp"

#include <cstring>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/socket.h>
#include <string_view>
#include <sys/socket.h>
#include <utility>

namespace netlink {

namespace {

struct LinkFree {
    void operator()(rtnl_link* l) const { rtnl_link_put(l); }
};
using LinkPtr = std::unique_ptr<rtnl_link, LinkFree>;

std::unique_ptr<nl_sock, void (*)(nl_sock*)> connect_route_socket() {
    std::unique_ptr<nl_sock, void (*)(nl_sock*)> s(nl_socket_alloc(), nl_socket_free);
    if (!s) throw KernelError("rtnetlink: cannot allocate a socket", ENOMEM);
    if (int e = nl_connect(s.get(), NETLINK_ROUTE); e < 0)
        throw KernelError(std::string("rtnetlink: connecting: ") + nl_geterror(e), -e);
    return s;
}

bool link_is_up(unsigned flags) {
    return (flags & IFF_UP) && (flags & IFF_RUNNING);
}

std::optional<gdoi::IpPrefix> prefix_of(nl_addr* a) {
    if (!a) return std::nullopt;
    gdoi::IpPrefix p;
    const int family = nl_addr_get_family(a);
    if (family != AF_INET && family != AF_INET6) return std::nullopt;
    p.address.family = family == AF_INET ? gdoi::IpFamily::v4 : gdoi::IpFamily::v6;
    const size_t n = std::min<size_t>(nl_addr_get_len(a), p.address.width_bytes());
    std::memcpy(p.address.bytes.data(), nl_addr_get_binary_addr(a), n);
    p.length = uint8_t(nl_addr_get_prefixlen(a));
    return p;
}

} // namespace

std::optional<int> ifindex_by_name(const std::string& name) {
    auto s = connect_route_socket();
    rtnl_link* raw = nullptr;
    if (rtnl_link_get_kernel(s.get(), 0, name.c_str(), &raw) < 0 || !raw) return std::nullopt;
    LinkPtr link(raw);
    return rtnl_link_get_ifindex(link.get());
}

void LinkMonitor::SocketFree::operator()(nl_sock* s) const {
    nl_socket_free(s);
}

LinkMonitor::LinkMonitor(std::set<std::string> interfaces) : interfaces_(std::move(interfaces)) {
    // Current state first (one request each), so that the first event is a real change.
    {
        auto query = connect_route_socket();
        for (const auto& name : interfaces_) {
            rtnl_link* raw = nullptr;
            if (rtnl_link_get_kernel(query.get(), 0, name.c_str(), &raw) < 0 || !raw) continue;
            LinkPtr link(raw);
            names_[rtnl_link_get_ifindex(link.get())] = name;
            up_[name] = link_is_up(rtnl_link_get_flags(link.get()));
        }
    }
    socket_.reset(nl_socket_alloc());
    if (!socket_) throw KernelError("rtnetlink: cannot allocate a socket", ENOMEM);
    nl_socket_disable_seq_check(socket_.get()); // notifications carry no sequence of ours
    nl_socket_modify_cb(socket_.get(), NL_CB_VALID, NL_CB_CUSTOM, &LinkMonitor::on_message, this);
    if (int e = nl_connect(socket_.get(), NETLINK_ROUTE); e < 0)
        throw KernelError(std::string("rtnetlink: connecting: ") + nl_geterror(e), -e);
    if (int e = nl_socket_add_memberships(socket_.get(), RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR,
                                          RTNLGRP_IPV6_IFADDR, RTNLGRP_TC, 0);
        e < 0)
        throw KernelError(std::string("rtnetlink: subscribing: ") + nl_geterror(e), -e);
    nl_socket_set_nonblocking(socket_.get());
    nl_socket_set_buffer_size(socket_.get(), 1024 * 1024, 0);
}

LinkMonitor::~LinkMonitor() = default;

int LinkMonitor::fd() const {
    return nl_socket_get_fd(socket_.get());
}

bool LinkMonitor::watched(const std::string& name) const {
    return interfaces_.empty() || interfaces_.count(name);
}

std::optional<bool> LinkMonitor::is_up(const std::string& name) const {
    auto it = up_.find(name);
    if (it == up_.end()) return std::nullopt;
    return it->second;
}

int LinkMonitor::on_message(nl_msg* message, void* self) {
    static_cast<LinkMonitor*>(self)->handle(message);
    return NL_OK;
}

void LinkMonitor::handle(nl_msg* message) {
    const nlmsghdr* header = nlmsg_hdr(message);
    const int type = header->nlmsg_type;
    if (type == RTM_DELTFILTER || type == RTM_DELQDISC) {
        if (header->nlmsg_len < NLMSG_LENGTH(sizeof(tcmsg))) return;
        const auto* tc = static_cast<const tcmsg*>(NLMSG_DATA(header));
        pending_.push_back({LinkEventType::tc_removed, {}, tc->tcm_ifindex, {}});
        return;
    }
    struct Context {
        LinkMonitor* self;
        int type;
    } context{this, type};
    nl_msg_parse(
        message,
        [](nl_object* object, void* arg) {
            auto* c = static_cast<Context*>(arg);
            const std::string_view kind = nl_object_get_type(object);
            if (kind == "route/link") {
                auto* link = reinterpret_cast<rtnl_link*>(object);
                const int index = rtnl_link_get_ifindex(link);
                const char* raw_name = rtnl_link_get_name(link);
                std::string name = raw_name ? raw_name : c->self->names_[index];
                if (!c->self->watched(name)) return;
                c->self->names_[index] = name;
                const bool up = c->type != RTM_DELLINK && link_is_up(rtnl_link_get_flags(link));
                auto known = c->self->up_.find(name);
                if (known != c->self->up_.end() && known->second == up) return; // no change
                c->self->up_[name] = up;
                c->self->pending_.push_back(
                    {up ? LinkEventType::link_up : LinkEventType::link_down, name, index, {}});
            } else if (kind == "route/addr") {
                auto* addr = reinterpret_cast<rtnl_addr*>(object);
                const int index = rtnl_addr_get_ifindex(addr);
                std::string name;
                if (auto it = c->self->names_.find(index); it != c->self->names_.end()) {
                    name = it->second;
                } else {
                    char buffer[IF_NAMESIZE] = {};
                    if (if_indextoname(unsigned(index), buffer)) name = buffer;
                }
                if (name.empty() || !c->self->watched(name)) return;
                c->self->pending_.push_back({c->type == RTM_DELADDR ? LinkEventType::address_removed
                                                                    : LinkEventType::address_added,
                                             name, index, prefix_of(rtnl_addr_get_local(addr))});
            }
        },
        &context);
}

std::vector<LinkEvent> LinkMonitor::read_events() {
    for (;;) {
        const int e = nl_recvmsgs_default(socket_.get());
        if (e >= 0) continue;
        if (e == -NLE_AGAIN) break;
        if (e == -NLE_NOMEM || e == -NLE_MSG_OVERFLOW) { // ENOBUFS: notifications were lost
            pending_.push_back({LinkEventType::resync_needed, {}, 0, {}});
            continue;
        }
        throw KernelError(std::string("rtnetlink: reading events: ") + nl_geterror(e), EIO);
    }
    return std::exchange(pending_, {});
}

} // namespace netlink
