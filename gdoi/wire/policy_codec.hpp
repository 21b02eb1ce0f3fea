// Semantic conversion between GDOI payloads and the group policy model (gdoi/group_policy.hpp):
// SA KEK + KEK key packet <-> KekPolicy, SA TEK + TEK key packet <-> TekPolicy,
// GAP <-> GroupAssociatedPolicy. Key material goes straight into SecretBytes.
//
//   auto policy = group_policy_from(*msg2.find<GdoiSaPayload>(), msg4.find<KdPayload>(), quirks);
//   // policy.kek->key, policy.teks[i].cipher_key ... ready for policy/ and the kernel.
#pragma once

#include "gdoi/group_policy.hpp"
#include "gdoi/server_quirks.hpp"
#include "gdoi/wire/payloads.hpp"

#include <stdexcept>
#include <string>

namespace gdoi::wire {

// A well-formed payload whose meaning we cannot accept (unknown algorithm, wrong key size,
// missing key). Carries the notify that answers it; `what()` names payload and attribute.
class PolicyError : public std::runtime_error {
public:
    PolicyError(NotifyType notify, const std::string& what)
        : std::runtime_error(what), notify_(notify) {}
    NotifyType notify() const { return notify_; }

private:
    NotifyType notify_;
};

// ---- KEK ----
KekPolicy kek_policy_from(const SaKekPayload& sa);
// Adds the KEK_ALGORITHM_KEY (IV || key) and SIG_ALGORITHM_KEY of a KEK key packet. The packet's
// SPI is not compared: in a KEK rekey it still names the old KEK (the caller decides).
void apply_kek_key_packet(KekPolicy& kek, const KeyPacket& packet);
SaKekPayload sa_kek_from(const KekPolicy& kek);
KeyPacket kek_key_packet_from(const KekPolicy& kek);

// ---- TEK ----
// `quirks.sa_tek_ipv4_byte_reversed` undoes the reference server's reversed IPv4 IDs.
TekPolicy tek_policy_from(const SaTekPayload& sa, const ServerQuirks& quirks = {});
// Adds TEK_ALGORITHM_KEY / TEK_INTEGRITY_KEY; checks their sizes against the TEK's algorithms.
void apply_tek_key_packet(TekPolicy& tek, const KeyPacket& packet);
SaTekPayload sa_tek_from(const TekPolicy& tek, const ServerQuirks& quirks = {});
KeyPacket tek_key_packet_from(const TekPolicy& tek);

// ---- GAP ----
GroupAssociatedPolicy gap_policy_from(const GapPayload& gap);
GapPayload gap_payload_from(const GroupAssociatedPolicy& gap);

// ---- whole SA (+ KD) ----
// The policy of a GDOI SA; with a KD, every TEK and the KEK get their keys (TEK packets are
// matched by SPI; the KEK packet is the one of type KEK). A TEK without its key packet is a
// PolicyError (INVALID-KEY-INFORMATION).
GroupPolicy group_policy_from(const GdoiSaPayload& sa, const KdPayload* kd,
                              const ServerQuirks& quirks = {});

// Key sizes in octets (3DES 24; AES key_bits/8; HMAC-SHA1 20 ...), 0 when none.
size_t tek_cipher_key_octets(const TekPolicy& tek); // including the 4-octet GCM salt
size_t tek_integrity_key_octets(TekIntegrity integrity);
size_t kek_block_octets(KekCipher cipher);

} // namespace gdoi::wire
