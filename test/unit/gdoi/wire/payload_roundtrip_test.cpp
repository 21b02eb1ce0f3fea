// Build -> encode -> decode -> equal for every payload type and attribute form, plus exact
// octets for the RFC layouts where a hand check is short enough to read.
#include <catch2/catch.hpp>

#include "gdoi/wire/message.hpp"
#include "test/support/pcap_reader.hpp"

using namespace gdoi;
using namespace gdoi::wire;
using test_support::from_hex;

namespace {

Message round_trip(uint8_t exchange_type, std::vector<Payload> payloads, ServerQuirks q = {}) {
    Message m;
    m.header.exchange_type = exchange_type;
    m.header.message_id = 0x01020304;
    m.payloads = std::move(payloads);
    auto bytes = encode_message(m, EncodeContext{q});
    Message back = decode_message(bytes, DecodeContext{q, TrailingData::reject});
    REQUIRE(back.payloads.size() == m.payloads.size());
    for (size_t i = 0; i < m.payloads.size(); ++i) {
        INFO("payload " << i + 1 << " " << payload_name(m.payloads[i].type()));
        CHECK(back.payloads[i].body == m.payloads[i].body);
        CHECK(back.payloads[i].offset != 0);
    }
    CHECK(back.header.length == bytes.size());
    CHECK(encode_message(back, EncodeContext{q}) == bytes);
    return back;
}

SaKekPayload kek_payload() {
    SaKekPayload k;
    k.source = {id_type::ipv4_addr, 848, {192, 0, 2, 1}};
    k.destination = {id_type::ipv4_addr, 848, {239, 10, 1, 1}};
    for (size_t i = 0; i < k.spi.size(); ++i) k.spi[i] = static_cast<uint8_t>(i);
    k.attributes = {Attribute::tv(kek_attr::algorithm, kek_algorithm::aes),
                    Attribute::tv(kek_attr::key_length, 128),
                    Attribute::tlv_u32(kek_attr::key_lifetime, 86400)};
    return k;
}

SaTekPayload tek_payload(uint32_t spi) {
    SaTekPayload t;
    t.source = {id_type::ipv4_addr_subnet, 0, {10, 1, 0, 0, 255, 255, 0, 0}};
    t.destination = {id_type::ipv6_addr_range, 0, std::vector<uint8_t>(32, 0x20)};
    t.transform_id = esp_transform::aes_gcm_16;
    t.spi = spi;
    t.attributes = {Attribute::tv(tek_attr::key_length, 256),
                    Attribute::tlv_u32(tek_attr::sa_life_duration, 7200)};
    return t;
}

} // namespace

TEST_CASE("attributes: TV and TLV forms round-trip and read as numbers", "[wire][attributes]") {
    Writer w;
    std::vector<Attribute> attrs = {Attribute::tv(1, 0xbeef), Attribute::tlv(2, from_hex("0102")),
                                    Attribute::tlv_u32(3, 0x12345678),
                                    Attribute::number_attr(4, 70000), Attribute::number_attr(5, 7),
                                    Attribute::tlv(6, {})};
    encode_attributes(w, attrs);
    CHECK(w.data() == from_hex("8001beef 00020002 0102 00030004 12345678 00040004 00011170 80050007 00060000"));
    Reader r(w.data(), "test");
    auto back = decode_attributes(r);
    CHECK(back == attrs);
    CHECK(back[0].number() == 0xbeefu);
    CHECK(back[2].number() == 0x12345678u);
    CHECK(back[3].form == AttributeForm::tlv);
    CHECK(back[4].form == AttributeForm::tv);
    CHECK_FALSE(back[5].number());
    CHECK_THROWS_AS(encode_attribute(w, Attribute{1, AttributeForm::tv, {1}}), EncodeError);
    CHECK_THROWS_AS(encode_attribute(w, Attribute::tv(0x8001, 1)), EncodeError);
}

TEST_CASE("reader names the field, the payload and the absolute offset", "[wire][reader]") {
    std::vector<uint8_t> data = {1, 2, 3, 4, 5, 6};
    Reader outer(data, "outer", 100);
    outer.u8("first");
    Reader sub = outer.sub(3, "SA TEK", "body");
    CHECK(sub.offset() == 101);
    sub.u8("Protocol-ID");
    try {
        sub.u32("SPI");
        FAIL("read past the end");
    } catch (const DecodeError& e) {
        CHECK(std::string(e.what()) == "SA TEK at offset 102: expected 4 octets of SPI, 2 left");
        CHECK(e.notify() == NotifyType::payload_malformed);
        CHECK(e.offset() == 102);
        CHECK(e.context() == "SA TEK");
    }
    CHECK(outer.remaining() == 2);
    CHECK_THROWS_WITH(outer.assert_done(), "outer at offset 104: 2 octets left over after the last field");
}

TEST_CASE("writer patches lengths and refuses ones that do not fit", "[wire][writer]") {
    Writer w;
    w.u8(7);
    size_t at = w.placeholder_u16();
    w.zeros(5);
    w.patch_length_u16(at, 0, "thing");
    CHECK(w.data() == from_hex("07 0008 0000000000"));
    Writer big;
    size_t big_at = big.placeholder_u16();
    big.zeros(70000);
    CHECK_THROWS_AS(big.patch_length_u16(big_at, 0, "thing"), EncodeError);
}

TEST_CASE("Phase 1 payloads round-trip", "[wire][phase1]") {
    SaPayload sa;
    Transform t1{1, kTransformKeyIke, {Attribute::tv(ike_attr::encryption_algorithm, 7),
                                       Attribute::tlv_u32(ike_attr::life_duration, 86400)}};
    Transform t2{2, kTransformKeyIke, {Attribute::tv(ike_attr::encryption_algorithm, 5)}};
    sa.proposals = {Proposal{1, kProtoIsakmp, {}, {t1, t2}}, Proposal{2, 3, {1, 2, 3, 4}, {t2}}};
    NotifyPayload n{doi::ipsec, kProtoIsakmp, 24578, std::vector<uint8_t>(16, 9), {1, 2}};
    round_trip(exchange::identity_protection,
               {sa, KePayload{std::vector<uint8_t>(128, 1)}, NoncePayload{std::vector<uint8_t>(16, 2)},
                IdPayload::ipv4(IpAddress::v4(192, 0, 2, 1), 17, 500),
                HashPayload{std::vector<uint8_t>(20, 3)}, SigPayload{std::vector<uint8_t>(256, 4)},
                CertPayload{cert_encoding::x509_signature, std::vector<uint8_t>(300, 5)}, n,
                VendorIdPayload{std::vector<uint8_t>(16, 6)}});
}

TEST_CASE("ID payload: a Phase 1 identity is ID_IPV4_ADDR or ID_IPV6_ADDR by the address family",
          "[wire][id]") {
    // RFC 2407 4.6.2.1: ID_IPV6_ADDR (5) carries a 16-octet address; an IPv6 group's member
    // must not send the first four octets of its address as ID_IPV4_ADDR.
    auto v4 = IdPayload::address(IpAddress::v4(192, 0, 2, 1));
    CHECK(encode_payload_body(v4) == from_hex("01000000c0000201"));
    auto v6 = IdPayload::address(*IpAddress::parse("2001:db8:ff01::1"), 17, 848);
    CHECK(encode_payload_body(v6) ==
          from_hex("0511035020010db8ff0100000000000000000001"));
    round_trip(exchange::identity_protection, {v4, v6});
}

TEST_CASE("ID payload: KEY_ID group number in both byte orders", "[wire][id]") {
    auto be = IdPayload::group_key_id(1234);
    auto le = IdPayload::group_key_id(1234, GroupIdByteOrder::little_endian);
    CHECK(encode_payload_body(be) == from_hex("0b000000000004d2"));
    CHECK(encode_payload_body(le) == from_hex("0b000000d2040000"));
    CHECK(be.names_group(1234));
    CHECK(le.names_group(1234));
    CHECK_FALSE(le.names_group(1235));
    CHECK(le.group_id(GroupIdByteOrder::network) == 0xd2040000u);
    round_trip(exchange::groupkey_pull, {be, le});
}

TEST_CASE("GDOI payloads round-trip in both ID length widths", "[wire][gdoi]") {
    KeyPacket kp_kek{kd_type::kek, std::vector<uint8_t>(16, 7),
                     {{kd_kek_attr::algorithm_key, AttributeForm::tlv, SecretBytes(std::vector<uint8_t>(32, 1))}}};
    KeyPacket kp_tek{kd_type::tek, {1, 2, 3, 4},
                     {{kd_tek_attr::algorithm_key, AttributeForm::tlv, SecretBytes(std::vector<uint8_t>(36, 2))}}};
    GapPayload gap{{Attribute::tv(gap_attr::activation_time_delay, 60)}};
    for (uint8_t width : {uint8_t{1}, uint8_t{2}}) {
        INFO("ID length width " << int(width));
        auto kek = kek_payload();
        kek.id_length_octets = width;
        auto tek1 = tek_payload(0x01020304);
        auto tek2 = tek_payload(0x05060708);
        tek1.id_length_octets = tek2.id_length_octets = width;
        GdoiSaPayload sa{doi::gdoi, 0, {kek, gap, tek1, tek2}};
        DeletePayload d{doi::gdoi, tek_protocol::esp, 4, {{1, 2, 3, 4}, {0, 0, 0, 0}}};
        auto back = round_trip(exchange::groupkey_push,
                               {SeqPayload{42}, d, sa, KdPayload{{kp_kek, kp_tek}},
                                SigPayload{std::vector<uint8_t>(64, 9)}});
        auto* got = back.find<GdoiSaPayload>();
        REQUIRE(got);
        CHECK(got->teks().size() == 2);
        CHECK(got->teks()[1]->spi == 0x05060708u);
        bool saw = false;
        for (auto& o : back.observations)
            saw |= o.kind == (width == 1 ? ObservationKind::sa_tek_id_length_1
                                         : ObservationKind::sa_tek_id_length_2);
        CHECK(saw);
    }
}

TEST_CASE("SA KEK with the reference server's 2 extra octets round-trips", "[wire][gdoi]") {
    auto kek = kek_payload();
    kek.extra_reserved_octets = 2;
    auto back = round_trip(exchange::groupkey_pull, {GdoiSaPayload{doi::gdoi, 0, {kek}}});
    CHECK(back.find<GdoiSaPayload>()->kek()->extra_reserved_octets == 2);
}

TEST_CASE("an explicit ID length quirk decodes only that width", "[wire][gdoi]") {
    auto tek = tek_payload(1);
    tek.id_length_octets = 2;
    Message m;
    m.header.exchange_type = exchange::groupkey_pull;
    m.payloads = {GdoiSaPayload{doi::gdoi, 0, {tek}}};
    auto bytes = encode_message(m);
    ServerQuirks one;
    one.sa_tek_id_length = IdLengthWidth::one_octet;
    CHECK_THROWS_AS(decode_message(bytes, DecodeContext{one}), DecodeError);
    ServerQuirks two;
    two.sa_tek_id_length = IdLengthWidth::two_octets;
    CHECK(decode_message(bytes, DecodeContext{two}).find<GdoiSaPayload>()->teks()[0]->spi == 1u);
    // Encoding follows the quirk when it names a width.
    tek.id_length_octets = 0;
    m.payloads = {GdoiSaPayload{doi::gdoi, 0, {tek}}};
    CHECK(encode_message(m, EncodeContext{two}) == bytes);
}

TEST_CASE("unknown payloads: kept when not critical, INVALID-PAYLOAD-TYPE when critical", "[wire]") {
    Payload unknown = UnknownPayload{200, {1, 2, 3}};
    auto back = round_trip(exchange::groupkey_pull, {HashPayload{{1, 2, 3, 4}}, unknown});
    CHECK(back.payloads[1].type() == 200);
    unknown.critical = true;
    Message m;
    m.payloads = {unknown};
    try {
        decode_message(encode_message(m));
        FAIL("accepted a critical unknown payload");
    } catch (const DecodeError& e) {
        CHECK(e.notify() == NotifyType::invalid_payload_type);
    }
}

TEST_CASE("raw payload bytes and chain helpers", "[wire][helpers]") {
    Message m;
    m.header.exchange_type = exchange::groupkey_pull;
    m.header.flags = flags::encryption;
    m.payloads = {HashPayload{std::vector<uint8_t>(20, 1)}, NoncePayload{std::vector<uint8_t>(16, 2)},
                  GdoiSaPayload{doi::gdoi, 0, {kek_payload()}}};
    auto bytes = encode_message(m);
    auto back = decode_message(bytes);
    CHECK(payload_bytes(bytes, back.payloads[1]).size() == 20);
    CHECK(payload_body_bytes(bytes, back.payloads[1]).size() == 16);
    auto nr_sa = payload_range_bytes(bytes, back.payloads[1], back.payloads[2]);
    CHECK(nr_sa.data() == bytes.data() + 28 + 24);
    CHECK(nr_sa.size() == bytes.size() - 28 - 24);
    auto chain = walk_payload_chain(bytes);
    REQUIRE(chain.payloads.size() == 3);
    CHECK(chain.payloads[2].type == payload::sa);
    CHECK(chain.end == bytes.size());
    auto padded = bytes;
    padded.resize(bytes.size() + 7, 0);
    rewrite_header_length(padded, static_cast<uint32_t>(padded.size()));
    CHECK(find_chain_end(padded) == bytes.size());
    CHECK(decode_message(padded, DecodeContext{{}, TrailingData::padding}).payloads.size() == 3);
    CHECK_THROWS_AS(decode_message(padded), DecodeError);
    set_header_flags(padded, 0);
    CHECK(decode_header(padded).flags == 0);
}
