// One field list per payload drives both parsing and building (PowerDNS's xfrPacket idea):
//   template <class Io, class P> void fields(Io& io, P& p) { io.u32("DOI", p.doi); ... }
// FieldReader fills P from a Reader; FieldWriter writes a const P to a Writer. Internal.
#pragma once

#include "gdoi/wire/attributes.hpp"
#include "gdoi/wire/reader.hpp"
#include "gdoi/wire/writer.hpp"

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace gdoi::wire::detail {

struct FieldReader {
    static constexpr bool reading = true;
    Reader& r;

    void u8(std::string_view name, uint8_t& v) { v = r.u8(name); }
    void u16(std::string_view name, uint16_t& v) { v = r.u16(name); }
    void u32(std::string_view name, uint32_t& v) { v = r.u32(name); }
    // A 1- or 2-octet count/size field whose value lives in a local of the field list.
    void size8(std::string_view name, size_t& v) { v = r.u8(name); }
    void size16(std::string_view name, size_t& v) { v = r.u16(name); }
    void reserved(std::string_view name, size_t n) { r.skip(n, name); }
    template <size_t N> void array(std::string_view name, std::array<uint8_t, N>& a) {
        auto s = r.bytes(N, name);
        std::copy(s.begin(), s.end(), a.begin());
    }
    void bytes(std::string_view name, std::vector<uint8_t>& v, size_t n) {
        auto s = r.bytes(n, name);
        v.assign(s.begin(), s.end());
    }
    void rest(std::string_view, std::vector<uint8_t>& v) {
        auto s = r.rest();
        v.assign(s.begin(), s.end());
    }
    void attributes(std::vector<Attribute>& v) { v = decode_attributes(r); }
};

struct FieldWriter {
    static constexpr bool reading = false;
    Writer& w;

    void u8(std::string_view, uint8_t v) { w.u8(v); }
    void u16(std::string_view, uint16_t v) { w.u16(v); }
    void u32(std::string_view, uint32_t v) { w.u32(v); }
    void size8(std::string_view name, size_t v) {
        if (v > 0xff)
            throw EncodeError(std::string(name) + " " + std::to_string(v) + " exceeds 255");
        w.u8(static_cast<uint8_t>(v));
    }
    void size16(std::string_view name, size_t v) {
        if (v > 0xffff)
            throw EncodeError(std::string(name) + " " + std::to_string(v) + " exceeds 65535");
        w.u16(static_cast<uint16_t>(v));
    }
    void reserved(std::string_view, size_t n) { w.zeros(n); }
    template <size_t N> void array(std::string_view, const std::array<uint8_t, N>& a) {
        w.bytes(a);
    }
    void bytes(std::string_view name, const std::vector<uint8_t>& v, size_t n) {
        if (v.size() != n)
            throw EncodeError(std::string(name) + ": " + std::to_string(v.size()) +
                              " octets where " + std::to_string(n) + " are declared");
        w.bytes(v);
    }
    void rest(std::string_view, const std::vector<uint8_t>& v) { w.bytes(v); }
    void attributes(const std::vector<Attribute>& v) { encode_attributes(w, v); }
};

} // namespace gdoi::wire::detail
