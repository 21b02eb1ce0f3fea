// ISAKMP/GDOI messages: the 28-octet header plus a chain of typed payloads, decoded with the
// peer's quirks and encoded back. Also the byte-level helpers the crypto code needs (raw payload
// bytes for HASH(1..4) and signatures, the end of a zero-padded chain, header length rewrite).
//
// Usage:
//   using namespace gdoi::wire;
//   DecodeContext ctx{.quirks = server_quirks, .trailing = TrailingData::padding};
//   Message m = decode_message(plaintext, ctx);          // throws DecodeError (e.notify())
//   for (auto& o : m.observations) log(observation_name(o.kind), o.detail);
//   if (auto* seq = m.find<SeqPayload>()) ...;
//   auto hash_input = payload_bytes(plaintext, *m.find_payload(payload::nonce)); // whole payload
//
//   Message pull1;
//   pull1.header = Header{.initiator_cookie = ic, .responder_cookie = rc,
//                         .exchange_type = exchange::groupkey_pull,
//                         .flags = flags::encryption, .message_id = mid};
//   pull1.payloads = {HashPayload{hash}, NoncePayload{ni},
//                     IdPayload::group_key_id(1234, quirks.group_id_byte_order)};
//   std::vector<uint8_t> bytes = encode_message(pull1, EncodeContext{quirks});
//   auto chain = walk_payload_chain(bytes);               // offsets of each payload
#pragma once

#include "gdoi/wire/context.hpp"
#include "gdoi/wire/decode_error.hpp"
#include "gdoi/wire/payloads.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace gdoi::wire {

// RFC 2408 section 3.1.
struct Header {
    Cookie initiator_cookie{};
    Cookie responder_cookie{};
    uint8_t next_payload = 0; // filled by encode_message from the first payload
    uint8_t version = kIsakmpVersion;
    uint8_t exchange_type = 0;
    uint8_t flags = 0;
    uint32_t message_id = 0;
    uint32_t length = 0; // filled by encode_message

    // The 16 octets of both cookies (a KEK SPI in GROUPKEY-PUSH).
    KekSpi cookies() const;
    void set_cookies(const KekSpi& spi);
    bool operator==(const Header&) const = default;
};

struct Message {
    Header header;
    std::vector<Payload> payloads;
    std::vector<Observation> observations; // filled by decode_message

    template <typename T> const T* find() const {
        for (const auto& p : payloads)
            if (auto* body = p.get<T>()) return body;
        return nullptr;
    }
    template <typename T> std::vector<const T*> find_all() const {
        std::vector<const T*> out;
        for (const auto& p : payloads)
            if (auto* body = p.get<T>()) out.push_back(body);
        return out;
    }
    const Payload* find_payload(uint8_t type) const;
};

// Reads the 28-octet header (checks version; nothing about the body).
Header decode_header(std::span<const uint8_t> bytes);
void encode_header(Writer& writer, const Header& header);

// Decodes a whole message: header, then every payload in the chain, each body by its own
// sub-reader. SA payloads are GDOI SAs in GROUPKEY-PULL/PUSH (exchange 32/33), else Phase 1.
// Errors: DecodeError with the ISAKMP notify type (PAYLOAD-MALFORMED, INVALID-PAYLOAD-TYPE,
// UNEQUAL-PAYLOAD-LENGTHS, ...).
Message decode_message(std::span<const uint8_t> bytes, const DecodeContext& ctx = {});

// Decodes a payload chain that does not start at a header (e.g. inside tests): `first_type`
// is the type of the first payload, offsets are relative to `bytes` plus `base_offset`.
std::vector<Payload> decode_payload_chain(std::span<const uint8_t> bytes, uint8_t first_type,
                                          uint8_t exchange_type, const DecodeContext& ctx,
                                          std::vector<Observation>& observations,
                                          size_t base_offset = 0);

// Encodes header + payloads; next-payload fields and the header length are computed.
std::vector<uint8_t> encode_message(const Message& message, const EncodeContext& ctx = {});
// Encodes the payloads chained (next-payload of the last = 0), no header.
std::vector<uint8_t> encode_payloads(std::span<const Payload> payloads,
                                     const EncodeContext& ctx = {});
// One payload with its generic header, given the next payload type to put in it.
std::vector<uint8_t> encode_payload(const Payload& payload, uint8_t next_payload,
                                    const EncodeContext& ctx = {});
// One payload's body (without the generic header): what HASH(1..4) take for Ni_b, Nr_b.
std::vector<uint8_t> encode_payload_body(const PayloadBody& body, const EncodeContext& ctx = {});

// ---- byte-level helpers (no body decoding) ----

struct PayloadLocation {
    uint8_t type = 0;
    size_t offset = 0; // absolute, at the generic header
    size_t length = 0; // including the generic header
};

struct PayloadChain {
    std::vector<PayloadLocation> payloads;
    size_t end = 0; // offset just after the last payload
};

// Walks the generic headers from the ISAKMP header's next-payload field. Stops at next = 0;
// octets after that (CBC padding of a push) are not looked at. Throws DecodeError if a
// length is below 4 or runs past the buffer.
PayloadChain walk_payload_chain(std::span<const uint8_t> message);

// The raw octets of a decoded payload (generic header included), or just its body.
std::span<const uint8_t> payload_bytes(std::span<const uint8_t> message, const Payload& payload);
std::span<const uint8_t> payload_body_bytes(std::span<const uint8_t> message,
                                            const Payload& payload);
std::span<const uint8_t> payload_bytes(std::span<const uint8_t> message,
                                       const PayloadLocation& location);
// Raw octets from the start of payload `first` to the end of payload `last` (inclusive):
// HASH(2) covers Nr .. SA as whole payloads.
std::span<const uint8_t> payload_range_bytes(std::span<const uint8_t> message, const Payload& first,
                                             const Payload& last);

// Where the payload chain ends in zero-padded decrypted data (pushes carry no pad-length).
size_t find_chain_end(std::span<const uint8_t> message);

// Sets the header's length field (push signatures are over the unpadded length).
void rewrite_header_length(std::span<uint8_t> message, uint32_t length);
void set_header_flags(std::span<uint8_t> message, uint8_t flags);

} // namespace gdoi::wire
