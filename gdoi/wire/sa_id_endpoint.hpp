// Internal: the "ID Type, Port, ID Data Len, ID Data" groups inside SA KEK and SA TEK, with
// the ID Data Len width (1 per RFC 6407, 2 in some implementations) as a parameter.
#pragma once

#include "gdoi/wire/id_data.hpp"
#include "gdoi/wire/payloads.hpp"
#include "gdoi/wire/reader.hpp"
#include "gdoi/wire/writer.hpp"

#include <string>

namespace gdoi::wire::detail {

inline void read_id_endpoint(Reader& r, IdEndpoint& e, uint8_t width, const std::string& side) {
    e.id_type = r.u8(side + " ID Type");
    e.port = r.u16(side + " ID Port");
    size_t length = width == 1 ? r.u8(side + " ID Data Len") : r.u16(side + " ID Data Len");
    size_t at = r.position();
    auto data = r.bytes(length, side + " Identification Data");
    e.data.assign(data.begin(), data.end());
    check_id_data(r, e.id_type, e.data, at);
}

inline void write_id_endpoint(Writer& w, const IdEndpoint& e, uint8_t width,
                              const std::string& what) {
    w.u8(e.id_type);
    w.u16(e.port);
    if (width == 1) {
        if (e.data.size() > 0xff) throw EncodeError(what + ": ID data exceeds 255 octets");
        w.u8(static_cast<uint8_t>(e.data.size()));
    } else {
        if (e.data.size() > 0xffff) throw EncodeError(what + ": ID data exceeds 65535 octets");
        w.u16(static_cast<uint16_t>(e.data.size()));
    }
    w.bytes(e.data);
}

} // namespace gdoi::wire::detail
