// Interface events and interface addresses over rtnetlink against the host kernel, each case in
// a fresh namespace.
#include "netlink/interface_address.hpp"
#include "netlink/kernel_ipsec.hpp"
#include "netlink/link_monitor.hpp"
#include "netns.hpp"

#include <catch2/catch.hpp>
#include <poll.h>

using namespace netlink;
using netlink_test::FreshNetworkNamespace;
using netlink_test::run;

namespace {

// IPv6 link-local addresses come and go on their own schedule (DAD, carrier): they are real
// events, but not the ones these cases provoke, so they are left out here.
bool is_link_local(const LinkEvent& e) {
    return e.address && e.address->address.family == gdoi::IpFamily::v6 &&
           e.address->address.bytes[0] == 0xfe && (e.address->address.bytes[1] & 0xc0) == 0x80;
}

std::vector<LinkEvent> wait_events(LinkMonitor& monitor, size_t want, int timeout_ms = 2000) {
    std::vector<LinkEvent> got;
    for (int waited = 0; got.size() < want && waited < timeout_ms; waited += 50) {
        pollfd p{monitor.fd(), POLLIN, 0};
        if (poll(&p, 1, 50) > 0)
            for (auto& e : monitor.read_events())
                if (!is_link_local(e)) got.push_back(e);
    }
    return got;
}

} // namespace

TEST_CASE_METHOD(FreshNetworkNamespace, "interface indexes are looked up by name",
                 "[netlink][kernel][link]") {
    CHECK(ifindex_by_name("lo") == 1);
    CHECK_FALSE(ifindex_by_name("nosuchdev0").has_value());
    REQUIRE(run("ip link add wan0 type veth peer name lan0").status == 0);
    auto wan = ifindex_by_name("wan0");
    REQUIRE(wan.has_value());
    CHECK(*wan > 1);
    CHECK(run("ip -o link show wan0").output.starts_with(std::to_string(*wan) + ": wan0@"));
}

TEST_CASE_METHOD(FreshNetworkNamespace, "watched interfaces report up, down and address changes",
                 "[netlink][kernel][link]") {
    REQUIRE(run("ip link add wan0 type veth peer name lan0").status == 0);
    LinkMonitor monitor({"wan0"});
    CHECK(monitor.is_up("wan0") == false);

    // Both ends up: wan0 gets carrier.
    REQUIRE(run("ip link set lan0 up && ip link set wan0 up").status == 0);
    auto got = wait_events(monitor, 1);
    REQUIRE(got.size() == 1);
    CHECK(got[0].type == LinkEventType::link_up);
    CHECK(got[0].interface == "wan0");
    CHECK(got[0].ifindex == *ifindex_by_name("wan0"));

    REQUIRE(
        run("ip addr add 192.0.2.10/24 dev wan0 && ip addr add 192.0.2.99/24 dev lan0").status ==
        0);
    got = wait_events(monitor, 1);
    REQUIRE(got.size() >= 1);
    CHECK(got[0].type == LinkEventType::address_added);
    REQUIRE(got[0].address.has_value());
    CHECK(got[0].address->to_string() == "192.0.2.10/24");
    for (const auto& e : got)
        CHECK(e.interface == "wan0"); // lan0 is not watched

    REQUIRE(run("ip addr del 192.0.2.10/24 dev wan0").status == 0);
    got = wait_events(monitor, 1);
    REQUIRE(got.size() == 1);
    CHECK(got[0].type == LinkEventType::address_removed);
    CHECK(got[0].address->to_string() == "192.0.2.10/24");

    // Carrier lost when the peer goes down.
    REQUIRE(run("ip link set lan0 down").status == 0);
    got = wait_events(monitor, 1);
    REQUIRE(got.size() == 1);
    CHECK(got[0].type == LinkEventType::link_down);
    CHECK(monitor.is_up("wan0") == false);
    CHECK(wait_events(monitor, 1, 200).empty()); // nothing more
}

TEST_CASE_METHOD(FreshNetworkNamespace, "an address is added and removed once, as ip addr shows",
                 "[netlink][kernel][link]") {
    const auto v4 = gdoi::IpPrefix::parse("192.0.2.77/32");
    const auto v6 = gdoi::IpPrefix::parse("2001:db8::77/128");
    REQUIRE(v4.has_value());
    REQUIRE(v6.has_value());
    CHECK(add_interface_address("lo", *v4));
    CHECK_FALSE(add_interface_address("lo", *v4)); // already there: nothing changed
    CHECK(add_interface_address("lo", *v6));
    const auto shown = run("ip -o addr show dev lo").output;
    CHECK(shown.find("inet 192.0.2.77/32") != std::string::npos);
    CHECK(shown.find("inet6 2001:db8::77/128") != std::string::npos);

    CHECK(remove_interface_address("lo", *v4));
    CHECK_FALSE(remove_interface_address("lo", *v4)); // gone already
    CHECK(remove_interface_address("lo", *v6));
    CHECK(run("ip -o addr show dev lo").output.find("192.0.2.77") == std::string::npos);

    try {
        add_interface_address("nosuchdev0", *v4);
        FAIL("no error for a missing interface");
    } catch (const KernelError& e) {
        CHECK(std::string(e.what()) == "adding address 192.0.2.77/32 on nosuchdev0: no such interface");
    }
}
