#include "packet_builder.hpp"

#include <stdexcept>

namespace bpftest {
namespace {

void put16(Bytes& out, uint16_t value) {
    out.push_back(static_cast<uint8_t>(value >> 8));
    out.push_back(static_cast<uint8_t>(value));
}
void put32(Bytes& out, uint32_t value) {
    put16(out, static_cast<uint16_t>(value >> 16));
    put16(out, static_cast<uint16_t>(value));
}
uint16_t get16(const Bytes& in, size_t at) {
    return static_cast<uint16_t>(in.at(at) << 8 | in.at(at + 1));
}

void ethernet(Bytes& out, uint16_t ethertype, std::optional<uint16_t> vlan) {
    const uint8_t destination[6] = {0x02, 0, 0, 0, 0, 0x02};
    const uint8_t source[6] = {0x02, 0, 0, 0, 0, 0x01};
    out.insert(out.end(), destination, destination + 6);
    out.insert(out.end(), source, source + 6);
    if (vlan) {
        put16(out, 0x8100);
        put16(out, *vlan);
    }
    put16(out, ethertype);
}

gdoi::IpAddress address_at(const Bytes& frame, size_t at, gdoi::IpFamily family) {
    gdoi::IpAddress address;
    address.family = family;
    size_t width = family == gdoi::IpFamily::v4 ? 4 : 16;
    for (size_t i = 0; i < width; ++i)
        address.bytes[i] = frame.at(at + i);
    return address;
}

} // namespace

gdoi::IpAddress ip(const char* text) {
    auto parsed = gdoi::IpAddress::parse(text);
    if (!parsed) throw std::invalid_argument(text);
    return *parsed;
}

gdoi::IpPrefix prefix(const char* text) {
    auto parsed = gdoi::IpPrefix::parse(text);
    if (!parsed) throw std::invalid_argument(text);
    return *parsed;
}

Bytes filler(size_t length, uint8_t seed) {
    Bytes out(length);
    for (size_t i = 0; i < length; ++i)
        out[i] = static_cast<uint8_t>(seed + i * 7);
    return out;
}

Bytes esp_payload(uint32_t spi, uint32_t sequence, size_t body_length) {
    Bytes out;
    put32(out, spi);
    put32(out, sequence);
    Bytes body = filler(body_length, 0x5a);
    out.insert(out.end(), body.begin(), body.end());
    return out;
}

uint16_t internet_checksum(std::span<const uint8_t> bytes) {
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < bytes.size(); i += 2)
        sum += static_cast<uint32_t>(bytes[i] << 8 | bytes[i + 1]);
    if (bytes.size() % 2) sum += static_cast<uint32_t>(bytes.back() << 8);
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(~sum);
}

Bytes ipv4_frame(const gdoi::IpAddress& source, const gdoi::IpAddress& destination,
                 std::span<const uint8_t> payload, const Ipv4Options& options) {
    Bytes out;
    ethernet(out, 0x0800, options.vlan);
    size_t header = out.size();
    out.push_back(0x45);
    out.push_back(options.tos);
    put16(out, static_cast<uint16_t>(20 + payload.size()));
    put16(out, options.id);
    put16(out, options.flags_fragment);
    out.push_back(options.ttl);
    out.push_back(options.protocol);
    put16(out, 0);
    out.insert(out.end(), source.bytes.begin(), source.bytes.begin() + 4);
    out.insert(out.end(), destination.bytes.begin(), destination.bytes.begin() + 4);
    uint16_t checksum = internet_checksum(std::span(out).subspan(header, 20));
    out[header + 10] = static_cast<uint8_t>(checksum >> 8);
    out[header + 11] = static_cast<uint8_t>(checksum);
    out.insert(out.end(), payload.begin(), payload.end());
    return out;
}

Bytes ipv6_frame(const gdoi::IpAddress& source, const gdoi::IpAddress& destination,
                 std::span<const uint8_t> payload, const Ipv6Options& options) {
    Bytes out;
    ethernet(out, 0x86dd, std::nullopt);
    put32(out, 0x60000000);
    size_t extra = options.fragment ? 8 : 0;
    put16(out, static_cast<uint16_t>(payload.size() + extra));
    out.push_back(options.fragment ? 44 : options.next_header);
    out.push_back(options.hop_limit);
    out.insert(out.end(), source.bytes.begin(), source.bytes.end());
    out.insert(out.end(), destination.bytes.begin(), destination.bytes.end());
    if (options.fragment) {
        out.push_back(options.next_header);
        out.push_back(0);
        put16(out, static_cast<uint16_t>(options.fragment->offset_units << 3 |
                                         (options.fragment->more ? 1 : 0)));
        put32(out, options.fragment->id);
    }
    out.insert(out.end(), payload.begin(), payload.end());
    return out;
}

Ipv4View read_ipv4(const Bytes& frame) {
    Ipv4View view;
    size_t at = kEthernetLength;
    view.ttl = frame.at(at + 8);
    view.protocol = frame.at(at + 9);
    view.flags_fragment = get16(frame, at + 6);
    view.source = address_at(frame, at + 12, gdoi::IpFamily::v4);
    view.destination = address_at(frame, at + 16, gdoi::IpFamily::v4);
    size_t header_length = (frame.at(at) & 0x0f) * 4u;
    view.checksum_ok = internet_checksum(std::span(frame).subspan(at, header_length)) == 0;
    return view;
}

Ipv6View read_ipv6(const Bytes& frame) {
    Ipv6View view;
    size_t at = kEthernetLength;
    view.hop_limit = frame.at(at + 7);
    view.source = address_at(frame, at + 8, gdoi::IpFamily::v6);
    view.destination = address_at(frame, at + 24, gdoi::IpFamily::v6);
    return view;
}

} // namespace bpftest
