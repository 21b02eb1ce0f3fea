#include "netlink/policy_routing.hpp"

#include "netlink/kernel_ipsec.hpp"
#include "netlink/netlink_socket.hpp"

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <linux/fib_rules.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <optional>
#include <span>
#include <stdexcept>
#include <sys/socket.h>

namespace netlink {

namespace {

int address_family(gdoi::IpFamily family) {
    return family == gdoi::IpFamily::v4 ? AF_INET : AF_INET6;
}

std::string family_name(gdoi::IpFamily family) {
    return family == gdoi::IpFamily::v4 ? "IPv4" : "IPv6";
}

std::string hex(uint32_t value) {
    char text[16];
    std::snprintf(text, sizeof text, "0x%x", value);
    return text;
}

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

[[noreturn]] void throw_failure(const std::string& what, const KernelFailure& failure) {
    throw KernelError(format_kernel_error(what, failure), failure.error_number);
}

// One rtnetlink request: header, fixed header, attributes. Ours are a few hundred octets at
// most, far below the buffer, so the unchecked mnl_attr_put is safe here (as in
// interface_address.cpp).
class Request {
public:
    Request(uint16_t type, uint16_t flags) : buffer_(MNL_SOCKET_BUFFER_SIZE) {
        nlmsghdr* h = mnl_nlmsg_put_header(buffer_.data());
        h->nlmsg_type = type;
        h->nlmsg_flags = uint16_t(NLM_F_REQUEST | flags);
    }
    template <class T> T& put_header() {
        return *static_cast<T*>(mnl_nlmsg_put_extra_header(header(), sizeof(T)));
    }
    nlmsghdr* header() { return reinterpret_cast<nlmsghdr*>(buffer_.data()); }
    std::span<uint8_t> bytes() { return {buffer_.data(), header()->nlmsg_len}; }

private:
    std::vector<uint8_t> buffer_;
};

// The attributes after a message's fixed header, or inside a nested attribute, by type; the
// last of each type wins, as in the kernel's own parsing. Large enough for every IFLA_*, FRA_*
// and RTA_* type we read; `beyond_table` notes a type past it (a rule with one is left out).
struct Attributes {
    std::array<const nlattr*, 64> by_type{};
    bool beyond_table = false;

    const nlattr* operator[](uint16_t type) const {
        return type < by_type.size() ? by_type[type] : nullptr;
    }
};

int collect_attribute(const nlattr* attribute, void* data) {
    auto* attributes = static_cast<Attributes*>(data);
    const uint16_t type = mnl_attr_get_type(attribute);
    if (type < attributes->by_type.size())
        attributes->by_type[type] = attribute;
    else
        attributes->beyond_table = true;
    return MNL_CB_OK;
}

template <class T> bool read_header(const nlmsghdr* message, T& out) {
    if (message->nlmsg_len < MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(T))) return false;
    std::memcpy(&out, mnl_nlmsg_get_payload(message), sizeof out);
    return true;
}

Attributes message_attributes(const nlmsghdr* message, size_t header_size) {
    Attributes attributes;
    mnl_attr_parse(message, unsigned(header_size), collect_attribute, &attributes);
    return attributes;
}

Attributes nested_attributes(const nlattr* nest) {
    Attributes attributes;
    if (nest) mnl_attr_parse_nested(nest, collect_attribute, &attributes);
    return attributes;
}

// A fixed-size attribute's value; nullopt when absent. A wrong size is the kernel's fault,
// reported like AttributeSet reports it.
template <class T> std::optional<T> fixed(const nlattr* attribute, const char* name) {
    if (!attribute) return std::nullopt;
    if (mnl_attr_get_payload_len(attribute) != sizeof(T))
        throw std::runtime_error(std::string("kernel sent a malformed attribute: ") + name +
                                 " must be " + std::to_string(sizeof(T)) + " octets, not " +
                                 std::to_string(mnl_attr_get_payload_len(attribute)));
    T value;
    std::memcpy(&value, mnl_attr_get_payload(attribute), sizeof value);
    return value;
}

std::string string_attribute(const nlattr* attribute) {
    if (!attribute) return {};
    const auto* text = static_cast<const char*>(mnl_attr_get_payload(attribute));
    return std::string(text, strnlen(text, mnl_attr_get_payload_len(attribute)));
}

// ---- links ----

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

// ---- FIB rules ----

uint8_t kernel_action(FibRule::Action action) {
    switch (action) {
    case FibRule::Action::to_table:
        return FR_ACT_TO_TBL;
    case FibRule::Action::go_to:
        return FR_ACT_GOTO;
    case FibRule::Action::nop:
        return FR_ACT_NOP;
    }
    throw std::invalid_argument("unknown FIB rule action " + std::to_string(int(action)));
}

void check_prefix(gdoi::IpFamily family, const gdoi::IpPrefix& prefix, const char* which,
                  const FibRule& rule) {
    const std::string where = "FIB rule " + rule.to_string() + ": " + which + " ";
    if (prefix.length == 0) {
        // The kernel reports "any" without an address: only IpPrefix{} reads back equal.
        if (prefix != gdoi::IpPrefix{})
            throw std::invalid_argument(where + prefix.to_string() +
                                        " has length 0: write \"any\" as IpPrefix{}");
        return;
    }
    if (prefix.address.family != family)
        throw std::invalid_argument(where + prefix.to_string() + " is not " + family_name(family));
    if (prefix.length > prefix.address.width_bits())
        throw std::invalid_argument(where + prefix.to_string() + " is longer than its address");
}

// The FibRule conventions of policy_routing.hpp, which make add_rule()'s rule compare equal to
// what dump_rules() reads back.
void check_rule(gdoi::IpFamily family, const FibRule& rule) {
    check_prefix(family, rule.source, "source", rule);
    check_prefix(family, rule.destination, "destination", rule);
    const std::string where = "FIB rule " + rule.to_string() + ": ";
    if (rule.fwmark & ~rule.fwmask)
        throw std::invalid_argument(where + "fwmark " + hex(rule.fwmark) +
                                    " has bits outside its mask " + hex(rule.fwmask));
    const bool to_table = rule.action == FibRule::Action::to_table;
    const bool go_to = rule.action == FibRule::Action::go_to;
    if (to_table != (rule.table != 0))
        throw std::invalid_argument(
            where + (to_table ? "a lookup needs a table" : "only a lookup rule has a table"));
    if (go_to != (rule.goto_priority != 0))
        throw std::invalid_argument(where + (go_to ? "a goto needs a target priority"
                                                   : "only a goto rule has a target priority"));
    kernel_action(rule.action);
}

// RTM_NEWRULE / RTM_DELRULE for the rule, as `ip rule add|del ... proto 109` sends it.
Request rule_request(uint16_t type, uint16_t flags, gdoi::IpFamily family, const FibRule& rule) {
    Request request(type, flags);
    auto& header = request.put_header<fib_rule_hdr>();
    header.family = uint8_t(address_family(family));
    header.src_len = rule.source.length;
    header.dst_len = rule.destination.length;
    header.action = kernel_action(rule.action);
    // The one-octet table field for tables that fit it, as iproute2 does; FRA_TABLE wins anyway.
    if (rule.action == FibRule::Action::to_table && rule.table < 256)
        header.table = uint8_t(rule.table);
    nlmsghdr* h = request.header();
    mnl_attr_put_u32(h, FRA_PRIORITY, rule.priority);
    mnl_attr_put_u8(h, FRA_PROTOCOL, gdoid_routing_protocol);
    const auto width = uint16_t(rule.source.address.width_bytes());
    if (rule.source.length) mnl_attr_put(h, FRA_SRC, width, rule.source.address.bytes.data());
    if (rule.destination.length)
        mnl_attr_put(h, FRA_DST, uint16_t(rule.destination.address.width_bytes()),
                     rule.destination.address.bytes.data());
    if (rule.ip_protocol) mnl_attr_put_u8(h, FRA_IP_PROTO, rule.ip_protocol);
    if (rule.source_port) {
        const fib_rule_port_range range{rule.source_port, rule.source_port};
        mnl_attr_put(h, FRA_SPORT_RANGE, sizeof range, &range);
    }
    if (rule.destination_port) {
        const fib_rule_port_range range{rule.destination_port, rule.destination_port};
        mnl_attr_put(h, FRA_DPORT_RANGE, sizeof range, &range);
    }
    // Both, always: a mark alone would get the mask 0xffffffff from the kernel.
    if (rule.fwmark || rule.fwmask) {
        mnl_attr_put_u32(h, FRA_FWMARK, rule.fwmark);
        mnl_attr_put_u32(h, FRA_FWMASK, rule.fwmask);
    }
    if (rule.action == FibRule::Action::to_table) mnl_attr_put_u32(h, FRA_TABLE, rule.table);
    if (rule.action == FibRule::Action::go_to) mnl_attr_put_u32(h, FRA_GOTO, rule.goto_priority);
    return request;
}

struct ReportedRule {
    FibRule rule;
    uint8_t protocol = 0;
};

std::optional<gdoi::IpPrefix> rule_prefix(gdoi::IpFamily family, uint8_t length,
                                          const nlattr* attribute) {
    if (length == 0) return gdoi::IpPrefix{};
    gdoi::IpPrefix prefix;
    prefix.address.family = family;
    prefix.length = length;
    if (!attribute || mnl_attr_get_payload_len(attribute) != prefix.address.width_bytes() ||
        length > prefix.address.width_bits())
        return std::nullopt;
    std::memcpy(prefix.address.bytes.data(), mnl_attr_get_payload(attribute),
                prefix.address.width_bytes());
    return prefix;
}

// One port from a range; nullopt for a real range (start < end), which FibRule cannot hold.
std::optional<uint16_t> single_port(const nlattr* attribute, const char* name) {
    const auto range = fixed<fib_rule_port_range>(attribute, name);
    if (!range) return uint16_t(0);
    if (range->start != range->end) return std::nullopt;
    return range->start;
}

// Newer than Debian 12's uapi headers (Linux 6.16): port masks.
static_assert(FRA_DPORT_RANGE == 24, "unexpected FIB rule attribute numbering");
constexpr uint16_t fra_sport_mask = 28;
constexpr uint16_t fra_dport_mask = 29;

// Whether a rule attribute of this type and value can be part of a FibRule. Anything else the
// kernel reports (iif, oif, uid range, l3mdev, tun_id, realms, DSCP, flow label, port masks...)
// is a selector FibRule has no field for.
bool expressible(uint16_t type, const nlattr* attribute) {
    switch (type) {
    case FRA_DST:
    case FRA_SRC:
    case FRA_GOTO:
    case FRA_PRIORITY:
    case FRA_FWMARK:
    case FRA_FWMASK:
    case FRA_TABLE:
    case FRA_PAD:
    case FRA_PROTOCOL:
    case FRA_IP_PROTO:
    case FRA_SPORT_RANGE:
    case FRA_DPORT_RANGE:
        return true;
    case fra_sport_mask:
    case fra_dport_mask:
        // A full mask, as the kernel reports it beside a single port (6.18), changes nothing.
        return fixed<uint16_t>(attribute, "FRA_*PORT_MASK") == 0xffff;
    case FRA_SUPPRESS_PREFIXLEN:
    case FRA_SUPPRESS_IFGROUP:
        // Reported on every rule (6.18 at least), as -1 when not set.
        return fixed<uint32_t>(attribute, "FRA_SUPPRESS_*") == 0xffffffff;
    default:
        return false;
    }
}

// A dumped RTM_NEWRULE as a FibRule; nullopt when FibRule cannot express it exactly.
std::optional<ReportedRule> parse_rule(gdoi::IpFamily family, const nlmsghdr* message) {
    fib_rule_hdr header;
    if (message->nlmsg_type != RTM_NEWRULE || !read_header(message, header)) return std::nullopt;
    if (header.family != address_family(family)) return std::nullopt;
    if (header.tos != 0 || (header.flags & FIB_RULE_INVERT)) return std::nullopt;
    ReportedRule reported;
    FibRule& rule = reported.rule;
    switch (header.action) {
    case FR_ACT_TO_TBL:
        rule.action = FibRule::Action::to_table;
        break;
    case FR_ACT_GOTO:
        rule.action = FibRule::Action::go_to;
        break;
    case FR_ACT_NOP:
        rule.action = FibRule::Action::nop;
        break;
    default:
        return std::nullopt; // blackhole, unreachable, prohibit
    }
    const Attributes attributes = message_attributes(message, sizeof header);
    if (attributes.beyond_table) return std::nullopt;
    for (uint16_t type = 0; type < attributes.by_type.size(); ++type)
        if (attributes.by_type[type] && !expressible(type, attributes.by_type[type]))
            return std::nullopt;

    rule.priority = fixed<uint32_t>(attributes[FRA_PRIORITY], "FRA_PRIORITY").value_or(0);
    reported.protocol = fixed<uint8_t>(attributes[FRA_PROTOCOL], "FRA_PROTOCOL").value_or(0);
    auto source = rule_prefix(family, header.src_len, attributes[FRA_SRC]);
    auto destination = rule_prefix(family, header.dst_len, attributes[FRA_DST]);
    if (!source || !destination) return std::nullopt;
    rule.source = *source;
    rule.destination = *destination;
    rule.ip_protocol = fixed<uint8_t>(attributes[FRA_IP_PROTO], "FRA_IP_PROTO").value_or(0);
    auto source_port = single_port(attributes[FRA_SPORT_RANGE], "FRA_SPORT_RANGE");
    auto destination_port = single_port(attributes[FRA_DPORT_RANGE], "FRA_DPORT_RANGE");
    if (!source_port || !destination_port) return std::nullopt;
    rule.source_port = *source_port;
    rule.destination_port = *destination_port;
    rule.fwmark = fixed<uint32_t>(attributes[FRA_FWMARK], "FRA_FWMARK").value_or(0);
    rule.fwmask = fixed<uint32_t>(attributes[FRA_FWMASK], "FRA_FWMASK").value_or(0);
    const uint32_t table =
        fixed<uint32_t>(attributes[FRA_TABLE], "FRA_TABLE").value_or(header.table);
    const uint32_t target = fixed<uint32_t>(attributes[FRA_GOTO], "FRA_GOTO").value_or(0);
    if (rule.action == FibRule::Action::to_table) {
        rule.table = table;
    } else if (table != 0) {
        return std::nullopt; // a goto or nop that names a table: not one of ours
    }
    if (rule.action == FibRule::Action::go_to) rule.goto_priority = target;
    return reported;
}

std::vector<ReportedRule> dump_reported_rules(NetlinkSocket& socket, gdoi::IpFamily family,
                                              uint32_t first, uint32_t last) {
    Request request(RTM_GETRULE, 0);
    request.put_header<fib_rule_hdr>().family = uint8_t(address_family(family));
    const auto messages =
        socket.dump(request.bytes(), "dumping " + family_name(family) + " FIB rules");
    std::vector<ReportedRule> rules;
    for (const auto& bytes : messages) {
        auto reported = parse_rule(family, reinterpret_cast<const nlmsghdr*>(bytes.data()));
        if (reported && reported->rule.priority >= first && reported->rule.priority <= last)
            rules.push_back(std::move(*reported));
    }
    return rules;
}

bool has_own_rule(NetlinkSocket& socket, gdoi::IpFamily family, const FibRule& rule) {
    for (const auto& reported : dump_reported_rules(socket, family, rule.priority, rule.priority))
        if (reported.rule == rule && reported.protocol == gdoid_routing_protocol) return true;
    return false;
}

const char* protocol_name(uint8_t protocol) {
    switch (protocol) {
    case IPPROTO_ICMP:
        return "icmp";
    case IPPROTO_TCP:
        return "tcp";
    case IPPROTO_UDP:
        return "udp";
    case IPPROTO_ESP:
        return "esp";
    case IPPROTO_ICMPV6:
        return "ipv6-icmp";
    default:
        return nullptr;
    }
}

} // namespace

// In the order `ip rule show` prints them.
std::string FibRule::to_string() const {
    std::string text = "pref " + std::to_string(priority);
    if (source.length) text += " from " + source.to_string();
    if (destination.length) text += " to " + destination.to_string();
    if (fwmark || fwmask) text += " fwmark " + hex(fwmark) + "/" + hex(fwmask);
    if (ip_protocol) {
        const char* name = protocol_name(ip_protocol);
        text += " ipproto " + (name ? std::string(name) : std::to_string(ip_protocol));
    }
    if (source_port) text += " sport " + std::to_string(source_port);
    if (destination_port) text += " dport " + std::to_string(destination_port);
    switch (action) {
    case Action::to_table:
        text += " lookup " + std::to_string(table);
        break;
    case Action::go_to:
        text += " goto " + std::to_string(goto_priority);
        break;
    case Action::nop:
        text += " nop";
        break;
    }
    return text;
}

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

std::vector<FibRule> dump_rules(gdoi::IpFamily family, uint32_t first, uint32_t last) {
    NetlinkSocket socket(NETLINK_ROUTE);
    std::vector<FibRule> rules;
    for (auto& reported : dump_reported_rules(socket, family, first, last))
        rules.push_back(reported.rule);
    return rules;
}

bool add_rule(gdoi::IpFamily family, const FibRule& rule) {
    check_rule(family, rule);
    const std::string what = "adding " + family_name(family) + " FIB rule " + rule.to_string();
    NetlinkSocket socket(NETLINK_ROUTE);
    Request request = rule_request(RTM_NEWRULE, NLM_F_CREATE | NLM_F_EXCL, family, rule);
    auto failure = socket.request(request.bytes());
    if (!failure) return true;
    if (failure->error_number != EEXIST) throw_failure(what, *failure);
    // The kernel's duplicate check ignores the goto target: make sure it is this very rule.
    if (has_own_rule(socket, family, rule)) return false;
    throw KernelError(format_kernel_error(what, *failure) +
                          ": the kernel takes it for a rule already there (one that differs "
                          "only in its goto target)",
                      EEXIST);
}

bool delete_rule(gdoi::IpFamily family, const FibRule& rule) {
    check_rule(family, rule);
    NetlinkSocket socket(NETLINK_ROUTE);
    if (!has_own_rule(socket, family, rule)) return false;
    Request request = rule_request(RTM_DELRULE, 0, family, rule);
    auto failure = socket.request(request.bytes());
    if (!failure) return true;
    if (failure->error_number == ENOENT) return false; // deleted by someone else meanwhile
    throw_failure("deleting " + family_name(family) + " FIB rule " + rule.to_string(), *failure);
}

} // namespace netlink
