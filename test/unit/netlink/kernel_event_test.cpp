// The XFRM event socket against the real host kernel, each case in a fresh network namespace.
#include "netlink/netlink_kernel_ipsec.hpp"
#include "netlink/xfrm_event_socket.hpp"
#include "netns.hpp"

#include <arpa/inet.h>
#include <catch2/catch.hpp>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace netlink;
using netlink_test::FreshNetworkNamespace;
using netlink_test::run;

namespace {

IpPrefix prefix(const char* text) {
    return *IpPrefix::parse(text);
}
IpAddress address(const char* text) {
    return *IpAddress::parse(text);
}

XfrmPolicy owned_policy(const char* from, const char* to, uint32_t offset) {
    XfrmPolicy p;
    p.id.selector.source = prefix(from);
    p.id.selector.destination = prefix(to);
    p.id.direction = XfrmPolicyDirection::out;
    p.priority = owned_priority(offset);
    XfrmTemplate t;
    t.source = address("192.0.2.10");
    t.destination = address("192.0.2.1");
    t.reqid = owned_reqid(1);
    p.templates.push_back(t);
    return p;
}

// Waits (bounded) for the socket to become readable, then drains it.
std::vector<KernelEvent> wait_events(XfrmEventSocket& events, int timeout_ms = 2000) {
    pollfd p{events.fd(), POLLIN, 0};
    if (poll(&p, 1, timeout_ms) <= 0) return {};
    return events.read_events();
}

} // namespace

TEST_CASE_METHOD(FreshNetworkNamespace, "a policy deletion made by someone else is reported",
                 "[netlink][kernel][events]") {
    NetlinkKernelIpsec kernel;
    XfrmEventSocket events;
    events.ignore_port_id(kernel.port_id());
    XfrmPolicy a = owned_policy("10.1.0.0/16", "10.2.0.0/16", 10);
    XfrmPolicy b = owned_policy("10.3.0.0/16", "10.4.0.0/16", 10);
    kernel.add_policy(a);
    kernel.add_policy(b);
    CHECK(wait_events(events, 200).empty()); // additions are ours and not news

    REQUIRE(run("ip xfrm policy delete src 10.1.0.0/16 dst 10.2.0.0/16 dir out").status == 0);
    auto got = wait_events(events);
    REQUIRE(got.size() == 1);
    CHECK(got[0].type == KernelEventType::policy_deleted);
    REQUIRE(got[0].policy.has_value());
    CHECK(*got[0].policy == a.id);

    // Our own deletion is not echoed back; foreign objects are none of our business.
    kernel.delete_policy(b.id);
    REQUIRE(run("ip xfrm policy add src 10.9.0.0/24 dst 10.8.0.0/24 dir out priority 5").status ==
            0);
    REQUIRE(run("ip xfrm policy delete src 10.9.0.0/24 dst 10.8.0.0/24 dir out").status == 0);
    CHECK(wait_events(events, 300).empty());

    // A flush by someone else may have taken ours with it: re-read everything.
    kernel.add_policy(a);
    REQUIRE(run("ip xfrm policy flush").status == 0);
    got = wait_events(events);
    REQUIRE(got.size() == 1);
    CHECK(got[0].type == KernelEventType::resync_needed);
}

TEST_CASE_METHOD(FreshNetworkNamespace, "lost notifications become resync_needed, not a crash",
                 "[netlink][kernel][events]") {
    NetlinkKernelIpsec kernel;
    XfrmEventSocket events;
    events.set_receive_buffer(4096);
    std::vector<XfrmOperation> operations;
    for (int i = 0; i < 2000; ++i) {
        char from[32];
        std::snprintf(from, sizeof from, "10.%d.%d.0/24", 10 + i / 256, i % 256);
        operations.push_back(XfrmOperation::add(owned_policy(from, "172.16.0.0/12", 1)));
    }
    kernel.apply(operations);
    auto got = events.read_events();
    REQUIRE_FALSE(got.empty());
    CHECK(got.back().type == KernelEventType::resync_needed);
    // And the socket keeps working afterwards.
    REQUIRE(run("ip xfrm policy delete src 10.10.0.0/24 dst 172.16.0.0/12 dir out").status == 0);
    auto later = wait_events(events);
    REQUIRE(later.size() == 1);
    CHECK(later[0].type == KernelEventType::policy_deleted);
}

TEST_CASE_METHOD(FreshNetworkNamespace, "a packet without a state raises an acquire for our policy",
                 "[netlink][kernel][events]") {
    NetlinkKernelIpsec kernel;
    XfrmEventSocket events;
    REQUIRE(run("sysctl -qw net.ipv4.conf.lo.disable_xfrm=0").status == 0);
    XfrmPolicy p = owned_policy("127.0.0.1/32", "127.0.0.2/32", 20);
    p.id.selector.ip_protocol = IPPROTO_UDP;
    kernel.add_policy(p);

    const int fd = socket(AF_INET, SOCK_DGRAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(9);
    inet_pton(AF_INET, "127.0.0.2", &to.sin_addr);
    // No state yet: the kernel holds or drops the packet and asks the key manager.
    (void)sendto(fd, "x", 1, 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
    close(fd);
    auto got = wait_events(events);
    REQUIRE(got.size() >= 1);
    CHECK(got[0].type == KernelEventType::acquire);
    REQUIRE(got[0].policy.has_value());
    CHECK(*got[0].policy == p.id);
    CHECK(got[0].acquire_source == address("127.0.0.1"));
    CHECK(got[0].acquire_destination == address("127.0.0.2"));
}

namespace {

// One UDP datagram from `source` to `destination` port 9: enough to meet an `out` policy.
void send_datagram(const char* source, const char* destination) {
    const int fd = socket(AF_INET, SOCK_DGRAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_in from{};
    from.sin_family = AF_INET;
    inet_pton(AF_INET, source, &from.sin_addr);
    REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof from) == 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(9);
    inet_pton(AF_INET, destination, &to.sin_addr);
    // The kernel drops the packet while it asks the key manager (net.core.xfrm_larval_drop).
    sendto(fd, "x", 1, 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
    close(fd);
}

size_t placeholders(NetlinkKernelIpsec& kernel) {
    size_t count = 0;
    for (const auto& s : kernel.dump_states()) count += s.id.spi == 0;
    return count;
}

} // namespace

TEST_CASE_METHOD(FreshNetworkNamespace,
                 "an ACQUIRE names the flow and its placeholder; discarding the placeholder lets the "
                 "next flow raise its own",
                 "[netlink][kernel][events][acquire]") {
    REQUIRE(run("ip link add v0 type veth peer name v1 && ip link set v0 up && ip link set v1 up && "
                "ip addr add 10.1.0.1/24 dev v0 && ip route add 10.2.0.0/24 dev v0")
                .status == 0);
    NetlinkKernelIpsec kernel;
    XfrmEventSocket events;
    events.ignore_port_id(kernel.port_id());
    // A router-originated trap like policy/per_destination.cpp builds: its template names a
    // state that never exists.
    XfrmPolicy trap;
    trap.id.selector.source = prefix("10.1.0.1/32");
    trap.id.selector.destination = prefix("10.2.0.0/24");
    trap.id.direction = XfrmPolicyDirection::out;
    trap.priority = owned_priority(0x2001);
    XfrmTemplate t;
    t.source = address("10.1.0.1");
    t.destination = address("100.127.0.2");
    t.reqid = owned_reqid(0x8001);
    trap.templates.push_back(t);
    kernel.add_policy(trap);

    send_datagram("10.1.0.1", "10.2.0.10");
    auto got = wait_events(events);
    REQUIRE(got.size() == 1);
    CHECK(got[0].type == KernelEventType::acquire);
    CHECK(got[0].acquire_source == address("10.1.0.1"));
    CHECK(got[0].acquire_destination == address("10.2.0.10"));
    CHECK(got[0].policy_priority == trap.priority);
    REQUIRE(got[0].placeholder);
    const auto placeholder = *got[0].placeholder;
    CHECK(placeholder.destination == address("100.127.0.2"));
    CHECK(placeholder.source == address("10.1.0.1"));
    CHECK(placeholder.reqid == t.reqid);
    CHECK(placeholder.ip_protocol == 50);
    CHECK(placeholder.sequence != 0);
    CHECK(placeholders(kernel) == 1);

    // While the placeholder lives, another destination through the same trap is dropped
    // without a word: this is why gdoid discards it once it has answered.
    send_datagram("10.1.0.1", "10.2.0.11");
    CHECK(wait_events(events, 300).empty());

    kernel.discard_acquire(placeholder);
    CHECK(placeholders(kernel) == 0);
    CHECK(wait_events(events, 200).empty()); // our own deletion is no news
    send_datagram("10.1.0.1", "10.2.0.11");
    got = wait_events(events);
    REQUIRE(got.size() == 1);
    CHECK(got[0].acquire_destination == address("10.2.0.11"));

    // Discarding twice, or one that expired, is fine; a foreign reqid is refused.
    kernel.discard_acquire(*got[0].placeholder);
    kernel.discard_acquire(*got[0].placeholder);
    CHECK(placeholders(kernel) == 0);
    auto foreign = *got[0].placeholder;
    foreign.reqid = 42;
    CHECK_THROWS_AS(kernel.discard_acquire(foreign), KernelError);
}
