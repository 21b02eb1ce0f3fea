// The input format of the state-machine fuzz targets: a sequence of records
// [flags:1][length:2, big-endian][bytes:length]; a short last record takes what is left.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace fuzz {

struct Record {
    uint8_t flags = 0;
    std::vector<uint8_t> bytes;
};

inline std::vector<Record> split_records(std::span<const uint8_t> input, size_t max_records) {
    std::vector<Record> records;
    size_t at = 0;
    while (at + 3 <= input.size() && records.size() < max_records) {
        Record r;
        r.flags = input[at];
        size_t length = size_t(input[at + 1]) << 8 | input[at + 2];
        at += 3;
        length = std::min(length, input.size() - at);
        r.bytes.assign(input.begin() + long(at), input.begin() + long(at + length));
        at += length;
        records.push_back(std::move(r));
    }
    return records;
}

// One record, for building seeds.
inline void append_record(std::vector<uint8_t>& out, uint8_t flags, std::span<const uint8_t> bytes) {
    out.push_back(flags);
    out.push_back(uint8_t(bytes.size() >> 8));
    out.push_back(uint8_t(bytes.size()));
    out.insert(out.end(), bytes.begin(), bytes.end());
}

} // namespace fuzz
