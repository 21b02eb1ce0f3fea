#include "test/support/test_pki.hpp"

#include <map>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdexcept>

namespace test_support {

namespace {

void check(int ok, const char* what) {
    if (ok <= 0) throw std::runtime_error(std::string("test PKI: ") + what);
}

X509_NAME* name_from(const std::string& text) {
    X509_NAME* name = X509_NAME_new();
    size_t start = 0;
    while (start < text.size()) {
        size_t comma = text.find(',', start);
        std::string part = text.substr(start, comma == std::string::npos ? std::string::npos
                                                                         : comma - start);
        auto equals = part.find('=');
        check(equals != std::string::npos, "subject component without '='");
        check(X509_NAME_add_entry_by_txt(name, part.substr(0, equals).c_str(), MBSTRING_ASC,
                                         reinterpret_cast<const unsigned char*>(
                                             part.c_str() + equals + 1),
                                         -1, -1, 0),
              "subject component");
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    return name;
}

void add_extension(X509* cert, X509* issuer, int nid, const std::string& value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    check(ext != nullptr, "extension");
    check(X509_add_ext(cert, ext, -1), "adding an extension");
    X509_EXTENSION_free(ext);
}

std::string pem_of(X509* cert) {
    BIO* bio = BIO_new(BIO_s_mem());
    check(PEM_write_bio_X509(bio, cert), "PEM certificate");
    char* data = nullptr;
    long length = BIO_get_mem_data(bio, &data);
    std::string out(data, static_cast<size_t>(length));
    BIO_free(bio);
    return out;
}

IssuedCertificate make(const CertificateRequest& request, long serial,
                       std::shared_ptr<gdoi::crypto::Phase1PrivateKey> key,
                       const IssuedCertificate* issuer) {
    X509* cert = X509_new();
    check(X509_set_version(cert, 2), "version");
    check(ASN1_INTEGER_set(X509_get_serialNumber(cert), serial), "serial");
    check(X509_gmtime_adj(X509_getm_notBefore(cert), request.valid_from_seconds) != nullptr,
          "notBefore");
    check(X509_gmtime_adj(X509_getm_notAfter(cert), request.valid_until_seconds) != nullptr,
          "notAfter");
    check(X509_set_pubkey(cert, key->get()), "public key");
    X509_NAME* subject = name_from(request.subject);
    check(X509_set_subject_name(cert, subject), "subject");
    check(X509_set_issuer_name(cert, issuer ? X509_get_subject_name(issuer->certificate.get())
                                            : subject),
          "issuer");
    X509_NAME_free(subject);
    X509* issuer_cert = issuer ? issuer->certificate.get() : cert;
    if (request.is_ca) add_extension(cert, issuer_cert, NID_basic_constraints, "critical,CA:TRUE");
    add_extension(cert, issuer_cert, NID_subject_key_identifier, "hash");
    if (!request.subject_alt_names.empty()) {
        std::string names;
        for (const auto& n : request.subject_alt_names) names += (names.empty() ? "" : ",") + n;
        add_extension(cert, issuer_cert, NID_subject_alt_name, names);
    }
    EVP_PKEY* signer = issuer ? issuer->key->get() : key->get();
    check(X509_sign(cert, signer, EVP_sha256()), "signing a certificate");
    IssuedCertificate out;
    out.key = std::move(key);
    out.certificate_pem = pem_of(cert);
    out.key_pem = out.key->to_pem_for_test();
    out.certificate = gdoi::crypto::Certificate::all_from_pem(out.certificate_pem, "test").front();
    out.serial = serial;
    X509_free(cert);
    return out;
}

} // namespace

std::shared_ptr<gdoi::crypto::Phase1PrivateKey> shared_test_key(int index) {
    static std::map<int, std::shared_ptr<gdoi::crypto::Phase1PrivateKey>> keys;
    auto& key = keys[index];
    if (!key)
        key = std::make_shared<gdoi::crypto::Phase1PrivateKey>(
            gdoi::crypto::Phase1PrivateKey::generate(2048));
    return key;
}

TestPki::TestPki(const std::string& ca_subject) {
    CertificateRequest request;
    request.subject = ca_subject;
    request.is_ca = true;
    request.valid_until_seconds = 10L * 365 * 86400;
    static int next_ca_key = 100;
    ca_ = make(request, 1, shared_test_key(next_ca_key++), nullptr);
}

TestPki TestPki::subordinate(TestPki& parent, const std::string& subject) {
    CertificateRequest request;
    request.subject = subject;
    request.is_ca = true;
    TestPki sub{Empty{}};
    sub.ca_ = make(request, parent.next_serial_++, shared_test_key(200), &parent.ca_);
    sub.next_serial_ = 1000;
    return sub;
}

IssuedCertificate TestPki::issue(const CertificateRequest& request) {
    long serial = next_serial_++;
    return make(request, serial, shared_test_key(static_cast<int>(serial % 4)), &ca_);
}

std::string TestPki::crl_pem(const std::vector<long>& serials, long valid_for_seconds) const {
    X509_CRL* crl = X509_CRL_new();
    check(X509_CRL_set_version(crl, 1), "CRL version");
    check(X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca_.certificate.get())),
          "CRL issuer");
    ASN1_TIME* last = X509_gmtime_adj(nullptr, -3600);
    ASN1_TIME* next = X509_gmtime_adj(nullptr, valid_for_seconds);
    check(X509_CRL_set1_lastUpdate(crl, last), "CRL lastUpdate");
    check(X509_CRL_set1_nextUpdate(crl, next), "CRL nextUpdate");
    for (long serial : serials) {
        X509_REVOKED* revoked = X509_REVOKED_new();
        ASN1_INTEGER* number = ASN1_INTEGER_new();
        ASN1_INTEGER_set(number, serial);
        check(X509_REVOKED_set_serialNumber(revoked, number), "revoked serial");
        check(X509_REVOKED_set_revocationDate(revoked, last), "revocation date");
        check(X509_CRL_add0_revoked(crl, revoked), "adding a revoked entry");
        ASN1_INTEGER_free(number);
    }
    check(X509_CRL_sort(crl), "CRL sort");
    check(X509_CRL_sign(crl, ca_.key->get(), EVP_sha256()), "CRL signature");
    BIO* bio = BIO_new(BIO_s_mem());
    check(PEM_write_bio_X509_CRL(bio, crl), "PEM CRL");
    char* data = nullptr;
    long length = BIO_get_mem_data(bio, &data);
    std::string out(data, static_cast<size_t>(length));
    BIO_free(bio);
    ASN1_TIME_free(last);
    ASN1_TIME_free(next);
    X509_CRL_free(crl);
    return out;
}

} // namespace test_support
