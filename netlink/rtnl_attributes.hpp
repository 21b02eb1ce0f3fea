// Internal to netlink/, included only by its .cpp files: the rtnetlink plumbing that the
// policy-routing halves share (policy_routing_links.cpp, policy_routing_rules.cpp). A request
// buffer, reading a reply's fixed header and attributes, family names, and turning a
// KernelFailure into a KernelError. Not part of netlink/'s interface.
#pragma once

#include "gdoi/ip_address.hpp"
#include "netlink/netlink_socket.hpp"

#include <array>
#include <cstdint>
#include <cstring>
#include <libmnl/libmnl.h>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace netlink::rtnl {

// AF_INET or AF_INET6.
int address_family(gdoi::IpFamily family);

// "IPv4" or "IPv6" (messages only).
std::string family_name(gdoi::IpFamily family);

// "0x1f" (messages only).
std::string hex(uint32_t value);

[[noreturn]] void throw_failure(const std::string& what, const KernelFailure& failure);

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

template <class T> bool read_header(const nlmsghdr* message, T& out) {
    if (message->nlmsg_len < MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(T))) return false;
    std::memcpy(&out, mnl_nlmsg_get_payload(message), sizeof out);
    return true;
}

Attributes message_attributes(const nlmsghdr* message, size_t header_size);

// Empty when `nest` is null.
Attributes nested_attributes(const nlattr* nest);

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

// A string attribute up to its first NUL or its end; empty when absent.
std::string string_attribute(const nlattr* attribute);

} // namespace netlink::rtnl
