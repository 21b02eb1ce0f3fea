#include "gdoi/crypto/prf.hpp"

#include "gdoi/crypto/openssl_error.hpp"

#include <array>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

namespace gdoi::crypto {

std::string_view hash_name(HashAlgorithm hash) {
    switch (hash) {
    case HashAlgorithm::md5:
        return "MD5";
    case HashAlgorithm::sha1:
        return "SHA1";
    case HashAlgorithm::sha256:
        return "SHA256";
    case HashAlgorithm::sha384:
        return "SHA384";
    case HashAlgorithm::sha512:
        return "SHA512";
    }
    throw CryptoError("unknown hash algorithm");
}

size_t hash_length(HashAlgorithm hash) {
    switch (hash) {
    case HashAlgorithm::md5:
        return 16;
    case HashAlgorithm::sha1:
        return 20;
    case HashAlgorithm::sha256:
        return 32;
    case HashAlgorithm::sha384:
        return 48;
    case HashAlgorithm::sha512:
        return 64;
    }
    throw CryptoError("unknown hash algorithm");
}

// Each digest is fetched from the providers once per process and kept: a fetch by name takes
// the provider store's lock and searches it, on every push and every PRF otherwise. Never freed
// (OpenSSL's exit handler may run before static destructors would); a digest the providers do
// not offer (MD5 under FIPS) stays null and is refused where it is used.
static const EVP_MD* fetched_digest(HashAlgorithm hash) {
    static const auto table = [] {
        std::array<EVP_MD*, 5> out{};
        for (auto h : {HashAlgorithm::md5, HashAlgorithm::sha1, HashAlgorithm::sha256,
                       HashAlgorithm::sha384, HashAlgorithm::sha512})
            out[static_cast<size_t>(h)] =
                EVP_MD_fetch(nullptr, std::string(hash_name(h)).c_str(), nullptr);
        ERR_clear_error();
        return out;
    }();
    return table.at(static_cast<size_t>(hash));
}

static EVP_MAC* fetched_hmac() {
    static EVP_MAC* const mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    return mac;
}

Bytes digest(HashAlgorithm hash, ByteSpans parts) {
    std::string name(hash_name(hash));
    const EVP_MD* md = fetched_digest(hash);
    if (!md) throw CryptoError("digest " + name + " is not offered by OpenSSL's providers");
    EvpMdCtxPtr ctx(EVP_MD_CTX_new());
    if (!ctx || EVP_DigestInit_ex(ctx.get(), md, nullptr) != 1)
        throw_openssl_error("starting digest " + name);
    for (auto part : parts)
        if (!part.empty() && EVP_DigestUpdate(ctx.get(), part.data(), part.size()) != 1)
            throw_openssl_error("digest " + name);
    Bytes out(static_cast<size_t>(EVP_MD_get_size(md)));
    unsigned int length = 0;
    if (EVP_DigestFinal_ex(ctx.get(), out.data(), &length) != 1)
        throw_openssl_error("finishing digest " + name);
    out.resize(length);
    return out;
}

static void hmac_into(HashAlgorithm hash, std::span<const uint8_t> key, ByteSpans parts,
                      std::span<uint8_t> out) {
    EVP_MAC* mac = fetched_hmac();
    if (!mac) throw_openssl_error("fetching HMAC");
    EvpMacCtxPtr ctx(EVP_MAC_CTX_new(mac));
    if (!ctx) throw_openssl_error("creating HMAC context");
    std::string name(hash_name(hash));
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, name.data(), 0),
        OSSL_PARAM_construct_end(),
    };
    // An empty key is legal HMAC; OpenSSL wants a non-null pointer for it.
    static const uint8_t empty = 0;
    const uint8_t* key_data = key.empty() ? &empty : key.data();
    if (EVP_MAC_init(ctx.get(), key_data, key.size(), params) != 1)
        throw_openssl_error("starting HMAC-" + name);
    for (auto part : parts)
        if (!part.empty() && EVP_MAC_update(ctx.get(), part.data(), part.size()) != 1)
            throw_openssl_error("HMAC-" + name);
    size_t length = 0;
    if (EVP_MAC_final(ctx.get(), out.data(), &length, out.size()) != 1 || length != out.size())
        throw_openssl_error("finishing HMAC-" + name);
}

SecretBytes hmac(HashAlgorithm hash, std::span<const uint8_t> key, ByteSpans parts) {
    SecretBytes out(hash_length(hash));
    hmac_into(hash, key, parts, out.reveal_mutable());
    return out;
}

Bytes hmac_public(HashAlgorithm hash, std::span<const uint8_t> key, ByteSpans parts) {
    Bytes out(hash_length(hash));
    hmac_into(hash, key, parts, out);
    return out;
}

bool equal_constant_time(std::span<const uint8_t> a, std::span<const uint8_t> b) {
    return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

Bytes random_bytes(size_t count) {
    Bytes out(count);
    if (count && RAND_bytes(out.data(), static_cast<int>(count)) != 1)
        throw_openssl_error("random bytes");
    return out;
}

SecretBytes random_secret(size_t count) {
    SecretBytes out(count);
    if (count && RAND_priv_bytes(out.reveal_mutable().data(), static_cast<int>(count)) != 1)
        throw_openssl_error("random secret");
    return out;
}

} // namespace gdoi::crypto
