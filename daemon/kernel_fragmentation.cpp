#include "daemon/kernel_fragmentation.hpp"
#include "daemon/file_text.hpp"

#include <array>
#include <charconv>
#include <utility>
#include <vector>

namespace gdoid::daemon {
namespace {

std::vector<std::string_view> split_words(std::string_view line) {
    std::vector<std::string_view> words;
    size_t at = 0;
    while (at < line.size()) {
        const size_t start = line.find_first_not_of(" \t", at);
        if (start == std::string_view::npos) break;
        const size_t end = line.find_first_of(" \t", start);
        words.push_back(
            line.substr(start, end == std::string_view::npos ? line.size() - start : end - start));
        at = end == std::string_view::npos ? line.size() : end;
    }
    return words;
}

std::optional<uint64_t> number(std::string_view text) {
    uint64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return value;
}

std::vector<std::string_view> lines(std::string_view text) {
    std::vector<std::string_view> out;
    while (!text.empty()) {
        const size_t end = text.find('\n');
        out.push_back(text.substr(0, end));
        if (end == std::string_view::npos) break;
        text.remove_prefix(end + 1);
    }
    return out;
}

// /proc/net/snmp: pairs of lines "Ip: Forwarding DefaultTTL ..." / "Ip: 1 64 ...".
std::optional<uint64_t> snmp_value(std::string_view snmp, std::string_view section,
                                   std::string_view name) {
    const auto all = lines(snmp);
    for (size_t i = 0; i + 1 < all.size(); ++i) {
        const auto names = split_words(all[i]);
        const auto values = split_words(all[i + 1]);
        if (names.empty() || names[0] != section || values.empty() || values[0] != section)
            continue;
        for (size_t k = 1; k < names.size() && k < values.size(); ++k)
            if (names[k] == name) return number(values[k]);
        ++i;
    }
    return std::nullopt;
}

// /proc/net/snmp6: one "Name value" per line.
std::optional<uint64_t> snmp6_value(std::string_view snmp6, std::string_view name) {
    for (const auto line : lines(snmp6)) {
        const auto words = split_words(line);
        if (words.size() == 2 && words[0] == name) return number(words[1]);
    }
    return std::nullopt;
}

std::string read_file(const char* path, bool& ok) {
    std::string error;
    auto text = read_file_text(path, error);
    ok = text.has_value();
    return text.value_or(std::string());
}

} // namespace

std::map<std::string, uint64_t> parse_fragmentation_counters(std::string_view snmp,
                                                             std::string_view snmp6) {
    std::map<std::string, uint64_t> out;
    constexpr std::array<std::pair<const char*, const char*>, 4> v4{
        {{"ipv4_fragmented", "FragOKs"},
         {"ipv4_fragments_created", "FragCreates"},
         {"ipv4_frag_needed", "FragFails"},
         {"ipv4_reassembled", "ReasmOKs"}}};
    for (const auto& [key, name] : v4)
        if (const auto value = snmp_value(snmp, "Ip:", name)) out[key] = *value;
    constexpr std::array<std::pair<const char*, const char*>, 4> v6{
        {{"ipv6_fragmented", "Ip6FragOKs"},
         {"ipv6_fragments_created", "Ip6FragCreates"},
         {"ipv6_packet_too_big", "Icmp6OutPktTooBigs"},
         {"ipv6_reassembled", "Ip6ReasmOKs"}}};
    for (const auto& [key, name] : v6)
        if (const auto value = snmp6_value(snmp6, name)) out[key] = *value;
    return out;
}

std::optional<std::map<std::string, uint64_t>> read_fragmentation_counters() {
    bool have_snmp = false, have_snmp6 = false;
    // /proc/self/net, not /proc/net: the unit's ProcSubset=pid hides /proc's other entries.
    const std::string snmp = read_file("/proc/self/net/snmp", have_snmp);
    if (!have_snmp) return std::nullopt;
    const std::string snmp6 = read_file("/proc/self/net/snmp6", have_snmp6);
    return parse_fragmentation_counters(snmp, snmp6);
}

} // namespace gdoid::daemon
