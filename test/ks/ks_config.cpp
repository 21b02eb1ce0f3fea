#include "test/ks/ks_config.hpp"

#include "gdoi/crypto/kek_signature.hpp"
#include "gdoi/crypto/prf.hpp"
#include "gdoi/push/push_crypto.hpp"

#include <stdexcept>
#include <toml++/toml.h>

namespace gdoi_test_ks {

using namespace gdoi;
using crypto::CbcCipher;
using crypto::HashAlgorithm;

namespace {

[[noreturn]] void fail_at(const std::string& path, const toml::node& node,
                          const std::string& what) {
    const auto& s = node.source().begin;
    throw std::runtime_error(path + ":" + std::to_string(s.line) + ":" + std::to_string(s.column) +
                             ": " + what);
}

struct Reader {
    std::string path;

    std::string text(const toml::table& t, const char* key,
                     std::optional<std::string> fallback = {}) const {
        auto node = t.get(key);
        if (!node) {
            if (fallback) return *fallback;
            fail_at(path, t, std::string("missing \"") + key + "\"");
        }
        auto v = node->value<std::string>();
        if (!v) fail_at(path, *node, std::string("\"") + key + "\" must be a string");
        return *v;
    }
    int64_t number(const toml::table& t, const char* key,
                   std::optional<int64_t> fallback = {}) const {
        auto node = t.get(key);
        if (!node) {
            if (fallback) return *fallback;
            fail_at(path, t, std::string("missing \"") + key + "\"");
        }
        auto v = node->value<int64_t>();
        if (!v) fail_at(path, *node, std::string("\"") + key + "\" must be an integer");
        return *v;
    }
    bool flag(const toml::table& t, const char* key, bool fallback) const {
        auto node = t.get(key);
        if (!node) return fallback;
        auto v = node->value<bool>();
        if (!v) fail_at(path, *node, std::string("\"") + key + "\" must be true or false");
        return *v;
    }
    IpAddress address(const toml::node& node, const std::string& text) const {
        auto a = IpAddress::parse(text);
        if (!a) fail_at(path, node, "\"" + text + "\" is not an IP address");
        return *a;
    }
    // "10.0.0.0/24" or "10.0.0.1:848" or "10.0.0.0/24:80"
    SelectorEndpoint endpoint(const toml::table& t, const char* key) const {
        std::string s = text(t, key);
        uint16_t port = 0;
        auto colon = s.rfind(':');
        if (colon != std::string::npos && s.find('.') != std::string::npos) {
            port = static_cast<uint16_t>(std::stoul(s.substr(colon + 1)));
            s = s.substr(0, colon);
        }
        auto p = IpPrefix::parse(s);
        if (!p) fail_at(path, *t.get(key), "\"" + s + "\" is not an address or prefix");
        return SelectorEndpoint::from_prefix(*p, port);
    }
};

CbcCipher phase1_cipher(const Reader& r, const toml::node& n, const std::string& s) {
    if (s == "3des-cbc") return CbcCipher::des3;
    if (s == "aes-128-cbc") return CbcCipher::aes128;
    if (s == "aes-192-cbc") return CbcCipher::aes192;
    if (s == "aes-256-cbc") return CbcCipher::aes256;
    fail_at(r.path, n,
            "unknown encryption \"" + s + "\" (3des-cbc, aes-128-cbc, aes-192-cbc, aes-256-cbc)");
}

HashAlgorithm hash_of(const Reader& r, const toml::node& n, const std::string& s) {
    if (s == "md5") return HashAlgorithm::md5;
    if (s == "sha1") return HashAlgorithm::sha1;
    if (s == "sha256") return HashAlgorithm::sha256;
    if (s == "sha384") return HashAlgorithm::sha384;
    if (s == "sha512") return HashAlgorithm::sha512;
    fail_at(r.path, n, "unknown hash \"" + s + "\" (md5, sha1, sha256, sha384, sha512)");
}

TekPolicy read_tek(const Reader& r, const toml::table& t, uint32_t index) {
    TekPolicy tek;
    auto spi = r.number(t, "spi", 0);
    if (spi == 0) {
        auto b = crypto::random_bytes(4);
        spi = (int64_t(b[0] | 0x01) << 24) | int64_t(b[1]) << 16 | int64_t(b[2]) << 8 |
              (b[3] + index);
    }
    tek.spi = static_cast<uint32_t>(spi);
    tek.selector.ip_protocol = static_cast<uint8_t>(r.number(t, "protocol", 0));
    tek.selector.source = r.endpoint(t, "source");
    tek.selector.destination = r.endpoint(t, "destination");
    std::string cipher = r.text(t, "cipher", "aes-256-cbc");
    size_t key_octets = 0;
    if (cipher == "3des-cbc") {
        tek.cipher = TekCipher::des3_cbc;
        tek.cipher_key_bits = 192;
        key_octets = 24;
    } else if (cipher.rfind("aes-", 0) == 0 &&
               (cipher.ends_with("-cbc") || cipher.ends_with("-gcm"))) {
        int bits = std::stoi(cipher.substr(4, 3));
        if (bits != 128 && bits != 192 && bits != 256)
            fail_at(r.path, *t.get("cipher"), "AES key length must be 128, 192 or 256");
        tek.cipher = cipher.ends_with("-cbc") ? TekCipher::aes_cbc : TekCipher::aes_gcm_16;
        tek.cipher_key_bits = static_cast<uint16_t>(bits);
        key_octets = static_cast<size_t>(bits / 8) + (tek.cipher == TekCipher::aes_gcm_16 ? 4 : 0);
    } else {
        fail_at(r.path, *t.get("cipher"), "unknown TEK cipher \"" + cipher + "\"");
    }
    std::string integrity =
        r.text(t, "integrity", tek.cipher == TekCipher::aes_gcm_16 ? "none" : "hmac-sha1");
    size_t integrity_octets = 0;
    if (integrity == "none")
        tek.integrity = TekIntegrity::none;
    else if (integrity == "hmac-md5")
        tek.integrity = TekIntegrity::hmac_md5, integrity_octets = 16;
    else if (integrity == "hmac-sha1")
        tek.integrity = TekIntegrity::hmac_sha1, integrity_octets = 20;
    else if (integrity == "hmac-sha256")
        tek.integrity = TekIntegrity::hmac_sha256, integrity_octets = 32;
    else
        fail_at(r.path, *t.get("integrity"), "unknown integrity \"" + integrity + "\"");
    tek.cipher_key = crypto::random_secret(key_octets);
    if (integrity_octets) tek.integrity_key = crypto::random_secret(integrity_octets);
    tek.lifetime = std::chrono::seconds(r.number(t, "lifetime", 3600));
    tek.tunnel_mode = r.text(t, "mode", "tunnel") == "tunnel";
    std::string preservation = r.text(t, "preservation", "source-and-destination");
    if (preservation == "none")
        tek.preservation = AddressPreservation::none;
    else if (preservation == "source-only")
        tek.preservation = AddressPreservation::source_only;
    else if (preservation == "destination-only")
        tek.preservation = AddressPreservation::destination_only;
    else
        tek.preservation = AddressPreservation::source_and_destination;
    std::string direction = r.text(t, "direction", "symmetric");
    tek.direction = direction == "sender-only"     ? SaDirection::sender_only
                    : direction == "receiver-only" ? SaDirection::receiver_only
                                                   : SaDirection::symmetric;
    return tek;
}

// [group.kek]: a fresh KEK (SPI, key, IV) and the key server's signing key, of the kind
// signature-algorithm names; the KEK announces that algorithm, its hash and the key's size.
KekPolicy read_kek(const Reader& r, const toml::table& t, KsGroup& group) {
    KekPolicy kek;
    auto spi = crypto::random_bytes(16);
    std::copy(spi.begin(), spi.end(), kek.spi.begin());
    std::string cipher = r.text(t, "algorithm", "aes-128-cbc");
    if (cipher == "3des-cbc")
        kek.cipher = KekCipher::des3_cbc, kek.key_bits = 192;
    else if (cipher == "aes-128-cbc")
        kek.cipher = KekCipher::aes_cbc, kek.key_bits = 128;
    else if (cipher == "aes-192-cbc")
        kek.cipher = KekCipher::aes_cbc, kek.key_bits = 192;
    else if (cipher == "aes-256-cbc")
        kek.cipher = KekCipher::aes_cbc, kek.key_bits = 256;
    else
        fail_at(r.path, t, "unknown KEK algorithm \"" + cipher + "\"");
    kek.key = crypto::random_secret(kek.key_bits / 8u);
    kek.iv = crypto::random_bytes(kek.cipher == KekCipher::des3_cbc ? 8 : 16);

    // The push signature: RSA with any SHA-2 (or SHA-1), or ECDSA with its curve's hash.
    std::string algorithm = r.text(t, "signature-algorithm", "rsa");
    crypto::KekSignatureScheme scheme = crypto::KekSignatureScheme::rsa;
    std::string paired_hash; // the one hash RFC 4754 allows with the curve
    if (algorithm == "ecdsa-p256")
        scheme = crypto::KekSignatureScheme::ecdsa_p256, paired_hash = "sha256";
    else if (algorithm == "ecdsa-p384")
        scheme = crypto::KekSignatureScheme::ecdsa_p384, paired_hash = "sha384";
    else if (algorithm != "rsa")
        fail_at(r.path, *t.get("signature-algorithm"),
                "unknown signature-algorithm \"" + algorithm + "\" (rsa, ecdsa-p256, ecdsa-p384)");
    std::string hash = r.text(t, "signature-hash", paired_hash.empty() ? "sha256" : paired_hash);
    if (hash == "sha1")
        kek.signature_hash = SignatureHash::sha1;
    else if (hash == "sha256")
        kek.signature_hash = SignatureHash::sha256;
    else if (hash == "sha384")
        kek.signature_hash = SignatureHash::sha384;
    else if (hash == "sha512")
        kek.signature_hash = SignatureHash::sha512;
    else
        fail_at(r.path, *t.get("signature-hash"),
                "unknown signature-hash \"" + hash + "\" (sha1, sha256, sha384, sha512)");
    if (!paired_hash.empty() && hash != paired_hash)
        fail_at(r.path, *t.get("signature-hash"),
                algorithm + " signs with " + paired_hash + " (RFC 4754), not " + hash);

    group.signing_key_path = r.text(t, "signing-key", "");
    try {
        group.signer = std::make_shared<const crypto::KekPrivateKey>(
            group.signing_key_path.empty()
                ? crypto::KekPrivateKey::generate(scheme)
                : crypto::KekPrivateKey::load_pem_file(scheme, group.signing_key_path));
    } catch (const crypto::CryptoError& e) {
        const toml::node* where = t.get("signing-key");
        fail_at(r.path, where ? *where : static_cast<const toml::node&>(t),
                std::string(e.what()) + " (signature-algorithm " + algorithm + ")");
    }
    kek.signature_algorithm = group.signer->sig_algorithm();
    kek.public_key_der = group.signer->public_key_der();
    kek.signature_key_bits = static_cast<uint16_t>(group.signer->key_bits());

    group.multicast_ttl = static_cast<int>(r.number(t, "multicast-ttl", 1));
    if (group.multicast_ttl < 1 || group.multicast_ttl > 255)
        fail_at(r.path, t, "multicast-ttl must be 1..255");
    kek.lifetime = std::chrono::seconds(r.number(t, "lifetime", 86400));
    // KEK_ACK_REQUESTED and its value (RFC 8263 section 2), or Cisco's attribute 129.
    std::string ack = r.text(t, "ack", "none");
    if (ack == "rfc8263" || ack == "rfc8263-sha256")
        kek.ack_request = AckRequest::rfc8263, kek.ack_type = 1;
    else if (ack == "rfc8263-lkh")
        kek.ack_request = AckRequest::rfc8263, kek.ack_type = 2;
    else if (ack == "rfc8263-sha512")
        kek.ack_request = AckRequest::rfc8263, kek.ack_type = 3;
    else if (ack == "cisco")
        kek.ack_request = AckRequest::cisco_legacy, kek.ack_type = 1;
    else if (ack != "none")
        fail_at(r.path, t,
                "ack must be none, rfc8263, rfc8263-sha512, rfc8263-lkh or cisco, not \"" + ack +
                    "\"");
    kek.source = r.endpoint(t, "source");
    kek.destination = r.endpoint(t, "destination");
    return kek;
}

// [group.rekey], read after the group's KEK and TEKs, which it is checked against.
TimedRekeyConfig read_timed_rekey(const Reader& r, const toml::table& t, const KsGroup& group) {
    TimedRekeyConfig timed;
    auto before = r.number(t, "before-expiry");
    const toml::node& before_node = *t.get("before-expiry");
    if (before <= 0)
        fail_at(r.path, before_node,
                "before-expiry must be greater than 0 (seconds of TEK life left at the rekey)");
    timed.before_expiry = std::chrono::seconds(before);
    if (group.tek_templates.empty())
        fail_at(r.path, t, "[group.rekey] needs at least one [[group.tek]] to make new TEKs from");
    // At or past a TEK's lifetime, the next rekey would be due as soon as its TEKs are made: the
    // server would rekey without pause.
    for (const auto& tek : group.tek_templates)
        if (timed.before_expiry >= tek.lifetime)
            fail_at(r.path, before_node,
                    "before-expiry (" + std::to_string(before) +
                        ") must be smaller than every TEK lifetime of the group (TEK " +
                        push::spi_hex(tek.spi) + " lives " + std::to_string(tek.lifetime.count()) +
                        " s)");
    std::string send = r.text(t, "send", "push");
    if (send == "none")
        timed.send = TimedRekeyConfig::Send::none;
    else if (send != "push")
        fail_at(r.path, *t.get("send"),
                "unknown send \"" + send + "\" (push: a GROUPKEY-PUSH to the members; none: " +
                    "they learn the new TEKs by their next PULL)");
    if (timed.send == TimedRekeyConfig::Send::push && !group.policy.kek)
        fail_at(r.path, t, "send = \"push\" needs a [group.kek] to push with (or send = \"none\")");
    return timed;
}

} // namespace

KsConfig load_config(const std::string& path) {
    toml::table root;
    try {
        root = toml::parse_file(path);
    } catch (const toml::parse_error& e) {
        const auto& s = e.source().begin;
        throw std::runtime_error(path + ":" + std::to_string(s.line) + ":" +
                                 std::to_string(s.column) + ": " + std::string(e.description()));
    }
    Reader r{path};
    KsConfig c;
    c.port = static_cast<uint16_t>(r.number(root, "port", 848));
    c.control_socket = r.text(root, "control-socket", "");
    if (auto* listen = root["listen"].as_array()) {
        for (const auto& n : *listen) {
            auto s = n.value<std::string>();
            if (!s) fail_at(path, n, "listen addresses are strings");
            c.listen.push_back(r.address(n, *s));
        }
    }
    if (c.listen.empty()) c.listen.push_back(IpAddress::v4(0, 0, 0, 0));

    if (auto* phase1 = root["phase1"].as_table()) {
        c.notify_authentication_failure = r.flag(*phase1, "notify-auth-failure", true);
        if (auto* proposals = (*phase1)["proposals"].as_array()) {
            for (const auto& n : *proposals) {
                auto* t = n.as_table();
                if (!t) fail_at(path, n, "a proposal is a table");
                ike::Phase1Proposal p;
                p.cipher = phase1_cipher(r, n, r.text(*t, "encryption", "aes-256-cbc"));
                p.hash = hash_of(r, n, r.text(*t, "hash", "sha256"));
                auto group = crypto::dh_group_from_number(
                    static_cast<uint16_t>(r.number(*t, "dh-group", 14)));
                if (!group)
                    fail_at(path, n, "dh-group must be one of 1, 2, 5, 14, 15, 16, 19, 20, 21");
                p.group = *group;
                p.lifetime = std::chrono::seconds(r.number(*t, "lifetime", 86400));
                c.proposals.push_back(p);
            }
        }
    }
    if (c.proposals.empty()) {
        // Everything the member side supports.
        for (auto cipher :
             {CbcCipher::aes256, CbcCipher::aes192, CbcCipher::aes128, CbcCipher::des3})
            for (auto hash : {HashAlgorithm::sha512, HashAlgorithm::sha384, HashAlgorithm::sha256,
                              HashAlgorithm::sha1, HashAlgorithm::md5})
                for (auto group :
                     {crypto::DhGroup::ecp521, crypto::DhGroup::ecp384, crypto::DhGroup::ecp256,
                      crypto::DhGroup::modp4096, crypto::DhGroup::modp3072,
                      crypto::DhGroup::modp2048, crypto::DhGroup::modp1536,
                      crypto::DhGroup::modp1024, crypto::DhGroup::modp768})
                    c.proposals.push_back({cipher, hash, group, std::chrono::seconds(86400)});
    }
    if (auto* q = root["quirks"].as_table()) {
        c.quirks.group_id_byte_order =
            r.text(*q, "group-id-byte-order", "network") == "little-endian"
                ? GroupIdByteOrder::little_endian
                : GroupIdByteOrder::network;
        c.quirks.sa_tek_ipv4_byte_reversed = r.flag(*q, "sa-tek-ipv4-byte-reversed", false);
        c.quirks.sa_tek_id_length = r.number(*q, "sa-tek-id-length", 1) == 2
                                        ? IdLengthWidth::two_octets
                                        : IdLengthWidth::one_octet;
    }
    if (auto* certificate = root["phase1"]["certificate"].as_table())
        c.certificate = load_ks_certificate(*certificate, path);
    auto* groups = root["group"].as_array();
    if (!groups || groups->empty()) fail_at(path, root, "at least one [[group]] is needed");
    for (const auto& gn : *groups) {
        auto* g = gn.as_table();
        if (!g) fail_at(path, gn, "[[group]] must be a table");
        KsGroup group;
        group.policy.group_id = static_cast<uint32_t>(r.number(*g, "id"));
        group.policy.sequence = static_cast<uint32_t>(r.number(*g, "sequence", 0));
        if (auto* psk = g->get("default-psk"))
            group.default_psk = SecretBytes(std::string_view(*psk->value<std::string>()));
        if (auto* psks = (*g)["psk"].as_table())
            for (const auto& [key, value] : *psks) {
                auto s = value.value<std::string>();
                if (!s) fail_at(path, value, "a PSK is a string");
                group.psks.emplace(r.address(value, std::string(key.str())),
                                   SecretBytes(std::string_view(*s)));
            }
        if (auto* members = (*g)["authorized"].as_array()) {
            group.authorised.emplace();
            for (const auto& n : *members)
                group.authorised->push_back(r.address(n, n.value<std::string>().value_or("")));
        }
        group.options.quirks = c.quirks;
        if (auto* kek_table = (*g)["kek"].as_table())
            group.policy.kek = read_kek(r, *kek_table, group);
        if (auto* gap = (*g)["gap"].as_table()) {
            if (gap->get("atd"))
                group.policy.gap.activation_delay = std::chrono::seconds(r.number(*gap, "atd"));
            if (gap->get("dtd"))
                group.policy.gap.deactivation_delay = std::chrono::seconds(r.number(*gap, "dtd"));
        }
        if (auto* teks = (*g)["tek"].as_array()) {
            uint32_t index = 0;
            for (const auto& tn : *teks) {
                auto* t = tn.as_table();
                if (!t) fail_at(path, tn, "[[group.tek]] must be a table");
                auto tek = read_tek(r, *t, index++);
                pull::TekEmission emission;
                emission.omit_keys = r.flag(*t, "omit-keys", false);
                emission.zero_key_length = r.flag(*t, "zero-key-length", false);
                if (t->get("transform-id"))
                    emission.transform_id = static_cast<uint8_t>(r.number(*t, "transform-id"));
                group.options.tek_emission[tek.spi] = emission;
                group.tek_templates.push_back(tek);
                group.policy.teks.push_back(std::move(tek));
            }
        }
        if (auto* rekey = g->get("rekey")) {
            if (!rekey->as_table()) fail_at(path, *rekey, "[group.rekey] must be a table");
            group.timed_rekey = read_timed_rekey(r, *rekey->as_table(), group);
        }
        c.groups.push_back(std::move(group));
    }
    return c;
}

} // namespace gdoi_test_ks
