// GROUPKEY-PUSH, key server side (the test key server): builds an encrypted, signed push
// `HDR*, SEQ, [D,] [SA, KD,] SIG` with the same crypto helpers the member verifies with.
#pragma once

#include "gdoi/crypto/kek_signature.hpp"
#include "gdoi/group_policy.hpp"
#include "gdoi/push/push_update.hpp"
#include "gdoi/server_quirks.hpp"

#include <cstdint>
#include <optional>
#include <vector>

namespace gdoi::push {

struct PushSpec {
    // The KEK the push travels under: cookies, cipher, key, IV, SIG_ALGORITHM and SIG_HASH.
    KekPolicy kek;
    // Of the kind kek.signature_algorithm names (RSA, ECDSA P-256 or P-384).
    const crypto::KekPrivateKey* signer = nullptr;
    crypto::SignatureForm signature_form = crypto::SignatureForm::digest_info; // RSA only
    uint32_t sequence = 0;

    PushDeletes deletes; // one D payload per kind present (TEK SPIs, KEK SPIs)

    // The SA KEK to announce (the current KEK again, or the next one for a rollover). Its KD
    // KEK packet carries its IV | key and public key.
    std::optional<KekPolicy> sa_kek;
    // Label the KD KEK packet with the SPI of `kek` (the old one), as the reference server does.
    bool kd_kek_label_old_spi = false;
    std::optional<GroupAssociatedPolicy> gap;
    std::vector<TekPolicy> teks; // with their keys (KD TEK packets)

    ServerQuirks quirks; // encoding of SA TEK IDs
};

// Throws std::invalid_argument when the spec cannot be built (no signer, a signer of another
// kind than the KEK's SIG_ALGORITHM, KEK unusable).
std::vector<uint8_t> build_push(const PushSpec& spec);

} // namespace gdoi::push
