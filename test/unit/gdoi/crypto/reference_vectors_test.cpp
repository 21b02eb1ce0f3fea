// Our crypto against a live run of an independent key server (test/vectors/reference-ks):
// key expansion, Phase 1 and Phase 2 IVs, HASH_I/HASH_R, HASH(1)-HASH(4), KEK decryption and
// push signatures. A small payload walker is written here so the test does not depend on the
// codec under test elsewhere.
#include "gdoi/crypto/ike_keys.hpp"
#include "gdoi/crypto/isakmp_cipher.hpp"
#include "gdoi/crypto/rsa_signature.hpp"
#include "test/support/pcap_reader.hpp"

#include <catch2/catch.hpp>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>

using namespace gdoi;
using namespace gdoi::crypto;
using test_support::from_hex;
using test_support::to_hex;
using Bytes = std::vector<uint8_t>;

namespace {

struct Payload {
    uint8_t type;
    size_t offset; // of the generic header, from the start of the message
    size_t length; // including the generic header
};

// Walks the payload chain of a plaintext ISAKMP message.
std::vector<Payload> walk(const Bytes& message) {
    REQUIRE(message.size() >= 28);
    std::vector<Payload> out;
    uint8_t type = message[16];
    size_t offset = 28;
    while (type != 0) {
        REQUIRE(offset + 4 <= message.size());
        size_t length = size_t(message[offset + 2]) << 8 | message[offset + 3];
        REQUIRE(length >= 4);
        REQUIRE(offset + length <= message.size());
        out.push_back({type, offset, length});
        type = message[offset];
        offset += length;
    }
    return out;
}

Bytes slice(const Bytes& b, size_t from, size_t length) {
    REQUIRE(from + length <= b.size());
    return Bytes(b.begin() + long(from), b.begin() + long(from + length));
}
Bytes body(const Bytes& m, const Payload& p) {
    return slice(m, p.offset + 4, p.length - 4);
}
Bytes from(const Bytes& m, size_t offset, size_t end) {
    return slice(m, offset, end - offset);
}
size_t end_of(const std::vector<Payload>& ps) {
    return ps.back().offset + ps.back().length;
}

const Payload& find(const std::vector<Payload>& ps, uint8_t type) {
    for (const auto& p : ps)
        if (p.type == type) return p;
    FAIL("payload type " << int(type) << " not found");
    return ps.front();
}

Bytes bytes_of(const SecretBytes& s) {
    return Bytes(s.reveal().begin(), s.reveal().end());
}

const Bytes icookie = from_hex("b490d4af4067730a");
const Bytes rcookie = from_hex("2862abf21d67b784");
const SecretBytes skeyid_a(from_hex("54542883ebbafff679a70b614657e066a90aa452"));
const SecretBytes skeyid_e(from_hex("0edc118879a7191b89f1e35cf0479613889d556e"));
const char* phase1_key_hex = "e7f22efaa18ea24c8df739f4a88c7d406a13a251acaa427d";

struct Captures {
    std::vector<test_support::UdpDatagram> wire, plain, decrypted;
    Captures()
        : wire(test_support::read_udp_datagrams(test_support::reference_vector_path("wire.pcap"))),
          plain(test_support::read_udp_datagrams(
              test_support::reference_vector_path("ks-plaintext-log.pcap"))),
          decrypted(test_support::read_udp_datagrams(
              test_support::reference_vector_path("wire-pushes-decrypted.pcap"))) {}
};

const Captures& captures() {
    static const Captures c;
    return c;
}

// Frame n (1-based) of a capture.
const Bytes& frame(const std::vector<test_support::UdpDatagram>& c, size_t n) {
    REQUIRE(n >= 1);
    REQUIRE(n <= c.size());
    return c[n - 1].payload;
}

Bytes mid_bytes(const Bytes& message) {
    return slice(message, 20, 4);
}

} // namespace

TEST_CASE("reference: SKEYID_e expands to the Phase 1 3DES key", "[crypto][reference]") {
    auto key = expand_encryption_key(HashAlgorithm::sha1, skeyid_e, 24);
    CHECK(to_hex(bytes_of(key)) == phase1_key_hex);
}

TEST_CASE("reference: HASH_I and HASH_R of Main Mode verify with SKEYID from the PSK",
          "[crypto][reference]") {
    const auto& c = captures();
    const Bytes& mm1 = frame(c.plain, 1);
    const Bytes& mm3 = frame(c.plain, 3);
    const Bytes& mm4 = frame(c.plain, 4);
    const Bytes& mm5 = frame(c.plain, 5);
    const Bytes& mm6 = frame(c.plain, 6);
    const Bytes sai_b = body(mm1, find(walk(mm1), 1));
    auto p3 = walk(mm3), p4 = walk(mm4), p5 = walk(mm5), p6 = walk(mm6);
    const Bytes gxi = body(mm3, find(p3, 4)), gxr = body(mm4, find(p4, 4));
    const Bytes ni = body(mm3, find(p3, 10)), nr = body(mm4, find(p4, 10));
    CHECK(gxi.size() == 128);
    auto skeyid = skeyid_pre_shared(HashAlgorithm::sha1,
                                    SecretBytes(std::string_view("mekmitasdigoat")), ni, nr);
    // RFC 2409 section 5: HASH_I = prf(SKEYID, g^xi | g^xr | CKY-I | CKY-R | SAi_b | IDii_b)
    auto hash_i = hmac_public(HashAlgorithm::sha1, skeyid.reveal(),
                              {gxi, gxr, icookie, rcookie, sai_b, body(mm5, find(p5, 5))});
    CHECK(hash_i == body(mm5, find(p5, 8)));
    // HASH_R = prf(SKEYID, g^xr | g^xi | CKY-R | CKY-I | SAi_b | IDir_b)
    auto hash_r = hmac_public(HashAlgorithm::sha1, skeyid.reveal(),
                              {gxr, gxi, rcookie, icookie, sai_b, body(mm6, find(p6, 5))});
    CHECK(hash_r == body(mm6, find(p6, 8)));
    auto wrong = skeyid_pre_shared(HashAlgorithm::sha1,
                                   SecretBytes(std::string_view("mekmitasdigoaT")), ni, nr);
    CHECK(hmac_public(HashAlgorithm::sha1, wrong.reveal(),
                      {gxi, gxr, icookie, rcookie, sai_b, body(mm5, find(p5, 5))}) !=
          body(mm5, find(p5, 8)));
}

TEST_CASE("reference: Main Mode 5/6 and PULL 1-4 decrypt with the derived IV chain",
          "[crypto][reference]") {
    const auto& c = captures();
    const Bytes gxi = body(frame(c.plain, 3), find(walk(frame(c.plain, 3)), 4));
    const Bytes gxr = body(frame(c.plain, 4), find(walk(frame(c.plain, 4)), 4));
    IsakmpCipher cipher(CbcCipher::des3, HashAlgorithm::sha1,
                        expand_encryption_key(HashAlgorithm::sha1, skeyid_e, 24),
                        phase1_initial_iv(HashAlgorithm::sha1, gxi, gxr, 8));
    for (size_t n = 5; n <= 10; ++n) {
        CAPTURE(n);
        const Bytes& wire = frame(c.wire, n);
        const Bytes& plain = frame(c.plain, n);
        REQUIRE((wire[19] & 0x01) == 0x01); // E flag on the wire
        uint32_t mid = uint32_t(wire[20]) << 24 | uint32_t(wire[21]) << 16 |
                       uint32_t(wire[22]) << 8 | wire[23];
        auto decrypted = cipher.decrypt(mid, from(wire, 28, wire.size()));
        REQUIRE(decrypted);
        // The plaintext log holds the message without CBC padding.
        REQUIRE(plain.size() - 28 <= decrypted->plaintext.size());
        CHECK(Bytes(decrypted->plaintext.begin(),
                    decrypted->plaintext.begin() + long(plain.size() - 28)) ==
              from(plain, 28, plain.size()));
        cipher.commit(mid, decrypted->next_iv);
        if (n == 6) cipher.finish_phase1();
    }
    // A wrong IV (the Phase 1 IV instead of the M-ID one) does not give the plaintext.
    IsakmpCipher wrong(CbcCipher::des3, HashAlgorithm::sha1,
                       expand_encryption_key(HashAlgorithm::sha1, skeyid_e, 24),
                       phase1_initial_iv(HashAlgorithm::sha1, gxi, gxr, 8));
    const Bytes& pull1 = frame(c.wire, 7);
    auto garbage = wrong.decrypt(0, from(pull1, 28, pull1.size()));
    REQUIRE(garbage);
    CHECK(Bytes(garbage->plaintext.begin(), garbage->plaintext.begin() + 16) !=
          slice(frame(c.plain, 7), 28, 16));
}

TEST_CASE("reference: HASH(1)-HASH(4) of GROUPKEY-PULL verify with SKEYID_a, not flipped",
          "[crypto][reference]") {
    const auto& c = captures();
    const Bytes &m1 = frame(c.plain, 7), &m2 = frame(c.plain, 8), &m3 = frame(c.plain, 9),
                &m4 = frame(c.plain, 10);
    auto p1 = walk(m1), p2 = walk(m2), p3 = walk(m3), p4 = walk(m4);
    REQUIRE(p1.front().type == 8);
    const Bytes mid = mid_bytes(m1);
    const Bytes ni_b = body(m1, find(p1, 10)), nr_b = body(m2, find(p2, 10));
    CHECK(ni_b.size() == 16);
    auto prf = [&](ByteSpans parts) {
        return hmac_public(HashAlgorithm::sha1, skeyid_a.reveal(), parts);
    };
    // HASH(1) = prf(SKEYID_a, M-ID | Ni | ID)
    Bytes rest1 = from(m1, p1[1].offset, end_of(p1));
    CHECK(prf({mid, rest1}) == body(m1, p1[0]));
    // HASH(2) = prf(SKEYID_a, M-ID | Ni_b | Nr | SA)
    Bytes rest2 = from(m2, p2[1].offset, end_of(p2));
    CHECK(prf({mid, ni_b, rest2}) == body(m2, p2[0]));
    // HASH(3) = prf(SKEYID_a, M-ID | Ni_b | Nr_b [| GAP]) — this server sends HASH only.
    REQUIRE(p3.size() == 1);
    CHECK(prf({mid, ni_b, nr_b}) == body(m3, p3[0]));
    // HASH(4) = prf(SKEYID_a, M-ID | Ni_b | Nr_b | SEQ | KD)
    Bytes rest4 = from(m4, p4[1].offset, end_of(p4));
    CHECK(p4[1].type == 18);
    CHECK(prf({mid, ni_b, nr_b, rest4}) == body(m4, p4[0]));
    // One flipped bit anywhere in the hashed payloads breaks each hash.
    for (Bytes* rest : {&rest1, &rest2, &rest4}) {
        for (size_t i = 0; i < rest->size(); i += 13) {
            Bytes flipped = *rest;
            flipped[i] ^= 0x04;
            if (rest == &rest1) CHECK(prf({mid, flipped}) != body(m1, p1[0]));
            if (rest == &rest2) CHECK(prf({mid, ni_b, flipped}) != body(m2, p2[0]));
            if (rest == &rest4) CHECK(prf({mid, ni_b, nr_b, flipped}) != body(m4, p4[0]));
        }
    }
}

namespace {

// The KEK key packet (KD type 2) of a decrypted message: IV || key from KEK_ALGORITHM_KEY.
std::optional<std::pair<Bytes, Bytes>> kek_from_kd(const Bytes& message) {
    for (const auto& p : walk(message)) {
        if (p.type != 17) continue;
        Bytes kd = body(message, p);
        size_t count = size_t(kd[0]) << 8 | kd[1];
        size_t offset = 4;
        for (size_t i = 0; i < count; ++i) {
            uint8_t type = kd[offset];
            size_t length = size_t(kd[offset + 2]) << 8 | kd[offset + 3];
            size_t spi_size = kd[offset + 4];
            if (type == 2) {
                size_t a = offset + 5 + spi_size;
                while (a < offset + length) {
                    uint16_t attribute = uint16_t(kd[a] << 8 | kd[a + 1]);
                    size_t alen = size_t(kd[a + 2]) << 8 | kd[a + 3];
                    if ((attribute & 0x7fff) == 1 && !(attribute & 0x8000)) {
                        Bytes value = slice(kd, a + 4, alen);
                        REQUIRE(value.size() == 32);
                        return std::make_pair(slice(value, 0, 8), slice(value, 8, 24));
                    }
                    a += (attribute & 0x8000) ? 4 : 4 + alen;
                }
            }
            offset += length;
        }
    }
    return std::nullopt;
}

} // namespace

TEST_CASE("reference: every push decrypts with its KEK and its signature verifies",
          "[crypto][reference]") {
    const auto& c = captures();
    std::ifstream der_file(test_support::reference_vector_path("ks-rsa-public.der"),
                           std::ios::binary);
    const Bytes der((std::istreambuf_iterator<char>(der_file)), std::istreambuf_iterator<char>());
    auto ks_key = RsaPublicKey::from_der(der);
    CHECK(ks_key.modulus_bits() == 2048);

    // The initial KEK from the README; it also arrives in PULL message 4's KD.
    Bytes iv = from_hex("254ccc0ecd25a5ef");
    Bytes key = from_hex("daf94bd9ab8f12c98c0df8c4f7645a5c29f87f4aa710aa94");
    auto pulled = kek_from_kd(frame(c.plain, 10));
    REQUIRE(pulled);
    CHECK(pulled->first == iv);
    CHECK(pulled->second == key);

    size_t pushes = 0;
    for (size_t n = 1; n <= c.wire.size(); ++n) {
        const Bytes& wire = frame(c.wire, n);
        if (wire[18] != 33) continue; // GROUPKEY-PUSH only
        CAPTURE(n);
        ++pushes;
        const Bytes& expected = frame(c.decrypted, n);
        auto plain =
            cbc_decrypt(CbcCipher::des3, SecretBytes(key), iv, from(wire, 28, wire.size()));
        CHECK(plain == from(expected, 28, expected.size()));

        Bytes message = slice(wire, 0, 28);
        message.insert(message.end(), plain.begin(), plain.end());
        auto payloads = walk(message);
        const Payload& sig = payloads.back();
        REQUIRE(sig.type == 9);
        // Signed: "rekey" | HDR (E flag set, length without padding) | payloads before SIG.
        Bytes signed_data = from(message, 0, sig.offset);
        size_t unpadded = end_of(payloads);
        signed_data[24] = uint8_t(unpadded >> 24);
        signed_data[25] = uint8_t(unpadded >> 16);
        signed_data[26] = uint8_t(unpadded >> 8);
        signed_data[27] = uint8_t(unpadded);
        const Bytes rekey = {'r', 'e', 'k', 'e', 'y'};
        const Bytes signature = body(message, sig);
        CHECK(ks_key.verify(HashAlgorithm::sha1, {rekey, signed_data}, signature) ==
              SignatureForm::bare_digest);
        // The padded length (what the header says on the wire) is not what was signed.
        if (unpadded != wire.size()) {
            Bytes padded_header = signed_data;
            padded_header[27] = uint8_t(wire.size());
            padded_header[26] = uint8_t(wire.size() >> 8);
            CHECK_FALSE(ks_key.verify(HashAlgorithm::sha1, {rekey, padded_header}, signature));
        }
        for (size_t i = 0; i < signed_data.size(); i += 29) {
            Bytes flipped = signed_data;
            flipped[i] ^= 0x10;
            CHECK_FALSE(ks_key.verify(HashAlgorithm::sha1, {rekey, flipped}, signature));
        }
        Bytes bad_signature = signature;
        bad_signature[signature.size() / 2] ^= 0x01;
        CHECK_FALSE(ks_key.verify(HashAlgorithm::sha1, {rekey, signed_data}, bad_signature));

        // A KEK rekey carries the next KEK (under the old SPI); later pushes use it.
        if (auto next = kek_from_kd(message)) {
            iv = next->first;
            key = next->second;
        }
    }
    CHECK(pushes == 5); // frames 11, 12 (KEK rekey), 13, 19 and the DELETE in 21
}
