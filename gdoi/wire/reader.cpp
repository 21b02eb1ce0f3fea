#include "gdoi/wire/reader.hpp"

namespace gdoi::wire {

namespace {
std::string octets(size_t n) {
    return std::to_string(n) + (n == 1 ? " octet" : " octets");
}
} // namespace

void Reader::need(size_t n, std::string_view field) const {
    if (remaining() < n)
        fail("expected " + octets(n) + " of " + std::string(field) + ", " +
             std::to_string(remaining()) + " left");
}

uint8_t Reader::u8(std::string_view field) {
    need(1, field);
    return data_[pos_++];
}

uint16_t Reader::u16(std::string_view field) {
    need(2, field);
    uint16_t v = static_cast<uint16_t>(data_[pos_] << 8 | data_[pos_ + 1]);
    pos_ += 2;
    return v;
}

uint32_t Reader::u32(std::string_view field) {
    need(4, field);
    uint32_t v = uint32_t{data_[pos_]} << 24 | uint32_t{data_[pos_ + 1]} << 16 |
                 uint32_t{data_[pos_ + 2]} << 8 | uint32_t{data_[pos_ + 3]};
    pos_ += 4;
    return v;
}

std::span<const uint8_t> Reader::bytes(size_t n, std::string_view field) {
    need(n, field);
    auto out = data_.subspan(pos_, n);
    pos_ += n;
    return out;
}

std::span<const uint8_t> Reader::rest() {
    auto out = data_.subspan(pos_);
    pos_ = data_.size();
    return out;
}

void Reader::skip(size_t n, std::string_view field) {
    bytes(n, field);
}

Reader Reader::sub(size_t n, std::string context, std::string_view field) {
    size_t start = offset();
    auto body = bytes(n, field);
    return Reader(body, std::move(context), start);
}

void Reader::assert_done() const {
    if (!done()) fail(octets(remaining()) + " left over after the last field");
}

void Reader::fail(std::string detail, NotifyType notify) const {
    throw DecodeError(notify, context_, std::move(detail), offset());
}

void Reader::fail_at(size_t relative_position, std::string detail, NotifyType notify) const {
    throw DecodeError(notify, context_, std::move(detail), base_ + relative_position);
}

} // namespace gdoi::wire
