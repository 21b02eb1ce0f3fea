// The FIB rules (`ip rule`) of policy_routing.hpp: FibRule::to_string(), dump_rules(),
// add_rule(), delete_rule(). Links and the default route are in policy_routing_links.cpp.
#include "netlink/kernel_ipsec.hpp"
#include "netlink/netlink_socket.hpp"
#include "netlink/policy_routing.hpp"
#include "netlink/rtnl_attributes.hpp"

#include <cerrno>
#include <cstring>
#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace netlink {

using rtnl::address_family;
using rtnl::Attributes;
using rtnl::family_name;
using rtnl::fixed;
using rtnl::hex;
using rtnl::message_attributes;
using rtnl::read_header;
using rtnl::Request;
using rtnl::throw_failure;

namespace {

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
