#include "test/ks/policy_json.hpp"

#include "gdoi/crypto/kek_signature.hpp"
#include "gdoi/crypto/prf.hpp"
#include "gdoi/pull/group_policy_codec.hpp"

#include <cstdio>

namespace gdoi_test_ks {

using namespace gdoi;

std::string fingerprint(const SecretBytes& key) {
    if (key.empty()) return "";
    auto d = crypto::digest(crypto::HashAlgorithm::sha256, {key.reveal()});
    std::string out;
    char buffer[3];
    for (size_t i = 0; i < 8; ++i) {
        std::snprintf(buffer, sizeof buffer, "%02x", d[i]);
        out += buffer;
    }
    return out;
}

static nlohmann::json endpoint_json(const SelectorEndpoint& e) {
    nlohmann::json prefixes = nlohmann::json::array();
    for (const auto& p : e.prefixes())
        prefixes.push_back(p.to_string());
    return {{"prefixes", prefixes}, {"port", e.port}};
}

// The test key server's `ack` setting that asks for this (ks_config.cpp).
static std::string ack_name(const KekPolicy& k) {
    if (k.ack_request == AckRequest::none) return "none";
    if (k.ack_request == AckRequest::cisco_legacy) return "cisco";
    switch (k.ack_type) {
    case 1:
        return "rfc8263";
    case 2:
        return "rfc8263-lkh";
    case 3:
        return "rfc8263-sha512";
    default:
        return "rfc8263-type-" + std::to_string(k.ack_type);
    }
}

nlohmann::json policy_to_json(const GroupPolicy& policy) {
    nlohmann::json out;
    out["group"] = policy.group_id;
    out["sequence"] = policy.sequence ? nlohmann::json(*policy.sequence) : nlohmann::json();
    if (policy.gap.activation_delay) out["atd"] = policy.gap.activation_delay->count();
    if (policy.gap.deactivation_delay) out["dtd"] = policy.gap.deactivation_delay->count();
    if (policy.kek) {
        const auto& k = *policy.kek;
        std::string spi;
        char buffer[3];
        for (auto b : k.spi) {
            std::snprintf(buffer, sizeof buffer, "%02x", b);
            spi += buffer;
        }
        const std::string algorithm(crypto::sig_algorithm_name(k.signature_algorithm));
        const std::string hash(crypto::hash_name(crypto::signature_hash(k.signature_hash)));
        out["kek"] = {{"spi", spi},
                      {"cipher", k.cipher == KekCipher::des3_cbc ? "3des-cbc" : "aes-cbc"},
                      {"key_bits", k.key_bits},
                      {"key", fingerprint(k.key)},
                      {"iv_octets", k.iv.size()},
                      {"lifetime", k.lifetime.count()},
                      {"signature_algorithm", algorithm},
                      {"signature_hash", hash},
                      {"signature_key_bits", k.signature_key_bits},
                      {"public_key_octets", k.public_key_der.size()},
                      {"ack", ack_name(k)},
                      {"source", endpoint_json(k.source)},
                      {"destination", endpoint_json(k.destination)}};
    }
    nlohmann::json teks = nlohmann::json::array();
    for (const auto& t : policy.teks) {
        teks.push_back({{"spi", t.spi},
                        {"description", pull::describe_tek(t)},
                        {"protocol", t.selector.ip_protocol},
                        {"source", endpoint_json(t.selector.source)},
                        {"destination", endpoint_json(t.selector.destination)},
                        {"cipher_key_bits", t.cipher_key_bits},
                        {"cipher_key", fingerprint(t.cipher_key)},
                        {"integrity_key", fingerprint(t.integrity_key)},
                        {"lifetime", t.lifetime.count()},
                        {"tunnel", t.tunnel_mode},
                        {"preservation", static_cast<int>(t.preservation)},
                        {"direction", static_cast<int>(t.direction)},
                        {"receive_only", t.receive_only}});
    }
    out["teks"] = teks;
    return out;
}

} // namespace gdoi_test_ks
