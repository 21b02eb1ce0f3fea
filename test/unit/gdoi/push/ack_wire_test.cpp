// The RFC 8263 ack's wire format (gdoi/push/push_ack.hpp, see its header for which items are
// confirmed and which are hypotheses), checked field by field against values computed here
// without the code under test: ISAKMP header and payloads laid out by hand, HMACs with straight
// OpenSSL one-shot calls, and one complete datagram computed by a separate Python script.
// No real key server's ack exists to compare with (the reference captures hold none), so these
// tests pin what the hypotheses produce: a change of any of them must show up here.
#include "gdoi/crypto/prf.hpp"
#include "gdoi/push/push_ack.hpp"

#include <catch2/catch.hpp>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string>

using namespace gdoi;
using namespace gdoi::push;
using Bytes = std::vector<uint8_t>;

namespace {

Bytes from_hex(std::string_view hex) {
    Bytes out;
    for (size_t i = 0; i + 1 < hex.size(); i += 2)
        out.push_back(static_cast<uint8_t>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
    return out;
}

Bytes cat(std::initializer_list<Bytes> parts) {
    Bytes out;
    for (const auto& p : parts)
        out.insert(out.end(), p.begin(), p.end());
    return out;
}

Bytes be16(uint32_t v) {
    return {uint8_t(v >> 8), uint8_t(v)};
}
Bytes be32(uint32_t v) {
    return {uint8_t(v >> 24), uint8_t(v >> 16), uint8_t(v >> 8), uint8_t(v)};
}

Bytes openssl_hmac_sha256(const Bytes& key, const Bytes& data) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    REQUIRE(HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), data.data(), data.size(),
                 out, &length));
    return Bytes(out, out + length);
}

// The reference key server's initial KEK (test/vectors/reference-ks/README.md).
KekPolicy reference_kek() {
    KekPolicy kek;
    Bytes spi = from_hex("bc69f081d589998325283a0ce95baebc");
    std::copy(spi.begin(), spi.end(), kek.spi.begin());
    kek.cipher = KekCipher::des3_cbc;
    kek.key_bits = 192;
    kek.key = SecretBytes(from_hex("daf94bd9ab8f12c98c0df8c4f7645a5c29f87f4aa710aa94"));
    kek.iv = from_hex("254ccc0ecd25a5ef");
    kek.ack_request = AckRequest::rfc8263;
    return kek;
}

KekPolicy aes_kek() {
    KekPolicy kek;
    for (size_t i = 0; i < kek.spi.size(); ++i)
        kek.spi[i] = uint8_t(0xa0 + i);
    kek.cipher = KekCipher::aes_cbc;
    kek.key_bits = 256;
    Bytes key(32);
    for (size_t i = 0; i < key.size(); ++i)
        key[i] = uint8_t(i * 7 + 1);
    kek.key = SecretBytes(key);
    kek.iv = Bytes(16, 0x11);
    kek.ack_request = AckRequest::rfc8263;
    return kek;
}

Bytes spi_bytes(const KekPolicy& kek) {
    return Bytes(kek.spi.begin(), kek.spi.end());
}
Bytes key_bytes(const KekPolicy& kek) {
    auto k = kek.key.reveal();
    return Bytes(k.begin(), k.end());
}

// ack_key = HMAC-SHA-256(KEK key, "GROUPKEY-PUSH ACK" | SPI | 0x0100), written out by hand.
Bytes expected_ack_key(const KekPolicy& kek) {
    std::string label = "GROUPKEY-PUSH ACK";
    return openssl_hmac_sha256(
        key_bytes(kek), cat({Bytes(label.begin(), label.end()), spi_bytes(kek), {0x01, 0x00}}));
}

// The whole datagram, octet by octet: ISAKMP header (RFC 2408 3.1), HASH (8), SEQ (18), ID (5).
Bytes expected_ack(const KekPolicy& kek, uint32_t seq, const IpAddress& member) {
    Bytes address(member.bytes.begin(), member.bytes.begin() + long(member.width_bytes()));
    Bytes seq_payload = cat({{5, 0}, be16(8), be32(seq)}); // next = ID
    Bytes id_payload = cat({{0, 0},
                            be16(uint32_t(8 + address.size())),
                            {uint8_t(member.family == IpFamily::v4 ? 1 : 5), 0, 0, 0},
                            address});
    Bytes hash = openssl_hmac_sha256(expected_ack_key(kek), cat({seq_payload, id_payload}));
    Bytes hash_payload = cat({{18, 0}, be16(uint32_t(4 + hash.size())), hash}); // next = SEQ
    Bytes body = cat({hash_payload, seq_payload, id_payload});
    Bytes header =
        cat({spi_bytes(kek), {8, 0x10, 35, 0}, be32(0), be32(uint32_t(28 + body.size()))});
    return cat({header, body});
}

Bytes as_bytes(std::span<const uint8_t> s) {
    return Bytes(s.begin(), s.end());
}

} // namespace

TEST_CASE("ack profile constants are the documented hypotheses", "[push][ack]") {
    // A change here must come with a change of the status list in push_ack.hpp.
    CHECK(AckProfile::exchange_type == 35);
    CHECK(AckProfile::message_id == 0u);
    CHECK(AckProfile::flags == 0);
    CHECK(AckProfile::key_label == "GROUPKEY-PUSH ACK");
    CHECK(AckProfile::key_label.size() == 17);
    CHECK(AckProfile::key_bits == 256);
    CHECK(AckProfile::prf_hash == crypto::HashAlgorithm::sha256);
    CHECK(AckProfile::id_protocol == 0);
    CHECK(AckProfile::id_port == 0);
}

TEST_CASE("ack key: OpenSSL HMAC and an independent Python vector agree", "[push][ack]") {
    KekPolicy kek = reference_kek();
    Bytes key = as_bytes(derive_ack_key(kek).reveal());
    CHECK(key == expected_ack_key(kek));
    // python3: hmac.new(key, b"GROUPKEY-PUSH ACK" + spi + b"\x01\x00", sha256)
    CHECK(key == from_hex("e8c07f19d191e01c08b744347d2b5785252449f660bb2b1e10bb852956d6820d"));
    // The IV is not part of the base key; the SPI and the key are.
    KekPolicy other_iv = kek;
    other_iv.iv = from_hex("0000000000000000");
    CHECK(as_bytes(derive_ack_key(other_iv).reveal()) == key);
    KekPolicy other_spi = kek;
    other_spi.spi[15] ^= 1;
    CHECK(as_bytes(derive_ack_key(other_spi).reveal()) != key);
}

TEST_CASE("ack datagram is reproduced byte for byte from hand-laid octets", "[push][ack]") {
    SECTION("reference KEK, IPv4 member: the Python-computed datagram") {
        KekPolicy kek = reference_kek();
        IpAddress member = IpAddress::v4(10, 248, 0, 2);
        Bytes built = build_ack(kek, 1, member);
        CHECK(built == expected_ack(kek, 1, member));
        CHECK(built == from_hex("bc69f081d589998325283a0ce95baebc081023000000000000000054"
                                "1200002483d29fe17ed4d187bc7f800a17704c96dfa1daff72c88682"
                                "a3267c20c0e2d8ae05000008000000010000000c010000000af80002"));
    }
    SECTION("AES KEK, IPv6 member, large SEQ") {
        KekPolicy kek = aes_kek();
        auto member = IpAddress::parse("2001:db8::42");
        REQUIRE(member);
        Bytes built = build_ack(kek, 0x01020304, *member);
        CHECK(built == expected_ack(kek, 0x01020304, *member));
        CHECK(built.size() == 28 + 36 + 8 + 24);
    }
}

TEST_CASE("ack header and payload fields, one by one", "[push][ack]") {
    KekPolicy kek = aes_kek();
    IpAddress member = IpAddress::v4(192, 0, 2, 7);
    Bytes a = build_ack(kek, 5, member);
    REQUIRE(a.size() == 28 + 36 + 8 + 12);
    CHECK(Bytes(a.begin(), a.begin() + 16) == spi_bytes(kek)); // cookies = KEK SPI
    CHECK(a[16] == 8);                                         // first payload HASH
    CHECK(a[17] == 0x10);                                      // ISAKMP 1.0
    CHECK(a[18] == 35);                                        // exchange type
    CHECK(a[19] == 0);                                         // no E flag: in the clear
    CHECK(Bytes(a.begin() + 20, a.begin() + 24) == be32(0));   // message ID
    CHECK(Bytes(a.begin() + 24, a.begin() + 28) == be32(uint32_t(a.size())));
    // HASH payload
    CHECK(a[28] == 18);
    CHECK(Bytes(a.begin() + 30, a.begin() + 32) == be16(36));
    // SEQ payload
    CHECK(a[64] == 5);
    CHECK(Bytes(a.begin() + 66, a.begin() + 68) == be16(8));
    CHECK(Bytes(a.begin() + 68, a.begin() + 72) == be32(5));
    // ID payload
    CHECK(a[72] == 0);
    CHECK(Bytes(a.begin() + 74, a.begin() + 76) == be16(12));
    CHECK(a[76] == 1); // ID_IPV4_ADDR
    CHECK(a[77] == 0); // protocol
    CHECK(Bytes(a.begin() + 78, a.begin() + 80) == be16(0));
    CHECK(Bytes(a.begin() + 80, a.end()) == Bytes{192, 0, 2, 7});
    // HASH = HMAC(ack_key, SEQ payload | ID payload), whole payloads with generic headers
    Bytes covered(a.begin() + 64, a.end());
    CHECK(Bytes(a.begin() + 32, a.begin() + 64) ==
          openssl_hmac_sha256(expected_ack_key(kek), covered));
}

TEST_CASE("verify_ack accepts the hand-laid ack and refuses every other reading", "[push][ack]") {
    KekPolicy kek = aes_kek();
    IpAddress member = IpAddress::v4(198, 51, 100, 9);
    Bytes good = expected_ack(kek, 77, member);
    auto ok = verify_ack(good, kek);
    INFO(ok.reason);
    REQUIRE(ok.valid);
    CHECK(ok.sequence == 77u);
    CHECK(ok.member == member);

    auto refused = [&](Bytes d, std::string_view why) {
        auto r = verify_ack(d, kek);
        CHECK_FALSE(r.valid);
        CHECK(r.reason.find(why) != std::string::npos);
        return r;
    };
    SECTION("another exchange type") {
        Bytes d = good;
        d[18] = 33;
        refused(d, "exchange type");
    }
    SECTION("E flag set") {
        Bytes d = good;
        d[19] = 0x01;
        refused(d, "flags");
    }
    SECTION("non-zero message ID") {
        Bytes d = good;
        d[23] = 1;
        refused(d, "message ID");
    }
    SECTION("another KEK's cookies") {
        Bytes d = good;
        d[0] ^= 0xff;
        refused(d, "KEK SPI");
    }
    SECTION("HASH over the payload bodies only (the other reading of SEQ | ID)") {
        Bytes d = good;
        Bytes bodies = cat(
            {Bytes(good.begin() + 68, good.begin() + 72), Bytes(good.begin() + 76, good.end())});
        Bytes h = openssl_hmac_sha256(expected_ack_key(kek), bodies);
        std::copy(h.begin(), h.end(), d.begin() + 32);
        refused(d, "HASH");
    }
    SECTION("HASH keyed with the KEK key itself, not the derived ack key") {
        Bytes d = good;
        Bytes h = openssl_hmac_sha256(key_bytes(kek), Bytes(good.begin() + 64, good.end()));
        std::copy(h.begin(), h.end(), d.begin() + 32);
        refused(d, "HASH");
    }
    SECTION("SEQ changed after hashing") {
        Bytes d = good;
        d[71] ^= 1;
        refused(d, "HASH");
    }
    SECTION("payloads in another order") {
        // HDR, SEQ, HASH, ID: re-chained by hand.
        Bytes seq = Bytes(good.begin() + 64, good.begin() + 72);
        Bytes hash = Bytes(good.begin() + 28, good.begin() + 64);
        Bytes id = Bytes(good.begin() + 72, good.end());
        seq[0] = 8;
        hash[0] = 5;
        Bytes d = cat({Bytes(good.begin(), good.begin() + 28), seq, hash, id});
        d[16] = 18;
        refused(d, "HASH, SEQ, ID");
    }
    SECTION("a truncated datagram") {
        Bytes d(good.begin(), good.end() - 2);
        refused(d, "parse");
    }
}
