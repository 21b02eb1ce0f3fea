#include "policy/tek_states.hpp"

#include <cstdio>
#include <optional>
#include <vector>

namespace policy {

namespace {

struct CipherInfo {
    const char* kernel_name;
    bool aead;
    // Accepted key lengths in octets (for AES-GCM: key plus the 4-octet salt).
    std::vector<size_t> key_octets;
};

std::optional<CipherInfo> cipher_info(gdoi::TekCipher cipher) {
    switch (cipher) {
    case gdoi::TekCipher::des3_cbc:
        return CipherInfo{"cbc(des3_ede)", false, {24}};
    case gdoi::TekCipher::aes_cbc:
        return CipherInfo{"cbc(aes)", false, {16, 24, 32}};
    // RFC 4106 section 8.1: the keying material is the key followed by a 4-octet salt.
    case gdoi::TekCipher::aes_gcm_16:
        return CipherInfo{"rfc4106(gcm(aes))", true, {20, 28, 36}};
    case gdoi::TekCipher::null_encryption:
        return CipherInfo{"ecb(cipher_null)", false, {0}};
    case gdoi::TekCipher::none:
        return std::nullopt;
    }
    return std::nullopt;
}

struct IntegrityInfo {
    const char* kernel_name;
    size_t key_octets;
    uint32_t truncation_bits; // RFC 2404 / RFC 4868 truncation
};

std::optional<IntegrityInfo> integrity_info(gdoi::TekIntegrity integrity) {
    switch (integrity) {
    case gdoi::TekIntegrity::hmac_md5:
        return IntegrityInfo{"hmac(md5)", 16, 96};
    case gdoi::TekIntegrity::hmac_sha1:
        return IntegrityInfo{"hmac(sha1)", 20, 96};
    case gdoi::TekIntegrity::hmac_sha256:
        return IntegrityInfo{"hmac(sha256)", 32, 128};
    case gdoi::TekIntegrity::hmac_sha384:
        return IntegrityInfo{"hmac(sha384)", 48, 192};
    case gdoi::TekIntegrity::hmac_sha512:
        return IntegrityInfo{"hmac(sha512)", 64, 256};
    case gdoi::TekIntegrity::none:
        return std::nullopt;
    }
    return std::nullopt;
}

void set_algorithms(const gdoi::TekPolicy& tek, netlink::XfrmState& state) {
    if (tek.protocol == gdoi::TekProtocol::esp) {
        const auto cipher = *cipher_info(tek.cipher);
        if (cipher.aead) {
            state.aead = netlink::XfrmAlgorithm{cipher.kernel_name, tek.cipher_key, 128};
            return;
        }
        state.encryption = netlink::XfrmAlgorithm{cipher.kernel_name, tek.cipher_key, 0};
    }
    if (const auto integrity = integrity_info(tek.integrity))
        state.authentication = netlink::XfrmAlgorithm{integrity->kernel_name, tek.integrity_key,
                                                      integrity->truncation_bits};
}

netlink::XfrmState common_state(const gdoi::TekPolicy& tek, uint32_t reqid) {
    netlink::XfrmState state;
    state.id.spi = tek.spi;
    state.id.ip_protocol = tek_ip_protocol(tek);
    state.mode = netlink::XfrmMode::tunnel;
    state.reqid = reqid;
    state.selector = any_selector(tek_family(tek));
    // Many members send under one SPI with unrelated sequence numbers: replay protection
    // cannot work (and no ESN), see gdoi-wire-notes.md "Behaviour of real key servers".
    state.replay_window = 0;
    // The daemon owns time (rekeys, DTD); the kernel must not expire group SAs on its own.
    state.hard_lifetime_seconds = 0;
    state.soft_lifetime_seconds = 0;
    set_algorithms(tek, state);
    return state;
}

} // namespace

std::string hex32(uint32_t value) {
    char buffer[16];
    snprintf(buffer, sizeof buffer, "0x%08x", value);
    return buffer;
}

gdoi::IpFamily tek_family(const gdoi::TekPolicy& tek) {
    return tek.selector.source.range.first.family;
}

uint8_t tek_ip_protocol(const gdoi::TekPolicy& tek) {
    return tek.protocol == gdoi::TekProtocol::esp ? 50 : 51;
}

gdoi::IpAddress unspecified(gdoi::IpFamily family) {
    gdoi::IpAddress address;
    address.family = family;
    return address;
}

gdoi::IpPrefix any_prefix(gdoi::IpFamily family) {
    return {unspecified(family), 0};
}

netlink::XfrmSelector any_selector(gdoi::IpFamily family) {
    netlink::XfrmSelector selector;
    selector.source = any_prefix(family);
    selector.destination = any_prefix(family);
    return selector;
}

std::string tek_problem(const gdoi::TekPolicy& tek) {
    const std::string what = "TEK SPI " + hex32(tek.spi) + ": ";
    const auto& sel = tek.selector;
    const auto family = tek_family(tek);
    if (sel.source.range.last.family != family || sel.destination.range.first.family != family ||
        sel.destination.range.last.family != family)
        return what + "selector mixes IPv4 and IPv6 addresses";
    if (sel.source.range.to_prefixes().empty() || sel.destination.range.to_prefixes().empty())
        return what + "selector range is empty (last address before first)";
    if (!tek.tunnel_mode)
        return what + "transport mode is not supported (group traffic needs tunnel mode with "
                      "address preservation)";
    if (tek.spi < 256) return what + "SPIs 0-255 are reserved (RFC 4303 section 2.1)";
    const auto integrity = integrity_info(tek.integrity);
    if (integrity && tek.integrity_key.size() != integrity->key_octets)
        return what + "integrity key is " + std::to_string(tek.integrity_key.size()) +
               " octets, the algorithm needs " + std::to_string(integrity->key_octets);
    if (tek.protocol == gdoi::TekProtocol::ah) {
        if (!integrity) return what + "AH without an integrity algorithm";
        return {};
    }
    const auto cipher = cipher_info(tek.cipher);
    if (!cipher) return what + "ESP without an encryption algorithm";
    bool length_ok = false;
    for (size_t octets : cipher->key_octets)
        length_ok |= tek.cipher_key.size() == octets;
    if (!length_ok)
        return what + "encryption key is " + std::to_string(tek.cipher_key.size()) +
               " octets, wrong for " + cipher->kernel_name +
               " (a key server that sends no key must not get a made-up one installed)";
    if (cipher->aead && integrity)
        return what +
               "AES-GCM carries its own integrity; a separate integrity algorithm is invalid";
    if (!cipher->aead && !integrity && tek.cipher == gdoi::TekCipher::null_encryption)
        return what + "ESP with neither encryption nor integrity protects nothing";
    return {};
}

netlink::XfrmState inbound_state(const gdoi::TekPolicy& tek, const Anchors& anchors,
                                 uint32_t reqid) {
    netlink::XfrmState state = common_state(tek, reqid);
    // Found by exact (destination, SPI): the WAN ingress program rewrites group ESP to the
    // anchor; the source is a wildcard because every member sends under this SPI.
    state.id.destination = anchors.inbound_anchor;
    state.source = unspecified(anchors.inbound_anchor.family);
    state.direction = netlink::XfrmStateDirection::in;
    return state;
}

namespace {

netlink::XfrmState sending_state(const gdoi::TekPolicy& tek, const gdoi::IpAddress& source,
                                 const gdoi::IpAddress& destination, uint32_t reqid,
                                 const LocalSettings& settings) {
    netlink::XfrmState state = common_state(tek, reqid);
    state.id.destination = destination;
    state.source = source;
    state.direction = netlink::XfrmStateDirection::out;
    // Sequence numbers mean nothing to receivers with replay window 0; wrapping must not
    // stop traffic.
    state.output_sequence_may_wrap = true;
    // df-bit clear: the outer DF is 0, so the core fragments instead of sending "fragmentation
    // needed" to a LAN host that cannot use it (datapath-notes.md pitfall 9).
    state.no_pmtu_discovery = settings.df_bit == DfBit::clear;
    if (settings.wan_crypto_offload) state.offload_device = settings.wan.name;
    return state;
}

} // namespace

netlink::XfrmState outbound_state(const gdoi::TekPolicy& tek, const Anchors& anchors,
                                  uint32_t reqid, const LocalSettings& settings) {
    netlink::XfrmState state =
        sending_state(tek, anchors.wan_address, anchors.remote_anchor, reqid, settings);
    state.set_mark = settings.outbound_flag_mark;
    return state;
}

netlink::XfrmState per_destination_state(const gdoi::TekPolicy& tek, const gdoi::IpAddress& source,
                                     const gdoi::IpAddress& destination, uint32_t reqid,
                                     const LocalSettings& settings) {
    // No flag mark: the WAN egress program must leave these packets alone, their outer
    // header is already the inner one.
    return sending_state(tek, source, destination, reqid, settings);
}

} // namespace policy
