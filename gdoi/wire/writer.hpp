// Building wire data: big-endian appends and length fields patched once the body is known.
#pragma once

#include "gdoi/wire/decode_error.hpp"

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace gdoi::wire {

class Writer {
public:
    void u8(uint8_t v) { out_.push_back(v); }
    void u16(uint16_t v);
    void u32(uint32_t v);
    void bytes(std::span<const uint8_t> data) { out_.insert(out_.end(), data.begin(), data.end()); }
    void zeros(size_t n) { out_.insert(out_.end(), n, 0); }

    // Reserves a 2-octet length at the current position; returns its position.
    size_t placeholder_u16() {
        size_t at = out_.size();
        u16(0);
        return at;
    }
    // Writes (size() - from) into the placeholder at `at`; EncodeError if it does not fit.
    void patch_length_u16(size_t at, size_t from, std::string_view what);
    void patch_u16(size_t at, uint16_t v);
    void patch_u32(size_t at, uint32_t v);

    size_t size() const { return out_.size(); }
    const std::vector<uint8_t>& data() const { return out_; }
    std::vector<uint8_t> take() { return std::move(out_); }

private:
    std::vector<uint8_t> out_;
};

} // namespace gdoi::wire
