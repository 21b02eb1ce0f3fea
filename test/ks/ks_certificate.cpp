#include "test/ks/ks_certificate.hpp"

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace gdoi_test_ks {

namespace {

std::string read_file(const std::string& path, const std::string& config_path) {
    std::ifstream file(path, std::ios::binary);
    if (!file)
        throw std::runtime_error(config_path + ": [phase1.certificate] cannot read " + path);
    std::ostringstream content;
    content << file.rdbuf();
    return content.str();
}

std::string text(const toml::table& table, const char* key, const std::string& config_path,
                 const std::string& fallback = {}) {
    if (auto value = table[key].value<std::string>()) return *value;
    if (table.get(key))
        throw std::runtime_error(config_path + ": [phase1.certificate] " + key +
                                 " must be a string");
    if (fallback.empty() && std::string(key) != "crl")
        throw std::runtime_error(config_path + ": [phase1.certificate] needs " + key);
    return fallback;
}

} // namespace

KsCertificate load_ks_certificate(const toml::table& table, const std::string& config_path) {
    using gdoi::crypto::Certificate;
    using Send = gdoi::ike::MainModeResponderConfig::SendCertificate;
    KsCertificate out;
    auto& credentials = out.credentials;
    try {
        auto file = text(table, "file", config_path);
        auto ours = Certificate::all_from_pem(read_file(file, config_path), file);
        credentials.certificate = ours.front();
        credentials.chain.assign(ours.begin() + 1, ours.end());
        auto key_file = text(table, "private-key", config_path);
        auto pem = read_file(key_file, config_path);
        credentials.private_key = std::make_shared<gdoi::crypto::Phase1PrivateKey>(
            gdoi::crypto::Phase1PrivateKey::from_pem(
                std::span(reinterpret_cast<const uint8_t*>(pem.data()), pem.size()), key_file));
        if (!credentials.private_key->matches(credentials.certificate))
            throw std::runtime_error(key_file + " is not the key of " + file);
        auto trust = std::make_shared<gdoi::crypto::TrustStore>();
        const auto* cas = table["ca"].as_array();
        if (!cas || cas->empty())
            throw std::runtime_error(config_path + ": [phase1.certificate] needs ca = [files]");
        for (const auto& node : *cas) {
            auto path = node.value<std::string>();
            if (!path) throw std::runtime_error(config_path + ": ca entries are strings");
            for (const auto& ca : Certificate::all_from_pem(read_file(*path, config_path), *path))
                trust->add_authority(ca);
        }
        if (auto crl = text(table, "crl", config_path); !crl.empty())
            trust->add_crls_pem(read_file(crl, config_path), crl);
        credentials.trust = std::move(trust);
    } catch (const gdoi::crypto::CryptoError& e) {
        throw std::runtime_error(config_path + ": [phase1.certificate] " + e.what());
    }
    auto identity = text(table, "identity", config_path, "dn");
    if (identity == "dn")
        credentials.identity = gdoi::ike::CertificateIdentity::distinguished_name;
    else if (identity == "address")
        credentials.identity = gdoi::ike::CertificateIdentity::address;
    else
        throw std::runtime_error(config_path + ": [phase1.certificate] identity is dn or address");
    auto send = text(table, "send-certificate", config_path, "always");
    if (send == "always")
        out.send = Send::always;
    else if (send == "on-request")
        out.send = Send::on_request;
    else if (send == "never")
        out.send = Send::never;
    else
        throw std::runtime_error(config_path +
                                 ": [phase1.certificate] send-certificate is always, on-request "
                                 "or never");
    credentials.send_certificate_request = table["certificate-request"].value_or(true);
    return out;
}

} // namespace gdoi_test_ks
