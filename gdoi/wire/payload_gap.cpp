// GAP, Group Associated Policy (RFC 6407 section 5.5):
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ! Next Payload  !   RESERVED    !         Payload Length        !
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ~                   Group Associated Policy Attributes          ~
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
#include "gdoi/wire/field_codec.hpp"
#include "gdoi/wire/payload_codec.hpp"

namespace gdoi::wire::detail {

namespace {
template <class Io, class P> void fields(Io& io, P& p) {
    io.attributes(p.attributes);
}
} // namespace

GapPayload decode_gap(Reader& r, BodyDecode&) {
    GapPayload p;
    FieldReader io{r};
    fields(io, p);
    return p;
}

void encode_gap(Writer& w, const GapPayload& p) {
    FieldWriter io{w};
    fields(io, p);
}

} // namespace gdoi::wire::detail
