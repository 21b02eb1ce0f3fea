// A small RAII UDP socket (IPv4/IPv6) for the test key server and pull-probe.
#pragma once

#include "gdoi/ip_address.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace gdoi_test_ks {

class UdpSocket {
public:
    // Binds to address:port (port 0 = any); throws std::runtime_error naming both on failure.
    UdpSocket(const gdoi::IpAddress& address, uint16_t port);
    ~UdpSocket();
    UdpSocket(UdpSocket&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
    UdpSocket(const UdpSocket&) = delete;
    UdpSocket& operator=(const UdpSocket&) = delete;
    UdpSocket& operator=(UdpSocket&&) = delete;

    int fd() const { return fd_; }
    // False when the kernel refused the datagram (no route, ...): the same as a lost one.
    bool send_to(std::span<const uint8_t> data, const gdoi::IpAddress& to, uint16_t port) const;
    // IPv4 multicast: send through the interface holding `interface` (0.0.0.0: the routing
    // table decides) with `ttl`; join `group` on the interface holding `interface`.
    void set_multicast_sender(const gdoi::IpAddress& interface, int ttl) const;
    void join_multicast(const gdoi::IpAddress& group, const gdoi::IpAddress& interface) const;
    struct Received {
        std::vector<uint8_t> data;
        gdoi::IpAddress from;
        uint16_t port = 0;
    };
    // Non-blocking read; nullopt when nothing is queued.
    std::optional<Received> receive() const;

private:
    int fd_ = -1;
};

} // namespace gdoi_test_ks
