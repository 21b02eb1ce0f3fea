// Pure translations between gdoid's value types and the datapath's map layout
// (datapath_abi.h): the reserved mark bits, LPM trie keys. No kernel access.
#pragma once

#include "bpf/datapath_abi.h"
#include "gdoi/ip_address.hpp"

#include <cstdint>

namespace bpf {

// How the reserved skb->mark bits are used: one contiguous run of bits, the highest is the
// flag, the ones below it carry the slot index; with pre-fragmentation the lowest is the
// pre-fragmentation mark and the slot index has one bit less.
struct MarkLayout {
    uint32_t reserved_mask = 0;
    uint32_t flag_mark = 0;
    uint32_t pre_fragment_mark = 0; // 0 without pre-fragmentation
    uint32_t slot_shift = 0;
    uint32_t slot_bits = 0;

    uint32_t slot_count() const { return 1u << slot_bits; }
    uint32_t mark_for_slot(uint32_t slot) const { return (slot << slot_shift) | flag_mark; }
};

// At least 16 slots, at most GDOID_SLOT_CAPACITY.
inline constexpr uint32_t kMinSlotBits = 4;

// Validates `reserved_mask` (contiguous, 5..17 bits, one more with pre-fragmentation) and that
// it shares no bit with the bypass mark. Throws DatapathError(invalid_config) naming the problem.
MarkLayout mark_layout(uint32_t reserved_mask, uint32_t bypass_mark,
                       bool pre_fragmentation = false);

// Keys for the LPM tries. Throws DatapathError(invalid_config) on the wrong family.
gdoid_lpm_v4 lpm_key_v4(const gdoi::IpPrefix& prefix);
gdoid_lpm_v6 lpm_key_v6(const gdoi::IpPrefix& prefix);

} // namespace bpf
