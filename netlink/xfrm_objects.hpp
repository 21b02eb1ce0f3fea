// The kernel objects gdoid manages, as plain values: XFRM states, policies and their parts.
// policy/ computes sets of these; netlink/ turns them into XFRM netlink messages and back.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "gdoi/ip_address.hpp"
#include "gdoi/secret_bytes.hpp"

namespace netlink {

using gdoi::IpAddress;
using gdoi::IpFamily;
using gdoi::IpPrefix;

struct XfrmMark {
    uint32_t value = 0;
    uint32_t mask = 0;
    auto operator<=>(const XfrmMark&) const = default;
};

struct XfrmSelector {
    IpPrefix source;
    IpPrefix destination;
    uint8_t ip_protocol = 0; // 0 = any
    uint16_t source_port = 0;
    uint16_t destination_port = 0;
    int ifindex = 0; // 0 = any device
    auto operator<=>(const XfrmSelector&) const = default;
};

enum class XfrmMode : uint8_t { transport = 0, tunnel = 1 };

// The identity of a state in the kernel: (destination, SPI, protocol) plus the mark.
struct XfrmStateId {
    IpAddress destination;
    uint32_t spi = 0;
    uint8_t ip_protocol = 50; // IPPROTO_ESP
    std::optional<XfrmMark> mark;
    auto operator<=>(const XfrmStateId&) const = default;
};

enum class XfrmStateDirection : uint8_t { unspecified, in, out };

struct XfrmAlgorithm {
    std::string name;        // kernel name: "cbc(aes)", "hmac(sha256)", "rfc4106(gcm(aes))"
    gdoi::SecretBytes key;
    uint32_t icv_or_trunc_bits = 0; // truncation for auth, ICV length for AEAD; 0 for ciphers
};

struct XfrmState {
    XfrmStateId id;
    IpAddress source;
    XfrmMode mode = XfrmMode::tunnel;
    uint32_t reqid = 0;
    XfrmSelector selector;
    std::optional<XfrmAlgorithm> encryption;
    std::optional<XfrmAlgorithm> authentication;
    std::optional<XfrmAlgorithm> aead;
    uint32_t replay_window = 0;     // group SAs: 0, many senders share one SPI
    bool no_pmtu_discovery = false; // XFRM_STATE_NOPMTUDISC: df-bit clear
    bool output_sequence_may_wrap = false; // XFRM_SA_XFLAG_OSEQ_MAY_WRAP
    std::optional<XfrmMark> set_mark;      // XFRMA_SET_MARK
    // XFRMA_IF_ID: the state serves only policies of the XFRM interface with this if_id
    // (pre-fragmentation); 0 = the policy path. Not part of the kernel's identity of a state.
    uint32_t if_id = 0;
    std::optional<std::string> offload_device; // XFRMA_OFFLOAD_DEV, crypto offload only
    XfrmStateDirection direction = XfrmStateDirection::unspecified; // XFRMA_SA_DIR when supported
    uint64_t hard_lifetime_seconds = 0; // 0 = none: the daemon owns time
    uint64_t soft_lifetime_seconds = 0;
    // What the state has carried so far (curlft); read from dumps, never sent, never compared.
    uint64_t packets = 0;
    uint64_t bytes = 0;
    // When the kernel added it (curlft.add_time, wall-clock seconds since the epoch), from
    // dumps; the hard lifetime counts from it.
    uint64_t added_at = 0;
};

// The kernel's placeholder for a pending ACQUIRE (a "larval" state, SPI 0, keyed by the
// template's addresses and reqid): while it lives, no other flow through the same template
// raises an ACQUIRE, so the key manager removes it once it has answered.
struct AcquirePlaceholder {
    IpAddress destination; // the template's destination
    IpAddress source;      // the template's source (or the one the kernel chose)
    uint8_t ip_protocol = 50;
    uint32_t reqid = 0;
    uint32_t sequence = 0; // the ACQUIRE's sequence number, which names the placeholder
    auto operator<=>(const AcquirePlaceholder&) const = default;
};

enum class XfrmPolicyDirection : uint8_t { in = 0, out = 1, fwd = 2 };
enum class XfrmPolicyAction : uint8_t { allow = 0, block = 1 };

struct XfrmTemplate {
    IpAddress source;      // tunnel endpoints; unspecified = wildcard
    IpAddress destination;
    uint32_t spi = 0;      // 0 = any
    uint8_t ip_protocol = 50;
    XfrmMode mode = XfrmMode::tunnel;
    uint32_t reqid = 0;
    bool optional = false;
    auto operator<=>(const XfrmTemplate&) const = default;
};

// The identity of a policy in the kernel: (selector, direction, mark, if_id).
struct XfrmPolicyId {
    XfrmSelector selector;
    XfrmPolicyDirection direction = XfrmPolicyDirection::out;
    std::optional<XfrmMark> mark;
    // XFRMA_IF_ID: matched only by lookups of the XFRM interface with this if_id (0 = every
    // other lookup: forwarding, local output).
    uint32_t if_id = 0;
    auto operator<=>(const XfrmPolicyId&) const = default;
};

struct XfrmPolicy {
    XfrmPolicyId id;
    uint32_t priority = 0; // lower value = matched first
    XfrmPolicyAction action = XfrmPolicyAction::allow;
    std::vector<XfrmTemplate> templates; // empty with allow = plain bypass
    uint32_t index = 0;                  // assigned by the kernel, informative
    auto operator<=>(const XfrmPolicy&) const = default;
};

} // namespace netlink
