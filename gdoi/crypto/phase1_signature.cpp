#include "gdoi/crypto/phase1_signature.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

namespace gdoi::crypto {

namespace {

EvpPkeyCtxPtr context_for(EVP_PKEY* key) {
    EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
    if (!ctx) throw_openssl_error("RSA context");
    return ctx;
}

} // namespace

Phase1PrivateKey Phase1PrivateKey::from_pem(std::span<const uint8_t> pem,
                                            const std::string& source) {
    ERR_clear_error();
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(
        BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
    if (!bio) throw_openssl_error("memory buffer");
    // An empty passphrase callback: an encrypted key is refused instead of prompting.
    EVP_PKEY* raw = PEM_read_bio_PrivateKey(
        bio.get(), nullptr, [](char*, int, int, void*) { return 0; }, nullptr);
    if (!raw) {
        ERR_clear_error();
        throw CryptoError(source +
                          " is not an unencrypted PEM private key (BEGIN PRIVATE KEY or BEGIN "
                          "RSA PRIVATE KEY)");
    }
    Phase1PrivateKey out;
    out.key_.reset(raw);
    if (EVP_PKEY_get_base_id(raw) != EVP_PKEY_RSA)
        throw CryptoError(source + " holds a " + std::string(EVP_PKEY_get0_type_name(raw)) +
                          " key; Phase 1 signatures need an RSA key");
    if (out.bits() < 2048)
        throw CryptoError(source + " holds a " + std::to_string(out.bits()) +
                          "-bit RSA key; at least 2048 bits are required");
    return out;
}

Phase1PrivateKey Phase1PrivateKey::generate(unsigned bits) {
    Phase1PrivateKey out;
    out.key_.reset(EVP_RSA_gen(bits));
    if (!out.key_) throw_openssl_error("generating an RSA key");
    return out;
}

bool Phase1PrivateKey::matches(const Certificate& certificate) const {
    const EVP_PKEY* public_key = X509_get0_pubkey(certificate.get());
    bool equal = public_key && EVP_PKEY_eq(key_.get(), public_key) == 1;
    ERR_clear_error();
    return equal;
}

size_t Phase1PrivateKey::bits() const {
    return static_cast<size_t>(EVP_PKEY_get_bits(key_.get()));
}

std::vector<uint8_t> Phase1PrivateKey::sign(std::span<const uint8_t> hash) const {
    EvpPkeyCtxPtr ctx = context_for(key_.get());
    // No signature digest set: OpenSSL pads the octets as given (PKCS #1 type 1, no DigestInfo).
    if (EVP_PKEY_sign_init(ctx.get()) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) != 1)
        throw_openssl_error("Phase 1 signature");
    size_t length = 0;
    if (EVP_PKEY_sign(ctx.get(), nullptr, &length, hash.data(), hash.size()) != 1)
        throw_openssl_error("Phase 1 signature");
    std::vector<uint8_t> signature(length);
    if (EVP_PKEY_sign(ctx.get(), signature.data(), &length, hash.data(), hash.size()) != 1)
        throw_openssl_error("Phase 1 signature");
    signature.resize(length);
    return signature;
}

std::string Phase1PrivateKey::to_pem_for_test() const {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
    if (!bio || PEM_write_bio_PrivateKey(bio.get(), key_.get(), nullptr, nullptr, 0, nullptr,
                                         nullptr) != 1)
        throw_openssl_error("writing a private key");
    char* data = nullptr;
    long length = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<size_t>(length));
}

bool verify_phase1_signature(const Certificate& signer, std::span<const uint8_t> hash,
                             std::span<const uint8_t> signature) {
    EVP_PKEY* key = X509_get0_pubkey(signer.get());
    if (!key || EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA) return false;
    // RFC 8017 section 8.2.2: the signature is as long as the modulus.
    if (signature.size() != static_cast<size_t>(EVP_PKEY_get_size(key))) return false;
    EvpPkeyCtxPtr ctx = context_for(key);
    if (EVP_PKEY_verify_init(ctx.get()) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) != 1)
        throw_openssl_error("Phase 1 signature check");
    bool valid = EVP_PKEY_verify(ctx.get(), signature.data(), signature.size(), hash.data(),
                                 hash.size()) == 1;
    ERR_clear_error();
    return valid;
}

} // namespace gdoi::crypto
