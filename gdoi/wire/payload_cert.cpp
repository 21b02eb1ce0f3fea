// CERT (RFC 2408 section 3.9):
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ! Next Payload  !   RESERVED    !         Payload Length        !
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ! Cert Encoding !                                               !
// +-+-+-+-+-+-+-+-+                                               !
// ~                       Certificate Data                        ~
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
#include "gdoi/wire/field_codec.hpp"
#include "gdoi/wire/payload_codec.hpp"

namespace gdoi::wire::detail {

namespace {
template <class Io, class P> void fields(Io& io, P& p) {
    io.u8("Cert Encoding", p.encoding);
    io.rest("Certificate Data", p.data);
}
} // namespace

CertPayload decode_cert(Reader& r) {
    CertPayload p;
    FieldReader io{r};
    fields(io, p);
    if (p.data.empty()) r.fail("no certificate data", NotifyType::invalid_certificate);
    return p;
}

void encode_cert(Writer& w, const CertPayload& p) {
    FieldWriter io{w};
    fields(io, p);
}

} // namespace gdoi::wire::detail
