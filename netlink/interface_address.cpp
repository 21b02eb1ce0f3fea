#include "netlink/interface_address.hpp"

#include "netlink/kernel_ipsec.hpp"

#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/socket.h>

#include <memory>
#include <sys/socket.h>

namespace netlink {

namespace {

struct Request {
    std::unique_ptr<nl_sock, void (*)(nl_sock*)> socket{nl_socket_alloc(), nl_socket_free};
    std::unique_ptr<rtnl_addr, void (*)(rtnl_addr*)> address{rtnl_addr_alloc(), rtnl_addr_put};
};

Request make_request(const std::string& device, const gdoi::IpPrefix& prefix, const std::string& verb) {
    const std::string what = verb + " address " + prefix.to_string() + " on " + device + ": ";
    Request r;
    if (!r.socket || !r.address) throw KernelError(what + "out of memory", ENOMEM);
    if (int e = nl_connect(r.socket.get(), NETLINK_ROUTE); e < 0) throw KernelError(what + nl_geterror(e), -e);
    const unsigned index = if_nametoindex(device.c_str());
    if (index == 0) throw KernelError(what + "no such interface", ENODEV);
    const int family = prefix.address.family == gdoi::IpFamily::v4 ? AF_INET : AF_INET6;
    std::unique_ptr<nl_addr, void (*)(nl_addr*)> local(
        nl_addr_build(family, prefix.address.bytes.data(), prefix.address.width_bytes()), nl_addr_put);
    if (!local) throw KernelError(what + "out of memory", ENOMEM);
    nl_addr_set_prefixlen(local.get(), prefix.length);
    rtnl_addr_set_ifindex(r.address.get(), int(index));
    rtnl_addr_set_family(r.address.get(), family);
    rtnl_addr_set_prefixlen(r.address.get(), prefix.length);
    if (int e = rtnl_addr_set_local(r.address.get(), local.get()); e < 0) throw KernelError(what + nl_geterror(e), -e);
    return r;
}

} // namespace

bool add_interface_address(const std::string& device, const gdoi::IpPrefix& prefix) {
    auto r = make_request(device, prefix, "adding");
    const int e = rtnl_addr_add(r.socket.get(), r.address.get(), NLM_F_EXCL);
    if (e == -NLE_EXIST) return false;
    if (e < 0)
        throw KernelError("adding address " + prefix.to_string() + " on " + device + ": " + nl_geterror(e), -e);
    return true;
}

bool remove_interface_address(const std::string& device, const gdoi::IpPrefix& prefix) {
    auto r = make_request(device, prefix, "removing");
    const int e = rtnl_addr_delete(r.socket.get(), r.address.get(), 0);
    if (e == -NLE_OBJ_NOTFOUND || e == -NLE_NOADDR) return false;
    if (e < 0)
        throw KernelError("removing address " + prefix.to_string() + " on " + device + ": " + nl_geterror(e), -e);
    return true;
}

} // namespace netlink
