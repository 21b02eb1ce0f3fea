#include "bpf/map_keys.hpp"

#include "bpf/datapath_error.hpp"

#include <bit>
#include <cstdio>
#include <cstring>

namespace bpf {
namespace {

std::string hex(uint32_t value) {
    char text[16];
    std::snprintf(text, sizeof(text), "0x%08x", value);
    return text;
}

[[noreturn]] void invalid(const std::string& what) {
    throw DatapathError(DatapathErrorKind::invalid_config, what);
}

// Host bits below the prefix length are cleared: the trie compares only `prefixlen` bits,
// but a canonical key keeps delete() finding what add() stored.
template <size_t N> void copy_prefix(uint8_t (&out)[N], const gdoi::IpPrefix& prefix) {
    std::memcpy(out, prefix.first().bytes.data(), N);
}

} // namespace

MarkLayout mark_layout(uint32_t reserved_mask, uint32_t bypass_mark, bool pre_fragmentation) {
    if (reserved_mask == 0) invalid("reserved mark mask is 0: the datapath needs mark bits");
    const uint32_t shift = static_cast<uint32_t>(std::countr_zero(reserved_mask));
    const uint32_t width = static_cast<uint32_t>(std::popcount(reserved_mask));
    if ((reserved_mask >> shift) != (width == 32 ? ~0u : (1u << width) - 1))
        invalid("reserved mark mask " + hex(reserved_mask) + " is not one contiguous run of bits");
    const uint32_t extra = pre_fragmentation ? 1 : 0; // the pre-fragmentation bit
    if (width < kMinSlotBits + 1 + extra || width > GDOID_SLOT_MAX_BITS + 1 + extra)
        invalid("reserved mark mask " + hex(reserved_mask) + " has " + std::to_string(width) +
                " bits; it needs " + std::to_string(kMinSlotBits + 1 + extra) + " to " +
                std::to_string(GDOID_SLOT_MAX_BITS + 1 + extra) + " (a flag" +
                (pre_fragmentation ? ", the pre-fragmentation bit" : "") + " and the slot index)");
    if (reserved_mask & bypass_mark)
        invalid("reserved mark mask " + hex(reserved_mask) + " overlaps the bypass mark " +
                hex(bypass_mark) + " (common bits " + hex(reserved_mask & bypass_mark) + ")");
    MarkLayout layout;
    layout.reserved_mask = reserved_mask;
    layout.pre_fragment_mark = pre_fragmentation ? 1u << shift : 0;
    layout.slot_shift = shift + extra;
    layout.slot_bits = width - 1 - extra;
    layout.flag_mark = 1u << (shift + width - 1);
    return layout;
}

gdoid_lpm_v4 lpm_key_v4(const gdoi::IpPrefix& prefix) {
    if (prefix.address.family != gdoi::IpFamily::v4)
        invalid("prefix " + prefix.to_string() + " is not IPv4");
    gdoid_lpm_v4 key{};
    key.prefixlen = prefix.length;
    copy_prefix(key.addr, prefix);
    return key;
}

gdoid_lpm_v6 lpm_key_v6(const gdoi::IpPrefix& prefix) {
    if (prefix.address.family != gdoi::IpFamily::v6)
        invalid("prefix " + prefix.to_string() + " is not IPv6");
    gdoid_lpm_v6 key{};
    key.prefixlen = prefix.length;
    copy_prefix(key.addr, prefix);
    return key;
}

} // namespace bpf
