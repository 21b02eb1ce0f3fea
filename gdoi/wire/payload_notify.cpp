// Notification (RFC 2408 section 3.14):
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ! Next Payload  !   RESERVED    !         Payload Length        !
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// !              Domain of Interpretation  (DOI)                  !
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// !  Protocol-ID  !   SPI Size    !      Notify Message Type      !
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ~                Security Parameter Index (SPI)                 ~
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ~                       Notification Data                       ~
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
#include "gdoi/wire/field_codec.hpp"
#include "gdoi/wire/payload_codec.hpp"

namespace gdoi::wire::detail {

namespace {
template <class Io, class P> void fields(Io& io, P& p) {
    size_t spi_size = p.spi.size();
    io.u32("DOI", p.doi);
    io.u8("Protocol-ID", p.protocol_id);
    io.size8("SPI Size", spi_size);
    io.u16("Notify Message Type", p.notify_type);
    io.bytes("SPI", p.spi, spi_size);
    io.rest("Notification Data", p.data);
}
} // namespace

NotifyPayload decode_notify(Reader& r) {
    NotifyPayload p;
    FieldReader io{r};
    fields(io, p);
    return p;
}

void encode_notify(Writer& w, const NotifyPayload& p) {
    FieldWriter io{w};
    fields(io, p);
}

} // namespace gdoi::wire::detail
