#include "gdoi/wire/writer.hpp"

#include <string>

namespace gdoi::wire {

void Writer::u16(uint16_t v) {
    out_.push_back(static_cast<uint8_t>(v >> 8));
    out_.push_back(static_cast<uint8_t>(v));
}

void Writer::u32(uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8)
        out_.push_back(static_cast<uint8_t>(v >> shift));
}

void Writer::patch_u16(size_t at, uint16_t v) {
    out_.at(at) = static_cast<uint8_t>(v >> 8);
    out_.at(at + 1) = static_cast<uint8_t>(v);
}

void Writer::patch_u32(size_t at, uint32_t v) {
    for (int i = 0; i < 4; ++i)
        out_.at(at + i) = static_cast<uint8_t>(v >> (24 - 8 * i));
}

void Writer::patch_length_u16(size_t at, size_t from, std::string_view what) {
    size_t length = out_.size() - from;
    if (length > 0xffff)
        throw EncodeError(std::string(what) + ": " + std::to_string(length) +
                          " octets do not fit a 2-octet length");
    patch_u16(at, static_cast<uint16_t>(length));
}

} // namespace gdoi::wire
