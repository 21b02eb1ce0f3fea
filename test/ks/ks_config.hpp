// Configuration of the test key server (TOML): where to listen, Phase 1 proposals, the quirks
// to emulate, and the groups with their members, KEK and TEKs. Keys are generated at start.
#pragma once

#include "gdoi/crypto/kek_signature.hpp"
#include "gdoi/group_policy.hpp"
#include "gdoi/ike/phase1_proposal.hpp"
#include "gdoi/ip_address.hpp"
#include "gdoi/pull/group_policy_codec.hpp"
#include "gdoi/secret_bytes.hpp"
#include "gdoi/server_quirks.hpp"
#include "test/ks/ks_certificate.hpp"

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace gdoi_test_ks {

// [group.rekey]: rekeys the server makes on its own, as a production key server does, so that
// scenarios see push and PULL rekeys without a script driving each one (test/ks/timed_rekey.*).
struct TimedRekeyConfig {
    std::chrono::seconds before_expiry{0}; // rekey when the newest TEKs have this much life left
    enum class Send {
        push, // a GROUPKEY-PUSH to every member (and the KEK's multicast group), as push-now
        none, // nothing sent: members learn the new TEKs by their next PULL
    } send = Send::push;
};

struct KsGroup {
    gdoi::GroupPolicy policy;                          // with freshly generated keys
    gdoi::pull::PolicyEncodeOptions options;           // quirks + deliberate faults
    std::map<gdoi::IpAddress, gdoi::SecretBytes> psks; // per member address
    std::optional<gdoi::SecretBytes> default_psk;
    std::optional<std::vector<gdoi::IpAddress>> authorised; // absent = everyone with a PSK
    std::string signing_key_path;                           // PEM; empty = generated
    // The KEK's signing key (RSA, ECDSA P-256 or P-384: signs GROUPKEY-PUSH messages); set when
    // the group has a KEK.
    std::shared_ptr<const gdoi::crypto::KekPrivateKey> signer;
    // The TEKs as configured: a rekey makes one fresh TEK (new SPI and keys) from each.
    std::vector<gdoi::TekPolicy> tek_templates;
    int multicast_ttl = 1; // [group.kek] multicast-ttl: pushes to a multicast KEK destination
    std::optional<TimedRekeyConfig> timed_rekey; // absent: rekeys only on control requests
};

struct KsConfig {
    std::vector<gdoi::IpAddress> listen;
    uint16_t port = 848;
    std::string control_socket;
    std::vector<gdoi::ike::Phase1Proposal> proposals;
    bool notify_authentication_failure = true;
    // [phase1.certificate]: members may authenticate with RSA signatures (and then need no PSK).
    std::optional<KsCertificate> certificate;
    gdoi::ServerQuirks quirks;
    std::vector<KsGroup> groups;
};

// Reads and checks the whole file; throws std::runtime_error("file:line:col: what").
KsConfig load_config(const std::string& path);

} // namespace gdoi_test_ks
