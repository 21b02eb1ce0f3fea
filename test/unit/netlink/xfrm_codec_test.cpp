// Pure tests: algorithm table, selector packing, attribute size table, message round trips,
// extended-ack decoding. No kernel involved.
#include "netlink/netlink_socket.hpp"
#include "netlink/ownership.hpp"
#include "netlink/xfrm_codec.hpp"
#include "netlink/xfrm_translate.hpp"

#include <arpa/inet.h>
#include <catch2/catch.hpp>
#include <cstring>
#include <map>
#include <sys/socket.h>

using namespace netlink;

namespace {

IpPrefix prefix(const char* text) {
    return *IpPrefix::parse(text);
}
IpAddress address(const char* text) {
    return *IpAddress::parse(text);
}

gdoi::SecretBytes key_of(size_t bytes, uint8_t seed) {
    gdoi::SecretBytes key(bytes);
    auto k = key.reveal_mutable();
    for (size_t i = 0; i < bytes; ++i)
        k[i] = uint8_t(seed + i);
    return key;
}

XfrmState sample_state() {
    XfrmState s;
    s.id.destination = address("100.127.0.1");
    s.id.spi = 0x10000001;
    s.id.mark = XfrmMark{0x100, 0xf00};
    s.source = address("192.0.2.10");
    s.reqid = owned_reqid(7);
    s.selector.source = prefix("10.1.0.0/16");
    s.selector.destination = prefix("10.2.0.0/16");
    s.encryption = XfrmAlgorithm{"cbc(aes)", key_of(32, 1), 0};
    s.authentication = XfrmAlgorithm{"hmac(sha256)", key_of(32, 0x40), 128};
    s.no_pmtu_discovery = true;
    s.output_sequence_may_wrap = true;
    s.set_mark = XfrmMark{0x00200000, 0x00200000};
    s.direction = XfrmStateDirection::out;
    s.hard_lifetime_seconds = 3600;
    return s;
}

// Walks a built message's attributes: type -> payload.
std::map<uint16_t, std::vector<uint8_t>> attributes_of(MessageBuilder& m, size_t header) {
    std::map<uint16_t, std::vector<uint8_t>> out;
    auto bytes = m.bytes();
    size_t at = NLMSG_HDRLEN + NLMSG_ALIGN(header);
    while (at + sizeof(nlattr) <= bytes.size()) {
        nlattr a;
        std::memcpy(&a, bytes.data() + at, sizeof a);
        out[a.nla_type] = {bytes.begin() + at + sizeof a, bytes.begin() + at + a.nla_len};
        at += NLA_ALIGN(a.nla_len);
    }
    return out;
}

} // namespace

TEST_CASE("algorithm table gives kernel names and RFC truncations", "[netlink][pure]") {
    struct Expected {
        const char* name;
        uint32_t trunc;
    };
    for (auto [name, trunc] :
         {Expected{"hmac(md5)", 96}, Expected{"hmac(sha1)", 96}, Expected{"hmac(sha256)", 128},
          Expected{"hmac(sha384)", 192}, Expected{"hmac(sha512)", 256}}) {
        const AlgorithmInfo* info = find_algorithm(name);
        REQUIRE(info);
        CHECK(info->kind == AlgorithmKind::authentication);
        CHECK(info->icv_or_trunc_bits == trunc);
    }
    CHECK(find_esp_transform(3)->kernel_name == "cbc(des3_ede)");
    CHECK(find_esp_transform(12)->kernel_name == "cbc(aes)");
    CHECK(find_esp_transform(20)->kernel_name == "rfc4106(gcm(aes))");
    CHECK(find_esp_transform(2) == nullptr); // ESP_DES is not offered
    CHECK(find_auth_algorithm(1)->kernel_name == "hmac(md5)");
    CHECK(find_auth_algorithm(7)->kernel_name == "hmac(sha512)");
    CHECK(find_algorithm("cbc(des)") == nullptr);
}

TEST_CASE("algorithm checks name kind, key length and truncation", "[netlink][pure]") {
    CHECK_FALSE(check_algorithm({"cbc(aes)", key_of(16, 0), 0}, AlgorithmKind::encryption));
    CHECK_FALSE(check_algorithm({"cbc(des3_ede)", key_of(24, 0), 0}, AlgorithmKind::encryption));
    CHECK_FALSE(check_algorithm({"rfc4106(gcm(aes))", key_of(36, 0), 128}, AlgorithmKind::aead));
    CHECK(*check_algorithm({"cbc(aes)", key_of(20, 0), 0}, AlgorithmKind::encryption) ==
          "\"cbc(aes)\" cannot take a 160-bit key");
    CHECK(*check_algorithm({"hmac(sha256)", key_of(32, 0), 96}, AlgorithmKind::authentication) ==
          "\"hmac(sha256)\" must be truncated to 128 bits, not 96");
    CHECK(*check_algorithm({"hmac(sha1)", key_of(20, 0), 0}, AlgorithmKind::encryption) ==
          "\"hmac(sha1)\" is not an encryption algorithm");
    CHECK(*check_algorithm({"blowfish", key_of(16, 0), 0}, AlgorithmKind::encryption) ==
          "unsupported algorithm \"blowfish\"");
}

TEST_CASE("selectors pack into the kernel layout and back", "[netlink][pure]") {
    XfrmSelector s;
    s.source = prefix("10.1.2.0/24");
    s.destination = prefix("198.51.100.7/32");
    s.ip_protocol = 17;
    s.source_port = 848;
    s.destination_port = 4500;
    s.ifindex = 3;
    xfrm_selector k = to_xfrm_selector(s);
    CHECK(k.family == AF_INET);
    CHECK(k.prefixlen_s == 24);
    CHECK(k.prefixlen_d == 32);
    CHECK(k.saddr.a4 == htonl(0x0a010200));
    CHECK(k.daddr.a4 == htonl(0xc6336407));
    CHECK(k.sport == htons(848));
    CHECK(k.sport_mask == 0xffff);
    CHECK(k.dport == htons(4500));
    CHECK(k.ifindex == 3);
    CHECK(from_xfrm_selector(k) == s);

    XfrmSelector any6;
    any6.source = prefix("::/0");
    any6.destination = prefix("2001:db8::/32");
    xfrm_selector k6 = to_xfrm_selector(any6);
    CHECK(k6.family == AF_INET6);
    CHECK(k6.sport_mask == 0);
    CHECK(from_xfrm_selector(k6) == any6);

    XfrmSelector mixed = s;
    mixed.destination = prefix("2001:db8::/32");
    CHECK_THROWS_WITH(to_xfrm_selector(mixed), Catch::Contains("mixes IPv4 and IPv6"));
    XfrmSelector too_long = s;
    too_long.source.length = 33;
    CHECK_THROWS_WITH(to_xfrm_selector(too_long), Catch::Contains("prefix length 33"));
}

TEST_CASE("attribute size table rejects wrong sizes before the kernel sees them",
          "[netlink][pure]") {
    const uint8_t four[4] = {}, eight[8] = {};
    CHECK_FALSE(check_xfrm_attribute(XFRMA_MARK, eight));
    CHECK(*check_xfrm_attribute(XFRMA_MARK, four) == "XFRMA_MARK must be 8 octets, not 4");
    CHECK(*check_xfrm_attribute(xfrma_sa_dir, four) == "XFRMA_SA_DIR must be 1 octets, not 4");
    CHECK_FALSE(check_xfrm_attribute(XFRMA_SET_MARK, four));
    CHECK(xfrm_attribute_rule(XFRMA_SA)->size == sizeof(xfrm_usersa_info));
    CHECK(xfrm_attribute_rule(XFRMA_OFFLOAD_DEV)->size == 8);
    CHECK(xfrm_attribute_rule(XFRMA_TMPL)->size == sizeof(xfrm_user_tmpl));

    // An algorithm whose declared key length does not match its payload.
    std::vector<uint8_t> algo(sizeof(xfrm_algo) + 8, 0);
    std::memcpy(algo.data(), "cbc(aes)", 8);
    uint32_t bits = 128;
    std::memcpy(algo.data() + 64, &bits, 4);
    CHECK(*check_xfrm_attribute(XFRMA_ALG_CRYPT, algo) ==
          "XFRMA_ALG_CRYPT declares a 128-bit key: must be 84 octets, not 76");
    algo.resize(sizeof(xfrm_algo) + 16);
    CHECK_FALSE(check_xfrm_attribute(XFRMA_ALG_CRYPT, algo));

    MessageBuilder m(XFRM_MSG_NEWSA, 0);
    CHECK_THROWS_AS(m.put_attribute(XFRMA_MARK, uint32_t(1)), std::logic_error);
    CHECK_THROWS_AS(m.put_attribute(xfrma_sa_dir, uint32_t(1)), std::logic_error);
    // 16 octets of header + 8 for a u32 attribute fill 24 exactly; a mark (12) then overflows.
    MessageBuilder small(XFRM_MSG_NEWSA, 0, 24);
    CHECK_THROWS_AS(small.put_attribute(XFRMA_MARK, xfrm_mark{1, 1}), std::length_error);
    small.put_attribute(XFRMA_SET_MARK, uint32_t(1));
    CHECK(small.bytes().size() == 24);
    CHECK_THROWS_AS(small.put_attribute(XFRMA_SET_MARK_MASK, uint32_t(1)), std::length_error);
}

TEST_CASE("a state message carries every field and decodes back", "[netlink][pure]") {
    XfrmState s = sample_state();
    MessageBuilder m = build_add_state(s, false, {true, 5});
    CHECK(m.header()->nlmsg_type == XFRM_MSG_NEWSA);
    CHECK((m.header()->nlmsg_flags & (NLM_F_CREATE | NLM_F_EXCL)) == (NLM_F_CREATE | NLM_F_EXCL));
    auto attrs = attributes_of(m, sizeof(xfrm_usersa_info));
    REQUIRE(attrs.count(XFRMA_ALG_CRYPT));
    REQUIRE(attrs.count(XFRMA_ALG_AUTH_TRUNC));
    CHECK_FALSE(attrs.count(XFRMA_ALG_AUTH));
    // The key bytes follow the header unchanged.
    const auto& crypt = attrs[XFRMA_ALG_CRYPT];
    REQUIRE(crypt.size() == sizeof(xfrm_algo) + 32);
    CHECK(std::equal(crypt.begin() + sizeof(xfrm_algo), crypt.end(),
                     s.encryption->key.reveal().begin()));
    uint32_t trunc;
    std::memcpy(&trunc, attrs[XFRMA_ALG_AUTH_TRUNC].data() + 68, 4);
    CHECK(trunc == 128);
    uint32_t xflags;
    std::memcpy(&xflags, attrs[XFRMA_SA_EXTRA_FLAGS].data(), 4);
    CHECK(xflags == XFRM_SA_XFLAG_OSEQ_MAY_WRAP);
    CHECK(attrs[xfrma_sa_dir] == std::vector<uint8_t>{xfrm_sa_dir_out});
    xfrm_user_offload offload;
    std::memcpy(&offload, attrs[XFRMA_OFFLOAD_DEV].data(), sizeof offload);
    CHECK(offload.ifindex == 5);
    CHECK(offload.flags == 0); // IPv4, outbound

    DecodedState back = decode_state(m.header());
    CHECK(back.offload_ifindex == 5);
    XfrmState expected = s;
    expected.encryption->key = {};
    expected.authentication->key = {};
    expected.offload_device.reset();
    CHECK(back.state.id == expected.id);
    CHECK(back.state.source == expected.source);
    CHECK(back.state.selector == expected.selector);
    CHECK(back.state.reqid == expected.reqid);
    CHECK(back.state.encryption->name == "cbc(aes)");
    CHECK(back.state.authentication->name == "hmac(sha256)");
    CHECK(back.state.authentication->icv_or_trunc_bits == 128);
    CHECK(back.state.no_pmtu_discovery);
    CHECK(back.state.output_sequence_may_wrap);
    CHECK(back.state.set_mark == expected.set_mark);
    CHECK(back.state.direction == XfrmStateDirection::out);
    CHECK(back.state.hard_lifetime_seconds == 3600);
    CHECK(back.state.if_id == 0);
    CHECK_FALSE(attrs.count(XFRMA_IF_ID));

    // A state of the pre-fragmentation XFRM interface carries its if_id.
    XfrmState interface_state = s;
    interface_state.if_id = 0x6764;
    MessageBuilder with_if_id = build_add_state(interface_state, false, {true, 0});
    auto if_id_attrs = attributes_of(with_if_id, sizeof(xfrm_usersa_info));
    REQUIRE(if_id_attrs.count(XFRMA_IF_ID));
    CHECK(decode_state(with_if_id.header()).state.if_id == 0x6764);

    // Without kernel support the direction attribute is left out entirely.
    MessageBuilder old = build_add_state(s, true, {false, 0});
    CHECK(old.header()->nlmsg_type == XFRM_MSG_UPDSA);
    auto old_attrs = attributes_of(old, sizeof(xfrm_usersa_info));
    CHECK_FALSE(old_attrs.count(xfrma_sa_dir));
    CHECK_FALSE(old_attrs.count(XFRMA_OFFLOAD_DEV));
}

TEST_CASE("AEAD states use XFRMA_ALG_AEAD with the ICV length", "[netlink][pure]") {
    XfrmState s = sample_state();
    s.encryption.reset();
    s.authentication.reset();
    s.aead = XfrmAlgorithm{"rfc4106(gcm(aes))", key_of(20, 9), 0};
    MessageBuilder m = build_add_state(s, false, {});
    auto attrs = attributes_of(m, sizeof(xfrm_usersa_info));
    REQUIRE(attrs.count(XFRMA_ALG_AEAD));
    CHECK_FALSE(attrs.count(XFRMA_ALG_CRYPT));
    uint32_t key_bits, icv;
    std::memcpy(&key_bits, attrs[XFRMA_ALG_AEAD].data() + 64, 4);
    std::memcpy(&icv, attrs[XFRMA_ALG_AEAD].data() + 68, 4);
    CHECK(key_bits == 160);
    CHECK(icv == 128);
    CHECK(decode_state(m.header()).state.aead->icv_or_trunc_bits == 128);
}

TEST_CASE("invalid states are refused before anything is sent", "[netlink][pure]") {
    XfrmState s = sample_state();
    s.aead = XfrmAlgorithm{"rfc4106(gcm(aes))", key_of(20, 9), 0};
    CHECK_THROWS_WITH(build_add_state(s, false, {}), Catch::Contains("AEAD state cannot also"));
    s = sample_state();
    s.source = address("2001:db8::1");
    CHECK_THROWS_AS(build_add_state(s, false, {}), InvalidXfrmObject);
    s = sample_state();
    s.authentication->key = key_of(31, 0);
    CHECK_THROWS_WITH(build_add_state(s, false, {}), Catch::Contains("cannot take a 248-bit key"));
    s = sample_state();
    s.replay_window = 64;
    CHECK_THROWS_WITH(build_add_state(s, false, {}), Catch::Contains("needs ESN"));
}

TEST_CASE("a policy message with templates and mark decodes back", "[netlink][pure]") {
    XfrmPolicy p;
    p.id.selector.source = prefix("2001:db8:1::/48");
    p.id.selector.destination = prefix("2001:db8:2::/48");
    p.id.selector.ip_protocol = 6;
    p.id.selector.destination_port = 443;
    p.id.direction = XfrmPolicyDirection::fwd;
    p.id.mark = XfrmMark{1, 1};
    p.priority = owned_priority(10);
    XfrmTemplate t;
    t.source = address("2001:db8::1");
    t.destination = address("2001:db8::2");
    t.reqid = owned_reqid(3);
    t.optional = true;
    p.templates = {t, t};
    p.templates[1].mode = XfrmMode::transport;
    p.templates[1].source = IpAddress{IpFamily::v6, {}};
    p.templates[1].destination = IpAddress{IpFamily::v6, {}};
    MessageBuilder m = build_add_policy(p, false);
    auto attrs = attributes_of(m, sizeof(xfrm_userpolicy_info));
    CHECK(attrs[XFRMA_TMPL].size() == 2 * sizeof(xfrm_user_tmpl));
    CHECK(attrs[XFRMA_MARK].size() == sizeof(xfrm_mark));
    CHECK(decode_policy(m.header()) == p);
    CHECK_FALSE(attrs.count(XFRMA_IF_ID));

    // The XFRM interface's policies carry its if_id, in requests by id too.
    XfrmPolicy interface_policy = p;
    interface_policy.id.if_id = 0x6764;
    MessageBuilder with_if_id = build_add_policy(interface_policy, false);
    CHECK(attributes_of(with_if_id, sizeof(xfrm_userpolicy_info)).count(XFRMA_IF_ID) == 1);
    CHECK(decode_policy(with_if_id.header()) == interface_policy);
    MessageBuilder by_id = build_policy_id_request(XFRM_MSG_DELPOLICY, interface_policy.id);
    CHECK(attributes_of(by_id, sizeof(xfrm_userpolicy_id)).count(XFRMA_IF_ID) == 1);

    XfrmPolicy blocked = p;
    blocked.action = XfrmPolicyAction::block;
    CHECK_THROWS_WITH(build_add_policy(blocked, false),
                      Catch::Contains("block policy cannot have templates"));
}

TEST_CASE("extended ack text becomes the operator message", "[netlink][pure]") {
    // NLMSG_ERROR, capped, with NLMSGERR_ATTR_MSG.
    const char text[] = "Invalid XFRM protocol in template";
    std::vector<uint8_t> buffer(256, 0);
    auto* h = reinterpret_cast<nlmsghdr*>(buffer.data());
    h->nlmsg_type = NLMSG_ERROR;
    h->nlmsg_flags = NLM_F_CAPPED | NLM_F_ACK_TLVS;
    nlmsgerr e{};
    e.error = -EINVAL;
    e.msg.nlmsg_len = 400; // the echoed request is not there (capped)
    std::memcpy(buffer.data() + NLMSG_HDRLEN, &e, sizeof e);
    nlattr a{uint16_t(sizeof(nlattr) + sizeof text), NLMSGERR_ATTR_MSG};
    const size_t at = NLMSG_HDRLEN + sizeof e;
    std::memcpy(buffer.data() + at, &a, sizeof a);
    std::memcpy(buffer.data() + at + sizeof a, text, sizeof text);
    h->nlmsg_len = uint32_t(at + NLA_ALIGN(a.nla_len));
    KernelFailure f = decode_error_message(h);
    CHECK(f.error_number == EINVAL);
    CHECK(f.kernel_message == text);
    XfrmStateId id;
    id.destination = address("100.127.0.1");
    id.spi = 0x10000001;
    CHECK(format_kernel_error("adding XFRM state " + describe(id), f) ==
          "adding XFRM state spi 0x10000001 dst 100.127.0.1: Invalid argument "
          "(kernel: Invalid XFRM protocol in template)");
}

TEST_CASE("ownership follows the documented reqid range and priority band", "[netlink][pure]") {
    CHECK(is_owned_reqid(0x6d000000));
    CHECK(is_owned_reqid(0x6dffffff));
    CHECK_FALSE(is_owned_reqid(0x6cffffff));
    CHECK_FALSE(is_owned_reqid(1));
    XfrmPolicy p;
    p.priority = owned_priority(5);
    CHECK(is_owned(p)); // plain allow/block: the band alone decides
    XfrmTemplate t;
    t.reqid = 7; // someone else's state
    p.templates.push_back(t);
    CHECK_FALSE(is_owned(p));
    p.templates[0].reqid = owned_reqid(0);
    CHECK(is_owned(p));
    p.priority = 100;
    CHECK_FALSE(is_owned(p));
}
