// Policies against the real host kernel, each case in a fresh network namespace (needs root).
#include "netlink/netlink_kernel_ipsec.hpp"
#include "netns.hpp"

#include <arpa/inet.h>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/utsname.h>
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

XfrmPolicy tunnel_policy(const char* from, const char* to, XfrmPolicyDirection direction,
                         uint32_t priority_offset) {
    XfrmPolicy p;
    p.id.selector.source = prefix(from);
    p.id.selector.destination = prefix(to);
    p.id.direction = direction;
    p.priority = owned_priority(priority_offset);
    XfrmTemplate t;
    t.source = address("192.0.2.10");
    t.destination = address("100.127.0.1");
    t.reqid = owned_reqid(1);
    p.templates.push_back(t);
    return p;
}

// The kernel assigns indexes; everything else must come back exactly as sent.
std::vector<XfrmPolicy> without_index(std::vector<XfrmPolicy> policies) {
    for (auto& p : policies)
        p.index = 0;
    std::sort(policies.begin(), policies.end());
    return policies;
}

int udp_send(int fd, const char* to) {
    sockaddr_in destination{};
    destination.sin_family = AF_INET;
    destination.sin_port = htons(9);
    inet_pton(AF_INET, to, &destination.sin_addr);
    const char payload[] = "x";
    if (sendto(fd, payload, 1, 0, reinterpret_cast<sockaddr*>(&destination), sizeof destination) <
        0)
        return errno;
    return 0;
}

bool kernel_at_least(int major, int minor) {
    utsname u;
    uname(&u);
    int a = 0, b = 0;
    std::sscanf(u.release, "%d.%d", &a, &b);
    return a > major || (a == major && b >= minor);
}

} // namespace

TEST_CASE_METHOD(FreshNetworkNamespace, "policies of every kind are installed and read back",
                 "[netlink][kernel]") {
    NetlinkKernelIpsec kernel;
    std::vector<XfrmPolicy> wanted;
    wanted.push_back(tunnel_policy("10.1.0.0/16", "10.2.0.0/16", XfrmPolicyDirection::out, 100));
    wanted.push_back(tunnel_policy("10.2.0.0/16", "10.1.0.0/16", XfrmPolicyDirection::in, 100));
    wanted.push_back(tunnel_policy("10.2.0.0/16", "10.1.0.0/16", XfrmPolicyDirection::fwd, 100));
    wanted.back().templates[0].optional = true;
    // Marked, scoped to a device, with protocol and ports.
    XfrmPolicy marked = tunnel_policy("10.3.0.0/24", "10.4.0.0/24", XfrmPolicyDirection::out, 50);
    marked.id.mark = XfrmMark{0x00100000, 0x00100000};
    marked.id.selector.ifindex = 1; // lo
    marked.id.selector.ip_protocol = 17;
    marked.id.selector.source_port = 848;
    marked.id.selector.destination_port = 848;
    wanted.push_back(marked);
    // Plain allow (bypass) and block, no templates.
    XfrmPolicy allow;
    allow.id.selector.source = prefix("10.1.5.0/24");
    allow.id.selector.destination = prefix("10.2.5.0/24");
    allow.priority = owned_priority(1);
    wanted.push_back(allow);
    XfrmPolicy block = allow;
    block.id.selector.destination = prefix("10.2.6.0/24");
    block.action = XfrmPolicyAction::block;
    block.priority = owned_priority(2);
    wanted.push_back(block);
    // IPv6 with a transport-mode template.
    XfrmPolicy v6 =
        tunnel_policy("2001:db8:1::/48", "2001:db8:2::/48", XfrmPolicyDirection::out, 7);
    v6.templates[0].source = address("2001:db8::10");
    v6.templates[0].destination = address("2001:db8::1");
    wanted.push_back(v6);
    // The same selector, direction and mark once more for an XFRM interface (if_id): a policy
    // of its own in the kernel (pre-fragmentation).
    XfrmPolicy interface_policy = wanted.front();
    interface_policy.id.if_id = 0x6764;
    interface_policy.templates[0].destination = address("100.127.255.3");
    wanted.push_back(interface_policy);

    for (const auto& p : wanted)
        kernel.add_policy(p);

    auto dumped = kernel.dump_policies();
    REQUIRE(dumped.size() == wanted.size());
    CHECK(without_index(dumped) == without_index(wanted));
    for (const auto& p : dumped)
        CHECK(p.index != 0);
    // An independent view: iproute2 sees them too.
    auto listing = run("ip xfrm policy list");
    // iproute2 names the selector's protocol through /etc/protocols (Debian package netbase)
    // and prints the bare number where that file is missing: either spelling is the same policy.
    const auto listed = [&](const std::string& protocol) {
        return listing.output.find("src 10.3.0.0/24 dst 10.4.0.0/24 proto " + protocol +
                                   " sport 848 dport 848 dev lo") != std::string::npos;
    };
    INFO(listing.output);
    CHECK((listed("udp") || listed("17")));
    CHECK(listing.output.find("mark 0x100000/0x100000") != std::string::npos);
    CHECK(listing.output.find("action block") != std::string::npos);
}

TEST_CASE_METHOD(FreshNetworkNamespace, "policies are updated and deleted, errors name the policy",
                 "[netlink][kernel]") {
    NetlinkKernelIpsec kernel;
    XfrmPolicy p = tunnel_policy("10.1.0.0/16", "10.2.0.0/16", XfrmPolicyDirection::out, 100);
    kernel.add_policy(p);
    try {
        kernel.add_policy(p);
        FAIL("a duplicate policy was accepted");
    } catch (const KernelError& e) {
        CHECK(e.error_number() == EEXIST);
        CHECK(std::string(e.what()) ==
              "adding XFRM out policy 10.1.0.0/16 -> 10.2.0.0/16: File exists; a policy with this "
              "selector, direction and mark exists");
    }

    XfrmPolicy changed = p;
    changed.priority = owned_priority(200);
    changed.templates[0].destination = address("100.127.0.2");
    kernel.update_policy(changed);
    auto dumped = kernel.dump_policies();
    REQUIRE(dumped.size() == 1);
    CHECK(without_index(dumped) == without_index({changed}));

    kernel.delete_policy(p.id);
    CHECK(kernel.dump_policies().empty());
    try {
        kernel.delete_policy(p.id);
        FAIL("deleting a missing policy succeeded");
    } catch (const KernelError& e) {
        CHECK(e.error_number() == ENOENT);
        CHECK(std::string(e.what()).starts_with(
            "deleting XFRM out policy 10.1.0.0/16 -> 10.2.0.0/16: "));
    }

    // Objects that would not be recognisable as ours are refused before reaching the kernel.
    XfrmPolicy foreign_priority = p;
    foreign_priority.priority = 100;
    CHECK_THROWS_WITH(kernel.add_policy(foreign_priority), Catch::Contains("outside gdoid's band"));
    CHECK(kernel.dump_policies().empty());
}

TEST_CASE_METHOD(FreshNetworkNamespace,
                 "10,000 policies go in a few syscalls; a bad one is named by index",
                 "[netlink][kernel][batch]") {
    NetlinkKernelIpsec kernel;
    constexpr size_t count = 10000, bad = 5000;
    std::vector<XfrmOperation> operations;
    for (size_t i = 0; i < count; ++i) {
        char from[32];
        std::snprintf(from, sizeof from, "10.%zu.%zu.0/24", 10 + i / 256, i % 256);
        XfrmPolicy p = tunnel_policy(from, "172.16.0.0/12", XfrmPolicyDirection::out, 1000);
        if (i == bad) p.templates[0].ip_protocol = IPPROTO_UDP; // not an IPsec protocol
        operations.push_back(XfrmOperation::add(p));
    }
    const auto before = kernel.counters();
    const auto start = std::chrono::steady_clock::now();
    try {
        kernel.apply(operations);
        FAIL("the bad policy was accepted");
    } catch (const BatchError& e) {
        REQUIRE(e.failures().size() == 1);
        CHECK(e.failures()[0].index == bad);
        CHECK(e.failures()[0].error_number == EINVAL);
        CHECK(e.failures()[0].message ==
              "adding XFRM out policy 10.29.136.0/24 -> 172.16.0.0/12: Invalid argument (kernel: "
              "Invalid XFRM protocol in template)");
        CHECK(
            std::string(e.what()).starts_with("1 of 10000 XFRM operations failed; first: #5000 "));
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const auto sendmsgs = kernel.counters().sendmsg_calls - before.sendmsg_calls;
    const auto recvmsgs = kernel.counters().recvmsg_calls - before.recvmsg_calls;
    std::printf("batch: %zu policies in %.3f s, %llu sendmsg + %llu recvmsg calls\n", count,
                seconds, (unsigned long long)sendmsgs, (unsigned long long)recvmsgs);
    CHECK(sendmsgs <= 50);
    CHECK(recvmsgs <= 200);
    auto owned = kernel.dump_owned_policies();
    CHECK(owned.size() == count - 1);

    // Deleting them all is one batch too.
    std::vector<XfrmOperation> deletes;
    for (const auto& p : owned)
        deletes.push_back(XfrmOperation::remove(p.id));
    kernel.apply(deletes);
    CHECK(kernel.dump_policies().empty());
}

TEST_CASE_METHOD(FreshNetworkNamespace,
                 "foreign policies survive flush_owned and cannot be replaced",
                 "[netlink][kernel]") {
    NetlinkKernelIpsec kernel;
    // Another IKE daemon's policies: one with an ordinary priority, one inside our band but with a
    // foreign reqid, one template-less bypass.
    auto a = run("ip xfrm policy add src 10.9.0.0/24 dst 10.8.0.0/24 dir out priority 100 "
                 "tmpl src 192.0.2.1 dst 192.0.2.2 proto esp mode tunnel reqid 7");
    REQUIRE(a.status == 0);
    auto b = run("ip xfrm policy add src 10.9.1.0/24 dst 10.8.1.0/24 dir out priority " +
                 std::to_string(owned_priority(3)) +
                 " tmpl src 192.0.2.1 dst 192.0.2.2 proto esp mode tunnel reqid 7");
    REQUIRE(b.status == 0);
    auto c = run("ip xfrm policy add src 10.9.2.0/24 dst 10.8.2.0/24 dir in priority 5");
    REQUIRE(c.status == 0);

    kernel.add_policy(tunnel_policy("10.1.0.0/16", "10.2.0.0/16", XfrmPolicyDirection::out, 100));
    kernel.add_policy(tunnel_policy("10.2.0.0/16", "10.1.0.0/16", XfrmPolicyDirection::in, 100));
    CHECK(kernel.dump_policies().size() == 5);
    CHECK(kernel.dump_owned_policies().size() == 2);

    // Same identity as the foreign policy: refused, and the foreign one is untouched.
    XfrmPolicy clash = tunnel_policy("10.9.0.0/24", "10.8.0.0/24", XfrmPolicyDirection::out, 1);
    CHECK_THROWS_WITH(kernel.update_policy(clash), Catch::Contains("belongs to another program"));
    CHECK_THROWS_WITH(kernel.delete_policy(clash.id),
                      Catch::Contains("belongs to another program"));
    try {
        kernel.apply(std::vector<XfrmOperation>{XfrmOperation::remove(clash.id)});
        FAIL("batch delete of a foreign policy succeeded");
    } catch (const BatchError& e) {
        CHECK(e.failures()[0].error_number == EPERM);
    }

    FlushResult flushed = kernel.flush_owned();
    CHECK(flushed.policies == 2);
    CHECK(flushed.states == 0);
    auto left = kernel.dump_policies();
    REQUIRE(left.size() == 3);
    for (const auto& p : left)
        CHECK_FALSE(is_owned(p));
    auto listing = run("ip xfrm policy list");
    CHECK(listing.output.find("src 10.9.0.0/24 dst 10.8.0.0/24") != std::string::npos);
    CHECK(listing.output.find("priority 100 ") != std::string::npos);
    CHECK(listing.output.find("src 10.9.1.0/24 dst 10.8.1.0/24") != std::string::npos);
    CHECK(listing.output.find("src 10.9.2.0/24 dst 10.8.2.0/24") != std::string::npos);
    CHECK(listing.output.find("10.1.0.0/16") == std::string::npos);
}

TEST_CASE_METHOD(FreshNetworkNamespace, "bypass_socket exempts one socket from a block-all policy",
                 "[netlink][kernel]") {
    NetlinkKernelIpsec kernel;
    XfrmPolicy block_all;
    block_all.id.selector.source = prefix("0.0.0.0/0");
    block_all.id.selector.destination = prefix("0.0.0.0/0");
    block_all.id.direction = XfrmPolicyDirection::out;
    block_all.action = XfrmPolicyAction::block;
    block_all.priority = owned_priority(0);
    kernel.add_policy(block_all);
    // Loopback skips XFRM by default (disable_xfrm); this namespace's lo must not.
    REQUIRE(run("sysctl -qw net.ipv4.conf.lo.disable_xfrm=0").status == 0);

    const int normal = socket(AF_INET, SOCK_DGRAM, 0);
    const int bypassed = socket(AF_INET, SOCK_DGRAM, 0);
    REQUIRE(normal >= 0);
    REQUIRE(bypassed >= 0);
    kernel.bypass_socket(bypassed, IpFamily::v4);
    CHECK(udp_send(normal, "127.0.0.1") == EPERM);
    CHECK(udp_send(bypassed, "127.0.0.1") == 0);
    // And once the policy is gone the normal socket works again: it was the policy.
    kernel.delete_policy(block_all.id);
    CHECK(udp_send(normal, "127.0.0.1") == 0);
    close(normal);
    close(bypassed);

    CHECK_THROWS_WITH(
        kernel.bypass_socket(-1, IpFamily::v4),
        Catch::Contains("exempting socket -1 (in) from IPsec policies: Bad file descriptor"));
}

TEST_CASE_METHOD(FreshNetworkNamespace, "XFRMA_SA_DIR support is probed from the kernel",
                 "[netlink][kernel]") {
    NetlinkKernelIpsec kernel;
    // Linux 6.10 introduced the SA direction attribute.
    CHECK(kernel.sa_direction_supported() == kernel_at_least(6, 10));
}
