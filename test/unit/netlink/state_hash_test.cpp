// Growing the kernel's SA table before anything is installed (netlink/state_hash.hpp), against
// a real kernel, each case in a fresh network namespace (whose table starts at 8 buckets).
// [esp] cases run in the VM (test/vm/030-netlink-states.sh); [no-esp] runs on hosts.
#include "netlink/netlink_kernel_ipsec.hpp"
#include "netlink/ownership.hpp"
#include "netlink/state_hash.hpp"
#include "netns.hpp"

#include <catch2/catch.hpp>

using namespace netlink;
using netlink_test::FreshNetworkNamespace;
using netlink_test::must;

namespace {

// A placeholder as a killed gdoid would have left it.
std::string leftover_placeholder_command(uint32_t spi) {
    return "ip xfrm state add src 0.0.0.0 dst 0.0.0.0 proto esp spi " + std::to_string(spi) +
           " reqid " + std::to_string(owned_placeholder_reqid) +
           " mode tunnel enc 'cbc(aes)' 0x00000000000000000000000000000000 auth-trunc 'hmac(sha256)' "
           "0x0000000000000000000000000000000000000000000000000000000000000000 128";
}

} // namespace

TEST_CASE_METHOD(FreshNetworkNamespace, "the SA table grows to 1024 buckets and keeps only the states it had",
                 "[netlink][kernel][esp]") {
    NetlinkKernelIpsec kernel;
    must("ip xfrm state add src 192.0.2.1 dst 192.0.2.2 proto esp spi 0x30000001 reqid 5 mode tunnel "
         "enc 'cbc(aes)' 0x000102030405060708090a0b0c0d0e0f auth-trunc 'hmac(sha1)' "
         "0x000102030405060708090a0b0c0d0e0f10111213 96");
    must(leftover_placeholder_command(0x100));
    const StateHashSize fresh = kernel.state_hash_size();
    CHECK(fresh.buckets == 8);
    CHECK(fresh.states == 2);
    CHECK(fresh.max_buckets >= wanted_state_hash_buckets);

    const StateHashGrowth growth = grow_state_hash(kernel);
    CHECK(growth.before.buckets == 8);
    CHECK(growth.before.states == 1); // the leftover placeholder went first
    CHECK(growth.after.buckets >= wanted_state_hash_buckets);
    CHECK(growth.after.states == 1);
    CHECK(growth.placeholders >= wanted_state_hash_buckets / 2);
    const auto left = kernel.dump_states();
    REQUIRE(left.size() == 1);
    CHECK(left[0].id.spi == 0x30000001);
    CHECK(left[0].reqid == 5);
    CHECK(kernel.state_hash_size().buckets == growth.after.buckets);

    // The table never shrinks: a second start (gdoid restarted) adds nothing, but still removes
    // what a gdoid killed while growing it left behind.
    must(leftover_placeholder_command(0x101));
    const StateHashGrowth again = grow_state_hash(kernel);
    CHECK(again.placeholders == 0);
    CHECK(again.after.buckets == growth.after.buckets);
    CHECK(kernel.dump_states().size() == 1);
}

TEST_CASE_METHOD(FreshNetworkNamespace, "a table that is already large enough is left alone",
                 "[netlink][kernel][esp]") {
    NetlinkKernelIpsec kernel;
    const StateHashGrowth growth = grow_state_hash(kernel, 8);
    CHECK(growth.placeholders == 0);
    CHECK(growth.after.buckets == 8);
    CHECK(kernel.dump_states().empty());
}

TEST_CASE_METHOD(FreshNetworkNamespace, "without ESP the SA table cannot be grown, and nothing is left",
                 "[netlink][kernel][no-esp]") {
    NetlinkKernelIpsec kernel;
    const StateHashSize fresh = kernel.state_hash_size(); // needs no ESP
    CHECK(fresh.buckets == 8);
    CHECK(fresh.states == 0);
    try {
        const auto growth = grow_state_hash(kernel);
        // This kernel has ESP after all: then the table must really have grown.
        WARN("this kernel has ESP; checked that the table grew instead");
        CHECK(growth.after.buckets >= wanted_state_hash_buckets);
    } catch (const KernelError& e) {
        CHECK(e.error_number() == EPROTONOSUPPORT);
        CHECK_THAT(e.what(), Catch::Contains("this kernel has no ESP support"));
        CHECK(kernel.state_hash_size().buckets == 8);
    }
    CHECK(kernel.dump_states().empty());
}
