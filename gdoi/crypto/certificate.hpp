// X.509 certificates for Phase 1 authentication with RSA signatures (RFC 2409 section 5.1,
// the PKI profile of RFC 4945): one certificate, read from DER (a CERT payload) or PEM (a file).
#pragma once

#include "gdoi/crypto/openssl_error.hpp"

#include <cstdint>
#include <ctime>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

typedef struct x509_st X509;

namespace gdoi::crypto {

class Certificate {
public:
    // Throws CryptoError when the octets are not one DER certificate.
    static Certificate from_der(std::span<const uint8_t> der);
    // Every certificate of a PEM text, in order. Throws CryptoError naming `source` when the text
    // holds none or one of them does not parse.
    static std::vector<Certificate> all_from_pem(std::string_view pem, const std::string& source);

    std::span<const uint8_t> der() const { return der_; }
    // The subject Name as DER: the data of an ID_DER_ASN1_DN payload (RFC 2407 section 4.6.2.1).
    std::vector<uint8_t> subject_der() const;
    // RFC 4514 (RFC 2253) text of the subject and issuer: "CN=ks1,O=Example,C=DE".
    std::string subject() const;
    std::string issuer() const;
    std::string not_after() const; // "Dec  6 04:00:00 2027 GMT"
    std::string not_before() const;

    // True when `name_der` is a DER Name equal to the subject (X509_NAME_cmp).
    bool subject_equals(std::span<const uint8_t> name_der) const;
    // True when `identity` names this certificate: its subject DN written either way round
    // ("CN=ks1, O=Example" or "O=Example, CN=ks1"; spaces after commas ignored), or one of its
    // subjectAltName DNS names (case-insensitive) or IP addresses (textual form).
    bool matches_identity(std::string_view identity) const;
    // True when a subjectAltName iPAddress equals these 4 or 16 octets.
    bool has_ip_address(std::span<const uint8_t> address) const;

    bool has_rsa_key() const;
    size_t key_bits() const;
    X509* get() const { return cert_.get(); }

private:
    std::shared_ptr<X509> cert_;
    std::vector<uint8_t> der_;
};

// The trusted certificate authorities and, when configured, their CRLs.
class TrustStore {
public:
    TrustStore();
    ~TrustStore();
    TrustStore(TrustStore&&) noexcept;
    TrustStore& operator=(TrustStore&&) noexcept;

    void add_authority(const Certificate& ca);
    // Adds every CRL of a PEM text and turns on revocation checking for the whole chain: a
    // certificate whose issuer has no CRL here is then refused. Throws CryptoError naming
    // `source` when the text holds no CRL or one does not parse.
    void add_crls_pem(std::string_view pem, const std::string& source);

    struct Verdict {
        bool trusted = false;
        std::string reason; // why not, in words an operator acts on; empty when trusted
    };
    // Builds a chain from `leaf` through `intermediates` to a configured authority, checking
    // validity at `at` (wall-clock seconds), every signature and, with CRLs, revocation.
    Verdict verify(const Certificate& leaf, const std::vector<Certificate>& intermediates,
                   std::time_t at) const;

    // The DER subject Names of the authorities (the CERTREQ payloads' Certificate Authority).
    std::vector<std::vector<uint8_t>> authority_names() const;
    size_t authority_count() const { return authorities_.size(); }
    bool checks_revocation() const { return !crls_.empty(); }

private:
    struct Crl;
    std::vector<Certificate> authorities_;
    std::vector<std::shared_ptr<Crl>> crls_;
};

} // namespace gdoi::crypto
