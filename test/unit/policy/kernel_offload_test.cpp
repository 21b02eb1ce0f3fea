// The daemon's path to the kernel (timeline -> plan -> apply_plan) against a real kernel whose
// WAN device is a NIC that can do ESP crypto offload: netdevsim, in the VM (test/vm/030 runs
// the [esp] cases; scripts/vm-build-netdevsim provides the module).
//
// What an operator is promised (gdoid.conf(5) crypto-offload): every outbound state asks the
// WAN NIC for crypto offload; a state the NIC takes runs there, one it refuses runs in
// software, the group works either way, and nothing is re-tried or churned at each reconcile.
#include "../netlink/netdevsim.hpp"
#include "../netlink/netns.hpp"
#include "netlink/netlink_kernel_ipsec.hpp"
#include "policy/tek_states.hpp"
#include "policy_fixtures.hpp"

using namespace fixtures;
using netlink_test::FreshNetworkNamespace;
using netlink_test::NetdevsimDevice;

namespace {

// One group planned and applied as the daemon does it, with `nic` as its WAN.
struct KernelHarness {
    explicit KernelHarness(const NetdevsimDevice& nic) {
        config.wan = {nic.name(), nic.ifindex()};
        config.wan_crypto_offload = true;
    }
    policy::GroupTimeline timeline;
    policy::LocalSettings config = settings();
    policy::GroupStatus status;
    netlink::NetlinkKernelIpsec kernel;
    FakeMaps maps;

    policy::Plan plan_at(TimePoint now) {
        return policy::plan(timeline, config, status,
                            {kernel.dump_states(), kernel.dump_policies(), maps.entries}, now);
    }
};

size_t offload_requests(const std::vector<policy::Operation>& operations) {
    return size_t(
        std::count_if(operations.begin(), operations.end(), [](const policy::Operation& op) {
            return op.kind == policy::Operation::Kind::add_state && op.state.offload_device;
        }));
}

} // namespace

TEST_CASE_METHOD(FreshNetworkNamespace,
                 "a group's AES-CBC TEKs ask the WAN NIC for offload, run in software when it "
                 "refuses, and are not re-tried",
                 "[policy][kernel][esp][offload]") {
    NetdevsimDevice nic;
    KernelHarness h(nic);
    // The lab's TEKs (and those of most GET VPN deployments): AES-CBC + HMAC-SHA-256.
    h.timeline.observe(group_policy({tek(0x20000001, "10.1.0.0/16", "10.2.0.0/16"),
                                     tek(0x20000002, "10.2.0.0/16", "10.1.0.0/16")}),
                       t0());
    const auto first = h.plan_at(t0());
    const size_t requests = offload_requests(first.operations);
    REQUIRE(requests >= 1); // each outbound state asks for the NIC
    for (const auto& op : first.operations)
        if (op.kind == policy::Operation::Kind::add_state && op.state.offload_device)
            CHECK(*op.state.offload_device == nic.name());

    const auto result = policy::apply_plan(first.operations, h.kernel, h.maps);
    INFO(result.error);
    REQUIRE(result.ok());
    CHECK(result.offload_refused == requests);
    CHECK_THAT(result.offload_error, Catch::Contains("Device failed to offload this state"));
    CHECK(nic.ipsec().count == 0);
    const auto states = h.kernel.dump_states();
    CHECK(states.size() ==
          size_t(count_kind(first.operations, policy::Operation::Kind::add_state)));
    size_t outbound = 0;
    for (const auto& s : states) {
        CHECK_FALSE(s.offload_device.has_value());
        if (s.source == h.config.v4->wan_address) ++outbound; // inbound states take any source
    }
    CHECK(outbound == requests);

    // The software states stand for the requested ones: the next reconcile changes nothing.
    const auto again = h.plan_at(t0() + 1s);
    CHECK(texts(again.operations).empty());
}

TEST_CASE_METHOD(FreshNetworkNamespace,
                 "an outbound state the WAN NIC accepts is installed there and kept as it is",
                 "[policy][kernel][esp][offload]") {
    NetdevsimDevice nic;
    KernelHarness h(nic);
    // NICs offload AES-GCM only. gdoid never sends with a GCM TEK (no RFC 6054 sender IDs: the
    // TEK is receive-only, desired_objects makes no outbound state for it), so this state is
    // built by hand with the daemon's own builder to show what a grant looks like end to end.
    gdoi::TekPolicy gcm = tek(0x20000011, "10.1.0.0/16", "10.2.0.0/16");
    gcm.cipher = gdoi::TekCipher::aes_gcm_16;
    gcm.cipher_key_bits = 128;
    gcm.cipher_key = key(20, 0x5a);
    gcm.integrity = gdoi::TekIntegrity::none;
    gcm.integrity_key = {};
    const auto state =
        policy::outbound_state(gcm, *h.config.v4, netlink::owned_reqid(0x7011), h.config);
    REQUIRE(state.offload_device);
    CHECK(*state.offload_device == nic.name());
    REQUIRE(state.aead);
    CHECK(state.aead->name == "rfc4106(gcm(aes))");

    policy::Operation add;
    add.kind = policy::Operation::Kind::add_state;
    add.state = state;
    const auto result = policy::apply_plan({add}, h.kernel, h.maps);
    INFO(result.error);
    REQUIRE(result.ok());
    CHECK(result.offload_refused == 0);
    const auto dumped = h.kernel.dump_states();
    REQUIRE(dumped.size() == 1);
    REQUIRE(dumped[0].offload_device.has_value());
    CHECK(*dumped[0].offload_device == nic.name());
    CHECK(policy::same_installed(state, dumped[0])); // adopted as it is, never re-added
    const auto table = nic.ipsec();
    INFO(table.text);
    CHECK(table.count == 1);
    CHECK_THAT(table.text, Catch::Contains("sa[0] tx ipaddr=100.127.0.2\n"));
    CHECK_THAT(table.text, Catch::Contains("spi=0x20000011 proto=0x32"));
}
