// The destination-only fallback's WAN ingress rewrite (daemon/nft_ingress) against the host's
// real nf_tables, in a fresh network namespace per case.
#include "../netlink/netns.hpp"
#include "daemon/nft_ingress.hpp"

#include <arpa/inet.h>
#include <catch2/catch.hpp>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

using gdoid::daemon::NftIngress;
using netlink_test::FreshNetworkNamespace;
using netlink_test::run;

TEST_CASE_METHOD(FreshNetworkNamespace,
                 "the nftables ingress rewrite follows the group's SPIs and prefixes",
                 "[nft][kernel]") {
    REQUIRE(run("ip link add wan0 type veth peer name wan1").status == 0);
    {
        NftIngress ingress("wan0", *gdoi::IpAddress::parse("100.127.0.1"));
        CHECK(ingress.table() == "gdoid_wan0");
        ingress.add_spi(0x20000001);
        ingress.add_prefix(*gdoi::IpPrefix::parse("10.1.0.0/16"));
        auto listed = run("nft list table netdev gdoid_wan0");
        REQUIRE(listed.status == 0);
        CHECK_THAT(listed.output, Catch::Contains("hook ingress device \"wan0\""));
        CHECK_THAT(listed.output, Catch::Contains("elements = { 536870913 }"));
        CHECK_THAT(listed.output, Catch::Contains("elements = { 10.1.0.0/16 }"));
        CHECK_THAT(listed.output, Catch::Contains("esp spi @group_spis ip daddr set 100.127.0.1"));
        CHECK_THAT(listed.output,
                   Catch::Contains(
                       "ip frag-off & 8191 != 0 ip daddr @protected ip daddr set 100.127.0.1"));

        ingress.remove_spi(0x20000001);
        CHECK_THAT(run("nft list set netdev gdoid_wan0 group_spis").output,
                   !Catch::Contains("536870913"));
        // A bad change is refused with nft's words, and the table stays as it was.
        CHECK_THROWS_WITH(ingress.remove_spi(0x20000001),
                          Catch::Contains("nft refused the change"));
        CHECK_THAT(run("nft list set netdev gdoid_wan0 protected").output,
                   Catch::Contains("10.1.0.0/16"));

        // Someone else's table on the same device is none of our business.
        REQUIRE(run("nft add table netdev other && nft add chain netdev other c "
                    "'{ type filter hook ingress device \"wan0\" priority 0; }'")
                    .status == 0);
    }
    // Gone with the object; the foreign table stays.
    CHECK(run("nft list table netdev gdoid_wan0").status != 0);
    CHECK(run("nft list table netdev other").status == 0);
}

TEST_CASE_METHOD(FreshNetworkNamespace, "a leftover table of an earlier run is replaced",
                 "[nft][kernel]") {
    REQUIRE(run("ip link add wan0 type veth peer name wan1").status == 0);
    REQUIRE(run("nft add table netdev gdoid_wan0 && nft add set netdev gdoid_wan0 stale '{ type "
                "ipv4_addr; }'")
                .status == 0);
    NftIngress ingress("wan0", *gdoi::IpAddress::parse("100.127.0.1"));
    CHECK_THAT(run("nft list table netdev gdoid_wan0").output, !Catch::Contains("stale"));
}

namespace {

// A LAN host in a namespace of its own behind the device lan0 of the test's namespace (the
// router), 10.1.0.10 -> 10.1.0.1.
struct LanHost {
    std::string name = "gdoid-nft-host-" + std::to_string(getpid());
    LanHost() {
        REQUIRE(run("ip netns add " + name).status == 0);
        REQUIRE(run("ip link add lan0 type veth peer name eth0 netns " + name).status == 0);
        REQUIRE(run("ip addr add 10.1.0.1/24 dev lan0 && ip link set lan0 up").status == 0);
        REQUIRE(run("ip netns exec " + name +
                    " sh -c 'ip addr add 10.1.0.10/24 dev eth0 && ip link set eth0 up "
                    "&& ip link set lo up'")
                    .status == 0);
    }
    ~LanHost() { run("ip netns del " + name); }
};

// The MSS the router's end of a TCP connection from the LAN host may send: what the host's SYN
// advertised (as it arrived), less the timestamp option.
int accepted_mss(const LanHost& host, uint16_t port) {
    const int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(listener >= 0);
    const int on = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(0x0a010001);
    REQUIRE(bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(listen(listener, 1) == 0);
    const auto client =
        run("ip netns exec " + host.name + " timeout 5 bash -c 'exec 3<>/dev/tcp/10.1.0.1/" +
            std::to_string(port) + " && sleep 0.3' &");
    pollfd ready{listener, POLLIN, 0};
    REQUIRE(poll(&ready, 1, 5000) == 1);
    const int connection = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    REQUIRE(connection >= 0);
    int mss = 0;
    socklen_t length = sizeof mss;
    REQUIRE(getsockopt(connection, IPPROTO_TCP, TCP_MAXSEG, &mss, &length) == 0);
    close(connection);
    close(listener);
    return mss;
}

} // namespace

TEST_CASE_METHOD(
    FreshNetworkNamespace,
    "tcp-mss without BPF: SYNs from a LAN toward a remote prefix are clamped in nftables",
    "[nft][kernel]") {
    REQUIRE(run("ip link add wan0 type veth peer name wan1").status == 0);
    LanHost host;
    NftIngress ingress("wan0", *gdoi::IpAddress::parse("100.127.0.1"));
    CHECK(accepted_mss(host, 5001) > 1300); // 1448 on a 1500-octet link: nothing clamps yet

    CHECK(ingress.set_lan_clamp({"lan0"}, 1300));
    CHECK_FALSE(ingress.set_lan_clamp({"lan0"}, 1300)); // unchanged: nft is not run again
    auto listed = run("nft list table netdev gdoid_wan0");
    CHECK_THAT(listed.output, Catch::Contains("hook ingress device \"lan0\""));
    CHECK_THAT(listed.output, Catch::Contains("tcp option maxseg size set 1300"));
    // Only toward the group's remote prefixes: the router's address is not one yet.
    CHECK(accepted_mss(host, 5002) > 1300);
    // Made one for the test (in a member it is a TEK's destination prefix).
    ingress.add_remote_prefix(*gdoi::IpPrefix::parse("10.1.0.0/30"));
    const int clamped = accepted_mss(host, 5003);
    CHECK(clamped <= 1300);
    CHECK(clamped >= 1280); // 1300 less the timestamp option, not some other limit

    // The clamp goes with tcp-mss; the sets and their elements stay.
    CHECK(ingress.set_lan_clamp({"lan0"}, 0));
    listed = run("nft list table netdev gdoid_wan0");
    CHECK_THAT(listed.output, !Catch::Contains("maxseg"));
    CHECK_THAT(listed.output, Catch::Contains("10.1.0.0/30"));
    CHECK(accepted_mss(host, 5004) > 1300);
}
