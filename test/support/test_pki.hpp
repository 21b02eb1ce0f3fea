// A throw-away PKI for tests: a root CA, end-entity certificates with chosen subjects,
// subjectAltNames and validity windows, and CRLs. Built with OpenSSL's own API, independent of
// the code under test (gdoi/crypto/certificate.*), which only reads certificates.
#pragma once

#include "gdoi/crypto/certificate.hpp"
#include "gdoi/crypto/phase1_signature.hpp"

#include <memory>
#include <string>
#include <vector>

namespace test_support {

struct IssuedCertificate {
    std::shared_ptr<gdoi::crypto::Phase1PrivateKey> key;
    gdoi::crypto::Certificate certificate;
    std::string certificate_pem;
    std::string key_pem;
    long serial = 0;
};

struct CertificateRequest {
    std::string subject = "CN=member,O=gdoid tests"; // "CN=...,O=..." in that order
    std::vector<std::string> subject_alt_names;        // "DNS:ks1.example.net", "IP:192.0.2.1"
    long valid_from_seconds = -3600;                   // relative to now
    long valid_until_seconds = 365L * 86400;
    bool is_ca = false;
};

inline CertificateRequest request(std::string subject, std::vector<std::string> alt_names = {},
                                  long valid_from = -3600, long valid_until = 365L * 86400,
                                  bool is_ca = false) {
    CertificateRequest r;
    r.subject = std::move(subject);
    r.subject_alt_names = std::move(alt_names);
    r.valid_from_seconds = valid_from;
    r.valid_until_seconds = valid_until;
    r.is_ca = is_ca;
    return r;
}

class TestPki {
public:
    explicit TestPki(const std::string& ca_subject = "CN=gdoid test root CA,O=gdoid tests");

    // A CA issued by `parent` (an intermediate): its certificates chain through it to parent.
    static TestPki subordinate(TestPki& parent, const std::string& subject);

    const IssuedCertificate& ca() const { return ca_; }
    IssuedCertificate issue(const CertificateRequest& request);
    // A CRL from this CA revoking `serials`, valid from an hour ago for `valid_for_seconds`.
    std::string crl_pem(const std::vector<long>& serials, long valid_for_seconds = 86400) const;

private:
    struct Empty {};
    explicit TestPki(Empty) {}
    IssuedCertificate ca_;
    long next_serial_ = 2;
};

// A 2048-bit RSA key generated once per process (key generation dominates test time).
std::shared_ptr<gdoi::crypto::Phase1PrivateKey> shared_test_key(int index);

} // namespace test_support
