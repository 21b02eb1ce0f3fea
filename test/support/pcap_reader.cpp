#include "test/support/pcap_reader.hpp"

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <stdexcept>

namespace test_support {

namespace {

uint32_t read_u32(const std::vector<uint8_t>& data, size_t offset, bool swapped) {
    if (offset + 4 > data.size()) throw std::runtime_error("pcap: truncated at offset " + std::to_string(offset));
    uint32_t v = uint32_t(data[offset]) | uint32_t(data[offset + 1]) << 8 | uint32_t(data[offset + 2]) << 16 |
                 uint32_t(data[offset + 3]) << 24;
    if (swapped) v = __builtin_bswap32(v);
    return v;
}

std::string dotted(const uint8_t* p) {
    return std::to_string(p[0]) + "." + std::to_string(p[1]) + "." + std::to_string(p[2]) + "." +
           std::to_string(p[3]);
}

} // namespace

std::vector<UdpDatagram> read_udp_datagrams(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("pcap: cannot open " + path);
    std::vector<uint8_t> data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const uint32_t magic = read_u32(data, 0, false);
    bool swapped;
    if (magic == 0xa1b2c3d4)
        swapped = false;
    else if (magic == 0xd4c3b2a1)
        swapped = true;
    else
        throw std::runtime_error("pcap: " + path + " is not a classic pcap file");
    const uint32_t link_type = read_u32(data, 20, swapped);
    std::vector<UdpDatagram> out;
    double first_time = -1;
    size_t offset = 24;
    for (int frame = 1; offset < data.size(); ++frame) {
        const double time = read_u32(data, offset, swapped) + read_u32(data, offset + 4, swapped) / 1e6;
        const uint32_t captured = read_u32(data, offset + 8, swapped);
        offset += 16;
        if (offset + captured > data.size())
            throw std::runtime_error("pcap: frame " + std::to_string(frame) + " of " + path + " is truncated");
        const uint8_t* p = data.data() + offset;
        size_t length = captured;
        offset += captured;
        if (first_time < 0) first_time = time;
        size_t link_header;
        if (link_type == 1) { // Ethernet
            if (length < 14 || p[12] != 0x08 || p[13] != 0x00) continue;
            link_header = 14;
        } else if (link_type == 0) { // BSD loopback: 4-octet family in host order
            link_header = 4;
        } else {
            throw std::runtime_error("pcap: unsupported link type " + std::to_string(link_type) + " in " + path);
        }
        p += link_header;
        length -= link_header;
        if (length < 20 || (p[0] >> 4) != 4 || p[9] != 17) continue;
        const size_t ihl = size_t(p[0] & 0x0f) * 4;
        const size_t total = size_t(p[2]) << 8 | p[3];
        if (total > length || ihl + 8 > total) continue;
        const uint8_t* udp = p + ihl;
        const size_t udp_length = size_t(udp[4]) << 8 | udp[5];
        if (udp_length < 8 || ihl + udp_length > total) continue;
        UdpDatagram datagram;
        datagram.timestamp = time - first_time;
        datagram.source = dotted(p + 12);
        datagram.destination = dotted(p + 16);
        datagram.source_port = uint16_t(udp[0] << 8 | udp[1]);
        datagram.destination_port = uint16_t(udp[2] << 8 | udp[3]);
        datagram.payload.assign(udp + 8, udp + udp_length);
        out.push_back(std::move(datagram));
    }
    return out;
}

std::string reference_vector_path(const std::string& file_name) {
    const char* root = std::getenv("GDOID_SOURCE_ROOT");
    if (!root) throw std::runtime_error("GDOID_SOURCE_ROOT is not set (run the tests through meson test)");
    return std::string(root) + "/test/vectors/reference-ks/" + file_name;
}

std::vector<uint8_t> from_hex(const std::string& hex) {
    std::vector<uint8_t> out;
    int high = -1;
    for (char c : hex) {
        if (c == ' ' || c == '\n' || c == '\t' || c == '\r') continue;
        int v;
        if (c >= '0' && c <= '9') v = c - '0';
        else if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') v = c - 'A' + 10;
        else throw std::runtime_error(std::string("hex: bad digit '") + c + "'");
        if (high < 0) high = v;
        else {
            out.push_back(uint8_t(high << 4 | v));
            high = -1;
        }
    }
    if (high >= 0) throw std::runtime_error("hex: odd number of digits");
    return out;
}

std::string to_hex(const std::vector<uint8_t>& bytes) {
    static const char digits[] = "0123456789abcdef";
    std::string out;
    for (uint8_t b : bytes) {
        out += digits[b >> 4];
        out += digits[b & 15];
    }
    return out;
}

} // namespace test_support
