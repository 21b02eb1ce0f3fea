// Phase 1 Security Association (RFC 2408 sections 3.4-3.6, IPsec DOI situation RFC 2407 4.6.1):
// SA:        ! Next Payload ! RESERVED ! Payload Length !
//            !              Domain of Interpretation (DOI)              !
//            !                        Situation                         !
// Proposal:  ! 0 (last) or 2 ! RESERVED ! Payload Length !
//            ! Proposal #   ! Protocol-Id ! SPI Size ! # of Transforms !
//            ~                        SPI (variable)                    ~
// Transform: ! 0 (last) or 3 ! RESERVED ! Payload Length !
//            ! Transform #  ! Transform-Id !          RESERVED2         !
//            ~                      SA Attributes                       ~
// The reference key server sends DOI 2 (GDOI) in its Phase 1 SA; RFC 6407 says DOI 1.
// We accept both and report which one we saw.
#include "gdoi/wire/field_codec.hpp"
#include "gdoi/wire/payload_codec.hpp"

#include <string>

namespace gdoi::wire::detail {

namespace {

template <class Io, class P> void transform_fields(Io& io, P& t) {
    io.u8("Transform #", t.number);
    io.u8("Transform-Id", t.transform_id);
    io.reserved("RESERVED2", 2);
    io.attributes(t.attributes);
}

struct SubHeader {
    uint8_t next;
    size_t length;
};

SubHeader read_sub_header(Reader& r, const char* what) {
    SubHeader h;
    h.next = r.u8("next payload");
    r.skip(1, "RESERVED");
    h.length = r.u16("payload length");
    if (h.length < kGenericPayloadHeaderSize)
        r.fail(std::string(what) + " length " + std::to_string(h.length) + " is below 4");
    if (h.length - kGenericPayloadHeaderSize > r.remaining())
        r.fail(std::string(what) + " length " + std::to_string(h.length) + " exceeds the " +
               std::to_string(r.remaining() + kGenericPayloadHeaderSize) + " octets left in SA");
    return h;
}

Transform decode_transform(Reader& r) {
    Transform t;
    FieldReader io{r};
    transform_fields(io, t);
    return t;
}

Proposal decode_proposal(Reader& r, size_t index) {
    Proposal p;
    p.number = r.u8("Proposal #");
    p.protocol_id = r.u8("Protocol-Id");
    size_t spi_size = r.u8("SPI Size");
    size_t count = r.u8("# of Transforms");
    auto spi = r.bytes(spi_size, "SPI");
    p.spi.assign(spi.begin(), spi.end());
    uint8_t next = payload::transform;
    for (size_t i = 0; i < count; ++i) {
        if (next != payload::transform)
            r.fail("# of Transforms says " + std::to_string(count) + ", chain ends after " +
                       std::to_string(i),
                   NotifyType::bad_proposal_syntax);
        auto h = read_sub_header(r, "transform");
        auto sub = r.sub(h.length - kGenericPayloadHeaderSize,
                         "SA proposal " + std::to_string(index + 1) + " transform " +
                             std::to_string(i + 1),
                         "transform");
        p.transforms.push_back(decode_transform(sub));
        sub.assert_done();
        next = h.next;
    }
    if (next != payload::none)
        r.fail("last transform announces next payload " + std::to_string(next),
               NotifyType::bad_proposal_syntax);
    r.assert_done();
    return p;
}

} // namespace

SaPayload decode_sa(Reader& r, BodyDecode& d) {
    SaPayload sa;
    sa.doi = r.u32("DOI");
    if (sa.doi != doi::ipsec && sa.doi != doi::gdoi)
        r.fail_at(0, "DOI " + std::to_string(sa.doi) + " not supported",
                  NotifyType::doi_not_supported);
    d.observe(sa.doi == doi::ipsec ? ObservationKind::phase1_doi_ipsec
                                   : ObservationKind::phase1_doi_gdoi,
              "Phase 1 SA DOI " + std::to_string(sa.doi));
    sa.situation = r.u32("Situation");
    uint8_t next = payload::proposal;
    size_t index = 0;
    while (!r.done()) {
        if (next != payload::proposal)
            r.fail("octets after the last proposal", NotifyType::bad_proposal_syntax);
        auto h = read_sub_header(r, "proposal");
        auto sub = r.sub(h.length - kGenericPayloadHeaderSize,
                         "SA proposal " + std::to_string(index + 1), "proposal");
        sa.proposals.push_back(decode_proposal(sub, index));
        next = h.next;
        ++index;
    }
    if (sa.proposals.empty()) r.fail("no proposal", NotifyType::bad_proposal_syntax);
    if (next != payload::none)
        r.fail("last proposal announces next payload " + std::to_string(next),
               NotifyType::bad_proposal_syntax);
    return sa;
}

void encode_sa(Writer& w, const SaPayload& sa) {
    w.u32(sa.doi);
    w.u32(sa.situation);
    for (size_t i = 0; i < sa.proposals.size(); ++i) {
        const auto& p = sa.proposals[i];
        size_t start = w.size();
        w.u8(i + 1 < sa.proposals.size() ? payload::proposal : payload::none);
        w.u8(0);
        size_t length_at = w.placeholder_u16();
        w.u8(p.number);
        w.u8(p.protocol_id);
        if (p.spi.size() > 0xff || p.transforms.size() > 0xff)
            throw EncodeError("SA proposal: SPI or transform count exceeds 255");
        w.u8(static_cast<uint8_t>(p.spi.size()));
        w.u8(static_cast<uint8_t>(p.transforms.size()));
        w.bytes(p.spi);
        for (size_t j = 0; j < p.transforms.size(); ++j) {
            size_t tstart = w.size();
            w.u8(j + 1 < p.transforms.size() ? payload::transform : payload::none);
            w.u8(0);
            size_t tlength_at = w.placeholder_u16();
            FieldWriter io{w};
            transform_fields(io, p.transforms[j]);
            w.patch_length_u16(tlength_at, tstart, "transform");
        }
        w.patch_length_u16(length_at, start, "proposal");
    }
}

} // namespace gdoi::wire::detail
