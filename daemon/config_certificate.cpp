#include "daemon/config_certificate.hpp"

#include "daemon/config_reader.hpp"
#include "daemon/file_text.hpp"
#include "gdoi/crypto/prf.hpp"
#include "gdoi/ike/certificate_authentication.hpp"

#include <cerrno>
#include <cstring>
#include <iterator>
#include <openssl/x509.h>

namespace gdoid::daemon {

namespace {

constexpr size_t max_public_file_size = 1 << 20; // a CA bundle or CRL larger than this is wrong

std::optional<std::string> absolute_path(ConfigReader& reader, const toml::table& table,
                                         std::string_view key, bool required) {
    auto text = reader.get_string(table, key, required, "`certificate`");
    if (!text) return std::nullopt;
    if (text->empty() || text->front() != '/') {
        reader.error(*table.get(key), "`certificate`: `" + std::string(key) +
                                          "` must be an absolute path, not \"" + *text + "\"");
        return std::nullopt;
    }
    return text;
}

// A public file (certificate, CA bundle, CRL): its text, or the reason it cannot be read.
bool read_public_file(const std::string& path, const std::string& what, std::string& text,
                      std::string& error) {
    std::string reason;
    auto content = read_file_text(path, reason);
    if (!content) {
        error = "cannot read " + what + " " + path + ": " + reason;
        return false;
    }
    text = std::move(*content);
    if (text.size() > max_public_file_size) {
        error = what + " " + path + " is larger than 1 MiB; is it the right file?";
        return false;
    }
    return true;
}

// Seconds until the certificate's notAfter (negative when past).
long long seconds_left(const gdoi::crypto::Certificate& cert, std::time_t now) {
    int days = 0, seconds = 0;
    ASN1_TIME* at = ASN1_TIME_set(nullptr, now);
    if (!at) return 0;
    ASN1_TIME_diff(&days, &seconds, at, X509_get0_notAfter(cert.get()));
    ASN1_TIME_free(at);
    return static_cast<long long>(days) * 86400 + seconds;
}

} // namespace

void parse_certificate(ConfigReader& reader, const toml::table& group_table, GroupConfig& group,
                       std::string_view context) {
    const auto* node = group_table.get("certificate");
    if (!node) return;
    const auto* table = node->as_table();
    if (!table) {
        reader.error(*node, std::string(context) +
                                ": `certificate` must be a table: { file = \"/etc/gdoid/gm.crt\", "
                                "private-key = { file = \"/etc/gdoid/gm.key\" }, ca = "
                                "[\"/etc/gdoid/ca.crt\"] }");
        return;
    }
    reader.check_keys(*table,
                      {"file", "private-key", "ca", "crl", "server-certificate", "identity", "fqdn",
                       "server-identity", "certificate-request"},
                      "`certificate`");
    CertificateSettings settings;
    if (auto file = absolute_path(reader, *table, "file", true)) settings.certificate_file = *file;

    if (const auto* key = table->get("private-key")) {
        const auto* source = key->as_table();
        if (!source) {
            reader.error(*key, "`certificate`: `private-key` must name where the key is: "
                               "{ file = \"/etc/gdoid/gm.key\" } or { credential = \"<name>\" }");
        } else {
            reader.check_keys(*source, {"file", "credential"}, "`private-key`");
            auto file = absolute_path(reader, *source, "file", false);
            auto credential = reader.get_string(*source, "credential", false, "`private-key`");
            if (file && credential)
                reader.error(*key, "`private-key` takes either `file` or `credential`, not both");
            else if (file)
                settings.private_key = {PskSource::Kind::file, *file};
            else if (credential && !credential->empty() &&
                     credential->find('/') == std::string::npos)
                settings.private_key = {PskSource::Kind::credential, *credential};
            else if (credential)
                reader.error(*source->get("credential"),
                             "`private-key`: `credential` must be a credential name without '/'");
            else if (!source->get("file"))
                reader.error(*key, "`private-key` needs `file` or `credential`");
        }
    } else {
        reader.error(*node, std::string(context) + ": `certificate` is missing `private-key`");
    }

    if (const auto* ca = reader.get_array(*table, "ca", true, "`certificate`")) {
        for (const auto& element : *ca) {
            const auto* path = element.as_string();
            if (!path || path->get().empty() || path->get().front() != '/')
                reader.error(element, "`certificate`: every `ca` entry must be an absolute path");
            else
                settings.ca_files.push_back(path->get());
        }
        if (ca->empty())
            reader.error(*table->get("ca"),
                         "`certificate`: `ca` must name at least one certificate authority file");
    }
    settings.crl_file = absolute_path(reader, *table, "crl", false);
    settings.server_certificate_file = absolute_path(reader, *table, "server-certificate", false);
    using Identity = CertificateSettings::Identity;
    if (auto identity = reader.get_choice<Identity>(*table, "identity",
                                                    {{"dn", Identity::distinguished_name},
                                                     {"address", Identity::address},
                                                     {"fqdn", Identity::fqdn}}))
        settings.identity = *identity;
    if (auto fqdn = reader.get_string(*table, "fqdn", false, "`certificate`")) settings.fqdn = *fqdn;
    if (settings.identity == Identity::fqdn && settings.fqdn.empty())
        reader.error(*node, "`certificate`: identity = \"fqdn\" needs `fqdn` (the name to send)");
    if (auto pin = reader.get_string(*table, "server-identity", false, "`certificate`"))
        settings.server_identity = *pin;
    if (auto request = reader.get_bool(*table, "certificate-request"))
        settings.certificate_request = *request;
    group.certificate = std::move(settings);
}

CertificateLoad load_certificate(CertificateSettings& settings, const SecretLoadOptions& options,
                                 std::time_t now) {
    using gdoi::crypto::Certificate;
    using gdoi::crypto::CryptoError;
    CertificateLoad result;
    auto credentials = std::make_shared<gdoi::ike::CertificateCredentials>();
    std::vector<uint8_t> material;
    auto remember = [&](std::string_view bytes) { material.insert(material.end(), bytes.begin(), bytes.end()); };
    try {
        std::string text;
        if (!read_public_file(settings.certificate_file, "certificate file", text, result.error))
            return result;
        remember(text);
        auto ours = Certificate::all_from_pem(text, "certificate file " + settings.certificate_file);
        credentials->certificate = ours.front();
        credentials->chain.assign(ours.begin() + 1, ours.end());
        if (!credentials->certificate.has_rsa_key()) {
            result.error = "certificate file " + settings.certificate_file +
                           ": the certificate has no RSA key (Phase 1 signatures are RSA)";
            return result;
        }
        const auto& subject = credentials->certificate.subject();
        if (auto left = seconds_left(credentials->certificate, now); left <= 0) {
            result.error = "certificate \"" + subject + "\" in " + settings.certificate_file +
                           " expired on " + credentials->certificate.not_after();
            return result;
        } else if (left < 30LL * 86400) {
            result.warnings.push_back("certificate \"" + subject + "\" expires on " +
                                      credentials->certificate.not_after() + ", in " +
                                      std::to_string(left / 86400) + " days");
        }

        auto key = load_private_key_pem(settings.private_key, options);
        if (!key.error.empty()) {
            result.error = key.error;
            return result;
        }
        const std::string key_what = settings.private_key.kind == PskSource::Kind::file
                                         ? "private-key file " + settings.private_key.name
                                         : "credential " + settings.private_key.name;
        auto private_key = std::make_shared<gdoi::crypto::Phase1PrivateKey>(
            gdoi::crypto::Phase1PrivateKey::from_pem(key.psk.reveal(), key_what));
        if (!private_key->matches(credentials->certificate)) {
            result.error = key_what + " does not hold the private key of certificate \"" +
                           subject + "\" (" + settings.certificate_file + ")";
            return result;
        }
        // The key's own octets stay out of the digest; the certificate already identifies it.
        credentials->private_key = std::move(private_key);

        auto trust = std::make_shared<gdoi::crypto::TrustStore>();
        for (const auto& path : settings.ca_files) {
            if (!read_public_file(path, "certificate authority file", text, result.error))
                return result;
            remember(text);
            for (const auto& ca : Certificate::all_from_pem(text, "certificate authority file " + path))
                trust->add_authority(ca);
        }
        if (settings.crl_file) {
            if (!read_public_file(*settings.crl_file, "CRL file", text, result.error)) return result;
            remember(text);
            trust->add_crls_pem(text, "CRL file " + *settings.crl_file);
        }
        if (settings.server_certificate_file) {
            if (!read_public_file(*settings.server_certificate_file, "server certificate file",
                                  text, result.error))
                return result;
            remember(text);
            auto server = Certificate::all_from_pem(
                text, "server certificate file " + *settings.server_certificate_file);
            std::vector<Certificate> rest(server.begin() + 1, server.end());
            auto verdict = trust->verify(server.front(), rest, now);
            if (!verdict.trusted) {
                result.error = "server certificate file " + *settings.server_certificate_file +
                               ": " + verdict.reason;
                return result;
            }
            if (!settings.server_identity.empty() &&
                !server.front().matches_identity(settings.server_identity)) {
                result.error = "server certificate \"" + server.front().subject() +
                               "\" does not match server-identity \"" + settings.server_identity +
                               "\"";
                return result;
            }
            credentials->peer_certificate = server.front();
        }
        credentials->trust = std::move(trust);
    } catch (const CryptoError& e) {
        result.error = e.what();
        return result;
    }
    using Identity = CertificateSettings::Identity;
    credentials->identity = settings.identity == Identity::address
                                ? gdoi::ike::CertificateIdentity::address
                            : settings.identity == Identity::fqdn
                                ? gdoi::ike::CertificateIdentity::fqdn
                                : gdoi::ike::CertificateIdentity::distinguished_name;
    credentials->fqdn = settings.fqdn;
    credentials->peer_identity = settings.server_identity;
    credentials->send_certificate_request = settings.certificate_request;
    settings.material_digest = gdoi::crypto::digest(gdoi::crypto::HashAlgorithm::sha256, {material});
    settings.credentials = std::move(credentials);
    return result;
}

} // namespace gdoid::daemon
