// Adding and removing one address on an interface (rtnetlink via libmnl): how gdoid puts
// its inbound anchor address (design.md) on the loopback device when the operator has not.
#pragma once

#include "gdoi/ip_address.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace netlink {

// The MTU of a network interface in our namespace (SIOCGIFMTU); nullopt when unknown.
std::optional<uint32_t> interface_mtu(const std::string& name);

// Adds `prefix` (address/length) to `device`. Returns false when the address was already
// there (nothing changed), true when it was added. Throws KernelError naming the device and
// the kernel's reason.
bool add_interface_address(const std::string& device, const gdoi::IpPrefix& prefix);
// Removes it; false when it was not there. Throws KernelError on any other refusal.
bool remove_interface_address(const std::string& device, const gdoi::IpPrefix& prefix);

} // namespace netlink
