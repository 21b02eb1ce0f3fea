#include "gdoi/crypto/certificate.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <cctype>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace gdoi::crypto {

namespace {

struct BioFree {
    void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;

BioPtr memory_bio(std::string_view text) {
    BioPtr bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
    if (!bio) throw_openssl_error("memory buffer");
    return bio;
}

std::string bio_text(BIO* bio) {
    char* data = nullptr;
    long length = BIO_get_mem_data(bio, &data);
    return length > 0 ? std::string(data, static_cast<size_t>(length)) : std::string();
}

std::string name_text(const X509_NAME* name) {
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0)
        throw_openssl_error("printing a certificate name");
    return bio_text(bio.get());
}

std::string time_text(const ASN1_TIME* time) {
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio || ASN1_TIME_print(bio.get(), time) != 1) return "(unreadable time)";
    return bio_text(bio.get());
}

// True when this PEM read stopped at the end of the text rather than on a broken object.
bool pem_end_of_text() {
    unsigned long error = ERR_peek_last_error();
    bool end = ERR_GET_LIB(error) == ERR_LIB_PEM && ERR_GET_REASON(error) == PEM_R_NO_START_LINE;
    if (end) ERR_clear_error();
    return end;
}

// "CN = ks1 ,o=Example" -> {"CN=ks1", "O=Example"}: RDNs split on unescaped commas, spaces
// around separators dropped, attribute types upper-cased.
std::vector<std::string> dn_components(std::string_view text) {
    std::vector<std::string> out;
    std::string current;
    auto flush = [&] {
        auto trim = [](std::string s) {
            auto not_space = [](unsigned char c) { return !std::isspace(c); };
            s.erase(s.begin(), std::find_if(s.begin(), s.end(), not_space));
            s.erase(std::find_if(s.rbegin(), s.rend(), not_space).base(), s.end());
            return s;
        };
        auto equals = current.find('=');
        if (equals != std::string::npos) {
            std::string type = trim(current.substr(0, equals));
            std::transform(type.begin(), type.end(), type.begin(),
                           [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
            out.push_back(type + "=" + trim(current.substr(equals + 1)));
        } else if (!trim(current).empty()) {
            out.push_back(trim(current));
        }
        current.clear();
    };
    for (size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\\' && i + 1 < text.size()) {
            current += text[i];
            current += text[++i];
        } else if (text[i] == ',' || text[i] == ';') {
            flush();
        } else {
            current += text[i];
        }
    }
    flush();
    return out;
}

struct GeneralNamesFree {
    void operator()(GENERAL_NAMES* names) const { GENERAL_NAMES_free(names); }
};
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, GeneralNamesFree>;

GeneralNamesPtr alt_names(X509* cert) {
    return GeneralNamesPtr(static_cast<GENERAL_NAMES*>(
        X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
}

} // namespace

Certificate Certificate::from_der(std::span<const uint8_t> der) {
    const unsigned char* cursor = der.data();
    X509* raw = d2i_X509(nullptr, &cursor, static_cast<long>(der.size()));
    if (!raw) throw_openssl_error("reading a DER certificate");
    Certificate out;
    out.cert_.reset(raw, X509_free);
    if (cursor != der.data() + der.size())
        throw CryptoError("a DER certificate is followed by " +
                          std::to_string(der.data() + der.size() - cursor) + " stray octets");
    out.der_.assign(der.begin(), der.end());
    return out;
}

std::vector<Certificate> Certificate::all_from_pem(std::string_view pem,
                                                   const std::string& source) {
    ERR_clear_error();
    BioPtr bio = memory_bio(pem);
    std::vector<Certificate> out;
    for (;;) {
        X509* raw = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
        if (!raw) {
            if (pem_end_of_text()) break;
            throw_openssl_error(source + ": certificate " + std::to_string(out.size() + 1) +
                                " does not parse");
        }
        std::shared_ptr<X509> cert(raw, X509_free);
        unsigned char* der = nullptr;
        int length = i2d_X509(raw, &der);
        if (length <= 0) throw_openssl_error(source + ": encoding a certificate");
        Certificate c;
        c.cert_ = std::move(cert);
        c.der_.assign(der, der + length);
        OPENSSL_free(der);
        out.push_back(std::move(c));
    }
    if (out.empty()) throw CryptoError(source + " holds no PEM certificate (BEGIN CERTIFICATE)");
    return out;
}

std::vector<uint8_t> Certificate::subject_der() const {
    unsigned char* der = nullptr;
    int length = i2d_X509_NAME(X509_get_subject_name(cert_.get()), &der);
    if (length <= 0) throw_openssl_error("encoding a certificate's subject");
    std::vector<uint8_t> out(der, der + length);
    OPENSSL_free(der);
    return out;
}

std::string Certificate::subject() const {
    return name_text(X509_get_subject_name(cert_.get()));
}

std::string Certificate::issuer() const {
    return name_text(X509_get_issuer_name(cert_.get()));
}

std::string Certificate::not_after() const {
    return time_text(X509_get0_notAfter(cert_.get()));
}

std::string Certificate::not_before() const {
    return time_text(X509_get0_notBefore(cert_.get()));
}

bool Certificate::subject_equals(std::span<const uint8_t> name_der) const {
    const unsigned char* cursor = name_der.data();
    X509_NAME* name = d2i_X509_NAME(nullptr, &cursor, static_cast<long>(name_der.size()));
    if (!name) {
        ERR_clear_error();
        return false;
    }
    bool equal = cursor == name_der.data() + name_der.size() &&
                 X509_NAME_cmp(name, X509_get_subject_name(cert_.get())) == 0;
    X509_NAME_free(name);
    return equal;
}

bool Certificate::matches_identity(std::string_view identity) const {
    auto wanted = dn_components(identity);
    auto subject_parts = dn_components(subject());
    if (!wanted.empty() && (wanted == subject_parts ||
                            std::equal(wanted.begin(), wanted.end(), subject_parts.rbegin(),
                                       subject_parts.rend())))
        return true;
    auto names = alt_names(cert_.get());
    if (!names) return false;
    for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
        const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
        if (name->type == GEN_DNS) {
            std::string_view dns(reinterpret_cast<const char*>(ASN1_STRING_get0_data(name->d.dNSName)),
                                 static_cast<size_t>(ASN1_STRING_length(name->d.dNSName)));
            if (dns.size() == identity.size() &&
                std::equal(dns.begin(), dns.end(), identity.begin(), [](char a, char b) {
                    return std::tolower(static_cast<unsigned char>(a)) ==
                           std::tolower(static_cast<unsigned char>(b));
                }))
                return true;
        } else if (name->type == GEN_IPADD) {
            uint8_t address[16];
            std::string text(identity);
            if (inet_pton(AF_INET, text.c_str(), address) == 1 &&
                has_ip_address(std::span<const uint8_t>(address, 4)))
                return true;
            if (inet_pton(AF_INET6, text.c_str(), address) == 1 &&
                has_ip_address(std::span<const uint8_t>(address, 16)))
                return true;
        }
    }
    return false;
}

bool Certificate::has_ip_address(std::span<const uint8_t> address) const {
    auto names = alt_names(cert_.get());
    if (!names) return false;
    for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
        const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
        if (name->type != GEN_IPADD) continue;
        const ASN1_OCTET_STRING* ip = name->d.iPAddress;
        if (static_cast<size_t>(ASN1_STRING_length(ip)) == address.size() &&
            std::equal(address.begin(), address.end(), ASN1_STRING_get0_data(ip)))
            return true;
    }
    return false;
}

bool Certificate::has_rsa_key() const {
    const EVP_PKEY* key = X509_get0_pubkey(cert_.get());
    return key && EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA;
}

size_t Certificate::key_bits() const {
    const EVP_PKEY* key = X509_get0_pubkey(cert_.get());
    return key ? static_cast<size_t>(EVP_PKEY_get_bits(key)) : 0;
}

// ---- TrustStore ----

struct TrustStore::Crl {
    std::shared_ptr<X509_CRL> crl;
};

TrustStore::TrustStore() = default;
TrustStore::~TrustStore() = default;
TrustStore::TrustStore(TrustStore&&) noexcept = default;
TrustStore& TrustStore::operator=(TrustStore&&) noexcept = default;

void TrustStore::add_authority(const Certificate& ca) {
    authorities_.push_back(ca);
}

void TrustStore::add_crls_pem(std::string_view pem, const std::string& source) {
    ERR_clear_error();
    BioPtr bio = memory_bio(pem);
    size_t added = 0;
    for (;;) {
        X509_CRL* raw = PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr);
        if (!raw) {
            if (pem_end_of_text()) break;
            throw_openssl_error(source + ": CRL " + std::to_string(added + 1) +
                                " does not parse");
        }
        crls_.push_back(std::make_shared<Crl>(Crl{std::shared_ptr<X509_CRL>(raw, X509_CRL_free)}));
        ++added;
    }
    if (added == 0) throw CryptoError(source + " holds no PEM CRL (BEGIN X509 CRL)");
}

std::vector<std::vector<uint8_t>> TrustStore::authority_names() const {
    std::vector<std::vector<uint8_t>> out;
    for (const auto& ca : authorities_) out.push_back(ca.subject_der());
    return out;
}

TrustStore::Verdict TrustStore::verify(const Certificate& leaf,
                                       const std::vector<Certificate>& intermediates,
                                       std::time_t at) const {
    if (authorities_.empty()) return {false, "no certificate authority is configured"};
    std::unique_ptr<X509_STORE, decltype(&X509_STORE_free)> store(X509_STORE_new(),
                                                                  X509_STORE_free);
    std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> ctx(X509_STORE_CTX_new(),
                                                                        X509_STORE_CTX_free);
    auto untrusted = std::unique_ptr<STACK_OF(X509), void (*)(STACK_OF(X509)*)>(
        sk_X509_new_null(), [](STACK_OF(X509)* s) { sk_X509_free(s); });
    if (!store || !ctx || !untrusted) throw_openssl_error("certificate verification context");
    for (const auto& ca : authorities_)
        if (X509_STORE_add_cert(store.get(), ca.get()) != 1) ERR_clear_error(); // duplicates
    for (const auto& crl : crls_)
        if (X509_STORE_add_crl(store.get(), crl->crl.get()) != 1) ERR_clear_error();
    for (const auto& cert : intermediates) sk_X509_push(untrusted.get(), cert.get());
    if (X509_STORE_CTX_init(ctx.get(), store.get(), leaf.get(), untrusted.get()) != 1)
        throw_openssl_error("certificate verification context");
    // A configured authority is a trust anchor even when it is itself a subordinate CA, as
    // Cisco trustpoints and Junos CA profiles allow.
    unsigned long flags = X509_V_FLAG_PARTIAL_CHAIN;
    if (!crls_.empty()) flags |= X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL;
    X509_STORE_CTX_set_flags(ctx.get(), flags);
    X509_STORE_CTX_set_time(ctx.get(), 0, at);
    if (X509_verify_cert(ctx.get()) == 1) return {true, {}};
    ERR_clear_error();

    int error = X509_STORE_CTX_get_error(ctx.get());
    X509* current = X509_STORE_CTX_get_current_cert(ctx.get());
    if (!current) current = leaf.get();
    std::string who = "certificate \"" + name_text(X509_get_subject_name(current)) + "\"";
    std::string issuer = name_text(X509_get_issuer_name(current));
    switch (error) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
        return {false, who + " expired on " + time_text(X509_get0_notAfter(current))};
    case X509_V_ERR_CERT_NOT_YET_VALID:
        return {false, who + " is not valid before " + time_text(X509_get0_notBefore(current))};
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
        return {false, who + " was not issued by a configured certificate authority (its issuer is \"" +
                           issuer + "\")"};
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
        return {false, who + " has a signature that does not verify with the key of its issuer \"" +
                           issuer + "\""};
    case X509_V_ERR_CERT_REVOKED:
        return {false, who + " is revoked by the CRL of \"" + issuer + "\""};
    case X509_V_ERR_UNABLE_TO_GET_CRL:
        return {false, "revocation checking is on, but the configured CRLs hold none from \"" +
                           issuer + "\" (for " + who + ")"};
    case X509_V_ERR_CRL_HAS_EXPIRED:
        return {false, "the CRL of \"" + issuer + "\" has passed its next update (for " + who + ")"};
    case X509_V_ERR_CRL_NOT_YET_VALID:
        return {false, "the CRL of \"" + issuer + "\" is not valid yet (for " + who + ")"};
    case X509_V_ERR_CRL_SIGNATURE_FAILURE:
        return {false, "the CRL of \"" + issuer + "\" has a signature that does not verify"};
    default:
        return {false, who + ": " + X509_verify_cert_error_string(error)};
    }
}

} // namespace gdoi::crypto
