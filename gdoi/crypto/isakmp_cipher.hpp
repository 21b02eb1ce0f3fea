// Encryption of ISAKMP message bodies under one Phase 1 SA, with RFC 2409 appendix B's IV
// chaining: Phase 1 messages chain from hash(g^xi | g^xr); every later exchange (message ID)
// starts from hash(last Phase 1 CBC block | M-ID) and chains through its own messages.
#pragma once

#include "gdoi/crypto/cbc_cipher.hpp"
#include "gdoi/crypto/prf.hpp"
#include "gdoi/secret_bytes.hpp"
#include "gdoi/wiping_buffer.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <vector>

namespace gdoi::crypto {

class IsakmpCipher {
public:
    IsakmpCipher(CbcCipher cipher, HashAlgorithm hash, SecretBytes key,
                 std::vector<uint8_t> phase1_iv);

    CbcCipher cipher() const { return cipher_; }
    size_t block_size() const { return cipher_block_size(cipher_); }

    // Pads (ISAKMP style) and encrypts a body for exchange `message_id` (0 = Phase 1);
    // the IV chain of that exchange moves on to the last ciphertext block.
    std::vector<uint8_t> encrypt(uint32_t message_id, std::span<const uint8_t> body);

    // Decrypts without touching the chain: the caller commits the IV (commit()) only once the
    // message has proven authentic, so a forged datagram cannot desynchronise the exchange.
    struct Decrypted {
        WipingBuffer plaintext; // still padded; may hold key material (PULL message 4's KD)
        std::vector<uint8_t> next_iv;
    };
    // nullopt when the length is not a whole number of blocks.
    std::optional<Decrypted> decrypt(uint32_t message_id,
                                     std::span<const uint8_t> ciphertext) const;
    void commit(uint32_t message_id, std::vector<uint8_t> next_iv);

    // Called once Phase 1 is complete (after MM6 was sent or received): from here on every new
    // message ID derives its IV from the last Phase 1 block.
    void finish_phase1();
    bool phase1_finished() const { return phase1_finished_; }

    // The current IV for an exchange (derived on first use for message IDs other than 0).
    std::vector<uint8_t> current_iv(uint32_t message_id) const;
    void forget(uint32_t message_id) { ivs_.erase(message_id); }

private:
    CbcCipher cipher_;
    HashAlgorithm hash_;
    SecretBytes key_;
    std::vector<uint8_t> phase1_iv_;
    std::vector<uint8_t> last_phase1_block_;
    bool phase1_finished_ = false;
    std::map<uint32_t, std::vector<uint8_t>> ivs_; // message ID -> IV of its next message
};

} // namespace gdoi::crypto
