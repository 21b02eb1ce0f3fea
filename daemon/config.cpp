#include "daemon/config.hpp"

#include <charconv>
#include <limits>
#include <utility>

namespace gdoid::daemon {

std::string ServerAddress::to_string() const {
    const std::string host = address.family == gdoi::IpFamily::v6 ? "[" + address.to_string() + "]"
                                                                   : address.to_string();
    return host + ":" + std::to_string(port);
}

std::string PskSource::describe() const {
    return (kind == Kind::file ? "file " : "credential ") + name;
}

const GroupConfig* Config::find_group(std::string_view name) const {
    for (const auto& group : groups)
        if (group.name == name) return &group;
    return nullptr;
}

std::string_view to_string(LogLevel level) {
    switch (level) {
    case LogLevel::error: return "error";
    case LogLevel::warning: return "warning";
    case LogLevel::info: return "info";
    case LogLevel::debug: return "debug";
    }
    return "?";
}

std::string_view to_string(IkeEncryption encryption) {
    switch (encryption) {
    case IkeEncryption::des3_cbc: return "3des";
    case IkeEncryption::aes128_cbc: return "aes-128";
    case IkeEncryption::aes192_cbc: return "aes-192";
    case IkeEncryption::aes256_cbc: return "aes-256";
    }
    return "?";
}

std::string_view to_string(IkeHash hash) {
    switch (hash) {
    case IkeHash::md5: return "md5";
    case IkeHash::sha1: return "sha1";
    case IkeHash::sha256: return "sha256";
    case IkeHash::sha384: return "sha384";
    case IkeHash::sha512: return "sha512";
    }
    return "?";
}

std::string_view to_string(MatchDirection direction) {
    switch (direction) {
    case MatchDirection::input: return "input";
    case MatchDirection::output: return "output";
    case MatchDirection::both: return "both";
    }
    return "?";
}

std::string_view to_string(DfBit df_bit) {
    switch (df_bit) {
    case DfBit::clear: return "clear";
    case DfBit::set: return "set";
    case DfBit::copy: return "copy";
    }
    return "?";
}

namespace {
// IANA protocol numbers an operator names in a bypass class (the routing, management and
// monitoring protocols operators exempt from encryption).
constexpr std::pair<std::string_view, uint8_t> protocol_names[] = {
    {"icmp", 1}, {"igmp", 2}, {"tcp", 6}, {"udp", 17}, {"gre", 47}, {"esp", 50}, {"ah", 51},
    {"icmpv6", 58}, {"ospf", 89}, {"pim", 103}, {"vrrp", 112}, {"sctp", 132},
};
} // namespace

std::string protocol_name(uint8_t protocol) {
    if (protocol == 0) return "any";
    for (const auto& [name, number] : protocol_names)
        if (number == protocol) return std::string(name);
    return std::to_string(protocol);
}

std::optional<uint8_t> parse_protocol_name(std::string_view name) {
    for (const auto& [known, number] : protocol_names)
        if (known == name) return number;
    return std::nullopt;
}

std::optional<LogLevel> parse_log_level(std::string_view text) {
    for (auto level : {LogLevel::error, LogLevel::warning, LogLevel::info, LogLevel::debug})
        if (to_string(level) == text) return level;
    return std::nullopt;
}

namespace {

std::optional<uint64_t> parse_decimal(std::string_view text) {
    if (text.empty()) return std::nullopt;
    uint64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return value;
}

} // namespace

std::optional<std::chrono::seconds> parse_duration(std::string_view text) {
    if (text.empty()) return std::nullopt;
    uint64_t total = 0;
    size_t i = 0;
    while (i < text.size()) {
        size_t digits = i;
        while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
        if (digits == i || digits == text.size()) return std::nullopt; // number without a unit
        const auto number = parse_decimal(text.substr(i, digits - i));
        if (!number) return std::nullopt;
        uint64_t unit = 0;
        switch (text[digits]) {
        case 's': unit = 1; break;
        case 'm': unit = 60; break;
        case 'h': unit = 3600; break;
        case 'd': unit = 86400; break;
        default: return std::nullopt;
        }
        // Bound everything to ten years so arithmetic on it cannot overflow anywhere.
        constexpr uint64_t limit = 10ull * 365 * 86400;
        if (*number > limit / unit || total + *number * unit > limit) return std::nullopt;
        total += *number * unit;
        i = digits + 1;
    }
    return std::chrono::seconds(total);
}

std::string format_duration(std::chrono::seconds duration) {
    auto left = duration.count();
    if (left == 0) return "0s";
    std::string out;
    for (auto [size, unit] : {std::pair{86400L, 'd'}, {3600L, 'h'}, {60L, 'm'}, {1L, 's'}}) {
        if (left >= size) {
            out += std::to_string(left / size) + unit;
            left %= size;
        }
    }
    return out;
}

PullWindowParse parse_pull_window(std::string_view text) {
    const auto dash = text.find('-');
    if (dash == std::string_view::npos)
        return {std::nullopt, "expected a window like \"7%-5%\" or \"90s-30s\""};
    const auto first = text.substr(0, dash);
    const auto second = text.substr(dash + 1);
    PullWindow window;
    if (!first.empty() && first.back() == '%' && !second.empty() && second.back() == '%') {
        const auto start = parse_decimal(first.substr(0, first.size() - 1));
        const auto end = parse_decimal(second.substr(0, second.size() - 1));
        if (!start || !end) return {std::nullopt, "percentages must be whole numbers, as in \"7%-5%\""};
        if (*start > 50 || *end < 1 || *end >= *start)
            return {std::nullopt, "the window must start before it ends, within 50%..1% of the "
                                  "lifetime left (e.g. \"7%-5%\")"};
        window.unit = PullWindow::Unit::percent;
        window.start = uint32_t(*start);
        window.end = uint32_t(*end);
        return {window, {}};
    }
    const auto start = parse_duration(first);
    const auto end = parse_duration(second);
    if (!start || !end)
        return {std::nullopt, "expected percentages (\"7%-5%\") or durations (\"90s-30s\") on both sides"};
    if (end->count() < 1 || *end >= *start || start->count() > 86400)
        return {std::nullopt, "the window must start before it ends, within 24h..1s before expiry "
                              "(e.g. \"90s-30s\")"};
    window.unit = PullWindow::Unit::seconds;
    window.start = uint32_t(start->count());
    window.end = uint32_t(end->count());
    return {window, {}};
}

namespace {

std::optional<uint32_t> parse_hex32(std::string_view text) {
    if (text.size() < 3 || text[0] != '0' || (text[1] != 'x' && text[1] != 'X')) return std::nullopt;
    text.remove_prefix(2);
    if (text.size() > 8) return std::nullopt;
    uint32_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, 16);
    if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return value;
}

} // namespace

BypassMarkParse parse_bypass_mark(std::string_view text) {
    const auto slash = text.find('/');
    const auto value = parse_hex32(text.substr(0, slash));
    const auto mask = slash == std::string_view::npos ? value : parse_hex32(text.substr(slash + 1));
    if (!value || !mask)
        return {std::nullopt, "expected a 32-bit hexadecimal mark like \"0x00100000\" or \"0x100/0xf00\""};
    if (*mask == 0) return {std::nullopt, "the mark must have at least one bit set"};
    if ((*value & ~*mask) != 0) return {std::nullopt, "the value has bits outside its mask"};
    return {BypassMark{*value, *mask}, {}};
}

std::optional<ServerAddress> parse_server_address(std::string_view text) {
    ServerAddress server;
    std::string_view host = text;
    std::optional<std::string_view> port_text;
    if (!text.empty() && text.front() == '[') {
        const auto close = text.find(']');
        if (close == std::string_view::npos) return std::nullopt;
        host = text.substr(1, close - 1);
        const auto rest = text.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') return std::nullopt;
            port_text = rest.substr(1);
        }
        auto address = gdoi::IpAddress::parse(host);
        if (!address || address->family != gdoi::IpFamily::v6) return std::nullopt;
        server.address = *address;
    } else {
        // A bare IPv6 address has several colons; an IPv4 address with a port has exactly one.
        const auto colon = text.find(':');
        if (colon != std::string_view::npos && text.find(':', colon + 1) == std::string_view::npos) {
            host = text.substr(0, colon);
            port_text = text.substr(colon + 1);
        }
        auto address = gdoi::IpAddress::parse(host);
        if (!address) return std::nullopt;
        server.address = *address;
    }
    if (port_text) {
        const auto port = parse_decimal(*port_text);
        if (!port || *port == 0 || *port > 65535) return std::nullopt;
        server.port = uint16_t(*port);
    }
    return server;
}

AnchorAddresses default_anchor_addresses(gdoi::IpFamily family) {
    if (family == gdoi::IpFamily::v6)
        return {*gdoi::IpAddress::parse("fd00:6764:6f69::1"), *gdoi::IpAddress::parse("fd00:6764:6f69::2")};
    return {*gdoi::IpAddress::parse("100.127.255.1"), *gdoi::IpAddress::parse("100.127.255.2")};
}

} // namespace gdoid::daemon
