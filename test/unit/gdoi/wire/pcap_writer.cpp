#include "pcap_writer.hpp"

#include <fstream>
#include <stdexcept>

namespace test_support {

namespace {
void le32(std::vector<uint8_t>& out, uint32_t v) {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
void le16(std::vector<uint8_t>& out, uint16_t v) {
    out.push_back(static_cast<uint8_t>(v));
    out.push_back(static_cast<uint8_t>(v >> 8));
}
void be16(std::vector<uint8_t>& out, uint16_t v) {
    out.push_back(static_cast<uint8_t>(v >> 8));
    out.push_back(static_cast<uint8_t>(v));
}
} // namespace

void PcapWriter::add_udp(std::array<uint8_t, 4> source, std::array<uint8_t, 4> destination,
                         uint16_t port, std::span<const uint8_t> payload) {
    std::vector<uint8_t> ip;
    uint16_t total = static_cast<uint16_t>(20 + 8 + payload.size());
    ip.push_back(0x45);
    ip.push_back(0);
    be16(ip, total);
    be16(ip, static_cast<uint16_t>(frames_ + 1)); // identification
    be16(ip, 0x4000);                              // DF
    ip.push_back(64);
    ip.push_back(17);
    be16(ip, 0); // checksum, filled below
    ip.insert(ip.end(), source.begin(), source.end());
    ip.insert(ip.end(), destination.begin(), destination.end());
    uint32_t sum = 0;
    for (size_t i = 0; i < 20; i += 2) sum += uint32_t{ip[i]} << 8 | ip[i + 1];
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    ip[10] = static_cast<uint8_t>(~sum >> 8);
    ip[11] = static_cast<uint8_t>(~sum);
    be16(ip, port);
    be16(ip, port);
    be16(ip, static_cast<uint16_t>(8 + payload.size()));
    be16(ip, 0); // no UDP checksum (allowed over IPv4)
    ip.insert(ip.end(), payload.begin(), payload.end());

    le32(records_, static_cast<uint32_t>(frames_)); // seconds
    le32(records_, 0);
    le32(records_, static_cast<uint32_t>(ip.size()));
    le32(records_, static_cast<uint32_t>(ip.size()));
    records_.insert(records_.end(), ip.begin(), ip.end());
    ++frames_;
}

void PcapWriter::save(const std::string& path) const {
    std::vector<uint8_t> out;
    le32(out, 0xa1b2c3d4);
    le16(out, 2);
    le16(out, 4);
    le32(out, 0);
    le32(out, 0);
    le32(out, 65535);
    le32(out, 101); // LINKTYPE_RAW
    out.insert(out.end(), records_.begin(), records_.end());
    std::ofstream file(path, std::ios::binary);
    file.write(reinterpret_cast<const char*>(out.data()), static_cast<std::streamsize>(out.size()));
    if (!file) throw std::runtime_error("cannot write " + path);
}

} // namespace test_support
