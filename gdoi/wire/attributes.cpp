// RFC 2408 section 3.3, Data Attributes:
//                      1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// !A!       Attribute Type        !    AF=0  Attribute Length     !
// !F!                             !    AF=1  Attribute Value      !
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// .                   AF=0  Attribute Value                       .
// .                   AF=1  Not Transmitted                       .
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
#include "gdoi/wire/attributes.hpp"

#include "gdoi/wire/constants.hpp"

#include <string>

namespace gdoi::wire {

Attribute Attribute::tv(uint16_t type, uint16_t value) {
    return {
        type, AttributeForm::tv, {static_cast<uint8_t>(value >> 8), static_cast<uint8_t>(value)}};
}

Attribute Attribute::tlv(uint16_t type, std::span<const uint8_t> value) {
    return {type, AttributeForm::tlv, {value.begin(), value.end()}};
}

Attribute Attribute::tlv_u32(uint16_t type, uint32_t value) {
    return {type,
            AttributeForm::tlv,
            {static_cast<uint8_t>(value >> 24), static_cast<uint8_t>(value >> 16),
             static_cast<uint8_t>(value >> 8), static_cast<uint8_t>(value)}};
}

Attribute Attribute::number_attr(uint16_t type, uint32_t value) {
    return value <= 0xffff ? tv(type, static_cast<uint16_t>(value)) : tlv_u32(type, value);
}

std::optional<uint64_t> Attribute::number() const {
    if (value.empty() || value.size() > 8) return std::nullopt;
    uint64_t n = 0;
    for (uint8_t octet : value)
        n = n << 8 | octet;
    return n;
}

namespace {

struct RawAttribute {
    uint16_t type;
    AttributeForm form;
    std::span<const uint8_t> value;
};

RawAttribute read_raw(Reader& reader) {
    size_t start = reader.position();
    uint16_t word = reader.u16("attribute type");
    uint16_t type = word & ~kAttributeFormatTv;
    if (word & kAttributeFormatTv)
        return {type, AttributeForm::tv, reader.bytes(2, "attribute value")};
    uint16_t length = reader.u16("attribute length");
    if (length > reader.remaining())
        reader.fail_at(start, "attribute " + std::to_string(type) + " declares " +
                                  std::to_string(length) + " octets of value, " +
                                  std::to_string(reader.remaining()) + " left");
    return {type, AttributeForm::tlv, reader.bytes(length, "attribute value")};
}

void write_raw(Writer& writer, uint16_t type, AttributeForm form, std::span<const uint8_t> value) {
    if (type & kAttributeFormatTv)
        throw EncodeError("attribute type " + std::to_string(type) + " does not fit 15 bits");
    if (form == AttributeForm::tv) {
        if (value.size() != 2)
            throw EncodeError("TV attribute " + std::to_string(type) +
                              " needs a 2-octet value, has " + std::to_string(value.size()));
        writer.u16(type | kAttributeFormatTv);
        writer.bytes(value);
        return;
    }
    if (value.size() > 0xffff)
        throw EncodeError("TLV attribute " + std::to_string(type) + " is too long");
    writer.u16(type);
    writer.u16(static_cast<uint16_t>(value.size()));
    writer.bytes(value);
}

} // namespace

Attribute decode_attribute(Reader& reader) {
    auto raw = read_raw(reader);
    return {raw.type, raw.form, {raw.value.begin(), raw.value.end()}};
}

std::vector<Attribute> decode_attributes(Reader& reader) {
    std::vector<Attribute> out;
    while (!reader.done())
        out.push_back(decode_attribute(reader));
    return out;
}

std::vector<KeyAttribute> decode_key_attributes(Reader& reader) {
    std::vector<KeyAttribute> out;
    while (!reader.done()) {
        auto raw = read_raw(reader);
        out.push_back({raw.type, raw.form, SecretBytes(raw.value)});
    }
    return out;
}

void encode_attribute(Writer& writer, const Attribute& attribute) {
    write_raw(writer, attribute.type, attribute.form, attribute.value);
}

void encode_attributes(Writer& writer, std::span<const Attribute> attributes) {
    for (const auto& attribute : attributes)
        encode_attribute(writer, attribute);
}

void encode_key_attributes(Writer& writer, std::span<const KeyAttribute> attributes) {
    for (const auto& attribute : attributes)
        write_raw(writer, attribute.type, attribute.form, attribute.value.reveal());
}

const Attribute* find_attribute(std::span<const Attribute> attributes, uint16_t type) {
    for (const auto& attribute : attributes)
        if (attribute.type == type) return &attribute;
    return nullptr;
}

const KeyAttribute* find_key_attribute(std::span<const KeyAttribute> attributes, uint16_t type) {
    for (const auto& attribute : attributes)
        if (attribute.type == type) return &attribute;
    return nullptr;
}

} // namespace gdoi::wire
