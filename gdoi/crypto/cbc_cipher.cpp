#include "gdoi/crypto/cbc_cipher.hpp"

#include "gdoi/crypto/openssl_error.hpp"

#include <array>
#include <openssl/err.h>
#include <string>

namespace gdoi::crypto {

std::string_view cipher_name(CbcCipher cipher) {
    switch (cipher) {
    case CbcCipher::des3:
        return "3DES-CBC";
    case CbcCipher::aes128:
        return "AES-128-CBC";
    case CbcCipher::aes192:
        return "AES-192-CBC";
    case CbcCipher::aes256:
        return "AES-256-CBC";
    }
    throw CryptoError("unknown cipher");
}

static const char* openssl_name(CbcCipher cipher) {
    switch (cipher) {
    case CbcCipher::des3:
        return "DES-EDE3-CBC";
    case CbcCipher::aes128:
        return "AES-128-CBC";
    case CbcCipher::aes192:
        return "AES-192-CBC";
    case CbcCipher::aes256:
        return "AES-256-CBC";
    }
    throw CryptoError("unknown cipher");
}

size_t cipher_key_length(CbcCipher cipher) {
    switch (cipher) {
    case CbcCipher::des3:
        return 24;
    case CbcCipher::aes128:
        return 16;
    case CbcCipher::aes192:
        return 24;
    case CbcCipher::aes256:
        return 32;
    }
    throw CryptoError("unknown cipher");
}

size_t cipher_block_size(CbcCipher cipher) {
    return cipher == CbcCipher::des3 ? 8 : 16;
}

// Fetched once per process and kept, for the reason of fetched_digest in prf.cpp; null when the
// providers do not offer the cipher (3DES under FIPS).
static const EVP_CIPHER* fetched_cipher(CbcCipher cipher) {
    static const auto table = [] {
        std::array<EVP_CIPHER*, 4> out{};
        for (auto c : {CbcCipher::des3, CbcCipher::aes128, CbcCipher::aes192, CbcCipher::aes256})
            out[static_cast<size_t>(c)] = EVP_CIPHER_fetch(nullptr, openssl_name(c), nullptr);
        ERR_clear_error();
        return out;
    }();
    return table.at(static_cast<size_t>(cipher));
}

static std::vector<uint8_t> cbc_run(CbcCipher cipher, const SecretBytes& key,
                                    std::span<const uint8_t> iv, std::span<const uint8_t> input,
                                    bool encrypt) {
    std::string what = std::string(cipher_name(cipher)) + (encrypt ? " encrypt" : " decrypt");
    if (key.size() != cipher_key_length(cipher))
        throw CryptoError(what + ": key is " + std::to_string(key.size()) + " octets, expected " +
                          std::to_string(cipher_key_length(cipher)));
    if (iv.size() != cipher_block_size(cipher))
        throw CryptoError(what + ": IV is " + std::to_string(iv.size()) + " octets, expected " +
                          std::to_string(cipher_block_size(cipher)));
    if (input.size() % cipher_block_size(cipher) != 0)
        throw CryptoError(what + ": " + std::to_string(input.size()) +
                          " octets is not a whole number of blocks");
    const EVP_CIPHER* evp = fetched_cipher(cipher);
    if (!evp) throw CryptoError(what + ": not offered by OpenSSL's providers");
    EvpCipherCtxPtr ctx(EVP_CIPHER_CTX_new());
    if (!ctx ||
        EVP_CipherInit_ex2(ctx.get(), evp, key.reveal().data(), iv.data(), encrypt ? 1 : 0,
                           nullptr) != 1 ||
        EVP_CIPHER_CTX_set_padding(ctx.get(), 0) != 1)
        throw_openssl_error(what);
    std::vector<uint8_t> output(input.size() + cipher_block_size(cipher));
    int written = 0;
    int final_written = 0;
    if (!input.empty() && EVP_CipherUpdate(ctx.get(), output.data(), &written, input.data(),
                                           static_cast<int>(input.size())) != 1)
        throw_openssl_error(what);
    if (EVP_CipherFinal_ex(ctx.get(), output.data() + written, &final_written) != 1)
        throw_openssl_error(what);
    output.resize(static_cast<size_t>(written + final_written));
    return output;
}

std::vector<uint8_t> cbc_encrypt(CbcCipher cipher, const SecretBytes& key,
                                 std::span<const uint8_t> iv, std::span<const uint8_t> plaintext) {
    return cbc_run(cipher, key, iv, plaintext, true);
}

std::vector<uint8_t> cbc_decrypt(CbcCipher cipher, const SecretBytes& key,
                                 std::span<const uint8_t> iv, std::span<const uint8_t> ciphertext) {
    return cbc_run(cipher, key, iv, ciphertext, false);
}

std::vector<uint8_t> isakmp_pad(std::span<const uint8_t> body, size_t block_size) {
    std::vector<uint8_t> out(body.begin(), body.end());
    size_t pad = (block_size - out.size() % block_size) % block_size;
    out.resize(out.size() + pad, 0);
    if (pad > 0) out.back() = static_cast<uint8_t>(pad - 1);
    return out;
}

} // namespace gdoi::crypto
