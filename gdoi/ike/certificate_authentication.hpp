// Main Mode authenticated with RSA signatures and X.509 certificates (RFC 2409 section 5.1):
//   I->R HDR*, IDii, [ CERT, ] SIG_I        R->I HDR*, IDir, [ CERT, ] SIG_R
// What one end holds (its certificate and key, the authorities it trusts) and the two steps
// both ends share: building the identity payloads and checking the peer's.
#pragma once

#include "gdoi/crypto/certificate.hpp"
#include "gdoi/crypto/phase1_signature.hpp"
#include "gdoi/ip_address.hpp"
#include "gdoi/wire/message.hpp"

#include <ctime>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace gdoi::ike {

// The ID payload an end sends (RFC 2407 section 4.6.2.1): its certificate's subject as
// ID_DER_ASN1_DN (the default of Junos and of Cisco's `crypto isakmp identity dn`), its
// address (Cisco's default `crypto isakmp identity address`), or an FQDN.
enum class CertificateIdentity : uint8_t { distinguished_name, address, fqdn };

struct CertificateCredentials {
    crypto::Certificate certificate;               // ours: the first CERT we send
    std::vector<crypto::Certificate> chain;        // intermediates sent after it
    std::shared_ptr<const crypto::Phase1PrivateKey> private_key;
    std::shared_ptr<const crypto::TrustStore> trust; // authorities (and CRLs) for the peer
    // The peer's certificate obtained out of band (RFC 2409 section 5: "[ CERT, ]" is optional):
    // used when the peer sends no CERT payload.
    std::optional<crypto::Certificate> peer_certificate;
    CertificateIdentity identity = CertificateIdentity::distinguished_name;
    std::string fqdn;          // for CertificateIdentity::fqdn
    std::string peer_identity; // a pin: the peer's DN, DNS or IP subjectAltName; empty = any
    bool send_certificate_request = true; // CERTREQ naming our authorities
    std::function<std::time_t()> wall_clock = [] { return std::time(nullptr); };
};

wire::IdPayload certificate_identity_payload(const CertificateCredentials& credentials,
                                             const IpAddress& local_address);
// CERT for our certificate, then one per chain certificate.
std::vector<wire::PayloadBody> certificate_payloads(const CertificateCredentials& credentials);
// One CERTREQ per trusted authority (RFC 2408 section 3.10), naming it.
std::vector<wire::PayloadBody> certificate_requests(const CertificateCredentials& credentials);

struct PeerCheck {
    bool authenticated = false;
    std::string failure;     // why not: names the certificate and the rule it broke
    std::string peer_subject; // the peer certificate's subject, for logs and status
    bool signature_failed = false; // the chain was fine but SIG did not verify
};
// Checks a message 5 (responder) or 6 (initiator) in full: the certificate (from CERT, or the
// configured one) chains to a trusted authority at the current wall-clock time, the ID payload
// names that certificate (a DN ID must equal its subject, an FQDN ID one of its DNS names;
// address IDs are accepted as Cisco's default sends them without a matching subjectAltName),
// the pin if configured, and SIG verifies over `hash` (HASH_I or HASH_R).
PeerCheck check_peer(const CertificateCredentials& credentials, const wire::Message& message,
                     std::span<const uint8_t> hash);

} // namespace gdoi::ike
