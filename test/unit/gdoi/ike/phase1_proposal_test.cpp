// Phase 1 proposals to ISAKMP transform attributes and back, through the wire codec, with the
// IANA numbers written out here (not taken from the code under test).
#include "gdoi/ike/phase1_proposal.hpp"
#include "gdoi/wire/attributes.hpp"
#include "gdoi/wire/constants.hpp"
#include "gdoi/wire/message.hpp"

#include <catch2/catch.hpp>

using namespace gdoi;
using namespace gdoi::ike;
using crypto::CbcCipher;
using crypto::DhGroup;
using crypto::HashAlgorithm;

namespace {

// The transform after an SA payload carrying it went through encode_message/decode_message.
wire::Transform over_the_wire(const wire::Transform& transform) {
    wire::Message m;
    m.header.initiator_cookie = {1, 2, 3, 4, 5, 6, 7, 8};
    m.header.exchange_type = wire::exchange::identity_protection;
    wire::SaPayload sa;
    sa.proposals.push_back(wire::Proposal{1, wire::kProtoIsakmp, {}, {transform}});
    m.payloads.push_back(sa);
    auto decoded = wire::decode_message(wire::encode_message(m));
    const auto* back = decoded.find<wire::SaPayload>();
    REQUIRE(back);
    REQUIRE(back->proposals.size() == 1);
    REQUIRE(back->proposals[0].transforms.size() == 1);
    return back->proposals[0].transforms[0];
}

uint64_t attribute(const wire::Transform& t, uint16_t type) {
    const auto* a = wire::find_attribute(t.attributes, type);
    REQUIRE(a);
    REQUIRE(a->number());
    return *a->number();
}

} // namespace

TEST_CASE("Phase 1 proposals survive the round trip for every hash and group", "[ike][proposal]") {
    // IANA IPsec registry (IKEv1): Hash Algorithm (class 2) and Group Description (class 4).
    const std::pair<HashAlgorithm, uint16_t> hashes[] = {
        {HashAlgorithm::md5, 1},    {HashAlgorithm::sha1, 2},   {HashAlgorithm::sha256, 4},
        {HashAlgorithm::sha384, 5}, {HashAlgorithm::sha512, 6},
    };
    const std::pair<DhGroup, uint16_t> groups[] = {
        {DhGroup::modp768, 1},   {DhGroup::modp1024, 2},  {DhGroup::modp1536, 5},
        {DhGroup::modp2048, 14}, {DhGroup::modp3072, 15}, {DhGroup::modp4096, 16},
        {DhGroup::ecp256, 19},   {DhGroup::ecp384, 20},   {DhGroup::ecp521, 21},
    };
    for (auto cipher : {CbcCipher::des3, CbcCipher::aes128, CbcCipher::aes256}) {
        for (auto [hash, hash_number] : hashes) {
            for (auto [group, group_number] : groups) {
                const Phase1Proposal p{cipher, hash, group, std::chrono::seconds(28800)};
                CAPTURE(p.describe());
                auto t = over_the_wire(to_transform(p, 1));
                CHECK(attribute(t, wire::ike_attr::hash_algorithm) == hash_number);
                CHECK(attribute(t, wire::ike_attr::group_description) == group_number);
                std::string why;
                auto back = from_transform(t, why);
                REQUIRE(back);
                CHECK(why.empty());
                CHECK(back->same_algorithms(p));
                CHECK(back->lifetime == p.lifetime);
            }
        }
    }
}

TEST_CASE("Phase 1 proposals from a peer: SHA-2 and the new groups are read by number",
          "[ike][proposal]") {
    // A transform as another stack writes it (attributes in its own order).
    auto transform = [](uint16_t hash, uint16_t group) {
        wire::Transform t;
        t.attributes = {wire::Attribute::tv(wire::ike_attr::encryption_algorithm, 7),
                        wire::Attribute::tv(wire::ike_attr::key_length, 256),
                        wire::Attribute::tv(wire::ike_attr::hash_algorithm, hash),
                        wire::Attribute::tv(wire::ike_attr::group_description, group),
                        wire::Attribute::tv(wire::ike_attr::authentication_method, 1),
                        wire::Attribute::tv(wire::ike_attr::life_type, 1),
                        wire::Attribute::tlv_u32(wire::ike_attr::life_duration, 86400)};
        return t;
    };
    std::string why;
    auto p = from_transform(transform(5, 20), why);
    REQUIRE(p);
    CHECK(p->hash == HashAlgorithm::sha384);
    CHECK(p->group == DhGroup::ecp384);
    CHECK(p->describe() == "AES-256-CBC/SHA384/ECP-384 (group 20), 86400 s");
    p = from_transform(transform(6, 15), why);
    REQUIRE(p);
    CHECK(p->hash == HashAlgorithm::sha512);
    CHECK(p->group == DhGroup::modp3072);
    CHECK(p->describe() == "AES-256-CBC/SHA512/MODP-3072 (group 15), 86400 s");

    CHECK_FALSE(from_transform(transform(3, 14), why)); // Tiger
    CHECK(why == "hash algorithm 3 is not supported");
    CHECK_FALSE(from_transform(transform(7, 14), why));
    CHECK(why == "hash algorithm 7 is not supported");
    CHECK_FALSE(from_transform(transform(4, 17), why)); // MODP-6144
    CHECK(why == "Diffie-Hellman group 17 is not supported");
    CHECK_FALSE(from_transform(transform(4, 24), why)); // MODP-2048/256 (RFC 5114)
    CHECK(why == "Diffie-Hellman group 24 is not supported");
}
