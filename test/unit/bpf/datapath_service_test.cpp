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
