// Bounds-checked reading of wire data. A Reader knows what it reads ("SA TEK") and its absolute
// offset in the message, so every error says what, where and why. Each payload body is read by
// a sub-reader over exactly its declared length and must end with assert_done().
#pragma once

#include "gdoi/wire/decode_error.hpp"

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace gdoi::wire {

class Reader {
public:
    Reader(std::span<const uint8_t> data, std::string context, size_t base_offset = 0)
        : data_(data), context_(std::move(context)), base_(base_offset) {}

    uint8_t u8(std::string_view field);
    uint16_t u16(std::string_view field);
    uint32_t u32(std::string_view field);
    // Exactly n octets, or a PAYLOAD-MALFORMED error naming the field.
    std::span<const uint8_t> bytes(size_t n, std::string_view field);
    // Everything left (possibly nothing).
    std::span<const uint8_t> rest();
    // Skips n octets (RESERVED fields: RFC 2408 says they MUST be zero, but receivers that
    // reject non-zero values break against real servers, so we only skip them).
    void skip(size_t n, std::string_view field);
    // A reader over the next n octets (consumed from this one), for a nested structure.
    Reader sub(size_t n, std::string context, std::string_view field);

    std::span<const uint8_t> peek_rest() const { return data_.subspan(pos_); }
    size_t remaining() const { return data_.size() - pos_; }
    bool done() const { return pos_ == data_.size(); }
    size_t position() const { return pos_; }       // relative to this reader
    size_t offset() const { return base_ + pos_; } // absolute in the message
    const std::string& context() const { return context_; }

    // Throws unless every octet was consumed: a length field that lies cannot go unnoticed.
    void assert_done() const;

    [[noreturn]] void fail(std::string detail,
                           NotifyType notify = NotifyType::payload_malformed) const;
    [[noreturn]] void fail_at(size_t relative_position, std::string detail,
                              NotifyType notify = NotifyType::payload_malformed) const;

private:
    void need(size_t n, std::string_view field) const;

    std::span<const uint8_t> data_;
    std::string context_;
    size_t base_ = 0;
    size_t pos_ = 0;
};

} // namespace gdoi::wire
