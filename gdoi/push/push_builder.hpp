// GROUPKEY-PUSH, key server side (the test key server): builds an encrypted, signed push
// `HDR*, SEQ, [D,] [SA, KD,] SIG` with the same crypto helpers the member verifies with.
#pragma once

#include "gdoi/crypto/kek_signature.hpp"
#include "gdoi/group_policy.hpp"
#include "gdoi/push/push_update.hpp"
#include "gdoi/server_quirks.hpp"
#include "gdoi/wire/message.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
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

// build_push() in its two steps, for tests and the push fuzz target that change the payloads
// between them (order, duplicates, lengths, attributes) and still get a push the member can
// decrypt and verify. push_chain(): the encoded payloads before SIG (no header; the last one's
// next-payload is SIG), first one SEQ; `edit` may change the decoded payloads before they are
// encoded (the SIG placeholder is the last one).
std::vector<uint8_t> push_chain(const PushSpec& spec,
                                const std::function<void(wire::Message&)>& edit = {});
// The key server's last step over any chain: header under `kek` (its SPI as cookies, E flag,
// next-payload `first_payload`), `chain` as given, a SIG payload signed by `signer` over
// "rekey" | HDR | chain, zero padding and CBC encryption with the KEK. Throws
// std::invalid_argument like build_push().
std::vector<uint8_t> seal_push(const KekPolicy& kek, const crypto::KekPrivateKey& signer,
                               crypto::SignatureForm form, uint8_t first_payload,
                               std::span<const uint8_t> chain);

} // namespace gdoi::push
