#include "gdoi/crypto/rsa_signature.hpp"

#include <cstdio>
#include <memory>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <optional>

namespace gdoi::crypto {

namespace {

struct FileClose {
    void operator()(FILE* f) const { std::fclose(f); }
};

const EVP_MD* md_of(HashAlgorithm hash) {
    switch (hash) {
    case HashAlgorithm::md5:
        return EVP_md5();
    case HashAlgorithm::sha1:
        return EVP_sha1();
    case HashAlgorithm::sha256:
        return EVP_sha256();
    case HashAlgorithm::sha384:
        return EVP_sha384();
    case HashAlgorithm::sha512:
        return EVP_sha512();
    }
    throw CryptoError("unknown hash algorithm");
}

EvpPkeyCtxPtr rsa_ctx(EVP_PKEY* key) {
    EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
    if (!ctx) throw_openssl_error("RSA context");
    return ctx;
}

} // namespace

RsaPublicKey RsaPublicKey::from_der(std::span<const uint8_t> der) {
    const unsigned char* cursor = der.data();
    EvpPkeyPtr key(d2i_PUBKEY(nullptr, &cursor, static_cast<long>(der.size())));
    if (!key) throw_openssl_error("reading the key server's public key (DER SubjectPublicKeyInfo)");
    if (cursor != der.data() + der.size())
        throw CryptoError("trailing octets after the public key");
    return from_pkey(std::move(key));
}

RsaPublicKey RsaPublicKey::from_pkey(EvpPkeyPtr key) {
    if (!key || EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_RSA)
        throw CryptoError("the key server's public key is not an RSA key");
    RsaPublicKey out;
    out.key_ = std::move(key);
    return out;
}

size_t RsaPublicKey::modulus_bits() const {
    return static_cast<size_t>(EVP_PKEY_get_bits(key_.get()));
}

std::optional<SignatureForm> RsaPublicKey::verify(HashAlgorithm hash, ByteSpans data,
                                                  std::span<const uint8_t> signature) const {
    const auto hashed = digest(hash, data);
    {
        // RFC 3447 form: EMSA-PKCS1-v1_5 with DigestInfo.
        EvpPkeyCtxPtr ctx = rsa_ctx(key_.get());
        if (EVP_PKEY_verify_init(ctx.get()) == 1 &&
            EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) == 1 &&
            EVP_PKEY_CTX_set_signature_md(ctx.get(), md_of(hash)) == 1 &&
            EVP_PKEY_verify(ctx.get(), signature.data(), signature.size(), hashed.data(),
                            hashed.size()) == 1)
            return SignatureForm::digest_info;
    }
    {
        // The reference implementation's form: type 1 padding around the bare digest.
        EvpPkeyCtxPtr ctx = rsa_ctx(key_.get());
        std::vector<uint8_t> recovered(static_cast<size_t>(EVP_PKEY_get_size(key_.get())));
        size_t length = recovered.size();
        if (EVP_PKEY_verify_recover_init(ctx.get()) == 1 &&
            EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) == 1 &&
            EVP_PKEY_verify_recover(ctx.get(), recovered.data(), &length, signature.data(),
                                    signature.size()) == 1) {
            recovered.resize(length);
            if (equal_constant_time(recovered, hashed)) {
                ERR_clear_error();
                return SignatureForm::bare_digest;
            }
        }
    }
    ERR_clear_error();
    return std::nullopt;
}

RsaPrivateKey RsaPrivateKey::load_pem_file(const std::string& path) {
    std::unique_ptr<FILE, FileClose> file(std::fopen(path.c_str(), "r"));
    if (!file) throw CryptoError("cannot open RSA private key file " + path);
    EvpPkeyPtr key(PEM_read_PrivateKey(file.get(), nullptr, nullptr, nullptr));
    if (!key) throw_openssl_error("reading PEM private key " + path);
    if (EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_RSA)
        throw CryptoError(path + " does not hold an RSA private key");
    RsaPrivateKey out;
    out.key_ = std::move(key);
    return out;
}

RsaPrivateKey RsaPrivateKey::generate(unsigned bits) {
    EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
    EVP_PKEY* raw = nullptr;
    if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 ||
        EVP_PKEY_CTX_set_rsa_keygen_bits(ctx.get(), static_cast<int>(bits)) != 1 ||
        EVP_PKEY_generate(ctx.get(), &raw) != 1)
        throw_openssl_error("generating an RSA key");
    RsaPrivateKey out;
    out.key_.reset(raw);
    return out;
}

std::vector<uint8_t> RsaPrivateKey::public_key_der() const {
    unsigned char* raw = nullptr;
    int length = i2d_PUBKEY(key_.get(), &raw);
    if (length <= 0) throw_openssl_error("encoding the RSA public key");
    std::vector<uint8_t> out(raw, raw + length);
    OPENSSL_free(raw);
    return out;
}

size_t RsaPrivateKey::modulus_bits() const {
    return static_cast<size_t>(EVP_PKEY_get_bits(key_.get()));
}

std::vector<uint8_t> RsaPrivateKey::sign(HashAlgorithm hash, ByteSpans data,
                                         SignatureForm form) const {
    const auto hashed = digest(hash, data);
    EvpPkeyCtxPtr ctx = rsa_ctx(key_.get());
    if (EVP_PKEY_sign_init(ctx.get()) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) != 1)
        throw_openssl_error("RSA sign");
    // Without a signature digest OpenSSL pads the input as it is: the bare-digest form.
    if (form == SignatureForm::digest_info &&
        EVP_PKEY_CTX_set_signature_md(ctx.get(), md_of(hash)) != 1)
        throw_openssl_error("RSA sign");
    size_t length = 0;
    if (EVP_PKEY_sign(ctx.get(), nullptr, &length, hashed.data(), hashed.size()) != 1)
        throw_openssl_error("RSA sign");
    std::vector<uint8_t> out(length);
    if (EVP_PKEY_sign(ctx.get(), out.data(), &length, hashed.data(), hashed.size()) != 1)
        throw_openssl_error("RSA sign");
    out.resize(length);
    return out;
}

} // namespace gdoi::crypto
