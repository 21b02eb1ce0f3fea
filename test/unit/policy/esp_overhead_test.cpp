// The inner MTU a TEK leaves, against values worked out by hand from RFC 4303's layout and
// Linux's xfrm_state_mtu() (tunnel mode): ((mtu - outer - 8 - iv - icv) & ~(block - 1)) - 2.
#include "policy/esp_overhead.hpp"

#include <catch2/catch.hpp>

using policy::esp_overhead;
using policy::inner_mtu;

namespace {
gdoi::TekPolicy tek(gdoi::TekCipher cipher, gdoi::TekIntegrity integrity) {
    gdoi::TekPolicy t;
    t.cipher = cipher;
    t.integrity = integrity;
    return t;
}
} // namespace

TEST_CASE("the inner MTU follows the TEK's algorithms and the outer family", "[policy][mtu]") {
    const auto cbc =
        esp_overhead(tek(gdoi::TekCipher::aes_cbc, gdoi::TekIntegrity::hmac_sha256), false);
    REQUIRE(cbc);
    // 1400 - 20 - 8 - 16 - 16 = 1340, down to 16-octet blocks 1328, minus the trailer 1326.
    CHECK(inner_mtu(*cbc, 1400) == 1326);
    CHECK(inner_mtu(*cbc, 1500) == 1438); // 1440 is 90 blocks, minus the trailer
    const auto cbc6 =
        esp_overhead(tek(gdoi::TekCipher::aes_cbc, gdoi::TekIntegrity::hmac_sha256), true);
    CHECK(inner_mtu(*cbc6, 1400) == 1310); // 1320 -> 1312 - 2
    // AES-GCM: 8-octet IV, 16-octet ICV, 4-octet alignment, no separate integrity.
    const auto gcm =
        esp_overhead(tek(gdoi::TekCipher::aes_gcm_16, gdoi::TekIntegrity::hmac_sha512), false);
    REQUIRE(gcm);
    CHECK(gcm->icv == 16);
    CHECK(inner_mtu(*gcm, 1400) == 1346); // 1348 -> 1348 - 2
    CHECK(inner_mtu(*gcm, 1401) == 1346);
    const auto sha1 =
        esp_overhead(tek(gdoi::TekCipher::aes_cbc, gdoi::TekIntegrity::hmac_sha1), false);
    CHECK(inner_mtu(*sha1, 1400) == 1342); // 1344 -> 1344 - 2
    const auto des =
        esp_overhead(tek(gdoi::TekCipher::des3_cbc, gdoi::TekIntegrity::hmac_sha512), false);
    CHECK(inner_mtu(*des, 1400) == 1326); // 1400-20-8-8-32 = 1332 -> 1328 - 2
}

TEST_CASE("a TEK that cannot be installed has no overhead, a tiny link no room", "[policy][mtu]") {
    CHECK_FALSE(esp_overhead(tek(gdoi::TekCipher::none, gdoi::TekIntegrity::hmac_sha1), false));
    CHECK_FALSE(
        esp_overhead(tek(gdoi::TekCipher::null_encryption, gdoi::TekIntegrity::none), false));
    const auto cbc =
        esp_overhead(tek(gdoi::TekCipher::aes_cbc, gdoi::TekIntegrity::hmac_sha256), false);
    CHECK(inner_mtu(*cbc, 60) == 0);
    CHECK(inner_mtu(*cbc, 78) == 14); // 78-60 = 18 -> 16 - 2
}
