#include "netlink/interface_address.hpp"

#include "netlink/kernel_ipsec.hpp"
#include "netlink/netlink_socket.hpp"

#include <cerrno>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

namespace netlink {

namespace {

// RTM_NEWADDR / RTM_DELADDR for prefix on device, as `ip addr add|del` sends it: IFA_LOCAL and
// IFA_ADDRESS both the address. The kernel's refusal, or nullopt when it accepted.
std::optional<KernelFailure> change_address(uint16_t type, uint16_t flags,
                                            const std::string& device, const gdoi::IpPrefix& prefix,
                                            const std::string& what) {
    const unsigned index = if_nametoindex(device.c_str());
    if (index == 0) throw KernelError(what + ": no such interface", ENODEV);
    std::vector<uint8_t> buffer(MNL_SOCKET_BUFFER_SIZE);
    nlmsghdr* request = mnl_nlmsg_put_header(buffer.data());
    request->nlmsg_type = type;
    request->nlmsg_flags = uint16_t(NLM_F_REQUEST | flags);
    auto* info = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(request, sizeof(ifaddrmsg)));
    info->ifa_family = prefix.address.family == gdoi::IpFamily::v4 ? AF_INET : AF_INET6;
    info->ifa_prefixlen = prefix.length;
    info->ifa_scope = RT_SCOPE_UNIVERSE;
    info->ifa_index = index;
    const auto width = uint16_t(prefix.address.width_bytes());
    mnl_attr_put(request, IFA_LOCAL, width, prefix.address.bytes.data());
    mnl_attr_put(request, IFA_ADDRESS, width, prefix.address.bytes.data());
    NetlinkSocket socket(NETLINK_ROUTE);
    return socket.request({buffer.data(), request->nlmsg_len});
}

} // namespace

bool add_interface_address(const std::string& device, const gdoi::IpPrefix& prefix) {
    const std::string what = "adding address " + prefix.to_string() + " on " + device;
    const auto failure =
        change_address(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, device, prefix, what);
    if (!failure) return true;
    if (failure->error_number == EEXIST) return false;
    throw KernelError(format_kernel_error(what, *failure), failure->error_number);
}

bool remove_interface_address(const std::string& device, const gdoi::IpPrefix& prefix) {
    const std::string what = "removing address " + prefix.to_string() + " on " + device;
    const auto failure = change_address(RTM_DELADDR, 0, device, prefix, what);
    if (!failure) return true;
    if (failure->error_number == EADDRNOTAVAIL || failure->error_number == ENOENT) return false;
    throw KernelError(format_kernel_error(what, *failure), failure->error_number);
}

std::optional<uint32_t> interface_mtu(const std::string& name) {
    if (name.empty() || name.size() >= IFNAMSIZ) return std::nullopt;
    const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return std::nullopt;
    ifreq request{};
    name.copy(request.ifr_name, name.size());
    const bool ok = ioctl(fd, SIOCGIFMTU, &request) == 0;
    close(fd);
    if (!ok || request.ifr_mtu <= 0) return std::nullopt;
    return uint32_t(request.ifr_mtu);
}

} // namespace netlink
