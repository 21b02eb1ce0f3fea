// ISAKMP header (RFC 2408 section 3.1) and the payload chain (generic payload header, 3.2):
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// !                          Initiator                            !
// !                            Cookie                             !
// !                          Responder                            !
// !                            Cookie                             !
// !  Next Payload ! MjVer ! MnVer ! Exchange Type !     Flags     !
// !                          Message ID                           !
// !                            Length                             !
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ! Next Payload  !C!  RESERVED   !         Payload Length        !
#include "gdoi/wire/message.hpp"

#include "gdoi/wire/payload_codec.hpp"

#include <string>

namespace gdoi::wire {

KekSpi Header::cookies() const {
    KekSpi spi{};
    std::copy(initiator_cookie.begin(), initiator_cookie.end(), spi.begin());
    std::copy(responder_cookie.begin(), responder_cookie.end(), spi.begin() + kCookieSize);
    return spi;
}

void Header::set_cookies(const KekSpi& spi) {
    std::copy(spi.begin(), spi.begin() + kCookieSize, initiator_cookie.begin());
    std::copy(spi.begin() + kCookieSize, spi.end(), responder_cookie.begin());
}

const Payload* Message::find_payload(uint8_t type) const {
    for (const auto& p : payloads)
        if (p.type() == type) return &p;
    return nullptr;
}

Header decode_header(std::span<const uint8_t> bytes) {
    Reader r(bytes, "ISAKMP header");
    Header h;
    auto ic = r.bytes(kCookieSize, "Initiator Cookie");
    std::copy(ic.begin(), ic.end(), h.initiator_cookie.begin());
    auto rc = r.bytes(kCookieSize, "Responder Cookie");
    std::copy(rc.begin(), rc.end(), h.responder_cookie.begin());
    h.next_payload = r.u8("Next Payload");
    h.version = r.u8("Version");
    // RFC 2408 section 5.2: "If the Major Version is larger than the current, the message
    // MUST be discarded"; minor versions are compared likewise.
    if ((h.version >> 4) != (kIsakmpVersion >> 4))
        r.fail_at(17, "major version " + std::to_string(h.version >> 4) + ", expected 1",
                  NotifyType::invalid_major_version);
    if ((h.version & 0x0f) != 0)
        r.fail_at(17, "minor version " + std::to_string(h.version & 0x0f) + ", expected 0",
                  NotifyType::invalid_minor_version);
    h.exchange_type = r.u8("Exchange Type");
    h.flags = r.u8("Flags");
    h.message_id = r.u32("Message ID");
    h.length = r.u32("Length");
    return h;
}

void encode_header(Writer& w, const Header& h) {
    w.bytes(h.initiator_cookie);
    w.bytes(h.responder_cookie);
    w.u8(h.next_payload);
    w.u8(h.version);
    w.u8(h.exchange_type);
    w.u8(h.flags);
    w.u32(h.message_id);
    w.u32(h.length);
}

namespace detail {

bool is_gdoi_exchange(uint8_t exchange_type) {
    return exchange_type == exchange::groupkey_pull || exchange_type == exchange::groupkey_push;
}

PayloadBody decode_body(uint8_t type, Reader& r, BodyDecode& d) {
    switch (type) {
    case payload::sa:
        if (is_gdoi_exchange(d.exchange_type)) return decode_gdoi_sa(r, d);
        return decode_sa(r, d);
    case payload::key_exchange:
        return decode_opaque<KePayload>(r);
    case payload::identification:
        return decode_id(r, d);
    case payload::certificate:
        return decode_cert(r);
    case payload::certificate_request:
        return decode_cert_request(r);
    case payload::hash:
        return decode_opaque<HashPayload>(r);
    case payload::signature:
        return decode_opaque<SigPayload>(r);
    case payload::nonce:
        return decode_opaque<NoncePayload>(r);
    case payload::notification:
        return decode_notify(r);
    case payload::del:
        return decode_delete(r);
    case payload::vendor_id:
        return decode_opaque<VendorIdPayload>(r);
    case payload::sequence:
        return decode_seq(r);
    case payload::key_download:
        return decode_kd(r, d);
    default: {
        auto body = r.rest();
        return UnknownPayload{type, {body.begin(), body.end()}};
    }
    }
}

void encode_body(Writer& w, const PayloadBody& body, const EncodeContext& ctx) {
    struct Visitor {
        Writer& w;
        const EncodeContext& ctx;
        void operator()(const SaPayload& p) const { encode_sa(w, p); }
        void operator()(const GdoiSaPayload& p) const { encode_gdoi_sa(w, p, ctx); }
        void operator()(const KePayload& p) const { encode_opaque(w, p); }
        void operator()(const IdPayload& p) const { encode_id(w, p); }
        void operator()(const CertPayload& p) const { encode_cert(w, p); }
        void operator()(const CertRequestPayload& p) const { encode_cert_request(w, p); }
        void operator()(const HashPayload& p) const { encode_opaque(w, p); }
        void operator()(const SigPayload& p) const { encode_opaque(w, p); }
        void operator()(const NoncePayload& p) const { encode_opaque(w, p); }
        void operator()(const NotifyPayload& p) const { encode_notify(w, p); }
        void operator()(const DeletePayload& p) const { encode_delete(w, p); }
        void operator()(const VendorIdPayload& p) const { encode_opaque(w, p); }
        void operator()(const SeqPayload& p) const { encode_seq(w, p); }
        void operator()(const KdPayload& p) const { encode_kd(w, p); }
        void operator()(const UnknownPayload& p) const { w.bytes(p.body); }
    };
    std::visit(Visitor{w, ctx}, body);
}

bool is_known_type(uint8_t type) {
    switch (type) {
    case payload::sa:
    case payload::key_exchange:
    case payload::identification:
    case payload::certificate:
    case payload::certificate_request:
    case payload::hash:
    case payload::signature:
    case payload::nonce:
    case payload::notification:
    case payload::del:
    case payload::vendor_id:
    case payload::sequence:
    case payload::key_download:
        return true;
    default:
        return false;
    }
}

} // namespace detail

std::vector<Payload> decode_payload_chain(std::span<const uint8_t> bytes, uint8_t first_type,
                                          uint8_t exchange_type, const DecodeContext& ctx,
                                          std::vector<Observation>& observations,
                                          size_t base_offset) {
    detail::BodyDecode d{ctx, observations, exchange_type};
    Reader r(bytes, "payload chain", base_offset);
    std::vector<Payload> out;
    uint8_t type = first_type;
    size_t index = 0;
    while (type != payload::none) {
        ++index;
        size_t start = r.position();
        std::string name = std::string(payload_name(type)) + " payload " + std::to_string(index);
        if (r.remaining() == 0) r.fail("chain announces " + name + " but the message ends here");
        uint8_t next = r.u8(name + " next payload");
        uint8_t reserved = r.u8(name + " RESERVED");
        size_t length = r.u16(name + " payload length");
        if (length < kGenericPayloadHeaderSize)
            r.fail_at(start, name + " length " + std::to_string(length) + " is below 4");
        if (length - kGenericPayloadHeaderSize > r.remaining())
            r.fail_at(start, name + " length " + std::to_string(length) + " exceeds the " +
                                 std::to_string(r.remaining() + kGenericPayloadHeaderSize) +
                                 " octets left in the message");
        bool critical = reserved & kCriticalBit;
        if (!detail::is_known_type(type)) {
            // RFC 2408 section 5.1 rejects unknown payload types with INVALID-PAYLOAD-TYPE;
            // like RFC 7296 section 2.5 we skip them unless the sender marked them critical.
            if (critical)
                r.fail_at(start,
                          name + " of unknown type " + std::to_string(type) + " is marked critical",
                          NotifyType::invalid_payload_type);
            d.observe(ObservationKind::unknown_payload_skipped,
                      "skipped payload type " + std::to_string(type));
        }
        Reader sub = r.sub(length - kGenericPayloadHeaderSize, payload_name(type), "payload body");
        Payload p;
        p.body = detail::decode_body(type, sub, d);
        sub.assert_done();
        p.critical = critical;
        p.offset = base_offset + start;
        p.length = length;
        out.push_back(std::move(p));
        type = next;
    }
    if (!r.done()) {
        if (ctx.trailing == TrailingData::reject)
            r.fail(std::to_string(r.remaining()) + " octets after the last payload",
                   NotifyType::unequal_payload_lengths);
        d.observe(ObservationKind::trailing_padding,
                  std::to_string(r.remaining()) + " octets of padding after the last payload");
    }
    return out;
}

Message decode_message(std::span<const uint8_t> bytes, const DecodeContext& ctx) {
    Message m;
    m.header = decode_header(bytes);
    // RFC 2408 section 5.1: the Length field must match the octets received.
    if (m.header.length != bytes.size())
        throw DecodeError(NotifyType::unequal_payload_lengths, "ISAKMP header",
                          "Length field says " + std::to_string(m.header.length) +
                              " octets, message has " + std::to_string(bytes.size()),
                          24);
    m.payloads = decode_payload_chain(bytes.subspan(kHeaderSize), m.header.next_payload,
                                      m.header.exchange_type, ctx, m.observations, kHeaderSize);
    return m;
}

namespace {
void write_payload(Writer& w, const Payload& p, uint8_t next, const EncodeContext& ctx) {
    size_t start = w.size();
    w.u8(next);
    w.u8(p.critical ? kCriticalBit : 0);
    size_t length_at = w.placeholder_u16();
    detail::encode_body(w, p.body, ctx);
    w.patch_length_u16(length_at, start, payload_name(p.type()));
}

void write_chain(Writer& w, std::span<const Payload> payloads, const EncodeContext& ctx) {
    for (size_t i = 0; i < payloads.size(); ++i)
        write_payload(w, payloads[i], i + 1 < payloads.size() ? payloads[i + 1].type() : 0, ctx);
}
} // namespace

std::vector<uint8_t> encode_message(const Message& m, const EncodeContext& ctx) {
    Writer w;
    Header h = m.header;
    h.next_payload = m.payloads.empty() ? payload::none : m.payloads.front().type();
    encode_header(w, h);
    write_chain(w, m.payloads, ctx);
    w.patch_u32(24, static_cast<uint32_t>(w.size()));
    return w.take();
}

std::vector<uint8_t> encode_payloads(std::span<const Payload> payloads, const EncodeContext& ctx) {
    Writer w;
    write_chain(w, payloads, ctx);
    return w.take();
}

std::vector<uint8_t> encode_payload(const Payload& payload, uint8_t next,
                                    const EncodeContext& ctx) {
    Writer w;
    write_payload(w, payload, next, ctx);
    return w.take();
}

std::vector<uint8_t> encode_payload_body(const PayloadBody& body, const EncodeContext& ctx) {
    Writer w;
    detail::encode_body(w, body, ctx);
    return w.take();
}

PayloadChain walk_payload_chain(std::span<const uint8_t> message) {
    Header h = decode_header(message);
    Reader r(message.subspan(kHeaderSize), "payload chain", kHeaderSize);
    PayloadChain chain;
    uint8_t type = h.next_payload;
    while (type != payload::none) {
        size_t start = r.offset();
        uint8_t next = r.u8("next payload");
        r.skip(1, "RESERVED");
        size_t length = r.u16("payload length");
        if (length < kGenericPayloadHeaderSize)
            r.fail_at(start - kHeaderSize, std::string(payload_name(type)) + " length " +
                                               std::to_string(length) + " is below 4");
        r.skip(length - kGenericPayloadHeaderSize, payload_name(type));
        chain.payloads.push_back({type, start, length});
        type = next;
    }
    chain.end = r.offset();
    return chain;
}

std::span<const uint8_t> payload_bytes(std::span<const uint8_t> message, const Payload& p) {
    if (p.length == 0 || p.offset + p.length > message.size())
        throw std::out_of_range("payload_bytes: payload was not decoded from this message");
    return message.subspan(p.offset, p.length);
}

std::span<const uint8_t> payload_body_bytes(std::span<const uint8_t> message, const Payload& p) {
    return payload_bytes(message, p).subspan(kGenericPayloadHeaderSize);
}

std::span<const uint8_t> payload_bytes(std::span<const uint8_t> message,
                                       const PayloadLocation& location) {
    if (location.offset + location.length > message.size())
        throw std::out_of_range("payload_bytes: location outside the message");
    return message.subspan(location.offset, location.length);
}

std::span<const uint8_t> payload_range_bytes(std::span<const uint8_t> message, const Payload& first,
                                             const Payload& last) {
    auto a = payload_bytes(message, first);
    auto b = payload_bytes(message, last);
    if (b.data() < a.data()) throw std::out_of_range("payload_range_bytes: last before first");
    return message.subspan(first.offset, last.offset + last.length - first.offset);
}

size_t find_chain_end(std::span<const uint8_t> message) {
    return walk_payload_chain(message).end;
}

void rewrite_header_length(std::span<uint8_t> message, uint32_t length) {
    if (message.size() < kHeaderSize) throw std::out_of_range("rewrite_header_length: no header");
    for (int i = 0; i < 4; ++i)
        message[24 + i] = static_cast<uint8_t>(length >> (24 - 8 * i));
}

void set_header_flags(std::span<uint8_t> message, uint8_t value) {
    if (message.size() < kHeaderSize) throw std::out_of_range("set_header_flags: no header");
    message[19] = value;
}

} // namespace gdoi::wire
