#include "gdoi/crypto/isakmp_cipher.hpp"

#include "gdoi/crypto/ike_keys.hpp"
#include "gdoi/crypto/openssl_error.hpp"

namespace gdoi::crypto {

IsakmpCipher::IsakmpCipher(CbcCipher cipher, HashAlgorithm hash, SecretBytes key,
                           std::vector<uint8_t> phase1_iv)
    : cipher_(cipher), hash_(hash), key_(std::move(key)), phase1_iv_(std::move(phase1_iv)) {
    if (phase1_iv_.size() != cipher_block_size(cipher_))
        throw CryptoError("Phase 1 IV does not match the cipher block size");
}

std::vector<uint8_t> IsakmpCipher::current_iv(uint32_t message_id) const {
    if (message_id == 0) return phase1_iv_;
    auto found = ivs_.find(message_id);
    if (found != ivs_.end()) return found->second;
    if (!phase1_finished_) throw CryptoError("a Phase 2 IV was requested before Phase 1 finished");
    return phase2_initial_iv(hash_, last_phase1_block_, message_id, block_size());
}

void IsakmpCipher::commit(uint32_t message_id, std::vector<uint8_t> next_iv) {
    if (message_id == 0)
        phase1_iv_ = std::move(next_iv);
    else
        ivs_[message_id] = std::move(next_iv);
}

std::vector<uint8_t> IsakmpCipher::encrypt(uint32_t message_id, std::span<const uint8_t> body) {
    auto padded = isakmp_pad(body, block_size());
    auto out = cbc_encrypt(cipher_, key_, current_iv(message_id), padded);
    commit(message_id,
           std::vector<uint8_t>(out.end() - static_cast<long>(block_size()), out.end()));
    return out;
}

std::optional<IsakmpCipher::Decrypted>
IsakmpCipher::decrypt(uint32_t message_id, std::span<const uint8_t> ciphertext) const {
    if (ciphertext.empty() || ciphertext.size() % block_size() != 0) return std::nullopt;
    Decrypted result;
    result.plaintext = cbc_decrypt(cipher_, key_, current_iv(message_id), ciphertext);
    result.next_iv.assign(ciphertext.end() - static_cast<long>(block_size()), ciphertext.end());
    return result;
}

void IsakmpCipher::finish_phase1() {
    last_phase1_block_ = phase1_iv_;
    phase1_finished_ = true;
}

} // namespace gdoi::crypto
