#include "policy/render.hpp"
#include "policy_fixtures.hpp"

#include <cstdio>

using namespace fixtures;
using namespace policy;

namespace {

std::string hex_of(const gdoi::SecretBytes& secret) {
    std::string text;
    char buffer[4];
    for (uint8_t b : secret.reveal()) {
        snprintf(buffer, sizeof buffer, "%02x", b);
        text += buffer;
    }
    return text;
}

} // namespace

TEST_CASE("the desired objects of a group read like the design", "[render]") {
    GroupTimeline timeline;
    auto t = tek(0x10000001);
    t.cipher_key =
        gdoi::SecretBytes(std::vector<uint8_t>{0xde, 0xad, 0xbe, 0xef, 0xde, 0xad, 0xbe, 0xef, 0xde,
                                               0xad, 0xbe, 0xef, 0xde, 0xad, 0xbe, 0xef});
    auto p = group_policy({t});
    p.deny = {selector("10.1.0.0/16", "10.7.0.0/16")};
    timeline.observe(p, t0());
    auto s = settings();
    s.bypass_mark = netlink::XfrmMark{0x100000, 0x100000};
    const auto desired = desired_objects(timeline, s, {}, t0());
    const auto text = render_desired(desired, s);
    INFO(text);
    CHECK_THAT(text, Catch::StartsWith("group wan (id 1234): keys valid\n"));
    CHECK_THAT(text,
               Catch::Contains("# ACL entry 1 TEK 0x10000001 inbound anchor\n"
                               "  src 0.0.0.0 dst 100.127.0.1 proto esp spi 0x10000001 "
                               "reqid 1828716545 mode tunnel\n"
                               "    dir in replay-window 0 enc cbc(aes) (128-bit key) "
                               "auth-trunc hmac(sha256) (256-bit key, 128) lifetime: by gdoid"));
    CHECK_THAT(text, Catch::Contains("src 192.0.2.1 dst 100.127.0.2 proto esp spi 0x10000001"));
    CHECK_THAT(text, Catch::Contains("dir out replay-window 0 flag nopmtudisc extra-flag "
                                     "oseq-may-wrap enc cbc(aes)"));
    CHECK_THAT(text, Catch::Contains("# ACL entry 1 encrypt\n"
                                     "  src 10.0.0.0/8 dst 10.0.0.0/8 dev eth0 dir out priority "
                                     "1828724738 allow\n"
                                     "    tmpl src 192.0.2.1 dst 100.127.0.2 proto esp spi "
                                     "0x10000001 reqid 1828716545 mode tunnel"));
    CHECK_THAT(text, Catch::Contains("src 10.0.0.0/8 dst 10.0.0.0/8 dev eth1 dir fwd"));
    CHECK_THAT(text, Catch::Contains("src 10.0.0.0/8 dst 10.0.0.0/8 dev eth2 dir fwd"));
    CHECK_THAT(text, Catch::Contains(
                         "tmpl src 0.0.0.0 dst 0.0.0.0 proto esp reqid 1828716545 mode tunnel"));
    CHECK_THAT(text, Catch::Contains("src 10.0.0.0/8 dst 10.1.0.1/32 dir in"));
    CHECK_THAT(text, Catch::Contains("# deny entry 1\n  src 10.1.0.0/16 dst 10.7.0.0/16 dir out"));
    CHECK_THAT(text, Catch::Contains("# bypass mark\n  src 0.0.0.0/0 dst 0.0.0.0/0 dir out mark "
                                     "0x100000/0x100000"));
    CHECK_THAT(text, Catch::Contains("datapath:\n  inbound spi 0x10000001\n  protected 10.0.0.0/8\n"
                                     "  flow 10.0.0.0/8 -> 10.0.0.0/8\n"));
    // Keys never appear, only their length.
    CHECK_THAT(text, !Catch::Contains("deadbeef"));
    CHECK_THAT(text, !Catch::Contains(hex_of(t.integrity_key)));
    CHECK_THAT(text, !Catch::Contains("problems:"));
}

TEST_CASE("a group without keys says so and shows its blocks; problems are listed", "[render]") {
    GroupTimeline timeline;
    auto bad = tek(0x1000);
    bad.cipher_key = {};
    timeline.observe(group_policy({bad}), t0());
    auto s = settings();
    s.lan_prefixes = {pfx("10.1.0.0/16")};
    const auto text = render_desired(desired_objects(timeline, s, {}, t0()), s);
    INFO(text);
    CHECK_THAT(text, Catch::StartsWith("group wan (id 1234): NO VALID KEYS, fail-closed\n"));
    CHECK_THAT(text, Catch::Contains("states (0):\n"));
    CHECK_THAT(text, Catch::Contains("# fail-closed\n  src 10.1.0.0/16 dst 0.0.0.0/0 dev eth0 dir "
                                     "out priority 1828777984 block"));
    CHECK_THAT(text,
               Catch::Contains("problems:\n  TEK SPI 0x00001000: encryption key is 0 octets"));
}

TEST_CASE("single objects describe themselves like ip xfrm", "[render]") {
    netlink::XfrmPolicy p;
    p.id.selector = {pfx("10.1.0.0/16"), pfx("10.2.0.0/16"), 6, 0, 443, 7};
    p.id.direction = netlink::XfrmPolicyDirection::fwd;
    p.priority = 5;
    p.action = netlink::XfrmPolicyAction::block;
    CHECK(describe(p) == "src 10.1.0.0/16 dst 10.2.0.0/16 proto tcp dport 443 dev if7 dir fwd "
                         "priority 5 block");
    netlink::XfrmStateId id{addr("2001:db8::1"), 0x1234, 51, netlink::XfrmMark{1, 3}};
    CHECK(describe(id) == "dst 2001:db8::1 proto ah spi 0x00001234 mark 0x1/0x3");
    MapEntry flow{MapEntry::Kind::outbound_flow, 0, pfx("10.1.0.0/16"), pfx("10.2.0.0/16")};
    CHECK(flow.to_string() == "flow 10.1.0.0/16 -> 10.2.0.0/16");
}
