// KE (RFC 2408 3.7), HASH (3.11), SIG (3.12), NONCE (3.13), VID (3.16): after the generic
// header, nothing but data. One field list serves all five.
//  0                   1                   2                   3
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ! Next Payload  !   RESERVED    !         Payload Length        !
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ~                    Key Exchange / Hash / Signature / Nonce    ~
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
#include "gdoi/wire/field_codec.hpp"
#include "gdoi/wire/payload_codec.hpp"

namespace gdoi::wire::detail {

namespace {
template <class Io, class P> void fields(Io& io, P& p) {
    io.rest("data", p.data);
}

// RFC 2409 section 5: "The length of nonce payload MUST be between 8 and 256 bytes inclusive."
inline constexpr size_t kMinNonce = 8;
inline constexpr size_t kMaxNonce = 256;
} // namespace

template <typename T> T decode_opaque(Reader& r) {
    if (r.done()) r.fail("empty body");
    T p;
    FieldReader io{r};
    fields(io, p);
    if constexpr (std::is_same_v<T, NoncePayload>) {
        if (p.data.size() < kMinNonce || p.data.size() > kMaxNonce)
            r.fail_at(0, "nonce of " + std::to_string(p.data.size()) +
                             " octets, RFC 2409 allows 8 to 256");
    }
    return p;
}

template <typename T> void encode_opaque(Writer& w, const T& p) {
    FieldWriter io{w};
    fields(io, p);
}

template KePayload decode_opaque<KePayload>(Reader&);
template HashPayload decode_opaque<HashPayload>(Reader&);
template SigPayload decode_opaque<SigPayload>(Reader&);
template NoncePayload decode_opaque<NoncePayload>(Reader&);
template VendorIdPayload decode_opaque<VendorIdPayload>(Reader&);
template void encode_opaque<KePayload>(Writer&, const KePayload&);
template void encode_opaque<HashPayload>(Writer&, const HashPayload&);
template void encode_opaque<SigPayload>(Writer&, const SigPayload&);
template void encode_opaque<NoncePayload>(Writer&, const NoncePayload&);
template void encode_opaque<VendorIdPayload>(Writer&, const VendorIdPayload&);

} // namespace gdoi::wire::detail
