// RFC 8263 GROUPKEY-PUSH acknowledgement: the member answers a push whose SA KEK carries
// KEK_ACK_REQUESTED with an ack datagram to the key server.
//
// EVERY protocol constant of the ack lives here (AckProfile, ack_suite). Sources:
//  [RFC]  RFC 8263 (November 2017), read in full in its published XML source (public GitHub
//         repository bifurcation/pre-rfc-xml, file rfc8263.xml). Its title page and abstract
//         agree word for word with the rfc-editor.org, lysator and tech-invite copies, which
//         could only be read up to the table of contents.
//  [IANA] The IANA "Group Domain of Interpretation (GDOI) Payloads" registry (public GitHub mirror
//         larseggert/iana-assignments, gdoi-payloads/gdoi-payloads.xml): KEK attribute 9
//         KEK_ACK_REQUESTED, type B; registry "SA KEK Payload Values - KEK_ACK_REQUESTED";
//         registry "GDOI DOI Exchange Types": 35 GROUPKEY-PUSH-ACK [RFC8263].
//  [IEC]  A public second-hand summary of IEC 62351-9 section 8.6; agrees with [RFC] throughout.
//
// Status of each item. CONFIRMED: a quoted sentence of [RFC] (section given) says so.
//  - CONFIRMED 2, 8 [IANA]: the request is SA KEK attribute KEK_ACK_REQUESTED (9), basic; its
//    value is the ack type: 1 REKEY_ACK_KEK_SHA256, 2 REKEY_ACK_LKH_SHA256, 3 REKEY_ACK_KEK_SHA512,
//    4 REKEY_ACK_LKH_SHA512 ("they share an identical message format but differ in the keying
//    material used").
//  - CONFIRMED 3: the message is "HDR, HASH, SEQ, ID", in the clear (HDR, not HDR*).
//  - CONFIRMED 3.1: "The cookies of a GROUPKEY-PUSH message act as a Security Parameter Index
//    (SPI) and are copied to the Acknowledgement Message"; Next Payload HASH (8); version 1.0;
//    "The Exchange Type has value 35"; "Flags are set to 0. Message ID MUST be set to 0."
//  - CONFIRMED 3.2: "HASH = prf(ack_key, SEQ | ID)" and
//    "ack_key = prf(base_key, "GROUPKEY-PUSH ACK" | SPI | L)", a SP 800-108 feedback-mode KDF
//    whose output "is the same as the output of the prf, there is no IV, and the optional counter
//    is not used"; the label is "encoded as a null-terminated ASCII string" (18 octets); SPI "is
//    the Initiator Cookie followed by the Responder Cookie taken from the GROUPKEY-PUSH message
//    HDR"; L is "represented as two octets in network byte order".
//  - CONFIRMED 2.1, 2.3: prf "is PRF-HMAC-SHA-256" (type 1) / "PRF-HMAC-SHA-512" (type 3);
//    "The base_key ... is the KEK_ALGORITHM_KEY used to decrypt the GROUPKEY-PUSH message"
//    without the IV ("it is not used in the definition of the base_key"). Keys shorter than the
//    prf block size are "zero-filled to the right" (RFC 4868 2.1.2): HMAC itself pads so.
//  - CONFIRMED 3.3, 3.4: "The value in the GROUPKEY-PUSH SEQ payload is copied"; the ID is
//    ID_IPV4_ADDR or ID_IPV6_ADDR (or ID_OID), "The Protocol ID and Port fields MUST be set to 0",
//    the address "MUST match the source IP address used for the most recent GROUPKEY-PULL".
//  - READING, L: "L MUST match the length of the base_key (i.e., 512 bits for
//    PRF-HMAC-SHA-256)": we send the prf block size, 512 (SHA-256) and 1024 (SHA-512), the base
//    key zero-filled. The same sentence list also says L matches "the number of bits in the
//    ack_key" (256 before zero-filling), so an implementation could have read 256; [IEC] reads
//    512 / 1024 like us.
//  - READING, hashed octets: "SEQ" and "ID" "represent the bytes comprising the Sequence Number
//    and Identification payloads": whole payloads, generic headers included (RFC 6407 writes a
//    payload body alone as "Ni_b").
//  - NOT ANSWERED: types 2 and 4 (their base_key is an LKH key, and gdoid takes no LKH download),
//    unknown types, and attribute 129 (Cisco's private pre-RFC request, format unknown). Section
//    4: "If a GM cannot respond with the requested type of Acknowledgement, it continues with
//    protocol exchange and participates in the group."
// RFC 8263 gives no test vector and no key server capture holds an ack, so nothing here is
// proven against a real key server; the member sends acks only when its configuration says so
// (gdoid.conf `push-ack`). test/unit/gdoi/push/ack_wire_test.cpp pins the bytes these items
// produce, computed independently (hand-laid octets, straight OpenSSL HMAC).
#pragma once

#include "gdoi/crypto/prf.hpp"
#include "gdoi/group_policy.hpp"
#include "gdoi/ip_address.hpp"
#include "gdoi/wire/constants.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace gdoi::push {

struct AckProfile {
    // ISAKMP header (section 3.1); the cookies are those of the push being acknowledged.
    static constexpr uint8_t exchange_type = wire::exchange::groupkey_push_ack;
    static constexpr uint32_t message_id = 0;
    static constexpr uint8_t flags = 0;
    // The KDF label with its terminating NUL (section 3.2).
    static constexpr std::string_view key_label{"GROUPKEY-PUSH ACK\0", 18};
    // ID payload (section 3.4): the member's address, protocol 0, port 0.
    static constexpr uint8_t id_protocol = 0;
    static constexpr uint16_t id_port = 0;
};

// What one KEK_ACK_REQUESTED type asks for (sections 2.1-2.4, 3.2).
struct AckSuite {
    uint16_t type = 0;
    crypto::HashAlgorithm prf = crypto::HashAlgorithm::sha256;
    uint16_t length_bits = 0; // L: the prf block size (see READING, L above)
};

// The suite of an ack type gdoid answers (1 and 3); nullopt for any other.
std::optional<AckSuite> ack_suite(uint16_t type);

// "REKEY_ACK_KEK_SHA256 (1)"; "unassigned value 9" for values no RFC defines.
std::string ack_type_name(uint16_t type);

// What a KEK asks for, for logs: "KEK_ACK_REQUESTED REKEY_ACK_KEK_SHA256 (1)",
// "KEK attribute 129 (Cisco) value 1".
std::string ack_request_name(AckRequest request, uint16_t type);

// Why gdoid cannot answer an ack request (KekPolicy::ack_request and ack_type), as an operator
// sentence; nullopt when it can, or when nothing is asked.
std::optional<std::string> unanswerable_ack_request(AckRequest request, uint16_t type);

// ack_key of `suite` from the KEK the push arrived under.
SecretBytes derive_ack_key(const KekPolicy& kek, const AckSuite& suite);

// The ack datagram for push `sequence` received under `kek`, identifying `member`; `suite`
// from the most recently received SA KEK's request (RFC 8263 section 7.2).
std::vector<uint8_t> build_ack(const KekPolicy& kek, const AckSuite& suite, uint32_t sequence,
                               const IpAddress& member);

struct AckCheck {
    bool valid = false;
    std::string reason; // when !valid: what is wrong
    uint32_t sequence = 0;
    std::optional<IpAddress> member;
};

// Key server side: checks an ack datagram against the KEK it sent the push under, with the ack
// type that KEK asks for.
AckCheck verify_ack(std::span<const uint8_t> datagram, const KekPolicy& kek);

} // namespace gdoi::push
