#include "policy/apply_plan.hpp"
#include "policy_fixtures.hpp"

#include <cerrno>

using namespace fixtures;
using namespace policy;
using netlink::FakeKernelIpsec;
using netlink::XfrmPolicyDirection;

TEST_CASE("an empty plan does nothing and succeeds", "[apply]") {
    FakeKernelIpsec kernel;
    FakeMaps maps;
    const auto result = apply_plan({}, kernel, maps);
    CHECK(result.ok());
    CHECK(result.applied == 0);
    CHECK(kernel.calls().empty());
}

TEST_CASE("a kernel refusal mid-rekey stops the plan, says which operation failed, and the old "
          "SA keeps working",
          "[apply]") {
    Harness h;
    h.timeline.observe(group_policy({tek(0xA0000001, "10.0.0.0/8", "10.0.0.0/8", 300s)}), t0());
    REQUIRE(h.step(t0()).ok());
    h.timeline.observe(group_policy({tek(0xB0000002, "10.0.0.0/8", "10.0.0.0/8", 300s)}, 60s, 90s),
                       at(200s));
    REQUIRE(h.step(at(200s)).ok());

    // At the switch the kernel refuses the policy update (say, out of memory).
    h.kernel.fail_nth(FakeKernelIpsec::Call::Kind::update_policy, 0, ENOMEM);
    const auto p = h.plan_at(at(260s));
    REQUIRE(p.operations.size() == 2); // add the new outbound state, switch the policy
    const auto result = apply_plan(p.operations, h.kernel, h.maps);
    CHECK_FALSE(result.ok());
    REQUIRE(result.failed_index);
    CHECK(*result.failed_index == 1);
    CHECK(result.applied == 1);
    CHECK(result.error_number == ENOMEM);
    CHECK_THAT(result.error,
               Catch::Contains("operation 2 of 2") &&
                   Catch::Contains("update policy src 10.0.0.0/8 dst 10.0.0.0/8 dev if2 dir out") &&
                   Catch::Contains("Cannot allocate memory"));
    // The old outbound state is still there, and the out policy still sends through it.
    const auto* out =
        lookup(h.kernel.policies(), XfrmPolicyDirection::out, "10.1.0.5", "10.2.0.5", 2);
    REQUIRE(out);
    CHECK(out->templates[0].spi == 0xA0000001);
    CHECK(h.kernel.find_state({addr("100.127.0.2"), 0xA0000001, 50, {}}));
    CHECK(h.kernel.find_state({addr("100.127.0.1"), 0xA0000001, 50, {}}));
    CHECK(h.kernel.find_state({addr("100.127.0.1"), 0xB0000002, 50, {}}));

    // The next attempt starts from what is installed and completes the switch.
    const auto retry = h.plan_at(at(261s));
    CHECK(texts(retry.operations) ==
          std::vector<std::string>{"update policy src 10.0.0.0/8 dst 10.0.0.0/8 dev if2 dir out "
                                   "priority 1828724738 allow\n"
                                   "    tmpl src 192.0.2.1 dst 100.127.0.2 proto esp spi "
                                   "0xb0000002 reqid 1828716545 mode tunnel"});
    CHECK(apply_plan(retry.operations, h.kernel, h.maps).ok());
    CHECK(lookup(h.kernel.policies(), XfrmPolicyDirection::out, "10.1.0.5", "10.2.0.5", 2)
              ->templates[0]
              .spi == 0xB0000002);
}

TEST_CASE("a refused first registration leaves fail-closed in place", "[apply]") {
    Harness h;
    h.config.lan_prefixes = {pfx("10.1.0.0/16")};
    REQUIRE(h.step(t0()).ok());
    const auto blocks = h.kernel.policies();
    h.timeline.observe(group_policy({tek(0x1000)}), at(1s));
    // The kernel lacks the algorithm: adding the first state fails.
    h.kernel.fail_nth(FakeKernelIpsec::Call::Kind::add_state, 0, ENOENT);
    const auto result = h.step(at(1s));
    CHECK_FALSE(result.ok());
    CHECK(*result.failed_index == 0);
    CHECK_THAT(result.error, Catch::Contains("add state dst 100.127.0.1 proto esp spi 0x00001000"));
    CHECK(h.kernel.policies() == blocks);
    CHECK(h.kernel.states().empty());
}

TEST_CASE("a datapath map failure is reported like a kernel one", "[apply]") {
    Harness h;
    h.timeline.observe(group_policy({tek(0x1000)}), t0());
    h.maps.fail_on = MapEntry{MapEntry::Kind::inbound_spi, 0x1000, {}, {}};
    const auto result = h.step(t0());
    CHECK_FALSE(result.ok());
    CHECK(*result.failed_index == 2);
    CHECK(result.error_number == 0);
    CHECK_THAT(result.error, Catch::Contains("add map entry inbound spi 0x00001000") &&
                                 Catch::Contains("map full"));
    // Nothing sends through a state the ingress program cannot reach yet.
    CHECK(h.kernel.policies().empty());
    CHECK(h.kernel.states().size() == 1);
}

TEST_CASE("a refused NIC offload request installs the same outbound state in software", "[apply]") {
    Harness h;
    h.config.wan_crypto_offload = true;
    h.timeline.observe(group_policy({tek(0xA0000001, "10.0.0.0/8", "10.0.0.0/8", 300s)}), t0());
    const netlink::XfrmStateId outbound{addr("100.127.0.2"), 0xA0000001, 50, {}};

    SECTION("refused: installed without offload, counted, and the next plan leaves it alone") {
        // Say esp4_offload is missing: the kernel refuses the request with EINVAL.
        h.kernel.fail_when(
            [](const FakeKernelIpsec::Call& c) {
                return c.kind == FakeKernelIpsec::Call::Kind::add_state &&
                       c.text.find("100.127.0.2") != std::string::npos;
            },
            EINVAL);
        const auto p = h.plan_at(t0());
        const auto result = apply_plan(p.operations, h.kernel, h.maps);
        CHECK(result.ok());
        CHECK(result.offload_refused == 1);
        CHECK_THAT(result.offload_error, Catch::Contains("Invalid argument"));
        const auto* state = h.kernel.find_state(outbound);
        REQUIRE(state);
        CHECK_FALSE(state->offload_device);
        CHECK(h.plan_at(at(1s)).operations.empty()); // no endless "update" toward the offload
    }
    SECTION("accepted: the state carries the WAN device") {
        const auto p = h.plan_at(t0());
        const auto result = apply_plan(p.operations, h.kernel, h.maps);
        CHECK(result.ok());
        CHECK(result.offload_refused == 0);
        const auto* state = h.kernel.find_state(outbound);
        REQUIRE(state);
        REQUIRE(state->offload_device);
        CHECK(*state->offload_device == h.config.wan.name);
    }
}

TEST_CASE("the settle hook runs once, after the policy switch and before the old state goes",
          "[apply]") {
    Harness h;
    h.timeline.observe(group_policy({tek(0xA0000001, "10.0.0.0/8", "10.0.0.0/8", 300s)}), t0());
    size_t settles = 0;
    auto settle = [&] { ++settles; };
    // The first registration changes policies but deletes nothing: no wait.
    REQUIRE(policy::apply_plan(h.plan_at(t0()).operations, h.kernel, h.maps, settle).ok());
    CHECK(settles == 0);

    // The old TEK runs out exactly at the switch (at 300 s; pushed at 240 s with ATD 60 s), so
    // its outbound state goes in the same plan as the switch. (One that lives on is kept until
    // its DTD: plan_test.)
    h.timeline.observe(group_policy({tek(0xA0000001, "10.0.0.0/8", "10.0.0.0/8", 60s),
                                     tek(0xB0000002, "10.0.0.0/8", "10.0.0.0/8", 300s)},
                                    60s, 90s),
                       at(240s));
    REQUIRE(policy::apply_plan(h.plan_at(at(240s)).operations, h.kernel, h.maps, settle).ok());
    CHECK(settles == 0); // the new inbound state only
    h.kernel.clear_calls();
    bool old_state_present_at_settle = false;
    auto checking_settle = [&] {
        ++settles;
        old_state_present_at_settle =
            h.kernel.find_state({addr("100.127.0.2"), 0xA0000001, 50, {}}) != nullptr;
        const auto* out =
            lookup(h.kernel.policies(), XfrmPolicyDirection::out, "10.1.0.5", "10.2.0.5", 2);
        REQUIRE(out);
        CHECK(out->templates[0].spi == 0xB0000002); // already switched
    };
    REQUIRE(
        policy::apply_plan(h.plan_at(at(300s)).operations, h.kernel, h.maps, checking_settle).ok());
    CHECK(settles == 1);
    CHECK(old_state_present_at_settle);
    CHECK_FALSE(h.kernel.find_state({addr("100.127.0.2"), 0xA0000001, 50, {}}));
}
