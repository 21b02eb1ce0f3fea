// SEQ (RFC 6407 section 5.7):
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ! Next Payload  !   RESERVED    !         Payload Length        !
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// !                        Sequence Number                        !
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
#include "gdoi/wire/field_codec.hpp"
#include "gdoi/wire/payload_codec.hpp"

namespace gdoi::wire::detail {

namespace {
template <class Io, class P> void fields(Io& io, P& p) {
    io.u32("Sequence Number", p.sequence);
}
} // namespace

SeqPayload decode_seq(Reader& r) {
    SeqPayload p;
    FieldReader io{r};
    fields(io, p);
    return p;
}

void encode_seq(Writer& w, const SeqPayload& p) {
    FieldWriter io{w};
    fields(io, p);
}

} // namespace gdoi::wire::detail
