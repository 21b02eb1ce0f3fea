#include "gdoi/push/push_crypto.hpp"

#include "gdoi/wire/constants.hpp"

#include <cstdio>
#include <stdexcept>

namespace gdoi::push {

crypto::CbcCipher kek_cbc_cipher(const KekPolicy& kek) {
    if (kek.cipher == KekCipher::des3_cbc) return crypto::CbcCipher::des3;
    size_t bits = kek.key_bits != 0 ? kek.key_bits : kek.key.size() * 8;
    switch (bits) {
    case 128:
        return crypto::CbcCipher::aes128;
    case 192:
        return crypto::CbcCipher::aes192;
    case 256:
        return crypto::CbcCipher::aes256;
    default:
        throw std::invalid_argument("AES-CBC KEK with a key of " + std::to_string(bits) +
                                    " bits (128, 192 or 256 expected)");
    }
}

crypto::HashAlgorithm signature_hash_algorithm(SignatureHash hash) {
    switch (hash) {
    case SignatureHash::md5:
        return crypto::HashAlgorithm::md5;
    case SignatureHash::sha1:
        return crypto::HashAlgorithm::sha1;
    case SignatureHash::sha256:
        return crypto::HashAlgorithm::sha256;
    case SignatureHash::sha384:
        return crypto::HashAlgorithm::sha384;
    case SignatureHash::sha512:
        return crypto::HashAlgorithm::sha512;
    }
    return crypto::HashAlgorithm::sha256;
}

const char* kek_cipher_name(KekCipher cipher) {
    return cipher == KekCipher::des3_cbc ? "3DES-CBC" : "AES-CBC";
}

std::vector<uint8_t> push_signed_data(std::span<const uint8_t> message, size_t sig_offset,
                                      size_t chain_end) {
    if (sig_offset < wire::kHeaderSize || sig_offset > message.size())
        throw std::out_of_range("push_signed_data: SIG offset outside the message");
    std::vector<uint8_t> out(message.begin(), message.begin() + static_cast<long>(sig_offset));
    out[19] |= wire::flags::encryption;
    for (int i = 0; i < 4; ++i)
        out[24 + i] = static_cast<uint8_t>(chain_end >> (24 - 8 * i));
    return out;
}

bool same_kek_key(KekCipher cipher, std::span<const uint8_t> a, std::span<const uint8_t> b) {
    if (a.size() != b.size()) return false;
    uint8_t mask = cipher == KekCipher::des3_cbc ? 0xfe : 0xff;
    uint8_t diff = 0;
    for (size_t i = 0; i < a.size(); ++i)
        diff |= static_cast<uint8_t>((a[i] ^ b[i]) & mask);
    return diff == 0;
}

std::string hex(std::span<const uint8_t> bytes) {
    static const char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (uint8_t b : bytes) {
        out.push_back(digits[b >> 4]);
        out.push_back(digits[b & 0xf]);
    }
    return out;
}

std::string spi_hex(uint32_t spi) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%08x", spi);
    return buf;
}

} // namespace gdoi::push
