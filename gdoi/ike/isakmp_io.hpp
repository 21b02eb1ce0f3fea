// Building and opening ISAKMP datagrams under a Phase 1 SA: encryption with the IV chain of
// the message ID, HASH payloads computed over the raw octets that follow them, and
// informational notifications (RFC 2409 section 5.7) in the clear or protected.
#pragma once

#include "gdoi/ike/exchange_clock.hpp"
#include "gdoi/ike/phase1_sa.hpp"
#include "gdoi/wire/message.hpp"
#include "gdoi/wiping_buffer.hpp"

#include <functional>
#include <optional>
#include <span>
#include <string>

namespace gdoi::ike {

// Encodes `message`; when its header has the E flag, encrypts the body under `cipher` for the
// header's message ID and sets the length to the padded size.
Datagram seal(const wire::Message& message, crypto::IsakmpCipher* cipher,
              const wire::EncodeContext& ctx = {});

// Encrypts the body of a message encoded in the clear (header unchanged but its length) under
// the IV chain of its message ID, which moves on.
Datagram encrypt_encoded(std::span<const uint8_t> clear, crypto::IsakmpCipher& cipher);

// A message whose first payload is a HASH over (prefix | octets of every later payload):
// encodes it with a placeholder hash, computes prf(key, prefix | rest) and fills it in.
// The message is returned in the clear (seal() it afterwards if it must be encrypted).
using HashPrefix = std::function<std::vector<uint8_t>(std::span<const uint8_t> rest)>;
Datagram encode_with_leading_hash(wire::Message message, size_t hash_length,
                                  const HashPrefix& compute_hash,
                                  const wire::EncodeContext& ctx = {});

// The octets from the end of the first payload to the end of the chain (what a leading
// HASH covers).
std::span<const uint8_t> after_first_payload(std::span<const uint8_t> message);

struct Opened {
    WipingBuffer plaintext; // header + decrypted body (padding kept); may hold KD key material
    std::vector<uint8_t> next_iv;
};
// Decrypts an E-flagged datagram for its message ID without committing the IV chain.
// nullopt when the length is not a whole number of blocks.
std::optional<Opened> open(std::span<const uint8_t> datagram, const crypto::IsakmpCipher& cipher);

// Informational exchange with one notification, in the clear (before Phase 1 keys exist).
Datagram clear_notify(const wire::Cookie& icookie, const wire::Cookie& rcookie, uint32_t doi,
                      wire::NotifyType type);
// Protected informational: HDR*, HASH(1), N with HASH(1) = prf(SKEYID_a, M-ID | N).
Datagram protected_notify(Phase1Sa& sa, wire::NotifyType type, std::span<const uint8_t> data = {});

// Reads an informational exchange addressed to this SA (or to the cookies, in the clear).
// Returns the notification, or nullopt with `why` set when it is not authentic or readable.
std::optional<wire::NotifyPayload> read_informational(std::span<const uint8_t> datagram,
                                                      Phase1Sa* sa, std::string& why);

// One sentence for an operator: what the key server's notification means for us.
std::string describe_rejection(const IpAddress& server, uint16_t notify_type,
                               const std::string& during);

uint32_t random_message_id();
wire::Cookie random_cookie();

} // namespace gdoi::ike
