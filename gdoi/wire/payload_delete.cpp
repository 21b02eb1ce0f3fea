// Delete (RFC 2408 section 3.15); in GROUPKEY-PUSH with DOI 2 (RFC 6407 section 4.1.1):
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ! Next Payload  !   RESERVED    !         Payload Length        !
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// !              Domain of Interpretation  (DOI)                  !
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// !  Protocol-Id  !   SPI Size    !           # of SPIs           !
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ~               Security Parameter Index(es) (SPI)              ~
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
#include "gdoi/wire/field_codec.hpp"
#include "gdoi/wire/payload_codec.hpp"

namespace gdoi::wire::detail {

namespace {
template <class Io, class P> void fields(Io& io, P& p) {
    size_t spi_size = p.spi_size;
    size_t count = p.spis.size();
    io.u32("DOI", p.doi);
    io.u8("Protocol-Id", p.protocol_id);
    io.size8("SPI Size", spi_size);
    io.size16("# of SPIs", count);
    if constexpr (Io::reading) {
        p.spi_size = static_cast<uint8_t>(spi_size);
        // Each SPI must fit in what is left: refuse before allocating for a lying count.
        if (spi_size == 0 && count != 0)
            io.r.fail("SPI Size 0 with " + std::to_string(count) + " SPIs");
        if (spi_size != 0 && count > io.r.remaining() / spi_size)
            io.r.fail(std::to_string(count) + " SPIs of " + std::to_string(spi_size) +
                      " octets declared, " + std::to_string(io.r.remaining()) + " octets left");
        p.spis.resize(count);
    }
    for (size_t i = 0; i < count; ++i)
        io.bytes("SPI", p.spis[i], spi_size);
}
} // namespace

DeletePayload decode_delete(Reader& r) {
    DeletePayload p;
    FieldReader io{r};
    fields(io, p);
    return p;
}

void encode_delete(Writer& w, const DeletePayload& p) {
    FieldWriter io{w};
    fields(io, p);
}

} // namespace gdoi::wire::detail
