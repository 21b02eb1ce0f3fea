// tcp-mss at LAN ingress: a SYN toward the group's remote prefixes leaves with its MSS option
// lowered to the configured value and a TCP checksum that still verifies; everything else is
// left exactly as it was.
#include "datapath_fixture.hpp"

#include <catch2/catch.hpp>

using namespace bpftest;
using bpf::Program;

namespace {

constexpr uint8_t kProtoTcp = 6;
constexpr size_t kEthernet = 14, kIpv4 = 20;

// A TCP header with options NOP, NOP, MSS `mss`, SACK-permitted, then `flags`; checksum over
// the IPv4 pseudo-header, as a host sends it.
Bytes tcp_segment(const gdoi::IpAddress& source, const gdoi::IpAddress& destination, uint16_t mss,
                  uint8_t flags) {
    Bytes tcp = {0x9c, 0x40, 0x13, 0x89,           // ports 40000 -> 5001
                 0, 0, 0, 1, 0, 0, 0, 0,            // sequence, acknowledgement
                 0x80, flags, 0xfa, 0xf0, 0, 0, 0, 0, // data offset 8 words, window, checksum, urgent
                 1, 1, 2, 4, uint8_t(mss >> 8), uint8_t(mss), 4, 2, 0, 0, 0, 0};
    Bytes pseudo;
    pseudo.insert(pseudo.end(), source.bytes.begin(), source.bytes.begin() + 4);
    pseudo.insert(pseudo.end(), destination.bytes.begin(), destination.bytes.begin() + 4);
    pseudo.insert(pseudo.end(), {0, kProtoTcp, 0, uint8_t(tcp.size())});
    pseudo.insert(pseudo.end(), tcp.begin(), tcp.end());
    const uint16_t sum = internet_checksum(pseudo);
    tcp[16] = uint8_t(sum >> 8);
    tcp[17] = uint8_t(sum);
    return tcp;
}

uint16_t mss_of(const Bytes& frame) {
    const size_t option = kEthernet + kIpv4 + 20 + 2; // after the two NOPs
    return uint16_t(frame[option + 2] << 8 | frame[option + 3]);
}

bool tcp_checksum_ok(const Bytes& frame, const gdoi::IpAddress& source, const gdoi::IpAddress& destination) {
    Bytes pseudo;
    pseudo.insert(pseudo.end(), source.bytes.begin(), source.bytes.begin() + 4);
    pseudo.insert(pseudo.end(), destination.bytes.begin(), destination.bytes.begin() + 4);
    const size_t length = frame.size() - kEthernet - kIpv4;
    pseudo.insert(pseudo.end(), {0, kProtoTcp, uint8_t(length >> 8), uint8_t(length)});
    pseudo.insert(pseudo.end(), frame.begin() + kEthernet + kIpv4, frame.end());
    return internet_checksum(pseudo) == 0;
}

struct MssFixture : Fixture {
    explicit MssFixture(uint16_t limit) {
        auto config = test_config();
        config.tcp_mss = limit;
        datapath.configure(config);
    }
};

} // namespace

TEST_CASE("tcp-mss lowers a SYN's MSS toward the remote prefixes and keeps the checksum valid",
          "[bpf][lan][mss]") {
    MssFixture f(1300);
    const auto a = ip("10.1.0.11"), b = ip("10.2.0.10");
    const int fd = f.datapath.program_fd(Program::lan_ingress);

    SECTION("SYN with 1460: clamped to 1300") {
        const Bytes frame = ipv4_frame(a, b, tcp_segment(a, b, 1460, 0x02), {.protocol = kProtoTcp});
        REQUIRE(tcp_checksum_ok(frame, a, b));
        auto result = run(fd, frame);
        CHECK(result.retval == kActOk);
        result.frame.resize(frame.size());
        CHECK(mss_of(result.frame) == 1300);
        CHECK(tcp_checksum_ok(result.frame, a, b));
        CHECK(f.datapath.counters().lan_mss_clamped == 1);
        // Only the option and the checksum changed.
        Bytes expected = frame;
        for (size_t i : {kEthernet + kIpv4 + 16, kEthernet + kIpv4 + 17, kEthernet + kIpv4 + 24, kEthernet + kIpv4 + 25})
            expected[i] = result.frame[i];
        CHECK(result.frame == expected);
    }
    SECTION("SYN-ACK too") {
        const Bytes frame = ipv4_frame(a, b, tcp_segment(a, b, 1460, 0x12), {.protocol = kProtoTcp});
        auto result = run(fd, frame);
        result.frame.resize(frame.size());
        CHECK(mss_of(result.frame) == 1300);
        CHECK(tcp_checksum_ok(result.frame, a, b));
    }
    SECTION("an MSS already below the limit, a plain ACK, other destinations: untouched") {
        for (const auto& frame : {ipv4_frame(a, b, tcp_segment(a, b, 1200, 0x02), {.protocol = kProtoTcp}),
                                  ipv4_frame(a, b, tcp_segment(a, b, 1460, 0x10), {.protocol = kProtoTcp}),
                                  ipv4_frame(a, ip("192.0.2.77"), tcp_segment(a, ip("192.0.2.77"), 1460, 0x02),
                                             {.protocol = kProtoTcp})}) {
            auto result = run(fd, frame);
            result.frame.resize(frame.size());
            CHECK(result.frame == frame);
        }
        CHECK(f.datapath.counters().lan_mss_clamped == 0);
    }
}

TEST_CASE("without tcp-mss a SYN keeps its MSS", "[bpf][lan][mss]") {
    Fixture f;
    const auto a = ip("10.1.0.11"), b = ip("10.2.0.10");
    const Bytes frame = ipv4_frame(a, b, tcp_segment(a, b, 1460, 0x02), {.protocol = kProtoTcp});
    auto result = run(f.datapath.program_fd(Program::lan_ingress), frame);
    result.frame.resize(frame.size());
    CHECK(result.frame == frame);
    CHECK(f.datapath.counters().lan_mss_clamped == 0);
}
