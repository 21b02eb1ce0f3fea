// ISAKMP data attributes (RFC 2408 section 3.3): TV ("basic", AF=1, a 2-octet value in the
// header) and TLV ("variable", AF=0, 2-octet length then value). Servers disagree on which form
// numeric attributes take, so number() reads both and encoders pick the form explicitly.
#pragma once

#include "gdoi/secret_bytes.hpp"
#include "gdoi/wire/reader.hpp"
#include "gdoi/wire/writer.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace gdoi::wire {

enum class AttributeForm : uint8_t { tv, tlv };

struct Attribute {
    uint16_t type = 0; // without the AF bit
    AttributeForm form = AttributeForm::tv;
    std::vector<uint8_t> value; // TV: exactly 2 octets

    // TV attribute with a 16-bit value.
    static Attribute tv(uint16_t type, uint16_t value);
    // TLV attribute with arbitrary octets.
    static Attribute tlv(uint16_t type, std::span<const uint8_t> value);
    // TLV attribute holding a 4-octet big-endian number (e.g. life durations).
    static Attribute tlv_u32(uint16_t type, uint32_t value);
    // TV if it fits 16 bits, else TLV of 4 octets: what most stacks send for lifetimes.
    static Attribute number_attr(uint16_t type, uint32_t value);

    // The value as an unsigned number, whichever form it came in; nullopt if a TLV value
    // is longer than 8 octets or empty.
    std::optional<uint64_t> number() const;

    bool operator==(const Attribute&) const = default;
};

// A data attribute whose value is key material (KD key packets): same wire form, value wiped.
struct KeyAttribute {
    uint16_t type = 0;
    AttributeForm form = AttributeForm::tlv;
    SecretBytes value;

    bool operator==(const KeyAttribute& other) const {
        return type == other.type && form == other.form && value == other.value;
    }
};

// Reads attributes until the reader is exhausted. Errors: PAYLOAD-MALFORMED naming the
// attribute's position and type when its TLV length runs past the end.
std::vector<Attribute> decode_attributes(Reader& reader);
std::vector<KeyAttribute> decode_key_attributes(Reader& reader);
// Reads exactly one attribute.
Attribute decode_attribute(Reader& reader);

void encode_attribute(Writer& writer, const Attribute& attribute);
void encode_attributes(Writer& writer, std::span<const Attribute> attributes);
void encode_key_attributes(Writer& writer, std::span<const KeyAttribute> attributes);

// First attribute of that type, or nullptr.
const Attribute* find_attribute(std::span<const Attribute> attributes, uint16_t type);
const KeyAttribute* find_key_attribute(std::span<const KeyAttribute> attributes, uint16_t type);

} // namespace gdoi::wire
