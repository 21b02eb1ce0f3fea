// Identification (RFC 2408 section 3.8 with the IPsec DOI layout, RFC 2407 section 4.6.2):
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ! Next Payload  !   RESERVED    !        Payload Length         !
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// !   ID Type     !  Protocol ID  !             Port              !
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ~                     Identification Data                       ~
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// GDOI PULL message 1 (RFC 6407 section 5.3): ID Type KEY_ID (11), the group number as
// 4 octets of Identification Data. The reference server copies it in host order.
#include "gdoi/wire/field_codec.hpp"
#include "gdoi/wire/id_data.hpp"
#include "gdoi/wire/payload_codec.hpp"

namespace gdoi::wire {

namespace detail {
namespace {
template <class Io, class P> void fields(Io& io, P& p) {
    io.u8("ID Type", p.id_type);
    io.u8("Protocol ID", p.protocol);
    io.u16("Port", p.port);
    io.rest("Identification Data", p.data);
}
} // namespace

IdPayload decode_id(Reader& r, BodyDecode&) {
    IdPayload p;
    FieldReader io{r};
    fields(io, p);
    check_id_data(r, p.id_type, p.data, 4);
    return p;
}

void encode_id(Writer& w, const IdPayload& p) {
    FieldWriter io{w};
    fields(io, p);
}
} // namespace detail

IdPayload IdPayload::ipv4(const IpAddress& address, uint8_t protocol, uint16_t port) {
    IdPayload p;
    p.id_type = id_type::ipv4_addr;
    p.protocol = protocol;
    p.port = port;
    p.data.assign(address.bytes.begin(), address.bytes.begin() + 4);
    return p;
}

IdPayload IdPayload::address(const IpAddress& address, uint8_t protocol, uint16_t port) {
    if (address.family == IpFamily::v4) return ipv4(address, protocol, port);
    IdPayload p;
    p.id_type = id_type::ipv6_addr;
    p.protocol = protocol;
    p.port = port;
    p.data.assign(address.bytes.begin(), address.bytes.begin() + 16);
    return p;
}

IdPayload IdPayload::group_key_id(uint32_t group_id, GroupIdByteOrder order) {
    IdPayload p;
    p.id_type = id_type::key_id;
    if (order == GroupIdByteOrder::network)
        p.data = {static_cast<uint8_t>(group_id >> 24), static_cast<uint8_t>(group_id >> 16),
                  static_cast<uint8_t>(group_id >> 8), static_cast<uint8_t>(group_id)};
    else
        p.data = {static_cast<uint8_t>(group_id), static_cast<uint8_t>(group_id >> 8),
                  static_cast<uint8_t>(group_id >> 16), static_cast<uint8_t>(group_id >> 24)};
    return p;
}

std::optional<uint32_t> IdPayload::group_id(GroupIdByteOrder order) const {
    if (id_type != id_type::key_id || data.size() != 4) return std::nullopt;
    uint32_t be = uint32_t{data[0]} << 24 | uint32_t{data[1]} << 16 | uint32_t{data[2]} << 8 |
                  uint32_t{data[3]};
    uint32_t le = uint32_t{data[3]} << 24 | uint32_t{data[2]} << 16 | uint32_t{data[1]} << 8 |
                  uint32_t{data[0]};
    return order == GroupIdByteOrder::network ? be : le;
}

bool IdPayload::names_group(uint32_t wanted) const {
    return group_id(GroupIdByteOrder::network) == wanted ||
           group_id(GroupIdByteOrder::little_endian) == wanted;
}

} // namespace gdoi::wire
