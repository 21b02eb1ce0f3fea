// Links and the default route of policy_routing.hpp: the XFRM interface, MTU, deletion, and
// the default route in gdoid's table. The FIB rules are in policy_routing_rules.cpp.
#include "netlink/kernel_ipsec.hpp"
#include "netlink/netlink_socket.hpp"
#include "netlink/policy_routing.hpp"
#include "netlink/rtnl_attributes.hpp"

#include <cerrno>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <optional>
#include <stdexcept>
#include <string>
#include <sys/socket.h>
#include <vector>

namespace netlink {

using rtnl::address_family;
using rtnl::Attributes;
using rtnl::family_name;
using rtnl::fixed;
using rtnl::hex;
using rtnl::message_attributes;
using rtnl::nested_attributes;
using rtnl::read_header;
using rtnl::Request;
using rtnl::string_attribute;
using rtnl::throw_failure;

namespace {

// "wan0", or "ifindex 7" when there is no such device (messages only).
std::string device_name(int ifindex) {
    char name[IF_NAMESIZE] = {};
    if (ifindex > 0 && if_indextoname(unsigned(ifindex), name)) return name;
    return "ifindex " + std::to_string(ifindex);
}

void check_device_name(const std::string& name) {
    if (name.empty() || name.size() >= IF_NAMESIZE)
        throw std::invalid_argument("interface name '" + name + "' must have 1 to " +
                                    std::to_string(IF_NAMESIZE - 1) + " characters");
}

struct LinkFacts {
    int index = 0;
    std::string kind; // IFLA_INFO_KIND: "xfrm", "veth"...; empty for hardware and loopback
    std::optional<uint32_t> xfrm_if_id;
    std::optional<uint32_t> xfrm_link;
    bool xfrm_collect_metadata = false;
};

// RTM_GETLINK by name: nullopt when there is no such device.
std::optional<LinkFacts> query_link(NetlinkSocket& socket, const std::string& name) {
    Request request(RTM_GETLINK, 0);
    request.put_header<ifinfomsg>().ifi_family = AF_UNSPEC;
    mnl_attr_put_strz(request.header(), IFLA_IFNAME, name.c_str());
    std::vector<std::vector<uint8_t>> replies;
    if (auto failure = socket.request(request.bytes(), &replies)) {
        if (failure->error_number == ENODEV) return std::nullopt;
        throw_failure("looking up interface " + name, *failure);
    }
    for (const auto& reply : replies) {
        const auto* message = reinterpret_cast<const nlmsghdr*>(reply.data());
        ifinfomsg info;
        if (message->nlmsg_type != RTM_NEWLINK || !read_header(message, info)) continue;
        LinkFacts facts;
        facts.index = info.ifi_index;
        const Attributes link = message_attributes(message, sizeof info);
        const Attributes link_info = nested_attributes(link[IFLA_LINKINFO]);
        facts.kind = string_attribute(link_info[IFLA_INFO_KIND]);
        if (facts.kind == "xfrm") {
            const Attributes data = nested_attributes(link_info[IFLA_INFO_DATA]);
            facts.xfrm_if_id = fixed<uint32_t>(data[IFLA_XFRM_IF_ID], "IFLA_XFRM_IF_ID");
            facts.xfrm_link = fixed<uint32_t>(data[IFLA_XFRM_LINK], "IFLA_XFRM_LINK");
            facts.xfrm_collect_metadata = data[IFLA_XFRM_COLLECT_METADATA] != nullptr;
        }
        return facts;
    }
    return std::nullopt;
}

// RTM_NEWLINK on an existing device: IFF_UP when `up`, IFLA_MTU when `mtu` is not 0.
std::optional<KernelFailure> set_link(NetlinkSocket& socket, int ifindex, uint32_t mtu, bool up) {
    Request request(RTM_NEWLINK, 0);
    auto& info = request.put_header<ifinfomsg>();
    info.ifi_family = AF_UNSPEC;
    info.ifi_index = ifindex;
    if (up) {
        info.ifi_flags = IFF_UP;
        info.ifi_change = IFF_UP;
    }
    if (mtu != 0) mnl_attr_put_u32(request.header(), IFLA_MTU, mtu);
    return socket.request(request.bytes());
}

// IPv6 address generation off. A separate request, not part of RTM_NEWLINK's creation: the
// kernel refuses IFLA_AF_SPEC there (EAFNOSUPPORT, seen on 6.18), and the device is still down
// here, so no link-local address has been generated yet.
std::optional<KernelFailure> disable_ipv6_addresses(NetlinkSocket& socket, int ifindex) {
    Request request(RTM_NEWLINK, 0);
    auto& info = request.put_header<ifinfomsg>();
    info.ifi_family = AF_UNSPEC;
    info.ifi_index = ifindex;
    nlattr* spec = mnl_attr_nest_start(request.header(), IFLA_AF_SPEC);
    nlattr* inet6 = mnl_attr_nest_start(request.header(), AF_INET6);
    mnl_attr_put_u8(request.header(), IFLA_INET6_ADDR_GEN_MODE, IN6_ADDR_GEN_MODE_NONE);
    mnl_attr_nest_end(request.header(), inet6);
    mnl_attr_nest_end(request.header(), spec);
    auto failure = socket.request(request.bytes());
    // A kernel without IPv6 (ipv6.disable=1) has no AF_INET6 link settings, and generates no
    // addresses either.
    if (failure && failure->error_number == EAFNOSUPPORT) return std::nullopt;
    return failure;
}

std::optional<KernelFailure> create_xfrm_link(NetlinkSocket& socket,
                                              const XfrmInterfaceSpec& spec) {
    Request request(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
    request.put_header<ifinfomsg>().ifi_family = AF_UNSPEC;
    nlmsghdr* h = request.header();
    mnl_attr_put_strz(h, IFLA_IFNAME, spec.name.c_str());
    if (spec.mtu != 0) mnl_attr_put_u32(h, IFLA_MTU, spec.mtu);
    nlattr* link_info = mnl_attr_nest_start(h, IFLA_LINKINFO);
    mnl_attr_put_strz(h, IFLA_INFO_KIND, "xfrm");
    nlattr* data = mnl_attr_nest_start(h, IFLA_INFO_DATA);
    mnl_attr_put_u32(h, IFLA_XFRM_LINK, uint32_t(spec.link_ifindex));
    mnl_attr_put_u32(h, IFLA_XFRM_IF_ID, spec.if_id);
    mnl_attr_nest_end(h, data);
    mnl_attr_nest_end(h, link_info);
    return socket.request(request.bytes());
}

std::optional<KernelFailure> delete_link_named(NetlinkSocket& socket, const std::string& name) {
    Request request(RTM_DELLINK, 0);
    request.put_header<ifinfomsg>().ifi_family = AF_UNSPEC;
    mnl_attr_put_strz(request.header(), IFLA_IFNAME, name.c_str());
    return socket.request(request.bytes());
}

} // namespace

int ensure_xfrm_interface(const XfrmInterfaceSpec& spec) {
    check_device_name(spec.name);
    if (spec.if_id == 0)
        throw std::invalid_argument("XFRM interface " + spec.name + " needs an if_id other than 0");
    if (spec.link_ifindex <= 0)
        throw std::invalid_argument("XFRM interface " + spec.name + " needs a link device");
    const std::string link = device_name(spec.link_ifindex);
    const std::string what =
        "creating XFRM interface " + spec.name + " on " + link + " (if_id " + hex(spec.if_id) + ")";
    NetlinkSocket socket(NETLINK_ROUTE);

    bool created = false;
    auto existing = query_link(socket, spec.name);
    if (!existing) {
        auto failure = create_xfrm_link(socket, spec);
        if (failure && failure->error_number == EOPNOTSUPP)
            throw KernelError(format_kernel_error(what, *failure) +
                                  "; is the xfrm_interface module available?",
                              EOPNOTSUPP);
        if (failure && failure->error_number != EEXIST) throw_failure(what, *failure);
        created = !failure;
        // EEXIST: someone created a device of that name since we looked (checked below like
        // any other), or another XFRM interface has this if_id.
        existing = query_link(socket, spec.name);
        if (!existing && failure)
            throw KernelError(format_kernel_error(what, *failure) +
                                  "; does another XFRM interface have this if_id?",
                              EEXIST);
        if (!existing) throw KernelError(what + ": the device vanished as it was created", ENODEV);
    }

    // Adopt only what we would have created: anything else of that name is someone else's.
    std::string mismatch;
    if (existing->kind != "xfrm")
        mismatch = existing->kind.empty() ? "a hardware or loopback device"
                                          : "a device of kind " + existing->kind;
    else if (existing->xfrm_collect_metadata)
        mismatch = "an XFRM interface in external (collect_md) mode";
    else if (existing->xfrm_if_id != spec.if_id ||
             existing->xfrm_link != uint32_t(spec.link_ifindex))
        mismatch = "an XFRM interface with if_id " + hex(existing->xfrm_if_id.value_or(0)) +
                   " on " + device_name(int(existing->xfrm_link.value_or(0)));
    if (!mismatch.empty())
        throw KernelError(what + ": " + spec.name + " already exists as " + mismatch, EEXIST);

    auto failure = disable_ipv6_addresses(socket, existing->index);
    std::string step = "turning IPv6 address generation off";
    if (!failure) {
        failure = set_link(socket, existing->index, spec.mtu, true);
        step = "bringing it up";
        if (spec.mtu != 0) step += " with MTU " + std::to_string(spec.mtu);
    }
    if (failure) {
        // A half-configured device of our own making would be adopted next time as it is.
        if (created) delete_link_named(socket, spec.name);
        throw_failure(what + ": " + step, *failure);
    }
    return existing->index;
}

void set_link_mtu(int ifindex, uint32_t mtu) {
    if (mtu == 0) throw std::invalid_argument("MTU 0 for " + device_name(ifindex));
    NetlinkSocket socket(NETLINK_ROUTE);
    if (auto failure = set_link(socket, ifindex, mtu, false))
        throw_failure("setting MTU " + std::to_string(mtu) + " on " + device_name(ifindex),
                      *failure);
}

bool delete_link(const std::string& name) {
    check_device_name(name);
    NetlinkSocket socket(NETLINK_ROUTE);
    auto failure = delete_link_named(socket, name);
    if (!failure) return true;
    if (failure->error_number == ENODEV) return false;
    throw_failure("deleting interface " + name, *failure);
}

void replace_default_route(uint32_t table, int ifindex, gdoi::IpFamily family) {
    // Table 0 (RT_TABLE_UNSPEC) would be taken as the main table: the host's own default route.
    if (table == 0) throw std::invalid_argument("a default route of gdoid's needs a table");
    if (ifindex <= 0) throw std::invalid_argument("default route without a device");
    Request request(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE);
    auto& route = request.put_header<rtmsg>();
    route.rtm_family = uint8_t(address_family(family));
    route.rtm_table = table < 256 ? uint8_t(table) : uint8_t(RT_TABLE_UNSPEC);
    route.rtm_protocol = gdoid_routing_protocol;
    route.rtm_scope = RT_SCOPE_LINK; // no gateway: the device reaches every destination
    route.rtm_type = RTN_UNICAST;
    mnl_attr_put_u32(request.header(), RTA_TABLE, table);
    mnl_attr_put_u32(request.header(), RTA_OIF, uint32_t(ifindex));
    NetlinkSocket socket(NETLINK_ROUTE);
    if (auto failure = socket.request(request.bytes()))
        throw_failure("replacing the " + family_name(family) + " default route in table " +
                          std::to_string(table) + " (dev " + device_name(ifindex) + ")",
                      *failure);
}

} // namespace netlink
