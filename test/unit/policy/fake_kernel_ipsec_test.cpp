#include "netlink/fake_kernel_ipsec.hpp"
#include "policy_fixtures.hpp"

#include <cerrno>

using namespace fixtures;
using netlink::FakeKernelIpsec;
using netlink::KernelError;
using netlink::XfrmPolicy;
using netlink::XfrmState;

namespace {

XfrmState state(const char* destination, uint32_t spi) {
    XfrmState s;
    s.id = {addr(destination), spi, 50, {}};
    s.source = addr("192.0.2.1");
    s.reqid = 0x6d000001;
    s.encryption = netlink::XfrmAlgorithm{"cbc(aes)", key(16, 7), 0};
    return s;
}

XfrmPolicy make_policy(const char* source, const char* destination, int ifindex = 0) {
    XfrmPolicy p;
    p.id.selector.source = pfx(source);
    p.id.selector.destination = pfx(destination);
    p.id.selector.ifindex = ifindex;
    p.id.direction = netlink::XfrmPolicyDirection::out;
    p.priority = 100;
    return p;
}

int error_of(const std::function<void()>& call) {
    try {
        call();
    } catch (const KernelError& e) {
        return e.error_number();
    }
    return 0;
}

} // namespace

TEST_CASE("states: identity is destination, SPI, protocol and mark", "[fake_kernel]") {
    FakeKernelIpsec k;
    k.add_state(state("100.127.0.1", 0x1000));
    CHECK(error_of([&] { k.add_state(state("100.127.0.1", 0x1000)); }) == EEXIST);
    // Same SPI, other destination or other mark: a different state.
    k.add_state(state("100.127.0.2", 0x1000));
    auto marked = state("100.127.0.1", 0x1000);
    marked.id.mark = netlink::XfrmMark{1, 1};
    k.add_state(marked);
    auto ah = state("100.127.0.1", 0x1000);
    ah.id.ip_protocol = 51;
    k.add_state(ah);
    CHECK(k.states().size() == 4);

    // The kernel answers ESRCH for a state it does not have, on update and delete.
    CHECK(error_of([&] { k.update_state(state("100.127.0.9", 0x1000)); }) == ESRCH);
    CHECK(error_of([&] { k.delete_state(state("100.127.0.9", 0x1000).id); }) == ESRCH);
    auto changed = state("100.127.0.1", 0x1000);
    changed.no_pmtu_discovery = true;
    changed.hard_lifetime_seconds = 600;
    k.update_state(changed);
    // as xfrm_state_update(): lifetimes change in place, flags do not
    CHECK(k.find_state(changed.id)->hard_lifetime_seconds == 600);
    CHECK_FALSE(k.find_state(changed.id)->no_pmtu_discovery);
    k.delete_state(changed.id);
    CHECK_FALSE(k.find_state(changed.id));
    CHECK(k.find_state(marked.id));

    SECTION("dumps never carry keys, the fake's own view does") {
        const auto dumped = k.dump_states();
        REQUIRE(dumped.size() == 3);
        for (const auto& s : dumped)
            CHECK(s.encryption->key.empty());
        CHECK(k.states()[0].encryption->key.size() == 16);
    }
}

TEST_CASE("policies: identity is selector (with device), direction and mark", "[fake_kernel]") {
    FakeKernelIpsec k;
    k.add_policy(make_policy("10.0.0.0/8", "10.0.0.0/8", 2));
    CHECK(error_of([&] { k.add_policy(make_policy("10.0.0.0/8", "10.0.0.0/8", 2)); }) == EEXIST);
    k.add_policy(make_policy("10.0.0.0/8", "10.0.0.0/8", 3)); // other device
    auto fwd = make_policy("10.0.0.0/8", "10.0.0.0/8", 2);
    fwd.id.direction = netlink::XfrmPolicyDirection::fwd;
    k.add_policy(fwd);
    auto marked = make_policy("10.0.0.0/8", "10.0.0.0/8", 2);
    marked.id.mark = netlink::XfrmMark{0x100000, 0x100000};
    k.add_policy(marked);
    CHECK(k.policies().size() == 4);
    CHECK(error_of([&] { k.delete_policy(make_policy("10.9.0.0/16", "10.0.0.0/8").id); }) ==
          ENOENT);

    // Update replaces in place and keeps the kernel's index; on a missing policy it inserts.
    const uint32_t index = k.find_policy(fwd.id)->index;
    CHECK(index != 0);
    fwd.priority = 7;
    k.update_policy(fwd);
    CHECK(k.find_policy(fwd.id)->priority == 7);
    CHECK(k.find_policy(fwd.id)->index == index);
    k.update_policy(make_policy("10.9.0.0/16", "10.0.0.0/8"));
    CHECK(k.policies().size() == 5);
    k.delete_policy(fwd.id);
    CHECK_FALSE(k.find_policy(fwd.id));
}

TEST_CASE("the call log, injected failures, observers and foreign objects", "[fake_kernel]") {
    FakeKernelIpsec k;
    k.insert_foreign(state("198.51.100.7", 0x42));
    k.insert_foreign(make_policy("172.16.0.0/12", "172.16.0.0/12"));
    CHECK(k.calls().empty()); // foreign objects were not our calls
    CHECK(k.dump_states().size() == 1);
    CHECK(k.dump_policies().size() == 1);

    size_t changes = 0;
    k.on_change([&](const FakeKernelIpsec& kernel, const FakeKernelIpsec::Call& call) {
        ++changes;
        CHECK(call.error == 0);
        CHECK(kernel.states().size() >= 1);
    });
    k.fail_nth(FakeKernelIpsec::Call::Kind::add_state, 1, ENOMEM);
    k.add_state(state("100.127.0.1", 0x1000));
    CHECK(error_of([&] { k.add_state(state("100.127.0.1", 0x2000)); }) == ENOMEM);
    CHECK_FALSE(k.find_state(state("100.127.0.1", 0x2000).id)); // a failed call changes nothing
    k.add_state(state("100.127.0.1", 0x2000));                  // only once
    CHECK(changes == 2);

    k.fail_when(
        [](const auto& call) { return call.kind == FakeKernelIpsec::Call::Kind::delete_policy; },
        EPERM, false);
    CHECK(error_of([&] { k.delete_policy(make_policy("172.16.0.0/12", "172.16.0.0/12").id); }) ==
          EPERM);
    CHECK(error_of([&] { k.delete_policy(make_policy("172.16.0.0/12", "172.16.0.0/12").id); }) ==
          EPERM);

    k.bypass_socket(5, gdoi::IpFamily::v4);
    CHECK(error_of([&] { k.bypass_socket(-1, gdoi::IpFamily::v6); }) == EBADF);
    CHECK(k.bypassed_sockets().size() == 1);

    const auto texts = k.call_texts();
    REQUIRE(texts.size() == 9);
    CHECK(texts[2] == "add_state dst 100.127.0.1 proto 50 spi 0x00001000");
    CHECK(k.calls()[3].error == ENOMEM);
    CHECK(texts[5] == "delete_policy dir out src 172.16.0.0/12 dst 172.16.0.0/12");
    CHECK(texts[7] == "bypass_socket fd 5");
    CHECK(k.calls()[8].error == EBADF);

    try {
        k.add_state(state("100.127.0.1", 0x1000));
        FAIL("duplicate accepted");
    } catch (const KernelError& e) {
        CHECK_THAT(e.what(),
                   Catch::Contains("add_state dst 100.127.0.1") && Catch::Contains("File exists"));
    }
}

TEST_CASE("the journal: one short line per change, refusals and dumps left out", "[fake_kernel]") {
    FakeKernelIpsec k;
    auto inbound = state("100.127.0.1", 0x1000);
    inbound.direction = netlink::XfrmStateDirection::in;
    k.add_state(inbound);
    k.add_state(state("100.127.0.2", 0x1000)); // no direction: named by its destination
    CHECK(error_of([&] { k.add_state(inbound); }) == EEXIST);
    k.dump_states();

    auto encrypt = make_policy("10.1.0.0/16", "10.2.0.0/16", 2);
    encrypt.templates.push_back({addr("192.0.2.1"), addr("100.127.0.2"), 0x1000, 50,
                                 netlink::XfrmMode::tunnel, 0x6d000001, false});
    k.add_policy(encrypt);
    auto decrypt = make_policy("10.2.0.0/16", "10.1.0.0/16", 3);
    decrypt.id.direction = netlink::XfrmPolicyDirection::fwd;
    decrypt.templates.push_back({{}, {}, 0, 50, netlink::XfrmMode::tunnel, 0x6d000001, false});
    k.add_policy(decrypt);
    auto bypass = make_policy("0.0.0.0/0", "0.0.0.0/0");
    bypass.id.mark = netlink::XfrmMark{0x100000, 0x100000};
    k.add_policy(bypass);
    encrypt.action = netlink::XfrmPolicyAction::block;
    encrypt.templates.clear();
    k.update_policy(encrypt);
    k.delete_policy(decrypt.id);
    k.delete_state(inbound.id); // the direction of what was installed
    k.dump_policies();

    const std::vector<std::string> expected{
        "add state 0x00001000 in",
        "add state 0x00001000 dst 100.127.0.2",
        "add policy out 10.1.0.0/16->10.2.0.0/16 dev if2 esp spi 0x00001000",
        "add policy fwd 10.2.0.0/16->10.1.0.0/16 dev if3 esp",
        "add policy out 0.0.0.0/0->0.0.0.0/0 mark 0x00100000/0x00100000 allow",
        "update policy out 10.1.0.0/16->10.2.0.0/16 dev if2 block",
        "delete policy fwd 10.2.0.0/16->10.1.0.0/16 dev if3",
        "delete state 0x00001000 in",
    };
    CHECK(k.journal() == expected);
    // The observer already sees the line of the change it is told about.
    std::string seen;
    k.on_change([&](const FakeKernelIpsec& kernel, const FakeKernelIpsec::Call&) {
        seen = kernel.journal().back();
    });
    k.bypass_socket(5, gdoi::IpFamily::v4);
    CHECK(seen == "bypass socket fd 5");
    k.clear_journal();
    CHECK(k.journal().empty());
    CHECK(k.calls().size() == 12); // the call log is unchanged by the journal
}
