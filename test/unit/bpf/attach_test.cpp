// Attaching to real devices: a veth pair in a private network namespace. Our filters appear
// on the right hooks, act on real packets, and stop removes exactly ours (and only a qdisc we
// created, only when empty); anyone else's filters survive.
#include "../netlink/netns.hpp"
#include "datapath_fixture.hpp"

#include <arpa/inet.h>
#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sched.h>
#include <string>
#include <sys/socket.h>
#include <unistd.h>

using namespace bpftest;
using netlink_test::must;
using netlink_test::run;

namespace {

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

// A fresh network namespace for the calling thread (and the commands it runs) with a veth
// pair gdw0 (our "WAN") <-> gdl0 (our "LAN"); the namespace and everything in it disappears
// when the scope ends, also when a REQUIRE fails.
class PrivateNetns {
public:
    PrivateNetns() {
        original_ = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        REQUIRE(original_ >= 0);
        REQUIRE(::unshare(CLONE_NEWNET) == 0);
        must("sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1");
        must("ip link add gdw0 type veth peer name gdl0");
        must("ip link set gdw0 up && ip link set gdl0 up");
    }
    ~PrivateNetns() {
        (void)::setns(original_, CLONE_NEWNET);
        ::close(original_);
    }
    PrivateNetns(const PrivateNetns&) = delete;
    PrivateNetns& operator=(const PrivateNetns&) = delete;

private:
    int original_ = -1;
};

// A foreign classifier that lets everything through, at a priority after ours. matchall is
// what an operator would use; kernels built without it (this CI host) get u32.
void add_foreign_filter(const std::string& device, const std::string& hook) {
    if (run("tc filter add dev " + device + " " + hook + " prio 49152 matchall action pass")
            .status == 0)
        return;
    must("tc filter add dev " + device + " " + hook +
         " protocol all prio 49152 u32 match u32 0 0 flowid 1:1");
}

std::string filters(const std::string& device, const std::string& hook) {
    return run("tc filter show dev " + device + " " + hook).output;
}

bool has_clsact(const std::string& device) {
    return contains(run("tc qdisc show dev " + device).output, "clsact");
}

class PacketSocket {
public:
    explicit PacketSocket(const char* device, uint32_t mark = 0) {
        fd_ = ::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
        REQUIRE(fd_ >= 0);
        address_.sll_family = AF_PACKET;
        address_.sll_protocol = htons(ETH_P_ALL);
        address_.sll_ifindex = static_cast<int>(if_nametoindex(device));
        REQUIRE(address_.sll_ifindex > 0);
        REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&address_), sizeof(address_)) == 0);
        if (mark) REQUIRE(::setsockopt(fd_, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) == 0);
        timeval timeout{0, 200'000};
        REQUIRE(::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout)) == 0);
    }
    ~PacketSocket() { ::close(fd_); }
    // 0, or the errno: a frame our egress program drops fails the send itself.
    int send(const Bytes& frame) {
        ssize_t n = ::sendto(fd_, frame.data(), frame.size(), 0,
                             reinterpret_cast<sockaddr*>(&address_), sizeof(address_));
        return n == static_cast<ssize_t>(frame.size()) ? 0 : errno;
    }
    // Frames until the timeout; only the IPv4 ones.
    std::vector<Bytes> receive_ipv4() {
        std::vector<Bytes> frames;
        Bytes buffer(2048);
        for (;;) {
            ssize_t n = ::recv(fd_, buffer.data(), buffer.size(), 0);
            if (n < 0) break;
            if (n > 34 && buffer[12] == 0x08 && buffer[13] == 0x00)
                frames.emplace_back(buffer.begin(), buffer.begin() + n);
        }
        return frames;
    }

private:
    int fd_ = -1;
    sockaddr_ll address_{};
};

} // namespace

TEST_CASE("attach puts our filters on the hooks; stop removes them and our qdiscs",
          "[bpf][attach]") {
    PrivateNetns netns;
    Fixture f;
    f.datapath.attach("gdw0", {"gdl0"});
    CHECK(contains(filters("gdw0", "ingress"), "gdoid_wan_in"));
    CHECK(contains(filters("gdw0", "egress"), "gdoid_wan_out"));
    CHECK(contains(filters("gdl0", "ingress"), "gdoid_lan_in"));
    CHECK(contains(filters("gdw0", "ingress"), "handle 0x67640001"));
    CHECK(contains(filters("gdw0", "ingress"), "direct-action"));
    CHECK(filters("gdl0", "egress").empty());
    CHECK(bpf::count_tc_filters(static_cast<int>(if_nametoindex("gdw0")),
                                bpf::TcDirection::egress) == 1);

    f.datapath.detach();
    CHECK(filters("gdw0", "ingress").empty());
    CHECK(filters("gdw0", "egress").empty());
    CHECK(filters("gdl0", "ingress").empty());
    CHECK_FALSE(has_clsact("gdw0"));
    CHECK_FALSE(has_clsact("gdl0"));
}

TEST_CASE("stop leaves foreign filters and a qdisc we did not create", "[bpf][attach]") {
    PrivateNetns netns;
    must("tc qdisc add dev gdw0 clsact");
    add_foreign_filter("gdw0", "ingress");
    {
        Fixture f;
        f.datapath.attach("gdw0", {"gdl0"});
        CHECK(contains(filters("gdw0", "ingress"), "gdoid_wan_in"));
        // Someone adds a filter to the qdisc we created on gdl0 while we run.
        add_foreign_filter("gdl0", "ingress");
    } // ~Datapath stops
    std::string wan_ingress = filters("gdw0", "ingress");
    CHECK_FALSE(contains(wan_ingress, "gdoid"));
    CHECK(contains(wan_ingress, "pref 49152"));
    CHECK(has_clsact("gdw0"));
    CHECK(filters("gdw0", "egress").find("gdoid") == std::string::npos);
    // We created gdl0's qdisc, but it is not empty: it stays, with the foreign filter.
    CHECK(has_clsact("gdl0"));
    CHECK(contains(filters("gdl0", "ingress"), "pref 49152"));
    CHECK_FALSE(contains(filters("gdl0", "ingress"), "gdoid"));
}

TEST_CASE("attach fails naming a missing or unsuitable interface and attaches nothing",
          "[bpf][attach]") {
    PrivateNetns netns;
    Fixture f;
    try {
        f.datapath.attach("gdw0", {"gdl0", "nosuch7"});
        FAIL("attach to a missing interface succeeded");
    } catch (const bpf::DatapathError& error) {
        CHECK(error.kind() == bpf::DatapathErrorKind::no_such_device);
        CHECK(contains(error.what(), "'nosuch7'"));
    }
    CHECK(filters("gdw0", "ingress").empty());
    CHECK(filters("gdl0", "ingress").empty());
    CHECK_FALSE(has_clsact("gdw0"));
    try {
        f.datapath.attach("lo", {"gdl0"});
        FAIL("attach to the loopback device succeeded");
    } catch (const bpf::DatapathError& error) {
        CHECK(error.kind() == bpf::DatapathErrorKind::unsupported_device);
        CHECK(contains(error.what(), "'lo'"));
    }
    CHECK_FALSE(has_clsact("gdl0"));
}

TEST_CASE("attached programs act on real packets crossing the veth pair", "[bpf][attach]") {
    PrivateNetns netns;
    Fixture f;
    f.datapath.attach("gdw0", {"gdl0"});
    PacketSocket capture_lan("gdl0");

    // Out of gdw0 into gdl0: WAN egress sees it leave, LAN ingress sees it arrive.
    PacketSocket wan("gdw0");
    CHECK(wan.send(ipv4_frame(ip("10.1.0.10"), ip("10.2.0.10"), filler(32, 1),
                              {.protocol = kProtoUdp})) == 0);
    capture_lan.receive_ipv4();
    CHECK(f.datapath.counters().lan_marked == 1);

    // ESP toward the dummy anchor without the flag never leaves.
    CHECK(wan.send(ipv4_frame(ip("192.0.2.1"), ip("100.127.0.2"), esp_payload(kSpi, 1, 64))) != 0);
    for (const Bytes& frame : capture_lan.receive_ipv4())
        CHECK(read_ipv4(frame).destination != ip("100.127.0.2"));
    CHECK(f.datapath.counters().out_unflagged_dropped == 1);

    // With the flag and a live slot, it leaves with the inner addresses.
    write_slot(f.datapath, 5, Slot{4, 61, monotonic_ns(), ip("10.1.0.77"), ip("10.2.0.88")});
    PacketSocket flagged("gdw0", f.layout.mark_for_slot(5));
    CHECK(flagged.send(ipv4_frame(ip("192.0.2.1"), ip("100.127.0.2"), esp_payload(kSpi, 2, 64))) ==
          0);
    bool restored_seen = false;
    for (const Bytes& frame : capture_lan.receive_ipv4()) {
        Ipv4View view = read_ipv4(frame);
        if (view.protocol != kProtoEsp) continue;
        restored_seen = view.source == ip("10.1.0.77") && view.destination == ip("10.2.0.88") &&
                        view.ttl == 61 && view.checksum_ok;
    }
    CHECK(restored_seen);
    CHECK(f.datapath.counters().out_restored == 1);

    // Into gdw0 from gdl0: WAN ingress rewrites group ESP toward our prefix.
    PacketSocket lan("gdl0");
    CHECK(lan.send(ipv4_frame(ip("10.2.0.10"), ip("10.1.0.10"), esp_payload(kSpi, 3, 64))) == 0);
    CHECK(lan.send(ipv4_frame(ip("10.2.0.10"), ip("10.1.0.10"), esp_payload(0x0badbad0, 3, 64))) ==
          0);
    usleep(100'000);
    auto counters = f.datapath.counters();
    CHECK(counters.in_rewritten == 1);
    CHECK(counters.in_unknown_spi == 1);
}

TEST_CASE("a restart hands the filters over; stale ones can be removed", "[bpf][attach]") {
    PrivateNetns netns;
    must("tc qdisc add dev gdl0 clsact");
    add_foreign_filter("gdl0", "ingress");
    {
        Fixture previous;
        previous.datapath.attach("gdw0", {"gdl0"});
        previous.datapath.release_attachments();
    } // the previous instance is gone; its filters still run
    CHECK(contains(filters("gdw0", "ingress"), "gdoid_wan_in"));
    CHECK(contains(filters("gdl0", "ingress"), "gdoid_lan_in"));
    int wan = static_cast<int>(if_nametoindex("gdw0"));
    {
        Fixture next;
        next.datapath.attach("gdw0", {"gdl0"}); // replaces, does not add
        CHECK(bpf::count_tc_filters(wan, bpf::TcDirection::ingress) == 1);
        CHECK(bpf::count_tc_filters(wan, bpf::TcDirection::egress) == 1);
        next.datapath.release_attachments();
    }
    CHECK(bpf::Datapath::remove_stale_filters("gdw0") == 2);
    CHECK(bpf::Datapath::remove_stale_filters("gdl0") == 1);
    CHECK(bpf::Datapath::remove_stale_filters("gdl0") == 0);
    CHECK(filters("gdw0", "ingress").empty());
    CHECK(filters("gdw0", "egress").empty());
    std::string lan = filters("gdl0", "ingress");
    CHECK_FALSE(contains(lan, "gdoid"));
    CHECK(contains(lan, "pref 49152")); // the foreign filter stays
}
