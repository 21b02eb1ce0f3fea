// CERT (RFC 2408 section 3.9) and CERTREQ (section 3.10, the same layout: Cert Type and
// Certificate Authority in place of Cert Encoding and Certificate Data):
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

CertRequestPayload decode_cert_request(Reader& r) {
    CertRequestPayload p;
    FieldReader io{r};
    io.u8("Cert Type", p.cert_type);
    io.rest("Certificate Authority", p.authority); // may be empty: any authority
    return p;
}

void encode_cert_request(Writer& w, const CertRequestPayload& p) {
    FieldWriter io{w};
    io.u8("Cert Type", p.cert_type);
    io.rest("Certificate Authority", p.authority);
}

} // namespace gdoi::wire::detail
