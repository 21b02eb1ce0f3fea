// The RFC 8263 ack's wire format (gdoi/push/push_ack.hpp, which quotes the RFC for each item),
// checked field by field against values computed here without the code under test: ISAKMP
// header and payloads laid out by hand from RFC 8263 section 3, HMACs with straight OpenSSL
// one-shot calls, and complete datagrams computed by a separate Python script (stdlib hmac).
// RFC 8263 has no test vector and no real key server's ack exists to compare with (the
// reference captures hold none): these tests pin our reading of the RFC text, so a change of any
// item must show up here.
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

Bytes openssl_hmac(const EVP_MD* md, const Bytes& key, const Bytes& data) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    REQUIRE(
        HMAC(md, key.data(), static_cast<int>(key.size()), data.data(), data.size(), out, &length));
    return Bytes(out, out + length);
}
Bytes openssl_hmac_sha256(const Bytes& key, const Bytes& data) {
    return openssl_hmac(EVP_sha256(), key, data);
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

// RFC 8263 3.2, written out by hand: ack_key = prf(KEK key, "GROUPKEY-PUSH ACK" NUL | SPI | L),
// L in two octets: 512 for PRF-HMAC-SHA-256 (type 1), 1024 for PRF-HMAC-SHA-512 (type 3).
struct Prf {
    const EVP_MD* md;
    uint32_t length_bits;
};
const Prf kSha256{EVP_sha256(), 512};
const Prf kSha512{EVP_sha512(), 1024};

Bytes expected_ack_key(const KekPolicy& kek, const Prf& prf = kSha256) {
    const Bytes label = {'G', 'R', 'O', 'U', 'P', 'K', 'E', 'Y', '-',
                         'P', 'U', 'S', 'H', ' ', 'A', 'C', 'K', 0x00};
    return openssl_hmac(prf.md, key_bytes(kek),
                        cat({label, spi_bytes(kek), be16(prf.length_bits)}));
}

// The whole datagram, octet by octet: ISAKMP header (RFC 2408 3.1, RFC 8263 3.1), HASH (8),
// SEQ (18), ID (5); HASH = prf(ack_key, SEQ payload | ID payload).
Bytes expected_ack(const KekPolicy& kek, uint32_t seq, const IpAddress& member,
                   const Prf& prf = kSha256) {
    Bytes address(member.bytes.begin(), member.bytes.begin() + long(member.width_bytes()));
    Bytes seq_payload = cat({{5, 0}, be16(8), be32(seq)}); // next = ID
    Bytes id_payload = cat({{0, 0},
                            be16(uint32_t(8 + address.size())),
                            {uint8_t(member.family == IpFamily::v4 ? 1 : 5), 0, 0, 0},
                            address});
    Bytes hash = openssl_hmac(prf.md, expected_ack_key(kek, prf), cat({seq_payload, id_payload}));
    Bytes hash_payload = cat({{18, 0}, be16(uint32_t(4 + hash.size())), hash}); // next = SEQ
    Bytes body = cat({hash_payload, seq_payload, id_payload});
    Bytes header =
        cat({spi_bytes(kek), {8, 0x10, 35, 0}, be32(0), be32(uint32_t(28 + body.size()))});
    return cat({header, body});
}

AckSuite suite(uint16_t type) {
    auto s = ack_suite(type);
    REQUIRE(s);
    return *s;
}

Bytes as_bytes(std::span<const uint8_t> s) {
    return Bytes(s.begin(), s.end());
}

} // namespace

TEST_CASE("ack profile constants are RFC 8263's", "[push][ack]") {
    // A change here must come with a change of the status list in push_ack.hpp.
    CHECK(AckProfile::exchange_type == 35); // 3.1, IANA GDOI DOI Exchange Types
    CHECK(AckProfile::message_id == 0u);
    CHECK(AckProfile::flags == 0);
    CHECK(AckProfile::key_label.size() == 18); // null-terminated (3.2)
    CHECK(AckProfile::key_label.back() == '\0');
    CHECK(AckProfile::key_label.substr(0, 17) == "GROUPKEY-PUSH ACK");
    CHECK(AckProfile::id_protocol == 0);
    CHECK(AckProfile::id_port == 0);
    CHECK(suite(1).prf == crypto::HashAlgorithm::sha256);
    CHECK(suite(1).length_bits == 512);
    CHECK(suite(3).prf == crypto::HashAlgorithm::sha512);
    CHECK(suite(3).length_bits == 1024);
    CHECK(ack_type_name(1) == "REKEY_ACK_KEK_SHA256 (1)");
    CHECK(ack_type_name(4) == "REKEY_ACK_LKH_SHA512 (4)");
    CHECK(ack_type_name(200) == "private-use value 200");
}

TEST_CASE("ack key: OpenSSL HMAC and independent Python vectors agree", "[push][ack]") {
    KekPolicy kek = reference_kek();
    Bytes key = as_bytes(derive_ack_key(kek, suite(1)).reveal());
    CHECK(key == expected_ack_key(kek));
    // python3: hmac.new(key, b"GROUPKEY-PUSH ACK\x00" + spi + b"\x02\x00", sha256)
    CHECK(key == from_hex("f7be3b1247c37d80ee6b1f3c542309d8fb122aa131b6101beea42ad08942c699"));
    Bytes key512 = as_bytes(derive_ack_key(kek, suite(3)).reveal());
    CHECK(key512 == expected_ack_key(kek, kSha512));
    // python3: hmac.new(key, b"GROUPKEY-PUSH ACK\x00" + spi + b"\x04\x00", sha512)
    CHECK(key512 == from_hex("1b95dcced9a15f9642f79e15b289db3bed107d20cb4879d7172c18836135ba6d"
                             "b0784b970b144ae04cfe4a05df1f6dfd158d9473539a157972c5d26dd66ce058"));
    // The IV is not part of the base key (2.1); the SPI and the key are.
    KekPolicy other_iv = kek;
    other_iv.iv = from_hex("0000000000000000");
    CHECK(as_bytes(derive_ack_key(other_iv, suite(1)).reveal()) == key);
    KekPolicy other_spi = kek;
    other_spi.spi[15] ^= 1;
    CHECK(as_bytes(derive_ack_key(other_spi, suite(1)).reveal()) != key);
    // The readings push_ack.hpp rejects give other keys: no NUL after the label, L = 256.
    std::string bare = "GROUPKEY-PUSH ACK";
    CHECK(key != openssl_hmac_sha256(key_bytes(kek), cat({Bytes(bare.begin(), bare.end()),
                                                          spi_bytes(kek), be16(512)})));
    CHECK(key != expected_ack_key(kek, Prf{EVP_sha256(), 256}));
}

TEST_CASE("ack datagram is reproduced byte for byte from hand-laid octets", "[push][ack]") {
    SECTION("reference KEK, IPv4 member, REKEY_ACK_KEK_SHA256: the Python-computed datagram") {
        KekPolicy kek = reference_kek();
        IpAddress member = IpAddress::v4(10, 248, 0, 2);
        Bytes built = build_ack(kek, suite(1), 1, member);
        CHECK(built == expected_ack(kek, 1, member));
        CHECK(built == from_hex("bc69f081d589998325283a0ce95baebc081023000000000000000054"
                                "12000024197c2fda0ef54fb15eca6c5d8db9c4783611674d6dcab717"
                                "cfa09c56fba1c9ec05000008000000010000000c010000000af80002"));
    }
    SECTION("reference KEK, IPv4 member, REKEY_ACK_KEK_SHA512: the Python-computed datagram") {
        KekPolicy kek = reference_kek();
        IpAddress member = IpAddress::v4(10, 248, 0, 2);
        Bytes built = build_ack(kek, suite(3), 1, member);
        CHECK(built == expected_ack(kek, 1, member, kSha512));
        CHECK(built == from_hex("bc69f081d589998325283a0ce95baebc081023000000000000000074"
                                "120000446e8f2128b8d2eb21f71cf1a7dd9d1780067bf8aaaf97e4be"
                                "21b4e703e710fe84db0caa012b10d7f9c4190b5fd0a496699e103ef7"
                                "e6f5aca47af050ec0153be8f05000008000000010000000c01000000"
                                "0af80002"));
    }
    SECTION("AES KEK, IPv6 member, large SEQ") {
        KekPolicy kek = aes_kek();
        auto member = IpAddress::parse("2001:db8::42");
        REQUIRE(member);
        Bytes built = build_ack(kek, suite(1), 0x01020304, *member);
        CHECK(built == expected_ack(kek, 0x01020304, *member));
        CHECK(built.size() == 28 + 36 + 8 + 24);
        CHECK(build_ack(kek, suite(3), 0x01020304, *member) ==
              expected_ack(kek, 0x01020304, *member, kSha512));
    }
}

TEST_CASE("ack header and payload fields, one by one", "[push][ack]") {
    KekPolicy kek = aes_kek();
    IpAddress member = IpAddress::v4(192, 0, 2, 7);
    Bytes a = build_ack(kek, suite(1), 5, member);
    REQUIRE(a.size() == 28 + 36 + 8 + 12);
    CHECK(Bytes(a.begin(), a.begin() + 16) == spi_bytes(kek)); // cookies = the push's (3.1)
    CHECK(a[16] == 8);                                         // first payload HASH
    CHECK(a[17] == 0x10);                                      // ISAKMP 1.0
    CHECK(a[18] == 35);                                        // GROUPKEY-PUSH-ACK
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
    SECTION("ID port not 0, rehashed (3.4: Protocol ID and Port MUST be 0)") {
        Bytes d = good;
        d[79] = 0x50; // port 848 would be 0x0350; any non-zero port
        Bytes h = openssl_hmac_sha256(expected_ack_key(kek), Bytes(d.begin() + 64, d.end()));
        std::copy(h.begin(), h.end(), d.begin() + 32);
        refused(d, "port");
    }
    SECTION("a SHA-512 ack checked by a KEK that asks for SHA-256") {
        refused(expected_ack(kek, 77, member, kSha512), "HASH");
    }
    SECTION("a SHA-256 ack checked by a KEK that asks for SHA-512") {
        kek.ack_type = 3;
        refused(good, "HASH");
        auto r = verify_ack(expected_ack(kek, 77, member, kSha512), kek);
        INFO(r.reason);
        CHECK(r.valid);
    }
    SECTION("a KEK whose request gdoid cannot answer verifies nothing") {
        kek.ack_type = 2;
        refused(good, "LKH");
        kek.ack_request = AckRequest::none;
        refused(good, "asks for no ack");
    }
}
