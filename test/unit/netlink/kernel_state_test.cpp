// XFRM states against a real kernel, each case in a fresh network namespace (needs root).
// [esp] cases need a kernel with ESP: they run in the VM (test/vm/030-netlink-states.sh).
// The [no-esp] case runs on hosts: what an operator sees when the kernel has no ESP.
#include "netlink/netlink_kernel_ipsec.hpp"
#include "netlink/xfrm_event_socket.hpp"
#include "netlink/xfrm_translate.hpp"
#include "netns.hpp"
#include "state_fixtures.hpp"

#include <catch2/catch.hpp>
#include <cstdio>
#include <poll.h>

using namespace netlink;
using netlink_test::FreshNetworkNamespace;
using netlink_test::run;
using namespace netlink_test::fixtures;

namespace {

// What the kernel must report back: the same state without keys (and without a direction on
// kernels that do not know XFRMA_SA_DIR).
void check_same(const XfrmState& got, const XfrmState& sent, bool with_direction) {
    INFO("state " << describe(sent.id));
    CHECK(got.id == sent.id);
    CHECK(got.source == sent.source);
    CHECK(got.mode == sent.mode);
    CHECK(got.reqid == sent.reqid);
    CHECK(got.selector == sent.selector);
    CHECK(got.replay_window == sent.replay_window);
    CHECK(got.no_pmtu_discovery == sent.no_pmtu_discovery);
    CHECK(got.output_sequence_may_wrap == sent.output_sequence_may_wrap);
    CHECK(got.set_mark == sent.set_mark);
    CHECK(got.hard_lifetime_seconds == sent.hard_lifetime_seconds);
    CHECK(got.soft_lifetime_seconds == sent.soft_lifetime_seconds);
    CHECK(got.direction == (with_direction ? sent.direction : XfrmStateDirection::unspecified));
    auto same_algorithm = [](const std::optional<XfrmAlgorithm>& a,
                             const std::optional<XfrmAlgorithm>& b) {
        REQUIRE(a.has_value() == b.has_value());
        if (!a) return;
        CHECK(a->name == b->name);
        CHECK(a->key.empty()); // keys are not read back
        const uint32_t expected = b->icv_or_trunc_bits ? b->icv_or_trunc_bits
                                                       : find_algorithm(b->name)->icv_or_trunc_bits;
        CHECK(a->icv_or_trunc_bits == expected);
    };
    same_algorithm(got.encryption, sent.encryption);
    same_algorithm(got.authentication, sent.authentication);
    same_algorithm(got.aead, sent.aead);
}

const XfrmState* find(const std::vector<XfrmState>& states, const XfrmStateId& id) {
    for (const auto& s : states)
        if (s.id == id) return &s;
    return nullptr;
}

} // namespace

TEST_CASE_METHOD(FreshNetworkNamespace, "without ESP in the kernel, adding a state says so",
                 "[netlink][kernel][no-esp]") {
    NetlinkKernelIpsec kernel;
    XfrmState s = outbound_state(0x10000001);
    s.encryption = XfrmAlgorithm{"cbc(aes)", key_of(16, 1), 0};
    s.authentication = XfrmAlgorithm{"hmac(sha1)", key_of(20, 2), 0};
    try {
        kernel.add_state(s);
    } catch (const KernelError& e) {
        CHECK(e.error_number() == EPROTONOSUPPORT);
        CHECK(std::string(e.what()) ==
              "adding XFRM state spi 0x10000001 dst 100.127.0.1: Protocol not supported (kernel: "
              "Requested type not found); this kernel has no ESP support (enable "
              "CONFIG_INET_ESP/CONFIG_INET6_ESP or load the esp4/esp6 modules)");
        CHECK(kernel.dump_states().empty());
        return;
    }
    // This kernel has ESP after all: then the state must really be there.
    WARN("this kernel has ESP; checked that the state was installed instead");
    REQUIRE(kernel.dump_states().size() == 1);
}

TEST_CASE_METHOD(FreshNetworkNamespace,
                 "states for every supported algorithm are installed and read back",
                 "[netlink][kernel][esp]") {
    NetlinkKernelIpsec kernel;
    std::vector<XfrmState> sent;
    uint32_t spi = 0x10000001;
    struct Cipher {
        const char* name;
        size_t key;
    };
    struct Auth {
        const char* name;
        size_t key;
    };
    for (auto cipher :
         {Cipher{"cbc(des3_ede)", 24}, Cipher{"cbc(aes)", 16}, Cipher{"cbc(aes)", 32}}) {
        for (auto auth : {Auth{"hmac(md5)", 16}, Auth{"hmac(sha1)", 20}, Auth{"hmac(sha256)", 32},
                          Auth{"hmac(sha384)", 48}, Auth{"hmac(sha512)", 64}}) {
            XfrmState s = outbound_state(spi++);
            s.encryption = XfrmAlgorithm{cipher.name, key_of(cipher.key, uint8_t(spi)), 0};
            s.authentication = XfrmAlgorithm{auth.name, key_of(auth.key, uint8_t(spi * 3)), 0};
            sent.push_back(std::move(s));
        }
    }
    for (size_t key : {20, 36}) {
        XfrmState s = outbound_state(spi++);
        s.aead = XfrmAlgorithm{"rfc4106(gcm(aes))", key_of(key, uint8_t(spi)), 128};
        sent.push_back(std::move(s));
    }
    // An inbound group state: marked, no sequence wrap (an input SA never sends).
    XfrmState in = outbound_state(spi++);
    in.id.destination = address("192.0.2.200"); // the anchor address
    in.source = address("198.51.100.1");
    in.id.mark = XfrmMark{0x10, 0xff};
    in.direction = XfrmStateDirection::in;
    in.output_sequence_may_wrap = false;
    in.no_pmtu_discovery = false;
    in.set_mark.reset();
    in.aead = XfrmAlgorithm{"rfc4106(gcm(aes))", key_of(36, 9), 128};
    in.hard_lifetime_seconds = 7200;
    in.soft_lifetime_seconds = 7000;
    sent.push_back(in);

    // Half one by one, half in a batch.
    std::vector<XfrmOperation> batch;
    for (size_t i = 0; i < sent.size(); ++i) {
        if (i % 2)
            kernel.add_state(sent[i]);
        else
            batch.push_back(XfrmOperation::add(sent[i]));
    }
    kernel.apply(batch);

    auto dumped = kernel.dump_owned_states();
    REQUIRE(dumped.size() == sent.size());
    for (const auto& s : sent) {
        const XfrmState* got = find(dumped, s.id);
        REQUIRE(got);
        check_same(*got, s, kernel.sa_direction_supported());
    }
    // The kernel holds exactly our keys (iproute2 prints them).
    auto listing = run("ip xfrm state list");
    for (const auto& s : sent) {
        const auto& key = s.aead ? s.aead->key : s.encryption->key;
        CHECK(listing.output.find(hex(key)) != std::string::npos);
    }
    CHECK(listing.output.find("flag nopmtudisc") != std::string::npos);
    CHECK(listing.output.find("output-mark 0x800000/0x800000") != std::string::npos);
}

TEST_CASE_METHOD(FreshNetworkNamespace, "states are updated and deleted; errors name the state",
                 "[netlink][kernel][esp]") {
    NetlinkKernelIpsec kernel;
    XfrmState s = outbound_state(0x20000001);
    s.encryption = XfrmAlgorithm{"cbc(aes)", key_of(16, 1), 0};
    s.authentication = XfrmAlgorithm{"hmac(sha256)", key_of(32, 2), 0};
    kernel.add_state(s);
    CHECK_THROWS_WITH(kernel.add_state(s),
                      "adding XFRM state spi 0x20000001 dst 100.127.0.1: File exists; a state with "
                      "this SPI exists");

    XfrmState changed = s;
    changed.set_mark = XfrmMark{0x00400000, 0x00400000};
    changed.hard_lifetime_seconds = 600;
    kernel.update_state(changed);
    auto dumped = kernel.dump_states();
    REQUIRE(dumped.size() == 1);
    check_same(dumped[0], changed, kernel.sa_direction_supported());

    kernel.delete_state(s.id);
    CHECK(kernel.dump_states().empty());
    try {
        kernel.delete_state(s.id);
        FAIL("deleting a missing state succeeded");
    } catch (const KernelError& e) {
        CHECK(e.error_number() == ESRCH);
        CHECK(std::string(e.what()).starts_with(
            "deleting XFRM state spi 0x20000001 dst 100.127.0.1: "));
    }

    // A kernel-side refusal comes back with the kernel's reason.
    XfrmState bad = outbound_state(0x20000002);
    bad.encryption = XfrmAlgorithm{"cbc(aes)", key_of(16, 1), 0};
    bad.id.ip_protocol = 17; // not an IPsec protocol
    try {
        kernel.add_state(bad);
        FAIL("a state with protocol 17 was accepted");
    } catch (const KernelError& e) {
        CHECK(std::string(e.what()).starts_with(
            "adding XFRM state spi 0x20000002 dst 100.127.0.1 proto 17: "));
    }
}

TEST_CASE_METHOD(FreshNetworkNamespace, "foreign states survive flush_owned and cannot be replaced",
                 "[netlink][kernel][esp]") {
    NetlinkKernelIpsec kernel;
    auto foreign = run("ip xfrm state add src 192.0.2.1 dst 192.0.2.2 proto esp spi 0x30000001 "
                       "reqid 5 mode tunnel enc 'cbc(aes)' 0x000102030405060708090a0b0c0d0e0f "
                       "auth-trunc 'hmac(sha1)' 0x000102030405060708090a0b0c0d0e0f10111213 96");
    REQUIRE(foreign.status == 0);
    XfrmState ours = outbound_state(0x30000002);
    ours.aead = XfrmAlgorithm{"rfc4106(gcm(aes))", key_of(20, 1), 128};
    kernel.add_state(ours);

    XfrmState clash = outbound_state(0x30000001);
    clash.id.destination = address("192.0.2.2");
    clash.source = address("192.0.2.1");
    clash.aead = XfrmAlgorithm{"rfc4106(gcm(aes))", key_of(20, 1), 128};
    CHECK_THROWS_WITH(kernel.update_state(clash), Catch::Contains("belongs to another program"));
    CHECK_THROWS_WITH(kernel.delete_state(clash.id), Catch::Contains("belongs to another program"));

    FlushResult flushed = kernel.flush_owned();
    CHECK(flushed.states == 1);
    auto left = kernel.dump_states();
    REQUIRE(left.size() == 1);
    CHECK(left[0].id.spi == 0x30000001);
    CHECK(left[0].reqid == 5);
    CHECK(left[0].encryption->name == "cbc(aes)");
}

TEST_CASE_METHOD(FreshNetworkNamespace, "offload on a device without it falls back to software",
                 "[netlink][kernel][esp]") {
    NetlinkKernelIpsec kernel;
    XfrmState s = outbound_state(0x40000001);
    s.aead = XfrmAlgorithm{"rfc4106(gcm(aes))", key_of(20, 1), 128};
    s.offload_device = "lo";
    kernel.add_state(s);
    auto dumped = kernel.dump_states();
    REQUIRE(dumped.size() == 1);
    CHECK_FALSE(dumped[0].offload_device.has_value()); // lo cannot offload: software it is

    XfrmState missing = outbound_state(0x40000002);
    missing.aead = s.aead;
    missing.offload_device = "nosuchdev0";
    CHECK_THROWS_WITH(kernel.add_state(missing),
                      Catch::Contains("offload device \"nosuchdev0\" does not exist"));
}

TEST_CASE_METHOD(FreshNetworkNamespace, "soft and hard expiries of our states are reported",
                 "[netlink][kernel][esp][events]") {
    NetlinkKernelIpsec kernel;
    XfrmEventSocket events;
    XfrmState s = outbound_state(0x50000001);
    s.aead = XfrmAlgorithm{"rfc4106(gcm(aes))", key_of(20, 1), 128};
    s.soft_lifetime_seconds = 1;
    s.hard_lifetime_seconds = 2;
    kernel.add_state(s);
    std::vector<KernelEvent> got;
    for (int i = 0; i < 100 && got.size() < 2; ++i) {
        pollfd p{events.fd(), POLLIN, 0};
        if (poll(&p, 1, 100) > 0)
            for (auto& e : events.read_events())
                got.push_back(e);
    }
    REQUIRE(got.size() == 2);
    CHECK(got[0].type == KernelEventType::state_expired);
    CHECK_FALSE(got[0].hard);
    CHECK(got[1].type == KernelEventType::state_expired);
    CHECK(got[1].hard);
    REQUIRE(got[1].state.has_value());
    CHECK(*got[1].state == s.id);
    CHECK(kernel.dump_states().empty()); // a hard expiry removes the state
}
