// Reads classic pcap files (the reference key server captures) and pulls out UDP payloads.
// Test support only: it trusts nothing, but it is not product code.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace test_support {

struct UdpDatagram {
    double timestamp = 0;        // seconds since the first frame
    std::string source;          // dotted IPv4
    std::string destination;
    uint16_t source_port = 0;
    uint16_t destination_port = 0;
    std::vector<uint8_t> payload;
};

// Every IPv4/UDP datagram in the file, in order (Ethernet or BSD-loopback link types).
// Throws std::runtime_error naming the file and frame on anything it cannot read.
std::vector<UdpDatagram> read_udp_datagrams(const std::string& path);

// The path of a file under test/vectors/reference-ks, found from GDOID_SOURCE_ROOT.
std::string reference_vector_path(const std::string& file_name);

// Bytes from a hex string; whitespace is ignored. Throws on odd length or a bad digit.
std::vector<uint8_t> from_hex(const std::string& hex);
std::string to_hex(const std::vector<uint8_t>& bytes);

} // namespace test_support
