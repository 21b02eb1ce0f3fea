// The daemon's shared datapath with an IPv4 and an IPv6 group (Cisco runs them as separate
// groups): both families' anchors at once, one inbound anchor address per family on lo, each
// removed with the last group of its family. Real programs on a veth pair in a private
// network namespace: needs root, like the rest of unit-bpf.
#include "../netlink/netns.hpp"
#include "daemon/datapath_service.hpp"

#include <catch2/catch.hpp>
#include <cstdio>
#include <fcntl.h>
#include <sched.h>
#include <string>
#include <unistd.h>

using netlink_test::must;

namespace {

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

// This thread (and the commands it runs) in a fresh network namespace with a "WAN" and a
// "LAN" device (the two ends of a veth pair); back in the original namespace when the scope ends.
class PrivateNetns {
public:
    PrivateNetns() {
        original_ = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        REQUIRE(original_ >= 0);
        REQUIRE(::unshare(CLONE_NEWNET) == 0);
        must("ip link set lo up && ip link add gdw0 type veth peer name gdl0 && "
             "ip link set gdw0 up && ip link set gdl0 up");
    }
    ~PrivateNetns() {
        ::setns(original_, CLONE_NEWNET);
        ::close(original_);
    }

private:
    int original_ = -1;
};

gdoi::IpAddress ip(const char* text) {
    return *gdoi::IpAddress::parse(text);
}

gdoid::daemon::DatapathNeeds needs_of(bpf::Anchors anchors) {
    gdoid::daemon::DatapathNeeds needs;
    needs.wan = "gdw0";
    needs.lans = {"gdl0"};
    needs.anchors = anchors;
    return needs;
}

} // namespace

TEST_CASE("An IPv4 and an IPv6 group share the datapath, each with its own anchors",
          "[bpf][datapath-service][ipv6]") {
    PrivateNetns netns;
    const auto v6 =
        needs_of({ip("2001:db8:ff01::1"), ip("fd00:6764:6f69::2"), ip("fd00:6764:6f69::1")});
    const auto v4 = needs_of({ip("192.0.2.1"), ip("100.127.255.2"), ip("100.127.255.1")});
    {
        gdoid::daemon::DatapathService service;
        REQUIRE_NOTHROW(service.require("v6", v6));
        REQUIRE_NOTHROW(service.require("v4", v4));
        auto lo = must("ip addr show dev lo");
        CHECK(contains(lo, "fd00:6764:6f69::1/128"));
        CHECK(contains(lo, "100.127.255.1/32"));

        // Groups of one family must still agree on their anchors.
        auto other_v6 =
            needs_of({ip("2001:db8:ff01::1"), ip("fd00:6764:6f69::12"), ip("fd00:6764:6f69::11")});
        CHECK_THROWS_WITH(service.require("v6-other", other_v6),
                          Catch::Contains("differ from 2001:db8:ff01::1 and anchor fd00:6764:6f69::1/"
                                          "fd00:6764:6f69::2 of group v6, which already uses the datapath: "
                                          "all groups share one header-preservation datapath, whose anchors "
                                          "are one set per address family"));

        service.release("v6");
        lo = must("ip addr show dev lo");
        CHECK_FALSE(contains(lo, "fd00:6764:6f69::1/128"));
        CHECK(contains(lo, "100.127.255.1/32"));
        CHECK(service.loaded());

        service.release("v4");
        CHECK_FALSE(contains(must("ip addr show dev lo"), "100.127.255.1"));
        CHECK_FALSE(service.loaded());
        CHECK_FALSE(contains(must("tc filter show dev gdw0 ingress"), "gdoid_"));
    }
}

TEST_CASE("An anchor address a killed gdoid left on lo is adopted and removed with the datapath",
          "[bpf][datapath-service]") {
    PrivateNetns netns;
    // What gdoid leaves when systemd's watchdog or SIGKILL ends it: the address, no programs.
    must("ip addr add 100.127.255.1/32 dev lo");
    const auto v4 = needs_of({ip("192.0.2.1"), ip("100.127.255.2"), ip("100.127.255.1")});
    {
        gdoid::daemon::DatapathService service;
        REQUIRE_NOTHROW(service.require("v4", v4));
        CHECK(contains(must("ip addr show dev lo"), "100.127.255.1/32"));
        service.release("v4");
        CHECK_FALSE(contains(must("ip addr show dev lo"), "100.127.255.1"));
        CHECK_FALSE(service.loaded());
    }
}

// Pre-fragmentation's XFRM interface through the shared datapath, on whatever this kernel
// offers: this host's has no xfrm_interface module, so there the group keeps the policy path,
// the reason is kept for gdoictl status and the mark layout stays the one without the
// pre-fragmentation bit; where the module exists, the interface, its route and the layout's
// bit are checked instead (the traffic itself is VM 170's).
TEST_CASE("pre-fragmentation: the XFRM interface, or why not; leftovers of a killed gdoid go",
          "[bpf][datapath-service][prefrag]") {
    PrivateNetns netns;
    const bool has_xfrmi = netlink_test::run("ip link add gdprobe type xfrm if_id 9").status == 0;
    if (has_xfrmi) must("ip link del gdprobe");
    // What a gdoid killed while using pre-fragmentation leaves: its rules (protocol 109).
    must("ip rule add pref 41 fwmark 0x200000/0x300000 from 10.1.0.0/16 lookup 26468 proto 109 && "
         "ip rule add pref 42 nop proto 109");
    auto v4 = needs_of({ip("192.0.2.1"), ip("100.127.255.2"), ip("100.127.255.1")});
    v4.pre_fragmentation = true;
    v4.pre_fragment_mtu = 1438;
    {
        gdoid::daemon::DatapathService service;
        REQUIRE_NOTHROW(service.require("v4", v4));
        REQUIRE(service.mark_layout());
        if (has_xfrmi) {
            CHECK_FALSE(service.pre_fragmentation_error());
            REQUIRE(service.pre_fragmentation());
            CHECK(service.pre_fragmentation()->if_id == 0x6764);
            CHECK(service.pre_fragmentation()->remote_anchor == ip("100.127.255.3"));
            CHECK(service.pre_fragmentation()->ifindex ==
                  std::stoi(must("cat /sys/class/net/gdoi-pf0/ifindex")));
            CHECK(service.mark_layout()->pre_fragment_mark == 0x00200000);
            CHECK(contains(must("ip -d link show gdoi-pf0"), "mtu 1438"));
            CHECK(contains(must("ip route show table 26468"), "default dev gdoi-pf0"));
        } else {
            REQUIRE(service.pre_fragmentation_error());
            CHECK(contains(*service.pre_fragmentation_error(), "gdoi-pf0"));
            CHECK(contains(*service.pre_fragmentation_error(), "xfrm_interface"));
            CHECK_FALSE(service.pre_fragmentation());
            CHECK(service.mark_layout()->pre_fragment_mark == 0);
        }
        // a group without rules: the leftovers of the killed gdoid are gone either way
        service.set_pre_fragmentation_rules("v4", {});
        CHECK_FALSE(contains(must("ip rule show"), "26468"));
        service.release("v4");
        CHECK_FALSE(contains(must("ip link show"), "gdoi-pf0"));
    }
    // Without pre-fragmentation, the rules an earlier gdoid left are removed at the start.
    must("ip rule add pref 42 nop proto 109");
    gdoid::daemon::DatapathService plain;
    auto without = v4;
    without.pre_fragmentation = false;
    REQUIRE_NOTHROW(plain.require("v4", without));
    CHECK_FALSE(contains(must("ip rule show"), "42:"));
    CHECK_FALSE(plain.pre_fragmentation_error());
    plain.release("v4");
}
