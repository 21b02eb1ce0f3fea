// The GDOI SA (SA KEK, GAP, SA TEK) and Key Download payloads of GROUPKEY-PULL message 2 and 4
// as a gdoi::GroupPolicy, both ways: the member reads and validates them, the test key server
// writes them. Nothing from the wire is used before it passed validation here.
#pragma once

#include "gdoi/group_policy.hpp"
#include "gdoi/server_quirks.hpp"
#include "gdoi/wire/payloads.hpp"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace gdoi::pull {

// Outcome of reading: `error` set means the registration must fail with that sentence;
// `warnings` are for the log either way.
struct PolicyCheck {
    std::optional<std::string> error;
    std::vector<std::string> warnings;
    std::vector<std::string> rejected; // TEKs left out of the policy, each with its reason
    bool ok() const { return !error; }
};

// Message 2: the SA payload. Fills kek (without keys), gap, teks (without keys). Fails on an
// unsupported transform or attribute value (naming it); an AES TEK without a usable key length
// is left out (`rejected`): we never guess a key length.
PolicyCheck read_group_sa(const wire::GdoiSaPayload& sa, const ServerQuirks& quirks,
                          GroupPolicy& policy);

// Message 4 (and pushes): the KD payload. Fills the keys of the KEK and TEKs it names. A TEK
// whose key packet is missing or of the wrong size is removed from the policy (with a warning),
// never kept with a wrong key (`rejected`); a KEK packet whose SPI is not the KEK's fails.
PolicyCheck read_key_download(const wire::KdPayload& kd, GroupPolicy& policy);

// Final checks before a policy is handed over: at least one TEK left; TEK selectors in pairs
// (A->B needs B->A; a multicast destination and a selector that is its own mirror stand alone);
// GCM TEKs marked receive_only (we cannot send safely without RFC 6054 sender IDs).
PolicyCheck validate_group_policy(GroupPolicy& policy);

// ---- key server side ----

// Ways the test key server can misbehave on purpose, per TEK SPI (to test members).
struct TekEmission {
    bool omit_keys = false;              // no key packet for this TEK
    bool zero_key_length = false;        // KEY_LENGTH 0 (reference server bug)
    std::optional<uint8_t> transform_id; // send another ESP transform ID
};

struct PolicyEncodeOptions {
    ServerQuirks quirks; // byte-reversed IPv4 in SA TEK, ID length width
    std::map<uint32_t, TekEmission> tek_emission;
    AckRequest ack_attribute = AckRequest::none; // overrides kek->ack_request when set
};

wire::GdoiSaPayload write_group_sa(const GroupPolicy& policy, const PolicyEncodeOptions& options);
wire::KdPayload write_key_download(const GroupPolicy& policy, const PolicyEncodeOptions& options);

// "ESP AES-CBC-256/HMAC-SHA1 SPI 0x12345678 10.0.0.0/24 -> 10.1.0.0/24" for logs.
std::string describe_tek(const TekPolicy& tek);
std::string describe_selector(const TrafficSelector& selector);

} // namespace gdoi::pull
