// The typed model of every ISAKMP/GDOI payload gdoid reads or writes. Wire-level: fields are
// what is on the wire (SA TEK IDs carry raw ID data); semantic conversion to gdoi::TekPolicy &c.
// lives in policy_codec.hpp. One payload per source file (payload_*.cpp) with its RFC diagram.
#pragma once

#include "gdoi/group_policy.hpp"
#include "gdoi/server_quirks.hpp"
#include "gdoi/wire/attributes.hpp"
#include "gdoi/wire/constants.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace gdoi::wire {

using Cookie = std::array<uint8_t, kCookieSize>;

// ---- Phase 1 SA (RFC 2408 sections 3.4-3.6) ----
struct Transform {
    uint8_t number = 1;
    uint8_t transform_id = kTransformKeyIke;
    std::vector<Attribute> attributes;
    bool operator==(const Transform&) const = default;
};

struct Proposal {
    uint8_t number = 1;
    uint8_t protocol_id = kProtoIsakmp;
    std::vector<uint8_t> spi;
    std::vector<Transform> transforms;
    bool operator==(const Proposal&) const = default;
};

struct SaPayload {
    uint32_t doi = doi::ipsec;
    uint32_t situation = kSituationIdentityOnly;
    std::vector<Proposal> proposals;
    bool operator==(const SaPayload&) const = default;
};

// ---- Simple payloads ----
struct KePayload {
    std::vector<uint8_t> data; // DH public value
    bool operator==(const KePayload&) const = default;
};

// RFC 2407 section 4.6.2: ID Type, Protocol ID, Port, Identification Data.
struct IdPayload {
    uint8_t id_type = id_type::ipv4_addr;
    uint8_t protocol = 0;
    uint16_t port = 0;
    std::vector<uint8_t> data;

    static IdPayload ipv4(const IpAddress& address, uint8_t protocol = 0, uint16_t port = 0);
    // ID_IPV4_ADDR or ID_IPV6_ADDR (RFC 2407 4.6.2.1) by the address's family: the Phase 1
    // identity of a member or key server of an IPv6 group is its 16-octet address.
    static IdPayload address(const IpAddress& address, uint8_t protocol = 0, uint16_t port = 0);
    // GDOI PULL message 1: KEY_ID with the 4-octet group number, in the order the quirk says.
    static IdPayload group_key_id(uint32_t group_id,
                                  GroupIdByteOrder order = GroupIdByteOrder::network);
    // The group number read in network order and in little-endian order (both when they
    // agree); nullopt unless a 4-octet KEY_ID.
    std::optional<uint32_t> group_id(GroupIdByteOrder order) const;
    // True when this KEY_ID names `group_id` in either byte order.
    bool names_group(uint32_t group_id) const;
    bool operator==(const IdPayload&) const = default;
};

struct CertPayload {
    uint8_t encoding = cert_encoding::x509_signature;
    std::vector<uint8_t> data;
    bool operator==(const CertPayload&) const = default;
};

// CERTREQ (RFC 2408 section 3.10): the certificate type wanted and, optionally, the DER
// Distinguished Name of an acceptable certificate authority (empty: any).
struct CertRequestPayload {
    uint8_t cert_type = cert_encoding::x509_signature;
    std::vector<uint8_t> authority;
    bool operator==(const CertRequestPayload&) const = default;
};

struct HashPayload {
    std::vector<uint8_t> data;
    bool operator==(const HashPayload&) const = default;
};

struct SigPayload {
    std::vector<uint8_t> data;
    bool operator==(const SigPayload&) const = default;
};

struct NoncePayload {
    std::vector<uint8_t> data;
    bool operator==(const NoncePayload&) const = default;
};

struct VendorIdPayload {
    std::vector<uint8_t> data;
    bool operator==(const VendorIdPayload&) const = default;
};

// RFC 2408 section 3.14.
struct NotifyPayload {
    uint32_t doi = doi::ipsec;
    uint8_t protocol_id = kProtoIsakmp;
    uint16_t notify_type = 0; // NotifyType value (status types go beyond the enum)
    std::vector<uint8_t> spi;
    std::vector<uint8_t> data;
    bool operator==(const NotifyPayload&) const = default;
};

// RFC 2408 section 3.15; in a GROUPKEY-PUSH, DOI 2 and TEK (4-octet) or KEK (16-octet) SPIs.
struct DeletePayload {
    uint32_t doi = doi::gdoi;
    uint8_t protocol_id = tek_protocol::esp;
    uint8_t spi_size = kTekSpiSize;
    std::vector<std::vector<uint8_t>> spis; // each exactly spi_size octets
    bool operator==(const DeletePayload&) const = default;
};

// RFC 6407 section 5.7.
struct SeqPayload {
    uint32_t sequence = 0;
    bool operator==(const SeqPayload&) const = default;
};

// ---- GDOI SA and its sub-payloads (RFC 6407 sections 5.1-5.5) ----

// A source or destination ID inside SA KEK / SA TEK: type, port and raw ID data.
struct IdEndpoint {
    uint8_t id_type = id_type::ipv4_addr;
    uint16_t port = 0;
    std::vector<uint8_t> data;
    bool operator==(const IdEndpoint&) const = default;
};

struct SaKekPayload {
    uint8_t protocol = 17; // IP protocol of the push (UDP)
    IdEndpoint source;
    IdEndpoint destination;
    KekSpi spi{};
    // Octets after the 4-octet RESERVED: 0 per RFC 6407, 2 from the reference key server.
    uint8_t extra_reserved_octets = 0;
    // Width of the ID Data Len fields: 1 per RFC 6407; 2 as TrustCore writes. Set by decode.
    uint8_t id_length_octets = 1;
    std::vector<Attribute> attributes;
    bool operator==(const SaKekPayload&) const = default;
};

struct SaTekPayload {
    uint8_t protocol_id = tek_protocol::esp;
    // PROTO_IPSEC_ESP fields (RFC 6407 section 5.4.1); unused for other protocol IDs.
    uint8_t ip_protocol = 0;
    IdEndpoint source;
    IdEndpoint destination;
    uint8_t transform_id = esp_transform::aes_cbc;
    uint32_t spi = 0;
    // Width of the ID Data Len fields as decoded, or to encode with; 0 = from EncodeContext.
    uint8_t id_length_octets = 0;
    std::vector<Attribute> attributes;
    // Body of an SA TEK with another protocol ID, kept verbatim.
    std::vector<uint8_t> opaque_body;
    bool operator==(const SaTekPayload&) const = default;
};

struct GapPayload {
    std::vector<Attribute> attributes;
    bool operator==(const GapPayload&) const = default;
};

using SaAttributePayload = std::variant<SaKekPayload, GapPayload, SaTekPayload>;

struct GdoiSaPayload {
    uint32_t doi = doi::gdoi;
    uint32_t situation = kGdoiSituation;
    // Servers order them KEK -> GAP -> TEKs; we keep the order we got.
    std::vector<SaAttributePayload> attributes;

    const SaKekPayload* kek() const;
    const GapPayload* gap() const;
    std::vector<const SaTekPayload*> teks() const;
    bool operator==(const GdoiSaPayload&) const = default;
};

// ---- Key Download (RFC 6407 section 5.6) ----
struct KeyPacket {
    uint8_t kd_type = kd_type::tek;
    std::vector<uint8_t> spi; // TEK 4 octets, KEK 16
    std::vector<KeyAttribute> attributes;
    bool operator==(const KeyPacket&) const = default;
};

struct KdPayload {
    std::vector<KeyPacket> packets;
    bool operator==(const KdPayload&) const = default;
};

// A payload of a type we do not model (non-critical): kept so hashes over it stay possible.
struct UnknownPayload {
    uint8_t type = 0;
    std::vector<uint8_t> body;
    bool operator==(const UnknownPayload&) const = default;
};

using PayloadBody =
    std::variant<SaPayload, GdoiSaPayload, KePayload, IdPayload, CertPayload, CertRequestPayload,
                 HashPayload,
                 SigPayload, NoncePayload, NotifyPayload, DeletePayload, VendorIdPayload,
                 SeqPayload, KdPayload, UnknownPayload>;

struct Payload {
    PayloadBody body;
    bool critical = false;
    // Where the decoder found it (absolute, including the 4-octet generic header); 0 when built.
    size_t offset = 0;
    size_t length = 0;

    Payload() = default;
    template <typename T>
    requires(!std::is_same_v<std::decay_t<T>, Payload> && std::is_constructible_v<PayloadBody, T>)
        Payload(T&& b)
        : body(std::forward<T>(b)) {} // NOLINT: implicit on purpose

    uint8_t type() const;
    template <typename T> const T* get() const { return std::get_if<T>(&body); }
    template <typename T> T* get() { return std::get_if<T>(&body); }
};

// The payload type number of a body (SaPayload and GdoiSaPayload are both 1).
uint8_t payload_type_of(const PayloadBody& body);
const char* payload_name(uint8_t type);

} // namespace gdoi::wire
