#include "daemon/policy_summary.hpp"

#include "gdoi/crypto/kek_signature.hpp"

#include "daemon/log.hpp"

#include <cstdio>
#include <span>

namespace gdoid::daemon {

namespace {

std::string hex(std::span<const uint8_t> bytes) {
    std::string out;
    char buffer[3];
    for (uint8_t b : bytes) {
        std::snprintf(buffer, sizeof buffer, "%02x", b);
        out += buffer;
    }
    return out;
}

const char* tek_cipher_name(gdoi::TekCipher cipher) {
    switch (cipher) {
    case gdoi::TekCipher::none: return "none";
    case gdoi::TekCipher::des3_cbc: return "3des-cbc";
    case gdoi::TekCipher::aes_cbc: return "aes-cbc";
    case gdoi::TekCipher::aes_gcm_16: return "aes-gcm-16";
    case gdoi::TekCipher::null_encryption: return "null";
    }
    return "unknown";
}

const char* integrity_name(gdoi::TekIntegrity integrity) {
    switch (integrity) {
    case gdoi::TekIntegrity::none: return "none";
    case gdoi::TekIntegrity::hmac_md5: return "hmac-md5";
    case gdoi::TekIntegrity::hmac_sha1: return "hmac-sha1";
    case gdoi::TekIntegrity::hmac_sha256: return "hmac-sha256";
    case gdoi::TekIntegrity::hmac_sha384: return "hmac-sha384";
    case gdoi::TekIntegrity::hmac_sha512: return "hmac-sha512";
    }
    return "unknown";
}

std::string endpoint_text(const gdoi::SelectorEndpoint& endpoint, uint8_t protocol) {
    std::string out;
    for (const auto& prefix : endpoint.prefixes()) out += (out.empty() ? "" : ",") + prefix.to_string();
    if (endpoint.port != 0 || protocol != 0) {
        out += " proto " + std::to_string(protocol);
        if (endpoint.port != 0) out += " port " + std::to_string(endpoint.port);
    }
    return out;
}

} // namespace


KekSummary summarize_kek(const gdoi::KekPolicy& kek, std::chrono::steady_clock::time_point received) {
    KekSummary summary;
    summary.spi = hex(kek.spi);
    summary.cipher = std::string(kek.cipher == gdoi::KekCipher::des3_cbc ? "3des-cbc" : "aes-cbc") + "-" +
                     std::to_string(kek.key_bits);
    summary.expires = received + kek.lifetime;
    summary.signature = std::string(gdoi::crypto::sig_algorithm_name(kek.signature_algorithm)) + "/" +
                        std::string(gdoi::crypto::hash_name(gdoi::crypto::signature_hash(kek.signature_hash)));
    return summary;
}

TekSummary summarize_tek(const gdoi::TekPolicy& tek, std::chrono::steady_clock::time_point received) {
    TekSummary summary;
    summary.spi = tek.spi;
    summary.cipher = std::string(tek_cipher_name(tek.cipher)) + "-" + std::to_string(tek.cipher_key_bits) + "/" +
                     integrity_name(tek.integrity);
    summary.source = endpoint_text(tek.selector.source, tek.selector.ip_protocol);
    summary.destination = endpoint_text(tek.selector.destination, tek.selector.ip_protocol);
    summary.expires = received + tek.lifetime;
    // The outer header has the inner packet's family (header preservation).
    summary.esp_overhead = policy::esp_overhead(tek, tek.selector.source.range.first.family == gdoi::IpFamily::v6);
    return summary;
}

std::string bypass_endpoint_text(const gdoi::SelectorEndpoint& endpoint) {
    std::string out;
    for (const auto& prefix : endpoint.prefixes()) out += (out.empty() ? "" : ",") + prefix.to_string();
    if (endpoint.port != 0) out += " port " + std::to_string(endpoint.port);
    return out;
}

void show_policy(Group& group, const gdoi::GroupPolicy& policy, std::chrono::steady_clock::time_point received) {
    group.kek = policy.kek ? std::optional(summarize_kek(*policy.kek, received)) : std::nullopt;
    group.teks.clear();
    for (const auto& tek : policy.teks) group.teks.push_back(summarize_tek(tek, received));
    group.deny_entries.clear();
    for (const auto& deny : policy.deny)
        group.deny_entries.push_back({protocol_name(deny.ip_protocol), bypass_endpoint_text(deny.source),
                                      bypass_endpoint_text(deny.destination)});
    group.sequence = policy.sequence;
}

} // namespace gdoid::daemon
