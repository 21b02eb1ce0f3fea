#include "policy/tek_states.hpp"
#include "policy_fixtures.hpp"

using namespace fixtures;
using namespace policy;

TEST_CASE("inbound anchor state: any source, found by anchor and SPI, group-SA rules",
          "[tek_states]") {
    const auto t = tek(0x10000001);
    const auto s = settings();
    REQUIRE(tek_problem(t).empty());
    const auto state = inbound_state(t, *s.v4, 0x6d000001);
    CHECK(state.id.destination == addr("100.127.0.1"));
    CHECK(state.id.spi == 0x10000001);
    CHECK(state.id.ip_protocol == 50);
    CHECK_FALSE(state.id.mark);
    CHECK(state.source.is_unspecified());
    CHECK(state.source.family == gdoi::IpFamily::v4);
    CHECK(state.mode == netlink::XfrmMode::tunnel);
    CHECK(state.reqid == 0x6d000001);
    CHECK(state.replay_window == 0);
    CHECK(state.hard_lifetime_seconds == 0);
    CHECK(state.soft_lifetime_seconds == 0);
    CHECK(state.direction == netlink::XfrmStateDirection::in);
    CHECK_FALSE(state.set_mark);
    CHECK_FALSE(state.output_sequence_may_wrap);
    REQUIRE(state.encryption);
    CHECK(state.encryption->name == "cbc(aes)");
    CHECK(state.encryption->key == t.cipher_key);
    REQUIRE(state.authentication);
    CHECK(state.authentication->name == "hmac(sha256)");
    CHECK(state.authentication->icv_or_trunc_bits == 128);
    CHECK(state.authentication->key == t.integrity_key);
    CHECK_FALSE(state.aead);
    CHECK(state.selector.source == pfx("0.0.0.0/0"));
}

TEST_CASE(
    "outbound state: WAN address to dummy anchor, no output mark unless asked, sequence may wrap",
    "[tek_states]") {
    const auto t = tek(0x10000001);
    auto s = settings();
    const auto state = outbound_state(t, *s.v4, 0x6d000001, s);
    CHECK(state.id.destination == addr("100.127.0.2"));
    CHECK(state.source == addr("192.0.2.1"));
    CHECK(state.direction == netlink::XfrmStateDirection::out);
    CHECK(state.output_sequence_may_wrap);
    // The LAN ingress program flags packets itself; the state leaves the mark alone.
    CHECK_FALSE(state.set_mark);
    CHECK(state.replay_window == 0);
    CHECK_FALSE(state.offload_device);

    SECTION("an output mark, when configured, is carried") {
        s.outbound_flag_mark = netlink::XfrmMark{0x80000000, 0x80000000};
        const auto marked = outbound_state(t, *s.v4, 0x6d000001, s);
        REQUIRE(marked.set_mark);
        CHECK(*marked.set_mark == *s.outbound_flag_mark);
    }

    SECTION("df-bit clear sets nopmtudisc, set and copy do not") {
        s.df_bit = DfBit::clear;
        CHECK(outbound_state(t, *s.v4, 1, s).no_pmtu_discovery);
        s.df_bit = DfBit::copy;
        CHECK_FALSE(outbound_state(t, *s.v4, 1, s).no_pmtu_discovery);
        s.df_bit = DfBit::set;
        CHECK_FALSE(outbound_state(t, *s.v4, 1, s).no_pmtu_discovery);
        // The inbound state has no say over the outer DF bit.
        CHECK_FALSE(inbound_state(t, *s.v4, 1).no_pmtu_discovery);
    }
    SECTION("crypto offload on the WAN device when the device can") {
        s.wan_crypto_offload = true;
        CHECK(outbound_state(t, *s.v4, 1, s).offload_device == std::optional<std::string>("eth0"));
        CHECK_FALSE(inbound_state(t, *s.v4, 1).offload_device);
    }
}

TEST_CASE("algorithms map to kernel names and ICV lengths", "[tek_states]") {
    const auto s = settings();
    auto t = tek(0x2000);
    SECTION("AES-GCM is one AEAD algorithm with a 128-bit ICV and the salt in the key") {
        t.cipher = gdoi::TekCipher::aes_gcm_16;
        t.cipher_key = key(20, 1);
        t.integrity = gdoi::TekIntegrity::none;
        t.integrity_key = {};
        REQUIRE(tek_problem(t).empty());
        const auto state = inbound_state(t, *s.v4, 1);
        REQUIRE(state.aead);
        CHECK(state.aead->name == "rfc4106(gcm(aes))");
        CHECK(state.aead->icv_or_trunc_bits == 128);
        CHECK(state.aead->key.size() == 20);
        CHECK_FALSE(state.encryption);
        CHECK_FALSE(state.authentication);
    }
    SECTION("3DES with HMAC-SHA1-96") {
        t.cipher = gdoi::TekCipher::des3_cbc;
        t.cipher_key = key(24, 1);
        t.integrity = gdoi::TekIntegrity::hmac_sha1;
        t.integrity_key = key(20, 2);
        REQUIRE(tek_problem(t).empty());
        const auto state = inbound_state(t, *s.v4, 1);
        CHECK(state.encryption->name == "cbc(des3_ede)");
        CHECK(state.authentication->name == "hmac(sha1)");
        CHECK(state.authentication->icv_or_trunc_bits == 96);
    }
    SECTION("AH carries integrity only, protocol 51") {
        t.protocol = gdoi::TekProtocol::ah;
        t.cipher = gdoi::TekCipher::none;
        t.cipher_key = {};
        t.integrity = gdoi::TekIntegrity::hmac_sha512;
        t.integrity_key = key(64, 3);
        REQUIRE(tek_problem(t).empty());
        const auto state = inbound_state(t, *s.v4, 1);
        CHECK(state.id.ip_protocol == 51);
        CHECK_FALSE(state.encryption);
        CHECK(state.authentication->name == "hmac(sha512)");
        CHECK(state.authentication->icv_or_trunc_bits == 256);
    }
}

TEST_CASE("TEKs that cannot be installed say why", "[tek_states]") {
    auto t = tek(0x2000);
    SECTION("AES-CBC without a key (a real key server bug) is refused, not zero-filled") {
        t.cipher_key = {};
        CHECK_THAT(tek_problem(t),
                   Catch::Contains("encryption key is 0 octets") && Catch::Contains("0x00002000"));
    }
    SECTION("wrong integrity key length") {
        t.integrity_key = key(20, 1);
        CHECK_THAT(tek_problem(t),
                   Catch::Contains("integrity key is 20 octets") && Catch::Contains("needs 32"));
    }
    SECTION("GCM with a separate integrity algorithm") {
        t.cipher = gdoi::TekCipher::aes_gcm_16;
        t.cipher_key = key(36, 1);
        CHECK_THAT(tek_problem(t), Catch::Contains("AES-GCM carries its own integrity"));
    }
    SECTION("transport mode") {
        t.tunnel_mode = false;
        CHECK_THAT(tek_problem(t), Catch::Contains("transport mode"));
    }
    SECTION("mixed families") {
        t.selector.destination = endpoint("2001:db8::/32");
        CHECK_THAT(tek_problem(t), Catch::Contains("mixes IPv4 and IPv6"));
    }
    SECTION("reserved SPI") {
        t.spi = 255;
        CHECK_THAT(tek_problem(t), Catch::Contains("reserved"));
    }
    SECTION("ESP without a cipher") {
        t.cipher = gdoi::TekCipher::none;
        CHECK_THAT(tek_problem(t), Catch::Contains("without an encryption algorithm"));
    }
    SECTION("NULL encryption without integrity") {
        t.cipher = gdoi::TekCipher::null_encryption;
        t.cipher_key = {};
        t.integrity = gdoi::TekIntegrity::none;
        t.integrity_key = {};
        CHECK_THAT(tek_problem(t), Catch::Contains("protects nothing"));
    }
}
