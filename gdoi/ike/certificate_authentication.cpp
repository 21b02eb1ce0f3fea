#include "gdoi/ike/certificate_authentication.hpp"

#include <algorithm>

namespace gdoi::ike {

using namespace gdoi::wire;

IdPayload certificate_identity_payload(const CertificateCredentials& credentials,
                                       const IpAddress& local_address) {
    switch (credentials.identity) {
    case CertificateIdentity::distinguished_name: {
        IdPayload id;
        id.id_type = id_type::der_asn1_dn;
        id.data = credentials.certificate.subject_der();
        return id;
    }
    case CertificateIdentity::fqdn: {
        IdPayload id;
        id.id_type = id_type::fqdn;
        id.data.assign(credentials.fqdn.begin(), credentials.fqdn.end());
        return id;
    }
    case CertificateIdentity::address:
        break;
    }
    return IdPayload::address(local_address);
}

std::vector<PayloadBody> certificate_payloads(const CertificateCredentials& credentials) {
    std::vector<PayloadBody> out;
    auto der = credentials.certificate.der();
    out.push_back(CertPayload{cert_encoding::x509_signature, {der.begin(), der.end()}});
    for (const auto& cert : credentials.chain) {
        auto bytes = cert.der();
        out.push_back(CertPayload{cert_encoding::x509_signature, {bytes.begin(), bytes.end()}});
    }
    return out;
}

std::vector<PayloadBody> certificate_requests(const CertificateCredentials& credentials) {
    std::vector<PayloadBody> out;
    if (!credentials.send_certificate_request || !credentials.trust) return out;
    for (auto& name : credentials.trust->authority_names())
        out.push_back(CertRequestPayload{cert_encoding::x509_signature, std::move(name)});
    return out;
}

namespace {

std::string quoted(const std::string& text) {
    return "\"" + text + "\"";
}

std::string printable(const std::vector<uint8_t>& data) {
    std::string out;
    for (uint8_t c : data) out += (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : '?';
    return out;
}

} // namespace

PeerCheck check_peer(const CertificateCredentials& credentials, const Message& message,
                     std::span<const uint8_t> hash) {
    PeerCheck result;
    auto* id = message.find<IdPayload>();
    auto* signature = message.find<SigPayload>();
    if (!id || !signature) {
        result.failure = std::string("the message lacks ") + (!id ? "an ID" : "a SIG") +
                         " payload (RFC 2409 section 5.1: HDR*, ID, [CERT,] SIG)";
        return result;
    }

    // The certificates sent: the end entity first (RFC 4945 section 3.3.x leaves the order
    // open, so prefer the one whose subject a DN ID names), the rest as possible intermediates.
    std::vector<crypto::Certificate> sent;
    for (const auto* cert : message.find_all<CertPayload>()) {
        if (cert->encoding != cert_encoding::x509_signature) {
            result.failure = "a CERT payload has encoding " + std::to_string(cert->encoding) +
                             "; only X.509 signature certificates (4) are accepted";
            return result;
        }
        try {
            sent.push_back(crypto::Certificate::from_der(cert->data));
        } catch (const crypto::CryptoError& e) {
            result.failure = std::string("a CERT payload does not hold a certificate: ") + e.what();
            return result;
        }
    }
    std::optional<crypto::Certificate> leaf;
    if (!sent.empty()) {
        auto named = sent.begin();
        if (id->id_type == id_type::der_asn1_dn) {
            auto it = std::find_if(sent.begin(), sent.end(), [&](const crypto::Certificate& c) {
                return c.subject_equals(id->data);
            });
            if (it != sent.end()) named = it;
        }
        leaf = *named;
        sent.erase(named);
    } else if (credentials.peer_certificate) {
        leaf = credentials.peer_certificate;
    } else {
        result.failure = "the peer sent no certificate and none is configured for it";
        return result;
    }
    result.peer_subject = leaf->subject();

    auto verdict = credentials.trust
                       ? credentials.trust->verify(*leaf, sent, credentials.wall_clock())
                       : crypto::TrustStore::Verdict{false, "no certificate authority is configured"};
    if (!verdict.trusted) {
        result.failure = verdict.reason;
        return result;
    }
    if (!leaf->has_rsa_key()) {
        result.failure = "certificate " + quoted(result.peer_subject) +
                         " has no RSA key (the negotiated method is RSA signatures)";
        return result;
    }

    switch (id->id_type) {
    case id_type::der_asn1_dn:
        if (!leaf->subject_equals(id->data)) {
            result.failure = "the ID payload names another subject than certificate " +
                             quoted(result.peer_subject) +
                             " (RFC 4945 section 3.1: a DN ID must match the certificate)";
            return result;
        }
        break;
    case id_type::fqdn:
        if (!leaf->matches_identity(std::string(id->data.begin(), id->data.end()))) {
            result.failure = "the ID payload names FQDN " + quoted(printable(id->data)) +
                             ", which certificate " + quoted(result.peer_subject) +
                             " does not carry as a DNS subjectAltName";
            return result;
        }
        break;
    case id_type::ipv4_addr:
    case id_type::ipv6_addr:
        break;
    default:
        result.failure = "ID type " + std::to_string(id->id_type) +
                         " is not one of DER_ASN1_DN, FQDN, IPV4_ADDR or IPV6_ADDR";
        return result;
    }

    if (!credentials.peer_identity.empty() &&
        !leaf->matches_identity(credentials.peer_identity)) {
        result.failure = "certificate " + quoted(result.peer_subject) +
                         " does not match the configured identity " +
                         quoted(credentials.peer_identity);
        return result;
    }
    if (!crypto::verify_phase1_signature(*leaf, hash, signature->data)) {
        result.failure = "the signature does not verify with the key of certificate " +
                         quoted(result.peer_subject);
        result.signature_failed = true;
        return result;
    }
    result.authenticated = true;
    return result;
}

} // namespace gdoi::ike
