#include "netlink/rtnl_attributes.hpp"

#include "netlink/kernel_ipsec.hpp"

#include <cstdio>
#include <sys/socket.h>

namespace netlink::rtnl {

namespace {

int collect_attribute(const nlattr* attribute, void* data) {
    auto* attributes = static_cast<Attributes*>(data);
    const uint16_t type = mnl_attr_get_type(attribute);
    if (type < attributes->by_type.size())
        attributes->by_type[type] = attribute;
    else
        attributes->beyond_table = true;
    return MNL_CB_OK;
}

} // namespace

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

[[noreturn]] void throw_failure(const std::string& what, const KernelFailure& failure) {
    throw KernelError(format_kernel_error(what, failure), failure.error_number);
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

std::string string_attribute(const nlattr* attribute) {
    if (!attribute) return {};
    const auto* text = static_cast<const char*>(mnl_attr_get_payload(attribute));
    return std::string(text, strnlen(text, mnl_attr_get_payload_len(attribute)));
}

} // namespace netlink::rtnl
