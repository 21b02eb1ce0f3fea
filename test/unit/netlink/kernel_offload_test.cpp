// NIC crypto offload (XFRMA_OFFLOAD_DEV) against a real driver: netdevsim, in the VM
// (test/vm/030-netlink-states.sh runs the [esp] cases; scripts/vm-build-netdevsim provides the
// module). Each case has a fresh network namespace with one netdevsim NIC in it.
//
// Like ixgbe and mlx5, netdevsim offloads AES-GCM with a 128-bit ICV (RFC 4106) and refuses
// everything else; the kernel then refuses the whole state ("Device failed to offload this
// state"), which is why policy/apply_plan retries such a state in software.
#include "netdevsim.hpp"
#include "netlink/netlink_kernel_ipsec.hpp"
#include "netns.hpp"
#include "state_fixtures.hpp"

#include <catch2/catch.hpp>
#include <cstdio>

using namespace netlink;
using namespace netlink_test::fixtures;
using netlink_test::FreshNetworkNamespace;
using netlink_test::must;
using netlink_test::NetdevsimDevice;
using netlink_test::run;

namespace {

// The outbound state of a group TEK, AES-GCM-128 (16 octets of key, 4 of salt), asking `nic`
// for crypto offload.
XfrmState offloaded_gcm_state(uint32_t spi, const NetdevsimDevice& nic) {
    XfrmState s = outbound_state(spi);
    s.aead = XfrmAlgorithm{"rfc4106(gcm(aes))", key_of(20, 3), 128};
    s.offload_device = nic.name();
    return s;
}

// netdevsim prints the key and salt as host-order 32-bit words ("key=0x%08x %08x %08x %08x").
std::string driver_words(const gdoi::SecretBytes& key, size_t first, size_t count) {
    std::string out;
    const auto k = key.reveal();
    for (size_t w = first; w < first + count; ++w) {
        const uint32_t word = uint32_t(k[4 * w]) | uint32_t(k[4 * w + 1]) << 8 |
                              uint32_t(k[4 * w + 2]) << 16 | uint32_t(k[4 * w + 3]) << 24;
        char b[12];
        std::snprintf(b, sizeof b, "%s%08x", out.empty() ? "" : " ", word);
        out += b;
    }
    return out;
}

// Packets the namespace's NIC sent, from /proc/net/dev (per namespace, unlike /sys/class/net).
unsigned long long transmitted_packets(const std::string& device) {
    const auto r = run("cat /proc/net/dev");
    const auto at = r.output.find(device + ":");
    REQUIRE(at != std::string::npos);
    unsigned long long values[10] = {};
    REQUIRE(std::sscanf(r.output.c_str() + at + device.size() + 1,
                        "%llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &values[0], &values[1],
                        &values[2], &values[3], &values[4], &values[5], &values[6], &values[7],
                        &values[8], &values[9]) == 10);
    return values[9]; // receive: 8 columns, then transmit bytes, packets
}

} // namespace

TEST_CASE_METHOD(FreshNetworkNamespace,
                 "an outbound state offloaded to a NIC is programmed into its driver, and the "
                 "packets it protects reach the driver with it",
                 "[netlink][kernel][esp][offload]") {
    NetdevsimDevice nic;
    NetlinkKernelIpsec kernel;
    const XfrmState s = offloaded_gcm_state(0x40000011, nic);
    kernel.add_state(s);

    const auto dumped = kernel.dump_states();
    REQUIRE(dumped.size() == 1);
    CHECK(dumped[0].id == s.id);
    REQUIRE(dumped[0].offload_device.has_value()); // granted, not silently software
    CHECK(*dumped[0].offload_device == nic.name());

    auto table = nic.ipsec();
    INFO("driver table:\n" << table.text);
    CHECK(table.count == 1);
    // An outbound ("tx") SA for the state's destination, SPI and protocol, with its key and salt.
    CHECK_THAT(table.text, Catch::Contains("sa[0] tx ipaddr=100.127.0.1\n"));
    CHECK_THAT(table.text, Catch::Contains("spi=0x40000011 proto=0x32 salt=0x" +
                                           driver_words(s.aead->key, 4, 1) + " crypt=1"));
    CHECK_THAT(table.text, Catch::Contains("key=0x" + driver_words(s.aead->key, 0, 4)));

    // Traffic: 10.1.0.1 -> 10.2.0.10 matches a policy whose template is the state, and the
    // outer destination (the state's, 100.127.0.1) is routed out of the NIC.
    must("ip link set " + nic.name() + " up");
    must("ip addr add 192.0.2.10/24 dev " + nic.name());
    must("ip addr add 10.1.0.1/32 dev lo");
    must("ip route add 100.127.0.0/16 dev " + nic.name());
    must("ip route add 10.2.0.0/16 dev " + nic.name());
    must("ip neigh add 100.127.0.1 lladdr 02:00:00:00:00:01 dev " + nic.name() + " nud permanent");
    // (the kernel matches a template's reqid exactly: 0 would not find the state)
    must("ip xfrm policy add src 10.1.0.0/16 dst 10.2.0.0/16 dir out tmpl src 192.0.2.10 "
         "dst 100.127.0.1 proto esp spi 0x40000011 reqid " +
         std::to_string(s.reqid) + " mode tunnel");
    const auto sent_before = transmitted_packets(nic.name());
    // nobody answers: netdevsim only sends
    const auto ping = run("ping -c 3 -i 0.2 -W 1 -I 10.1.0.1 10.2.0.10");
    table = nic.ipsec();
    INFO("ping: " << ping.output);
    INFO("xfrm_stat: " << run("cat /proc/net/xfrm_stat").output);
    INFO("driver table after the pings:\n" << table.text);
    CHECK(table.tx == 3); // each echo request reached the driver carrying its offloaded state
    CHECK(transmitted_packets(nic.name()) - sent_before >= 3);
}

TEST_CASE_METHOD(FreshNetworkNamespace, "an IPv6 outbound state is offloaded the same way",
                 "[netlink][kernel][esp][offload]") {
    NetdevsimDevice nic;
    NetlinkKernelIpsec kernel;
    XfrmState s = offloaded_gcm_state(0x40000021, nic);
    s.id.destination = address("fd00:6764:6f69::2");
    s.source = address("2001:db8:ff01::1");
    s.selector.source = prefix("2001:db8:1::/64");
    s.selector.destination = prefix("2001:db8:2::/64");
    kernel.add_state(s); // XFRM_OFFLOAD_IPV6 set by the codec
    const auto dumped = kernel.dump_states();
    REQUIRE(dumped.size() == 1);
    REQUIRE(dumped[0].offload_device.has_value());
    CHECK(*dumped[0].offload_device == nic.name());
    const auto table = nic.ipsec();
    INFO("driver table:\n" << table.text);
    CHECK(table.count == 1);
    CHECK_THAT(table.text, Catch::Contains("sa[0] tx ipaddr=fd00:6764:6f69::2\n"));
    CHECK_THAT(table.text, Catch::Contains("spi=0x40000021 proto=0x32"));
}

TEST_CASE_METHOD(FreshNetworkNamespace, "deleting an offloaded state frees its entry in the driver",
                 "[netlink][kernel][esp][offload]") {
    NetdevsimDevice nic;
    NetlinkKernelIpsec kernel;
    const XfrmState first = offloaded_gcm_state(0x40000031, nic);
    const XfrmState second = offloaded_gcm_state(0x40000032, nic);
    kernel.add_state(first);
    kernel.add_state(second);
    REQUIRE(nic.ipsec().count == 2);
    kernel.delete_state(first.id);
    const auto table = nic.ipsec();
    INFO("driver table:\n" << table.text);
    CHECK(table.count == 1);
    CHECK_THAT(table.text, !Catch::Contains("spi=0x40000031"));
    CHECK_THAT(table.text, Catch::Contains("spi=0x40000032"));
    kernel.delete_state(second.id);
    CHECK(nic.ipsec().count == 0);
    CHECK(kernel.dump_states().empty());
}

TEST_CASE_METHOD(FreshNetworkNamespace,
                 "a state the driver cannot offload is refused whole, with the kernel's reason",
                 "[netlink][kernel][esp][offload]") {
    NetdevsimDevice nic;
    NetlinkKernelIpsec kernel;
    // The group TEKs of the lab and of most GET VPN deployments: AES-CBC + HMAC-SHA-256.
    XfrmState s = outbound_state(0x40000041);
    s.encryption = XfrmAlgorithm{"cbc(aes)", key_of(32, 1), 0};
    s.authentication = XfrmAlgorithm{"hmac(sha256)", key_of(32, 2), 128};
    s.offload_device = nic.name();
    CHECK_THROWS_WITH(kernel.add_state(s),
                      Catch::Contains("spi 0x40000041") &&
                          Catch::Contains("Device failed to offload this state"));
    CHECK(kernel.dump_states().empty()); // nothing half-made
    CHECK(nic.ipsec().count == 0);

    // The same state without the request is fine: what policy/apply_plan falls back to.
    s.offload_device.reset();
    kernel.add_state(s);
    const auto dumped = kernel.dump_states();
    REQUIRE(dumped.size() == 1);
    CHECK_FALSE(dumped[0].offload_device.has_value());
}
