#include "gdoi/ike/phase1_proposal.hpp"

#include "gdoi/wire/attributes.hpp"
#include "gdoi/wire/constants.hpp"

namespace gdoi::ike {

using namespace gdoi::wire;
using crypto::CbcCipher;
using crypto::HashAlgorithm;

std::string Phase1Proposal::describe() const {
    return std::string(crypto::cipher_name(cipher)) + "/" + std::string(crypto::hash_name(hash)) +
           "/" + std::string(crypto::dh_group_name(group)) + ", " +
           std::to_string(lifetime.count()) + " s" +
           (authentication == Phase1Authentication::rsa_signature ? ", RSA signatures" : "");
}

namespace {

// The IANA IPsec registry's IKEv1 "Hash Algorithm" values (class 2): MD5 1 and SHA 2 from
// RFC 2409 appendix A; SHA2-256 4, SHA2-384 5, SHA2-512 6 (registry reference [Leech], not an
// RFC). With no PRF attribute, HMAC with this hash is the PRF (RFC 2409 section 4).
uint16_t hash_attribute(HashAlgorithm hash) {
    switch (hash) {
    case HashAlgorithm::md5:
        return ike_hash::md5;
    case HashAlgorithm::sha1:
        return ike_hash::sha1;
    case HashAlgorithm::sha256:
        return ike_hash::sha2_256;
    case HashAlgorithm::sha384:
        return ike_hash::sha2_384;
    case HashAlgorithm::sha512:
        return ike_hash::sha2_512;
    }
    return ike_hash::sha2_256;
}

std::optional<HashAlgorithm> hash_from_attribute(std::optional<uint64_t> value) {
    if (value == ike_hash::md5) return HashAlgorithm::md5;
    if (value == ike_hash::sha1) return HashAlgorithm::sha1;
    if (value == ike_hash::sha2_256) return HashAlgorithm::sha256;
    if (value == ike_hash::sha2_384) return HashAlgorithm::sha384;
    if (value == ike_hash::sha2_512) return HashAlgorithm::sha512;
    return std::nullopt;
}

} // namespace

Transform to_transform(const Phase1Proposal& p, uint8_t number) {
    Transform t;
    t.number = number;
    t.transform_id = kTransformKeyIke;
    uint16_t encryption =
        p.cipher == CbcCipher::des3 ? ike_encryption::des3_cbc : ike_encryption::aes_cbc;
    t.attributes.push_back(Attribute::tv(ike_attr::encryption_algorithm, encryption));
    if (p.cipher != CbcCipher::des3)
        t.attributes.push_back(Attribute::tv(
            ike_attr::key_length, static_cast<uint16_t>(crypto::cipher_key_length(p.cipher) * 8)));
    t.attributes.push_back(Attribute::tv(ike_attr::hash_algorithm, hash_attribute(p.hash)));
    t.attributes.push_back(Attribute::tv(ike_attr::authentication_method,
                                         p.authentication == Phase1Authentication::rsa_signature
                                             ? ike_auth::rsa_signature
                                             : ike_auth::pre_shared_key));
    t.attributes.push_back(
        Attribute::tv(ike_attr::group_description, static_cast<uint16_t>(p.group)));
    t.attributes.push_back(Attribute::tv(ike_attr::life_type, life_type::seconds));
    t.attributes.push_back(
        Attribute::number_attr(ike_attr::life_duration, static_cast<uint32_t>(p.lifetime.count())));
    return t;
}

std::optional<Phase1Proposal> from_transform(const Transform& t, std::string& why) {
    if (t.transform_id != kTransformKeyIke) {
        why = "transform ID " + std::to_string(t.transform_id) + " is not KEY_IKE";
        return std::nullopt;
    }
    auto value = [&](uint16_t type) -> std::optional<uint64_t> {
        const Attribute* a = find_attribute(t.attributes, type);
        return a ? a->number() : std::nullopt;
    };
    Phase1Proposal p;
    auto encryption = value(ike_attr::encryption_algorithm);
    auto key_length = value(ike_attr::key_length);
    if (encryption == ike_encryption::des3_cbc) {
        p.cipher = CbcCipher::des3;
    } else if (encryption == ike_encryption::aes_cbc) {
        // RFC 3602 section 5 (and RFC 2409 appendix A for variable-length ciphers): the key
        // length attribute says which AES.
        if (key_length == 128)
            p.cipher = CbcCipher::aes128;
        else if (key_length == 192)
            p.cipher = CbcCipher::aes192;
        else if (key_length == 256)
            p.cipher = CbcCipher::aes256;
        else {
            why = "AES-CBC without a key length of 128, 192 or 256";
            return std::nullopt;
        }
    } else {
        why = "encryption algorithm " + (encryption ? std::to_string(*encryption) : "(none)") +
              " is not supported";
        return std::nullopt;
    }
    auto hash_number = value(ike_attr::hash_algorithm);
    auto hash = hash_from_attribute(hash_number);
    if (!hash) {
        why = "hash algorithm " + (hash_number ? std::to_string(*hash_number) : "(none)") +
              " is not supported";
        return std::nullopt;
    }
    p.hash = *hash;
    auto method = value(ike_attr::authentication_method);
    if (method == ike_auth::pre_shared_key) {
        p.authentication = Phase1Authentication::pre_shared_key;
    } else if (method == ike_auth::rsa_signature) {
        p.authentication = Phase1Authentication::rsa_signature;
    } else {
        why = "authentication method " + (method ? std::to_string(*method) : "(none)") +
              " is neither pre-shared key (1) nor RSA signatures (3)";
        return std::nullopt;
    }
    auto group_number = value(ike_attr::group_description);
    auto group = group_number ? crypto::dh_group_from_number(static_cast<uint16_t>(*group_number))
                              : std::nullopt;
    if (!group) {
        why = "Diffie-Hellman group " + (group_number ? std::to_string(*group_number) : "(none)") +
              " is not supported";
        return std::nullopt;
    }
    p.group = *group;
    if (find_attribute(t.attributes, ike_attr::prf)) {
        why = "a PRF attribute was given (RFC 2409 defines none)";
        return std::nullopt;
    }
    // Life type / duration pairs; only seconds matter to us (kilobytes are not enforced).
    p.lifetime = std::chrono::seconds(0);
    uint16_t current_type = 0;
    for (const auto& a : t.attributes) {
        if (a.type == ike_attr::life_type)
            current_type = static_cast<uint16_t>(a.number().value_or(0));
        if (a.type == ike_attr::life_duration && current_type == life_type::seconds)
            p.lifetime = std::chrono::seconds(a.number().value_or(0));
    }
    if (p.lifetime.count() == 0) p.lifetime = std::chrono::seconds(28800); // RFC 2407 default
    return p;
}

} // namespace gdoi::ike
