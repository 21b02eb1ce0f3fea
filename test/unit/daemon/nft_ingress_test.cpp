// The destination-only fallback's WAN ingress rewrite (daemon/nft_ingress) against the host's
// real nf_tables, in a fresh network namespace per case.
#include "daemon/nft_ingress.hpp"
#include "../netlink/netns.hpp"

#include <catch2/catch.hpp>

using gdoid::daemon::NftIngress;
using netlink_test::FreshNetworkNamespace;
using netlink_test::run;

TEST_CASE_METHOD(FreshNetworkNamespace, "the nftables ingress rewrite follows the group's SPIs and prefixes",
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
        CHECK_THAT(listed.output, Catch::Contains("ip frag-off & 8191 != 0 ip daddr @protected ip daddr set 100.127.0.1"));

        ingress.remove_spi(0x20000001);
        CHECK_THAT(run("nft list set netdev gdoid_wan0 group_spis").output, !Catch::Contains("536870913"));
        // A bad change is refused with nft's words, and the table stays as it was.
        CHECK_THROWS_WITH(ingress.remove_spi(0x20000001), Catch::Contains("nft refused the change"));
        CHECK_THAT(run("nft list set netdev gdoid_wan0 protected").output, Catch::Contains("10.1.0.0/16"));

        // Someone else's table on the same device is none of our business.
        REQUIRE(run("nft add table netdev other && nft add chain netdev other c "
                    "'{ type filter hook ingress device \"wan0\" priority 0; }'")
                    .status == 0);
    }
    // Gone with the object; the foreign table stays.
    CHECK(run("nft list table netdev gdoid_wan0").status != 0);
    CHECK(run("nft list table netdev other").status == 0);
}

TEST_CASE_METHOD(FreshNetworkNamespace, "a leftover table of an earlier run is replaced", "[nft][kernel]") {
    REQUIRE(run("ip link add wan0 type veth peer name wan1").status == 0);
    REQUIRE(run("nft add table netdev gdoid_wan0 && nft add set netdev gdoid_wan0 stale '{ type ipv4_addr; }'").status ==
            0);
    NftIngress ingress("wan0", *gdoi::IpAddress::parse("100.127.0.1"));
    CHECK_THAT(run("nft list table netdev gdoid_wan0").output, !Catch::Contains("stale"));
}
