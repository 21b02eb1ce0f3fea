#include "netlink/xfrm_translate.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <sys/socket.h>

namespace netlink {

uint16_t to_address_family(IpFamily family) {
    return family == IpFamily::v4 ? AF_INET : AF_INET6;
}

IpFamily from_address_family(uint16_t family) {
    if (family == AF_INET) return IpFamily::v4;
    if (family == AF_INET6) return IpFamily::v6;
    throw std::invalid_argument("unsupported address family " + std::to_string(family));
}

xfrm_address_t to_xfrm_address(const IpAddress& address) {
    xfrm_address_t out{};
    std::memcpy(&out, address.bytes.data(), address.width_bytes());
    return out;
}

IpAddress from_xfrm_address(const xfrm_address_t& address, IpFamily family) {
    IpAddress out;
    out.family = family;
    std::memcpy(out.bytes.data(), &address, out.width_bytes());
    return out;
}

namespace {

void check_prefix(const IpPrefix& prefix, const char* what) {
    if (prefix.length > prefix.address.width_bits())
        throw std::invalid_argument(std::string("selector ") + what + " prefix length " +
                                    std::to_string(prefix.length) + " exceeds the address width");
}

IpPrefix make_prefix(const xfrm_address_t& address, IpFamily family, uint8_t length) {
    IpPrefix prefix;
    prefix.address = from_xfrm_address(address, family);
    prefix.length = length;
    return prefix;
}

} // namespace

xfrm_selector to_xfrm_selector(const XfrmSelector& selector) {
    if (selector.source.address.family != selector.destination.address.family)
        throw std::invalid_argument("selector mixes IPv4 and IPv6 (" + selector.source.to_string() +
                                    " -> " + selector.destination.to_string() + ")");
    check_prefix(selector.source, "source");
    check_prefix(selector.destination, "destination");
    xfrm_selector out{};
    out.family = to_address_family(selector.source.address.family);
    out.saddr = to_xfrm_address(selector.source.address);
    out.daddr = to_xfrm_address(selector.destination.address);
    out.prefixlen_s = selector.source.length;
    out.prefixlen_d = selector.destination.length;
    out.proto = selector.ip_protocol;
    // Ports are stored in network byte order with an all-ones mask when set (xfrm_selector_match).
    if (selector.source_port != 0) {
        out.sport = htons(selector.source_port);
        out.sport_mask = 0xffff;
    }
    if (selector.destination_port != 0) {
        out.dport = htons(selector.destination_port);
        out.dport_mask = 0xffff;
    }
    out.ifindex = selector.ifindex;
    return out;
}

XfrmSelector from_xfrm_selector(const xfrm_selector& selector) {
    XfrmSelector out;
    // A state added without selector family (AF_UNSPEC) matches anything: read it as IPv4 any.
    const IpFamily family =
        selector.family == AF_UNSPEC ? IpFamily::v4 : from_address_family(selector.family);
    out.source = make_prefix(selector.saddr, family, selector.prefixlen_s);
    out.destination = make_prefix(selector.daddr, family, selector.prefixlen_d);
    out.ip_protocol = selector.proto;
    out.source_port = selector.sport_mask ? ntohs(selector.sport) : 0;
    out.destination_port = selector.dport_mask ? ntohs(selector.dport) : 0;
    out.ifindex = selector.ifindex;
    return out;
}

const std::vector<AlgorithmInfo>& supported_algorithms() {
    static const std::vector<AlgorithmInfo> table = {
        {"cbc(des3_ede)", AlgorithmKind::encryption, {192}, 0, 3},       // ESP_3DES
        {"cbc(aes)", AlgorithmKind::encryption, {128, 192, 256}, 0, 12}, // ESP_AES-CBC
        {"hmac(md5)", AlgorithmKind::authentication, {128}, 96, 1},      // RFC 2403
        {"hmac(sha1)", AlgorithmKind::authentication, {160}, 96, 2},     // RFC 2404
        {"hmac(sha256)", AlgorithmKind::authentication, {256}, 128, 5},  // RFC 4868
        {"hmac(sha384)", AlgorithmKind::authentication, {384}, 192, 6},  // RFC 4868
        {"hmac(sha512)", AlgorithmKind::authentication, {512}, 256, 7},  // RFC 4868
        // RFC 4106: key = AES key + 4-octet salt; ESP_AES-GCM with a 16-octet ICV (ID 20).
        {"rfc4106(gcm(aes))", AlgorithmKind::aead, {160, 224, 288}, 128, 20},
    };
    return table;
}

const AlgorithmInfo* find_algorithm(std::string_view kernel_name) {
    for (const auto& info : supported_algorithms())
        if (info.kernel_name == kernel_name) return &info;
    return nullptr;
}

const AlgorithmInfo* find_esp_transform(uint16_t transform_id) {
    for (const auto& info : supported_algorithms())
        if (info.kind != AlgorithmKind::authentication && info.ipsec_id == transform_id)
            return &info;
    return nullptr;
}

const AlgorithmInfo* find_auth_algorithm(uint16_t auth_id) {
    for (const auto& info : supported_algorithms())
        if (info.kind == AlgorithmKind::authentication && info.ipsec_id == auth_id) return &info;
    return nullptr;
}

std::optional<std::string> check_algorithm(const XfrmAlgorithm& algorithm, AlgorithmKind kind) {
    static const char* kind_names[] = {"encryption", "authentication", "AEAD"};
    const AlgorithmInfo* info = find_algorithm(algorithm.name);
    if (!info) return "unsupported algorithm \"" + algorithm.name + "\"";
    if (info->kind != kind)
        return "\"" + algorithm.name + "\" is not an " + kind_names[int(kind)] + " algorithm";
    const uint32_t bits = uint32_t(algorithm.key.size() * 8);
    if (std::find(info->key_bits.begin(), info->key_bits.end(), bits) == info->key_bits.end())
        return "\"" + algorithm.name + "\" cannot take a " + std::to_string(bits) + "-bit key";
    if (kind == AlgorithmKind::encryption && algorithm.icv_or_trunc_bits != 0)
        return "cipher \"" + algorithm.name + "\" takes no truncation";
    if (kind == AlgorithmKind::authentication && algorithm.icv_or_trunc_bits != 0 &&
        algorithm.icv_or_trunc_bits != info->icv_or_trunc_bits)
        return "\"" + algorithm.name + "\" must be truncated to " +
               std::to_string(info->icv_or_trunc_bits) + " bits, not " +
               std::to_string(algorithm.icv_or_trunc_bits);
    if (kind == AlgorithmKind::aead && algorithm.icv_or_trunc_bits != 0 &&
        algorithm.icv_or_trunc_bits != 64 && algorithm.icv_or_trunc_bits != 96 &&
        algorithm.icv_or_trunc_bits != 128)
        return "\"" + algorithm.name + "\" cannot have a " +
               std::to_string(algorithm.icv_or_trunc_bits) + "-bit ICV";
    return std::nullopt;
}

namespace {

std::string hex32(uint32_t value) {
    char buffer[16];
    std::snprintf(buffer, sizeof buffer, "0x%x", value);
    return buffer;
}

std::string describe_mark(const std::optional<XfrmMark>& mark) {
    if (!mark) return "";
    return " mark " + hex32(mark->value) + "/" + hex32(mark->mask);
}

} // namespace

std::string describe(const XfrmStateId& id) {
    char spi[16];
    std::snprintf(spi, sizeof spi, "0x%08x", id.spi);
    std::string text = std::string("spi ") + spi + " dst " + id.destination.to_string();
    if (id.ip_protocol != 50) text += " proto " + std::to_string(id.ip_protocol);
    return text + describe_mark(id.mark);
}

std::string describe(const XfrmPolicyId& id) {
    static const char* directions[] = {"in", "out", "fwd"};
    const auto& s = id.selector;
    std::string text = std::string(directions[int(id.direction) % 3]) + " policy " +
                       s.source.to_string() + " -> " + s.destination.to_string();
    if (s.ip_protocol) text += " proto " + std::to_string(s.ip_protocol);
    if (s.source_port) text += " sport " + std::to_string(s.source_port);
    if (s.destination_port) text += " dport " + std::to_string(s.destination_port);
    if (s.ifindex) text += " ifindex " + std::to_string(s.ifindex);
    if (id.if_id) text += " if_id " + hex32(id.if_id);
    return text + describe_mark(id.mark);
}

} // namespace netlink
