#include "gdoi/crypto/ike_keys.hpp"

#include "gdoi/crypto/openssl_error.hpp"

#include <array>

namespace gdoi::crypto {

SecretBytes skeyid_pre_shared(HashAlgorithm hash, const SecretBytes& pre_shared_key,
                              std::span<const uint8_t> nonce_i, std::span<const uint8_t> nonce_r) {
    return hmac(hash, pre_shared_key.reveal(), {nonce_i, nonce_r});
}

SecretBytes skeyid_signature(HashAlgorithm hash, std::span<const uint8_t> nonce_i,
                             std::span<const uint8_t> nonce_r, const SecretBytes& shared_secret) {
    std::vector<uint8_t> key(nonce_i.begin(), nonce_i.end());
    key.insert(key.end(), nonce_r.begin(), nonce_r.end());
    return hmac(hash, key, {shared_secret.reveal()});
}

Phase1Keys derive_phase1_keys(HashAlgorithm hash, CbcCipher cipher, SecretBytes skeyid,
                              const SecretBytes& shared_secret, std::span<const uint8_t> cookie_i,
                              std::span<const uint8_t> cookie_r) {
    static const std::array<uint8_t, 1> zero{0}, one{1}, two{2};
    Phase1Keys keys;
    keys.hash = hash;
    keys.cipher = cipher;
    keys.skeyid = std::move(skeyid);
    auto s = keys.skeyid.reveal();
    auto gxy = shared_secret.reveal();
    keys.skeyid_d = hmac(hash, s, {gxy, cookie_i, cookie_r, zero});
    keys.skeyid_a = hmac(hash, s, {keys.skeyid_d.reveal(), gxy, cookie_i, cookie_r, one});
    keys.skeyid_e = hmac(hash, s, {keys.skeyid_a.reveal(), gxy, cookie_i, cookie_r, two});
    keys.encryption_key = expand_encryption_key(hash, keys.skeyid_e, cipher_key_length(cipher));
    return keys;
}

SecretBytes expand_encryption_key(HashAlgorithm hash, const SecretBytes& skeyid_e,
                                  size_t key_length) {
    SecretBytes material;
    if (skeyid_e.size() >= key_length) {
        material = skeyid_e;
    } else {
        static const std::array<uint8_t, 1> zero{0};
        SecretBytes block = hmac(hash, skeyid_e.reveal(), {zero});
        while (true) {
            material.append(block.reveal());
            if (material.size() >= key_length) break;
            block = hmac(hash, skeyid_e.reveal(), {block.reveal()});
        }
    }
    return SecretBytes(material.reveal().first(key_length));
}

std::vector<uint8_t> phase1_initial_iv(HashAlgorithm hash, std::span<const uint8_t> g_xi,
                                       std::span<const uint8_t> g_xr, size_t block_size) {
    auto out = digest(hash, {g_xi, g_xr});
    if (out.size() < block_size) throw CryptoError("hash shorter than the cipher block");
    out.resize(block_size);
    return out;
}

std::vector<uint8_t> phase2_initial_iv(HashAlgorithm hash,
                                       std::span<const uint8_t> last_phase1_block,
                                       uint32_t message_id, size_t block_size) {
    const std::array<uint8_t, 4> mid{
        static_cast<uint8_t>(message_id >> 24), static_cast<uint8_t>(message_id >> 16),
        static_cast<uint8_t>(message_id >> 8), static_cast<uint8_t>(message_id)};
    auto out = digest(hash, {last_phase1_block, mid});
    if (out.size() < block_size) throw CryptoError("hash shorter than the cipher block");
    out.resize(block_size);
    return out;
}

} // namespace gdoi::crypto
