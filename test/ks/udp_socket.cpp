#include "test/ks/udp_socket.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdexcept>
#include <sys/socket.h>
#include <unistd.h>

namespace gdoi_test_ks {

using gdoi::IpAddress;
using gdoi::IpFamily;

namespace {
socklen_t to_sockaddr(const IpAddress& a, uint16_t port, sockaddr_storage& s) {
    std::memset(&s, 0, sizeof s);
    if (a.family == IpFamily::v4) {
        auto* in = reinterpret_cast<sockaddr_in*>(&s);
        in->sin_family = AF_INET;
        in->sin_port = htons(port);
        std::memcpy(&in->sin_addr, a.bytes.data(), 4);
        return sizeof(sockaddr_in);
    }
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&s);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(port);
    std::memcpy(&in6->sin6_addr, a.bytes.data(), 16);
    return sizeof(sockaddr_in6);
}
} // namespace

UdpSocket::UdpSocket(const IpAddress& address, uint16_t port) {
    fd_ = ::socket(address.family == IpFamily::v4 ? AF_INET : AF_INET6,
                   SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
    // A fixed port (848) may be taken again at once after a restart. Never for port 0: Linux may
    // hand two SO_REUSEADDR sockets the same ephemeral port, and then one of them receives
    // the other's datagrams (bench-storm: a member whose key server answers went to another
    // member's socket, about one run in three with 200 members).
    if (port != 0) {
        int one = 1;
        ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        // The key server's listening socket: hundreds of members may send their first message
        // in the same millisecond (after a power cut); Linux's default 208 KiB holds about 150
        // of them, and every one dropped costs its member a retransmission (bench-storm: 50 of
        // 200). SO_RCVBUFFORCE passes net.core.rmem_max as root; SO_RCVBUF is the fallback.
        int bytes = 4 << 20;
        if (::setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof bytes) != 0)
            ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
    }
    sockaddr_storage s;
    socklen_t length = to_sockaddr(address, port, s);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&s), length) != 0) {
        int e = errno;
        ::close(fd_);
        fd_ = -1;
        throw std::runtime_error("cannot bind UDP " + address.to_string() + ":" +
                                 std::to_string(port) + ": " + std::strerror(e));
    }
}

UdpSocket::~UdpSocket() {
    if (fd_ >= 0) ::close(fd_);
}

bool UdpSocket::send_to(std::span<const uint8_t> data, const IpAddress& to, uint16_t port) const {
    sockaddr_storage s;
    socklen_t length = to_sockaddr(to, port, s);
    // Datagrams may be lost anyway; a failed send is the same as a lost one for the protocol.
    return ::sendto(fd_, data.data(), data.size(), 0, reinterpret_cast<sockaddr*>(&s), length) ==
           static_cast<ssize_t>(data.size());
}

void UdpSocket::set_multicast_sender(const IpAddress& interface, int ttl) const {
    if (interface.family != IpFamily::v4)
        throw std::runtime_error("multicast pushes are IPv4 only here");
    in_addr address{};
    std::memcpy(&address, interface.bytes.data(), 4);
    if (address.s_addr != INADDR_ANY &&
        ::setsockopt(fd_, IPPROTO_IP, IP_MULTICAST_IF, &address, sizeof address) != 0)
        throw std::runtime_error("IP_MULTICAST_IF " + interface.to_string() + ": " +
                                 std::strerror(errno));
    if (::setsockopt(fd_, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl) != 0)
        throw std::runtime_error(std::string("IP_MULTICAST_TTL: ") + std::strerror(errno));
}

void UdpSocket::join_multicast(const IpAddress& group, const IpAddress& interface) const {
    ip_mreq request{};
    std::memcpy(&request.imr_multiaddr, group.bytes.data(), 4);
    std::memcpy(&request.imr_interface, interface.bytes.data(), 4);
    if (::setsockopt(fd_, IPPROTO_IP, IP_ADD_MEMBERSHIP, &request, sizeof request) != 0)
        throw std::runtime_error("cannot join " + group.to_string() + " on " +
                                 interface.to_string() + ": " + std::strerror(errno));
}

std::optional<UdpSocket::Received> UdpSocket::receive() const {
    std::vector<uint8_t> buffer(65536);
    sockaddr_storage s;
    socklen_t length = sizeof s;
    ssize_t n =
        ::recvfrom(fd_, buffer.data(), buffer.size(), 0, reinterpret_cast<sockaddr*>(&s), &length);
    if (n < 0) return std::nullopt;
    buffer.resize(static_cast<size_t>(n));
    Received r;
    r.data = std::move(buffer);
    if (s.ss_family == AF_INET) {
        auto* in = reinterpret_cast<sockaddr_in*>(&s);
        r.from.family = IpFamily::v4;
        std::memcpy(r.from.bytes.data(), &in->sin_addr, 4);
        r.port = ntohs(in->sin_port);
    } else {
        auto* in6 = reinterpret_cast<sockaddr_in6*>(&s);
        r.from.family = IpFamily::v6;
        std::memcpy(r.from.bytes.data(), &in6->sin6_addr, 16);
        r.port = ntohs(in6->sin6_port);
    }
    return r;
}

} // namespace gdoi_test_ks
