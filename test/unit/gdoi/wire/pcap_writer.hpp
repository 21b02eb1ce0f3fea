// Writes IPv4/UDP datagrams into a classic pcap file (LINKTYPE_RAW) so tshark can read what our
// encoder produces. Test support only.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace test_support {

class PcapWriter {
public:
    void add_udp(std::array<uint8_t, 4> source, std::array<uint8_t, 4> destination, uint16_t port,
                 std::span<const uint8_t> payload);
    // Throws std::runtime_error if the file cannot be written.
    void save(const std::string& path) const;
    size_t frames() const { return frames_; }

private:
    std::vector<uint8_t> records_;
    size_t frames_ = 0;
};

} // namespace test_support
