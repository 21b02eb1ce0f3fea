// Restart without loss, the daemon's side that needs no VM: a GroupDataplane adopts the states
// and policies an earlier gdoid left in its band (SIGKILL, graceful restart), leaves them alone
// while the group has no keys, and still removes them when the group goes; leftovers that
// carry nothing (fail-closed blocks alone) or belong to another group are not adopted.
#include "daemon/datapath_service.hpp"
#include "daemon/group_dataplane.hpp"
#include "netlink/fake_kernel_ipsec.hpp"
#include "policy/object_band.hpp"

#include <catch2/catch.hpp>
#include <systemd/sd-event.h>

using namespace gdoid::daemon;
using namespace std::chrono_literals;

namespace {

constexpr uint32_t slot = 3;

gdoi::IpAddress address(const char* text) { return *gdoi::IpAddress::parse(text); }
gdoi::IpPrefix prefix(const char* text) { return *gdoi::IpPrefix::parse(text); }

GroupConfig group_config() {
    GroupConfig config;
    config.name = "wan";
    config.id = 4321;
    config.servers = {{address("192.0.2.1"), 848}};
    config.local_address = address("192.0.2.10");
    config.psk = gdoi::SecretBytes(std::string_view("a-pre-shared-key-of-enough-length"));
    // No such interface here: a reconcile that got past adoption would stop at "waiting".
    config.wan_interface = "gdoid-test-none0";
    config.lan_interfaces = {"gdoid-test-none1"};
    config.anchor = default_anchor_addresses(gdoi::IpFamily::v4);
    return config;
}

// What a registered gdoid leaves for a TEK 10.1/16 -> 10.2/16 in group slot `group_slot`.
netlink::XfrmState left_state(uint32_t spi, uint32_t group_slot) {
    netlink::XfrmState s;
    s.id.destination = address("100.127.255.2");
    s.id.spi = spi;
    s.source = address("192.0.2.10");
    s.reqid = policy::band::reqid(group_slot, 1);
    s.selector = {prefix("10.1.0.0/16"), prefix("10.2.0.0/16")};
    s.encryption = netlink::XfrmAlgorithm{"cbc(aes)", gdoi::SecretBytes(std::string(32, 'k')), 0};
    s.authentication = netlink::XfrmAlgorithm{"hmac(sha256)", gdoi::SecretBytes(std::string(32, 'a')), 128};
    return s;
}

netlink::XfrmPolicy left_policy(uint32_t group_slot, uint32_t offset, bool block) {
    netlink::XfrmPolicy p;
    p.id.selector = {prefix("10.1.0.0/16"), prefix("10.2.0.0/16")};
    p.id.direction = netlink::XfrmPolicyDirection::out;
    p.priority = policy::band::priority(group_slot, offset);
    if (block) {
        p.action = netlink::XfrmPolicyAction::block;
    } else {
        netlink::XfrmTemplate t;
        t.source = address("192.0.2.10");
        t.destination = address("100.127.255.2");
        t.reqid = policy::band::reqid(group_slot, 1);
        p.templates = {t};
    }
    return p;
}

struct Fixture {
    Fixture() : group(group_config()) {
        sd_event* e = nullptr;
        REQUIRE(sd_event_new(&e) >= 0);
        event = e;
    }
    ~Fixture() { sd_event_unref(event); }
    sd_event* event = nullptr;
    Group group;
    netlink::FakeKernelIpsec kernel;
    DatapathService datapath;
};

} // namespace

TEST_CASE("a starting gdoid adopts the states and policies an earlier one left, untouched until it has keys",
          "[adoption]") {
    Fixture f;
    f.kernel.insert_foreign(left_state(0x20000001, slot));
    f.kernel.insert_foreign(left_state(0x20000002, slot));
    f.kernel.insert_foreign(left_policy(slot, policy::band::tek_offset, false));
    {
        GroupDataplane dataplane(f.event, f.group, &f.kernel, f.datapath, slot);
        REQUIRE(dataplane.adopt_leftovers(120s));
        CHECK(dataplane.adopting());
        CHECK(f.group.kernel.adopted);
        CHECK(f.group.kernel.states == 2);
        CHECK(f.group.kernel.policies == 1);

        // No keys yet: the plan would put fail-closed blocks in their place; adoption keeps
        // them as they are (not one change), however often the group reconciles.
        dataplane.reconcile();
        dataplane.reconcile();
        CHECK(f.kernel.journal().empty());
        CHECK(f.kernel.states().size() == 2);
        CHECK(f.kernel.policies().size() == 1);

        // The group leaves the configuration (or the daemon stops without graceful-restart):
        // what it adopted goes like its own.
        dataplane.withdraw();
        CHECK_FALSE(dataplane.adopting());
        CHECK(f.kernel.states().empty());
        CHECK(f.kernel.policies().empty());
    }
}

TEST_CASE("nothing is adopted from another group's band, nor fail-closed blocks alone", "[adoption]") {
    Fixture f;
    f.kernel.insert_foreign(left_state(0x20000001, slot + 1));
    f.kernel.insert_foreign(left_policy(slot, policy::band::block_offset, true));
    GroupDataplane dataplane(f.event, f.group, &f.kernel, f.datapath, slot);
    CHECK_FALSE(dataplane.adopt_leftovers(120s));
    CHECK_FALSE(dataplane.adopting());
    CHECK_FALSE(f.group.kernel.adopted);
}

TEST_CASE("graceful restart: the datapath is left running, nothing is held any more", "[adoption]") {
    DatapathService datapath;
    datapath.hold_attachment("wan");
    datapath.release_hold("wan"); // nothing loaded: nothing to attach, no error
    CHECK(datapath.leave_running());
    CHECK_FALSE(datapath.loaded());
}
