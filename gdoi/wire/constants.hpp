// Every number of ISAKMP (RFC 2408), the IKEv1 attributes (RFC 2409), the IPsec DOI (RFC 2407)
// and GDOI (RFC 3547, RFC 6407, RFC 8263) that the codec uses, named once and only here.
#pragma once

#include <cstddef>
#include <cstdint>

namespace gdoi::wire {

// ---- ISAKMP header (RFC 2408 section 3.1) ----
inline constexpr size_t kHeaderSize = 28;
inline constexpr size_t kGenericPayloadHeaderSize = 4;
inline constexpr size_t kCookieSize = 8;
inline constexpr uint8_t kIsakmpVersion = 0x10; // major 1, minor 0
inline constexpr uint16_t kGdoiPort = 848;      // RFC 6407 section 1: both directions
inline constexpr uint16_t kIkePort = 500;

namespace flags {
inline constexpr uint8_t encryption = 0x01;
inline constexpr uint8_t commit = 0x02;
inline constexpr uint8_t authentication_only = 0x04;
} // namespace flags

// The generic payload header's second octet. RFC 2408 calls it RESERVED; GDOI stacks (and
// RFC 6407 via IKEv2 practice) treat its top bit as "critical" for unknown payload types.
inline constexpr uint8_t kCriticalBit = 0x80;

namespace exchange {
inline constexpr uint8_t none = 0;
inline constexpr uint8_t base = 1;
inline constexpr uint8_t identity_protection = 2; // Main Mode
inline constexpr uint8_t authentication_only = 3;
inline constexpr uint8_t aggressive = 4;
inline constexpr uint8_t informational = 5;
inline constexpr uint8_t quick_mode = 32;
inline constexpr uint8_t groupkey_pull = 32; // RFC 6407 section 3
inline constexpr uint8_t groupkey_push = 33; // RFC 6407 section 4
inline constexpr uint8_t groupkey_push_ack = 35; // RFC 8263 section 3.1 ("GDOI DOI Exchange Types")
} // namespace exchange

// ---- Payload types (RFC 2408 section 3.1, RFC 6407 section 5) ----
namespace payload {
inline constexpr uint8_t none = 0;
inline constexpr uint8_t sa = 1;
inline constexpr uint8_t proposal = 2;
inline constexpr uint8_t transform = 3;
inline constexpr uint8_t key_exchange = 4;
inline constexpr uint8_t identification = 5;
inline constexpr uint8_t certificate = 6;
inline constexpr uint8_t certificate_request = 7;
inline constexpr uint8_t hash = 8;
inline constexpr uint8_t signature = 9;
inline constexpr uint8_t nonce = 10;
inline constexpr uint8_t notification = 11;
inline constexpr uint8_t del = 12;
inline constexpr uint8_t vendor_id = 13;
inline constexpr uint8_t sa_kek = 15;
inline constexpr uint8_t sa_tek = 16;
inline constexpr uint8_t key_download = 17;
inline constexpr uint8_t sequence = 18;
inline constexpr uint8_t proof_of_possession = 19; // RFC 3547 only
inline constexpr uint8_t gap = 22;                 // RFC 6407 section 5.5
} // namespace payload

// ---- Domains of interpretation ----
namespace doi {
inline constexpr uint32_t isakmp = 0;
inline constexpr uint32_t ipsec = 1;
inline constexpr uint32_t gdoi = 2;
} // namespace doi

inline constexpr uint32_t kSituationIdentityOnly = 1; // IPsec DOI SIT_IDENTITY_ONLY
inline constexpr uint32_t kGdoiSituation = 0;         // RFC 6407 section 5.1

// ---- Notify message types (RFC 2408 section 3.14.1, RFC 2407 section 4.6.3) ----
enum class NotifyType : uint16_t {
    none = 0,
    invalid_payload_type = 1,
    doi_not_supported = 2,
    situation_not_supported = 3,
    invalid_cookie = 4,
    invalid_major_version = 5,
    invalid_minor_version = 6,
    invalid_exchange_type = 7,
    invalid_flags = 8,
    invalid_message_id = 9,
    invalid_protocol_id = 10,
    invalid_spi = 11,
    invalid_transform_id = 12,
    attributes_not_supported = 13,
    no_proposal_chosen = 14,
    bad_proposal_syntax = 15,
    payload_malformed = 16,
    invalid_key_information = 17,
    invalid_id_information = 18,
    invalid_cert_encoding = 19,
    invalid_certificate = 20,
    cert_type_unsupported = 21,
    invalid_cert_authority = 22,
    invalid_hash_information = 23,
    authentication_failed = 24,
    invalid_signature = 25,
    address_notification = 26,
    notify_sa_lifetime = 27,
    certificate_unavailable = 28,
    unsupported_exchange_type = 29,
    unequal_payload_lengths = 30,
    connected = 16384,
    responder_lifetime = 24576,
    replay_status = 24577,
    initial_contact = 24578,
};

// ---- Phase 1 (RFC 2409 appendix A; AES from RFC 3602, SHA-2 from RFC 4868) ----
inline constexpr uint8_t kProtoIsakmp = 1; // proposal protocol ID
inline constexpr uint8_t kTransformKeyIke = 1;

namespace ike_attr {
inline constexpr uint16_t encryption_algorithm = 1;
inline constexpr uint16_t hash_algorithm = 2;
inline constexpr uint16_t authentication_method = 3;
inline constexpr uint16_t group_description = 4;
inline constexpr uint16_t group_type = 5;
inline constexpr uint16_t life_type = 11;
inline constexpr uint16_t life_duration = 12;
inline constexpr uint16_t prf = 13;
inline constexpr uint16_t key_length = 14;
} // namespace ike_attr

namespace ike_encryption {
inline constexpr uint16_t des_cbc = 1;
inline constexpr uint16_t des3_cbc = 5;
inline constexpr uint16_t aes_cbc = 7;
} // namespace ike_encryption

namespace ike_hash {
inline constexpr uint16_t md5 = 1;
inline constexpr uint16_t sha1 = 2;
inline constexpr uint16_t sha2_256 = 4;
inline constexpr uint16_t sha2_384 = 5;
inline constexpr uint16_t sha2_512 = 6;
} // namespace ike_hash

namespace ike_auth {
inline constexpr uint16_t pre_shared_key = 1;
inline constexpr uint16_t rsa_signature = 3;
} // namespace ike_auth

namespace ike_group {
inline constexpr uint16_t modp768 = 1;
inline constexpr uint16_t modp1024 = 2;
inline constexpr uint16_t modp1536 = 5;
inline constexpr uint16_t modp2048 = 14;
} // namespace ike_group

namespace life_type {
inline constexpr uint16_t seconds = 1;
inline constexpr uint16_t kilobytes = 2;
} // namespace life_type

// ---- Identification types (RFC 2407 section 4.6.2.1; KEY_ID used by RFC 6407 section 5.3) ----
namespace id_type {
inline constexpr uint8_t ipv4_addr = 1;
inline constexpr uint8_t fqdn = 2;
inline constexpr uint8_t user_fqdn = 3;
inline constexpr uint8_t ipv4_addr_subnet = 4;
inline constexpr uint8_t ipv6_addr = 5;
inline constexpr uint8_t ipv6_addr_subnet = 6;
inline constexpr uint8_t ipv4_addr_range = 7;
inline constexpr uint8_t ipv6_addr_range = 8;
inline constexpr uint8_t der_asn1_dn = 9;
inline constexpr uint8_t der_asn1_gn = 10;
inline constexpr uint8_t key_id = 11;
} // namespace id_type

// ---- Certificate encodings (RFC 2408 section 3.9) ----
namespace cert_encoding {
inline constexpr uint8_t pkcs7 = 1;
inline constexpr uint8_t x509_signature = 4;
inline constexpr uint8_t x509_key_exchange = 5;
inline constexpr uint8_t crl = 7;
} // namespace cert_encoding

// ---- SA KEK (RFC 6407 section 5.3) ----
inline constexpr size_t kKekSpiSize = 16;
// RFC 6407 section 5.3: RESERVED after the SPI is 4 octets. The reference key server writes 6.
inline constexpr size_t kSaKekReservedSize = 4;
inline constexpr size_t kSaKekReferenceExtraOctets = 2;

namespace kek_attr {
inline constexpr uint16_t management_algorithm = 1;
inline constexpr uint16_t algorithm = 2;
inline constexpr uint16_t key_length = 3;
inline constexpr uint16_t key_lifetime = 4;
inline constexpr uint16_t sig_hash_algorithm = 5;
inline constexpr uint16_t sig_algorithm = 6;
inline constexpr uint16_t sig_key_length = 7;
inline constexpr uint16_t ke_oakley_group = 8; // RFC 3547 only
inline constexpr uint16_t ack_requested = 9;   // KEK_ACK_REQUESTED, basic (RFC 8263 sections 2, 8)
// Private use (RFC 6407); older Cisco key servers ask for their pre-RFC 8263 ack with it.
inline constexpr uint16_t ack_requested_cisco_legacy = 129;
} // namespace kek_attr

// KEK_ACK_REQUESTED values: which ack the key server asks for (RFC 8263 sections 2.1-2.4, 8).
namespace kek_ack_type {
inline constexpr uint16_t rekey_ack_kek_sha256 = 1;
inline constexpr uint16_t rekey_ack_lkh_sha256 = 2;
inline constexpr uint16_t rekey_ack_kek_sha512 = 3;
inline constexpr uint16_t rekey_ack_lkh_sha512 = 4;
} // namespace kek_ack_type

namespace kek_management {
inline constexpr uint16_t lkh = 1;
} // namespace kek_management

namespace kek_algorithm {
inline constexpr uint16_t des = 1;
inline constexpr uint16_t des3 = 2;
inline constexpr uint16_t aes = 3;
} // namespace kek_algorithm

namespace sig_hash {
inline constexpr uint16_t md5 = 1;
inline constexpr uint16_t sha1 = 2;
inline constexpr uint16_t sha256 = 3;
inline constexpr uint16_t sha384 = 4;
inline constexpr uint16_t sha512 = 5;
} // namespace sig_hash

// SIG_ALGORITHM: RFC 3547 assigned 1-3, RFC 6407 added the ECDSA values 4-6 (RFC 4754
// signatures). The RFC 6407 table itself was not reachable from here; the values agree with two
// independent GDOI implementations and with RFC 3547's 1-3 as Cisco's CISCO-GDOI-MIB quotes them.
namespace sig_algorithm {
inline constexpr uint16_t rsa = 1;
inline constexpr uint16_t dss = 2;
inline constexpr uint16_t ecdss = 3;
inline constexpr uint16_t ecdsa_256 = 4;
inline constexpr uint16_t ecdsa_384 = 5;
inline constexpr uint16_t ecdsa_521 = 6;
} // namespace sig_algorithm

// ---- SA TEK (RFC 6407 section 5.4) ----
namespace tek_protocol {
inline constexpr uint8_t esp = 1; // GDOI_PROTO_IPSEC_ESP
inline constexpr uint8_t ah = 2;  // GDOI_PROTO_IPSEC_AH
} // namespace tek_protocol
inline constexpr size_t kTekSpiSize = 4;

// IPsec DOI SA attributes (RFC 2407 section 4.5) plus RFC 6407 section 5.4.1.
namespace tek_attr {
inline constexpr uint16_t sa_life_type = 1;
inline constexpr uint16_t sa_life_duration = 2;
inline constexpr uint16_t group_description = 3;
inline constexpr uint16_t encapsulation_mode = 4;
inline constexpr uint16_t authentication_algorithm = 5;
inline constexpr uint16_t key_length = 6;
inline constexpr uint16_t key_rounds = 7;
inline constexpr uint16_t extended_sequence_number = 11;
inline constexpr uint16_t address_preservation = 14;
inline constexpr uint16_t sa_direction = 15;
} // namespace tek_attr

namespace encapsulation {
inline constexpr uint16_t tunnel = 1;
inline constexpr uint16_t transport = 2;
} // namespace encapsulation

namespace esp_transform {
inline constexpr uint8_t des = 2;
inline constexpr uint8_t des3 = 3;
inline constexpr uint8_t null_encryption = 11;
inline constexpr uint8_t aes_cbc = 12;
inline constexpr uint8_t aes_ctr = 13;
inline constexpr uint8_t aes_gcm_8 = 18;
inline constexpr uint8_t aes_gcm_12 = 19;
inline constexpr uint8_t aes_gcm_16 = 20;
inline constexpr uint8_t null_auth_aes_gmac = 23;
} // namespace esp_transform

namespace auth_algorithm {
inline constexpr uint16_t hmac_md5 = 1;
inline constexpr uint16_t hmac_sha1 = 2;
inline constexpr uint16_t hmac_sha2_256 = 5;
inline constexpr uint16_t hmac_sha2_384 = 6;
inline constexpr uint16_t hmac_sha2_512 = 7;
} // namespace auth_algorithm

namespace address_preservation {
inline constexpr uint16_t none = 1;
inline constexpr uint16_t source_only = 2;
inline constexpr uint16_t destination_only = 3;
inline constexpr uint16_t source_and_destination = 4;
} // namespace address_preservation

namespace sa_direction {
inline constexpr uint16_t sender_only = 1;
inline constexpr uint16_t receiver_only = 2;
inline constexpr uint16_t symmetric = 3;
} // namespace sa_direction

// ---- GAP (RFC 6407 section 5.5) ----
namespace gap_attr {
inline constexpr uint16_t activation_time_delay = 1;
inline constexpr uint16_t deactivation_time_delay = 2;
inline constexpr uint16_t sender_id_request = 3;
} // namespace gap_attr

// ---- Key Download (RFC 6407 section 5.6) ----
namespace kd_type {
inline constexpr uint8_t tek = 1;
inline constexpr uint8_t kek = 2;
inline constexpr uint8_t lkh = 3;
inline constexpr uint8_t sid = 4;
} // namespace kd_type
inline constexpr size_t kKeyPacketHeaderSize = 4; // KD Type, RESERVED, KD Length

namespace kd_tek_attr {
inline constexpr uint16_t algorithm_key = 1;
inline constexpr uint16_t integrity_key = 2;
inline constexpr uint16_t source_auth_key = 3;
} // namespace kd_tek_attr

namespace kd_kek_attr {
inline constexpr uint16_t algorithm_key = 1;
inline constexpr uint16_t sig_algorithm_key = 2;
} // namespace kd_kek_attr

namespace kd_sid_attr {
inline constexpr uint16_t number_of_sid_bits = 1;
inline constexpr uint16_t sid_value = 2;
} // namespace kd_sid_attr

// ---- Data attributes (RFC 2408 section 3.3) ----
inline constexpr uint16_t kAttributeFormatTv = 0x8000; // AF bit: 1 = TV (basic), 0 = TLV

} // namespace gdoi::wire
