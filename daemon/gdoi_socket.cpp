#include "daemon/gdoi_socket.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ifaddrs.h>
#include <net/if.h>

#include "daemon/log.hpp"

namespace gdoid::daemon {

namespace {

// sockaddr for an address and port, either family.
socklen_t make_sockaddr(const gdoi::IpAddress& address, uint16_t port, sockaddr_storage& storage) {
    std::memset(&storage, 0, sizeof storage);
    if (address.family == gdoi::IpFamily::v4) {
        auto* in = reinterpret_cast<sockaddr_in*>(&storage);
        in->sin_family = AF_INET;
        in->sin_port = htons(port);
        std::memcpy(&in->sin_addr, address.bytes.data(), 4);
        return sizeof(sockaddr_in);
    }
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&storage);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(port);
    std::memcpy(&in6->sin6_addr, address.bytes.data(), 16);
    return sizeof(sockaddr_in6);
}

std::optional<ServerAddress> from_sockaddr(const sockaddr_storage& storage) {
    ServerAddress out;
    if (storage.ss_family == AF_INET) {
        const auto* in = reinterpret_cast<const sockaddr_in*>(&storage);
        out.address.family = gdoi::IpFamily::v4;
        std::memcpy(out.address.bytes.data(), &in->sin_addr, 4);
        out.port = ntohs(in->sin_port);
        return out;
    }
    if (storage.ss_family == AF_INET6) {
        const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&storage);
        out.address.family = gdoi::IpFamily::v6;
        std::memcpy(out.address.bytes.data(), &in6->sin6_addr, 16);
        out.port = ntohs(in6->sin6_port);
        return out;
    }
    return std::nullopt;
}

// The VRF device `interface` is enslaved to, if any (sysfs names the master).
std::optional<std::string> vrf_of(const std::string& interface) {
    char target[256];
    const std::string link = "/sys/class/net/" + interface + "/master";
    const ssize_t n = ::readlink(link.c_str(), target, sizeof target - 1);
    if (n <= 0) return std::nullopt;
    const std::string path(target, size_t(n));
    const std::string master = path.substr(path.rfind('/') + 1);
    // Only an l3mdev master changes where the address is local; a bridge or bond does not.
    if (::access(("/sys/class/net/" + master + "/bridge").c_str(), F_OK) == 0) return std::nullopt;
    if (::access(("/sys/class/net/" + master + "/bonding").c_str(), F_OK) == 0) return std::nullopt;
    return master;
}

// Why binding to `address` failed with EADDRNOTAVAIL, when the routing instance is the cause:
// the address is on an interface of another VRF (or of none), so it is not local in the
// table the socket binds in. Empty when the address is on no interface at all.
std::string routing_instance_hint(const gdoi::IpAddress& address, const std::optional<std::string>& vrf) {
    ifaddrs* list = nullptr;
    if (::getifaddrs(&list) != 0) return {};
    std::string interface;
    for (const ifaddrs* a = list; a && interface.empty(); a = a->ifa_next) {
        if (!a->ifa_addr || !a->ifa_name) continue;
        if (a->ifa_addr->sa_family != AF_INET && a->ifa_addr->sa_family != AF_INET6) continue;
        sockaddr_storage storage{};
        std::memcpy(&storage, a->ifa_addr,
                    a->ifa_addr->sa_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in));
        const auto found = from_sockaddr(storage);
        if (found && found->address == address) interface = a->ifa_name;
    }
    ::freeifaddrs(list);
    if (interface.empty()) return {};
    const auto master = vrf_of(interface);
    if (master == vrf) return {};
    const std::string instance = master ? "routing instance " + *master : "the main routing table";
    const std::string advice = master ? "set routing-instance = \"" + *master + "\" in the group"
                                      : "remove routing-instance from the group";
    return " (" + address.to_string() + " is on " + interface + ", which is in " + instance + ", not in " +
           (vrf ? "routing instance " + *vrf : "the main routing table") + ": " + advice + ")";
}

} // namespace

std::unique_ptr<GdoiSocket> GdoiSocket::create(const gdoi::IpAddress& address, const std::optional<std::string>& vrf,
                                               Receiver receiver, const std::string& what, std::string& error) {
    std::unique_ptr<GdoiSocket> socket(new GdoiSocket());
    socket->address_ = address;
    socket->receiver_ = std::move(receiver);
    const int family = address.family == gdoi::IpFamily::v4 ? AF_INET : AF_INET6;
    socket->fd_ = UniqueFd(::socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP));
    if (!socket->fd_) {
        error = "cannot create " + what + ": " + std::strerror(errno);
        return nullptr;
    }
    if (vrf && setsockopt(socket->fd_.get(), SOL_SOCKET, SO_BINDTODEVICE, vrf->c_str(), socklen_t(vrf->size())) < 0) {
        error = "cannot bind " + what + " to routing instance " + *vrf + ": " + std::strerror(errno);
        return nullptr;
    }
    return socket;
}

bool GdoiSocket::watch(sd_event* event, const std::string& what, std::string& error) {
    sd_event_source* source = nullptr;
    if (const int r = sd_event_add_io(event, &source, fd_.get(), EPOLLIN, on_readable, this); r < 0) {
        error = "cannot watch " + what + ": " + std::strerror(-r);
        return false;
    }
    source_.reset(source);
    return true;
}

std::unique_ptr<GdoiSocket> GdoiSocket::open(sd_event* event, const gdoi::IpAddress& address, uint16_t port,
                                             const std::optional<std::string>& vrf, netlink::KernelIpsec* kernel,
                                             Receiver receiver, std::string& error) {
    const std::string where = ServerAddress{address, port}.to_string();
    auto socket = create(address, vrf, std::move(receiver), "the GDOI socket for " + where, error);
    if (!socket) return nullptr;
    const int fd = socket->fd_.get();
    // The bypass goes on before the first datagram: RFC 6407's control traffic must never be
    // caught by the very policies it installs.
    if (kernel) {
        try {
            kernel->bypass_socket(fd, address.family);
            socket->bypassed_ = true;
        } catch (const std::exception& e) {
            log_warning(std::string("the GDOI socket on ") + where +
                        " is not exempt from IPsec policies (" + e.what() +
                        "); a group policy covering the key servers would block registration");
        }
    }
    sockaddr_storage storage;
    const socklen_t length = make_sockaddr(address, port, storage);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&storage), length) < 0) {
        const int bind_errno = errno;
        std::string hint;
        if (bind_errno == EADDRNOTAVAIL) {
            hint = routing_instance_hint(address, vrf);
            if (hint.empty()) hint = " (is local-address configured on an interface?)";
        }
        error = "cannot bind the GDOI socket to " + where + ": " + std::strerror(bind_errno) + hint;
        return nullptr;
    }
    if (!socket->watch(event, "the GDOI socket on " + where, error)) return nullptr;
    return socket;
}

std::unique_ptr<GdoiSocket> GdoiSocket::open_multicast(sd_event* event, const gdoi::IpAddress& group, uint16_t port,
                                                       const gdoi::IpAddress& local, const std::string& interface,
                                                       const std::optional<std::string>& vrf, Receiver receiver,
                                                       std::string& error) {
    const std::string where = ServerAddress{group, port}.to_string() + " on " + interface;
    const unsigned ifindex = if_nametoindex(interface.c_str());
    if (ifindex == 0) {
        error = "cannot join " + where + ": no such interface";
        return nullptr;
    }
    auto socket = create(group, vrf, std::move(receiver), "a socket for " + where, error);
    if (!socket) return nullptr;
    const int fd = socket->fd_.get();
    const int one = 1;
    // Another group (or a restarted gdoid) may listen on the same multicast address and port.
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_storage storage;
    const socklen_t length = make_sockaddr(group, port, storage);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&storage), length) < 0) {
        error = "cannot bind " + where + ": " + std::strerror(errno);
        return nullptr;
    }
    int r = 0;
    if (group.family == gdoi::IpFamily::v4) {
        ip_mreqn request{};
        std::memcpy(&request.imr_multiaddr, group.bytes.data(), 4);
        std::memcpy(&request.imr_address, local.bytes.data(), 4);
        request.imr_ifindex = int(ifindex);
        r = setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &request, sizeof request);
    } else {
        ipv6_mreq request{};
        std::memcpy(&request.ipv6mr_multiaddr, group.bytes.data(), 16);
        request.ipv6mr_interface = ifindex;
        r = setsockopt(fd, IPPROTO_IPV6, IPV6_JOIN_GROUP, &request, sizeof request);
    }
    if (r < 0) {
        error = "cannot join " + where + ": " + std::strerror(errno);
        return nullptr;
    }
    if (!socket->watch(event, where, error)) return nullptr;
    return socket;
}

GdoiSocket::~GdoiSocket() = default;

bool GdoiSocket::send(const ServerAddress& to, std::span<const uint8_t> bytes) {
    sockaddr_storage storage;
    const socklen_t length = make_sockaddr(to.address, to.port, storage);
    if (::sendto(fd_.get(), bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&storage), length) < 0) {
        log_warning(std::string("cannot send to key server ") + to.to_string() + ": " + std::strerror(errno),
                    {.server = to.to_string()});
        return false;
    }
    return true;
}

int GdoiSocket::on_readable(sd_event_source*, int fd, uint32_t, void* userdata) {
    auto& socket = *static_cast<GdoiSocket*>(userdata);
    // GDOI messages fit in one datagram; 64 KiB covers any UDP payload.
    std::vector<uint8_t> buffer(65536);
    for (int i = 0; i < 64; ++i) { // bounded so one busy socket cannot starve the loop
        sockaddr_storage from;
        socklen_t from_length = sizeof from;
        const ssize_t n = ::recvfrom(fd, buffer.data(), buffer.size(), 0, reinterpret_cast<sockaddr*>(&from), &from_length);
        if (n < 0) break; // EAGAIN, or an ICMP error reported on the socket: nothing to read
        auto sender = from_sockaddr(from);
        if (!sender) continue;
        socket.receiver_(*sender, std::span<const uint8_t>(buffer.data(), size_t(n)));
    }
    return 0;
}

} // namespace gdoid::daemon
