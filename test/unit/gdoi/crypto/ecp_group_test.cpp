// ECP groups 19, 20, 21: the known answers of RFC 5903 section 8 (KE data x | y and the x-only
// shared secret of section 7), and the peer values a member must refuse.
#include "gdoi/crypto/dh_group.hpp"
#include "test/support/pcap_reader.hpp"

#include <catch2/catch.hpp>
#include <string>

using namespace gdoi;
using namespace gdoi::crypto;
using test_support::from_hex;
using Bytes = std::vector<uint8_t>;

namespace {

// The RFC prints hex in groups of eight digits; from_hex skips the spaces.
Bytes rfc_hex(const char* text) {
    return from_hex(text);
}

Bytes cat(const Bytes& a, const Bytes& b) {
    Bytes out = a;
    out.insert(out.end(), b.begin(), b.end());
    return out;
}

Bytes bytes_of(const SecretBytes& s) {
    return Bytes(s.reveal().begin(), s.reveal().end());
}

struct Vector {
    const char* section;
    DhGroup group;
    const char* i;
    const char* gix;
    const char* giy;
    const char* r;
    const char* grx;
    const char* gry;
    const char* girx;
};

// RFC 5903 section 8, transcribed digit for digit (8.1: 256-bit, 8.2: 384-bit, 8.3: 521-bit
// random ECP group). girx is the shared secret; giry is not used by IKE (section 7).
const Vector vectors[] = {
    {"8.1", DhGroup::ecp256,
     "C88F01F5 10D9AC3F 70A292DA A2316DE5 44E9AAB8 AFE84049 C62A9C57 862D1433",
     "DAD0B653 94221CF9 B051E1FE CA5787D0 98DFE637 FC90B9EF 945D0C37 72581180",
     "5271A046 1CDB8252 D61F1C45 6FA3E59A B1F45B33 ACCF5F58 389E0577 B8990BB3",
     "C6EF9C5D 78AE012A 011164AC B397CE20 88685D8F 06BF9BE0 B283AB46 476BEE53",
     "D12DFB52 89C8D4F8 1208B702 70398C34 2296970A 0BCCB74C 736FC755 4494BF63",
     "56FBF3CA 366CC23E 8157854C 13C58D6A AC23F046 ADA30F83 53E74F33 039872AB",
     "D6840F6B 42F6EDAF D13116E0 E1256520 2FEF8E9E CE7DCE03 812464D0 4B9442DE"},
    {"8.2", DhGroup::ecp384,
     "099F3C70 34D4A2C6 99884D73 A375A67F 7624EF7C 6B3C0F16 0647B674 14DCE655"
     "E35B5380 41E649EE 3FAEF896 783AB194",
     "667842D7 D180AC2C DE6F74F3 7551F557 55C7645C 20EF73E3 1634FE72 B4C55EE6"
     "DE3AC808 ACB4BDB4 C88732AE E95F41AA",
     "9482ED1F C0EEB9CA FC498462 5CCFC23F 65032149 E0E144AD A0241815 35A0F38E"
     "EB9FCFF3 C2C947DA E69B4C63 4573A81C",
     "41CB0779 B4BDB85D 47846725 FBEC3C94 30FAB46C C8DC5060 855CC9BD A0AA2942"
     "E0308312 916B8ED2 960E4BD5 5A7448FC",
     "E558DBEF 53EECDE3 D3FCCFC1 AEA08A89 A987475D 12FD950D 83CFA417 32BC509D"
     "0D1AC43A 0336DEF9 6FDA41D0 774A3571",
     "DCFBEC7A ACF31964 72169E83 8430367F 66EEBE3C 6E70C416 DD5F0C68 759DD1FF"
     "F83FA401 42209DFF 5EAAD96D B9E6386C",
     "11187331 C279962D 93D60424 3FD592CB 9D0A926F 422E4718 7521287E 7156C5C4"
     "D6031355 69B9E9D0 9CF5D4A2 70F59746"},
    {"8.3", DhGroup::ecp521,
     "0037ADE9 319A89F4 DABDB3EF 411AACCC A5123C61 ACAB57B5 393DCE47 608172A0"
     "95AA85A3 0FE1C295 2C6771D9 37BA9777 F5957B26 39BAB072 462F68C2 7A57382D"
     "4A52",
     "0015417E 84DBF28C 0AD3C278 713349DC 7DF153C8 97A1891B D98BAB43 57C9ECBE"
     "E1E3BF42 E00B8E38 0AEAE57C 2D107564 94188594 2AF5A7F4 601723C4 195D176C"
     "ED3E",
     "017CAE20 B6641D2E EB695786 D8C94614 6239D099 E18E1D5A 514C739D 7CB4A10A"
     "D8A78801 5AC405D7 799DC75E 7B7D5B6C F2261A6A 7F150743 8BF01BEB 6CA3926F"
     "9582",
     "0145BA99 A847AF43 793FDD0E 872E7CDF A16BE30F DC780F97 BCCC3F07 8380201E"
     "9C677D60 0B343757 A3BDBF2A 3163E4C2 F869CCA7 458AA4A4 EFFC311F 5CB15168"
     "5EB9",
     "00D0B397 5AC4B799 F5BEA16D 5E13E9AF 971D5E9B 984C9F39 728B5E57 39735A21"
     "9B97C356 436ADC6E 95BB0352 F6BE64A6 C2912D4E F2D0433C ED2B6171 640012D9"
     "460F",
     "015C6822 6383956E 3BD066E7 97B623C2 7CE0EAC2 F551A10C 2C724D98 52077B87"
     "220B6536 C5C408A1 D2AEBB8E 86D678AE 49CB5709 1F473229 6579AB44 FCD17F0F"
     "C56A",
     "01144C7D 79AE6956 BC8EDB8E 7C787C45 21CB086F A64407F9 7894E5E6 B2D79B04"
     "D1427E73 CA4BAA24 0A347868 59810C06 B3C715A3 A8CC3151 F2BEE417 996D19F3"
     "DDEA"},
};

const DhGroup ecp_groups[] = {DhGroup::ecp256, DhGroup::ecp384, DhGroup::ecp521};

} // namespace

TEST_CASE("ECP: RFC 5903 section 8 known answers, both directions", "[crypto][dh][ecp]") {
    for (const auto& v : vectors) {
        CAPTURE(v.section, dh_group_name(v.group));
        const Bytes g_i = cat(rfc_hex(v.gix), rfc_hex(v.giy));
        const Bytes g_r = cat(rfc_hex(v.grx), rfc_hex(v.gry));
        const Bytes girx = rfc_hex(v.girx);
        auto initiator = DiffieHellman::from_private_for_test(v.group, rfc_hex(v.i));
        auto responder = DiffieHellman::from_private_for_test(v.group, rfc_hex(v.r));
        // Section 7: the KE data is x | y at the component length, no 0x04 octet.
        CHECK(initiator.public_value() == g_i);
        CHECK(responder.public_value() == g_r);
        CHECK(g_i.size() == dh_public_value_length(v.group));
        // Section 7: the shared secret is the x coordinate alone.
        CHECK(bytes_of(initiator.shared_secret(g_r)) == girx);
        CHECK(bytes_of(responder.shared_secret(g_i)) == girx);
        CHECK(girx.size() == dh_shared_secret_length(v.group));
    }
}

TEST_CASE("ECP: two fresh instances agree; sizes are the RFC 5903 section 7 ones",
          "[crypto][dh][ecp]") {
    struct Sizes {
        DhGroup group;
        size_t public_value, secret;
    };
    for (auto s : {Sizes{DhGroup::ecp256, 64, 32}, Sizes{DhGroup::ecp384, 96, 48},
                   Sizes{DhGroup::ecp521, 132, 66}}) {
        CAPTURE(dh_group_name(s.group));
        CHECK(dh_group_is_elliptic(s.group));
        CHECK(dh_public_value_length(s.group) == s.public_value);
        CHECK(dh_shared_secret_length(s.group) == s.secret);
        DiffieHellman alice(s.group), bob(s.group), carol(s.group);
        CHECK(alice.public_value().size() == s.public_value);
        CHECK(alice.public_value() != bob.public_value());
        auto a = alice.shared_secret(bob.public_value());
        CHECK(a.size() == s.secret);
        CHECK(a == bob.shared_secret(alice.public_value()));
        CHECK_FALSE(carol.shared_secret(bob.public_value()) == a);
    }
}

TEST_CASE("ECP: group numbers and names", "[crypto][dh][ecp]") {
    CHECK(dh_group_from_number(19) == DhGroup::ecp256);
    CHECK(dh_group_from_number(20) == DhGroup::ecp384);
    CHECK(dh_group_from_number(21) == DhGroup::ecp521);
    CHECK(dh_group_name(DhGroup::ecp256) == "ECP-256 (group 19)");
    CHECK(dh_group_name(DhGroup::ecp384) == "ECP-384 (group 20)");
    CHECK(dh_group_name(DhGroup::ecp521) == "ECP-521 (group 21)");
    CHECK_FALSE(dh_group_is_elliptic(DhGroup::modp2048));
    // 25/26 (RFC 5114 ECP-192/224) and 28-30 (brainpool) are not supported.
    for (uint16_t n : {22, 23, 24, 25, 26, 28, 31})
        CHECK_FALSE(dh_group_from_number(n));
}

TEST_CASE("ECP: peer values that are not a point of the group are refused, naming the group",
          "[crypto][dh][ecp]") {
    for (const auto& v : vectors) {
        const std::string name(dh_group_name(v.group));
        CAPTURE(name);
        const size_t field = dh_prime_length(v.group);
        const Bytes g_r = cat(rfc_hex(v.grx), rfc_hex(v.gry));
        auto initiator = DiffieHellman::from_private_for_test(v.group, rfc_hex(v.i));
        REQUIRE(dh_public_value_acceptable(v.group, g_r));

        auto refused = [&](const Bytes& value, const std::string& why) {
            CAPTURE(value.size(), why);
            CHECK_FALSE(dh_public_value_acceptable(v.group, value));
            CHECK_THROWS_AS(initiator.shared_secret(value), CryptoError);
            CHECK_THROWS_WITH(initiator.shared_secret(value),
                              Catch::Contains(name) && Catch::Contains(why));
        };
        // Off the curve: g^r with the last bit of y flipped.
        Bytes off_curve = g_r;
        off_curve.back() ^= 0x01;
        refused(off_curve, "is not a point on the curve");
        // All zero: how some stacks write the point at infinity; (0, 0) is not on the curve.
        refused(Bytes(2 * field, 0), "is not a point on the curve");
        // Coordinates not below p (all ones exceeds every one of these field primes).
        refused(Bytes(2 * field, 0xff), "is not a point on the curve");
        // A valid x with y = 0 (not on these curves: they have no point of order 2).
        Bytes y_zero = g_r;
        std::fill(y_zero.begin() + static_cast<long>(field), y_zero.end(), 0);
        refused(y_zero, "is not a point on the curve");
        // Wrong lengths: empty, one octet short or long, the SEC 1 form with its 0x04 octet,
        // the x coordinate alone.
        refused({}, "has 0 octets, expected " + std::to_string(2 * field));
        refused(Bytes(g_r.begin(), g_r.end() - 1), "expected " + std::to_string(2 * field));
        refused(cat(g_r, {0}), "expected " + std::to_string(2 * field));
        refused(cat({0x04}, g_r), "has " + std::to_string(2 * field + 1) + " octets");
        refused(rfc_hex(v.grx), "has " + std::to_string(field) + " octets");
    }
}

TEST_CASE("ECP: a point of another curve is refused", "[crypto][dh][ecp]") {
    // A P-256 point with its coordinates padded to 48 octets: the length of a P-384 value,
    // but not a point of P-384.
    const Bytes gx = rfc_hex(vectors[0].grx), gy = rfc_hex(vectors[0].gry);
    Bytes padded(16, 0);
    padded.insert(padded.end(), gx.begin(), gx.end());
    padded.insert(padded.end(), 16, 0);
    padded.insert(padded.end(), gy.begin(), gy.end());
    REQUIRE(padded.size() == dh_public_value_length(DhGroup::ecp384));
    CHECK_FALSE(dh_public_value_acceptable(DhGroup::ecp384, padded));
}

TEST_CASE("ECP: the test-only constructor takes ECP private scalars in range only",
          "[crypto][dh][ecp]") {
    const Bytes i = rfc_hex(vectors[0].i);
    CHECK_THROWS_WITH(DiffieHellman::from_private_for_test(DhGroup::modp2048, i),
                      Catch::Contains("ECP groups only"));
    CHECK_THROWS_AS(DiffieHellman::from_private_for_test(DhGroup::ecp256, Bytes(31, 1)),
                    CryptoError);
    CHECK_THROWS_WITH(DiffieHellman::from_private_for_test(DhGroup::ecp256, Bytes(32, 0)),
                      Catch::Contains("0 < d < n"));
    CHECK_THROWS_WITH(DiffieHellman::from_private_for_test(DhGroup::ecp256, Bytes(32, 0xff)),
                      Catch::Contains("0 < d < n"));
    for (auto group : ecp_groups) {
        CAPTURE(dh_group_name(group));
        Bytes one(dh_prime_length(group), 0);
        one.back() = 1;
        // d = 1: the public value is the generator itself, on the curve.
        auto dh = DiffieHellman::from_private_for_test(group, one);
        CHECK(dh_public_value_acceptable(group, dh.public_value()));
    }
}
