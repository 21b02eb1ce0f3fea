// Shared values for the policy/ unit tests: TEKs with real-length keys, a router's settings, a
// fake for the datapath maps and a harness that plans and applies against the fake kernel.
#pragma once

#include "netlink/fake_kernel_ipsec.hpp"
#include "policy/apply_plan.hpp"
#include "policy/desired_objects.hpp"
#include "policy/plan.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <functional>
#include <stdexcept>

namespace fixtures {

using namespace std::chrono_literals;
using policy::TimePoint;

inline gdoi::IpAddress addr(const char* text) {
    auto parsed = gdoi::IpAddress::parse(text);
    REQUIRE(parsed);
    return *parsed;
}

inline gdoi::IpPrefix pfx(const char* text) {
    auto parsed = gdoi::IpPrefix::parse(text);
    REQUIRE(parsed);
    return *parsed;
}

inline gdoi::SelectorEndpoint endpoint(const char* prefix, uint16_t port = 0) {
    return gdoi::SelectorEndpoint::from_prefix(pfx(prefix), port);
}

inline gdoi::TrafficSelector selector(const char* source, const char* destination,
                                      uint8_t protocol = 0) {
    return {protocol, endpoint(source), endpoint(destination)};
}

inline gdoi::SecretBytes key(size_t octets, uint8_t fill) {
    return gdoi::SecretBytes(std::vector<uint8_t>(octets, fill));
}

// AES-128-CBC + HMAC-SHA-256, keys derived from the SPI so different TEKs differ.
inline gdoi::TekPolicy tek(uint32_t spi, const char* source = "10.0.0.0/8",
                           const char* destination = "10.0.0.0/8",
                           std::chrono::seconds lifetime = 3600s) {
    gdoi::TekPolicy t;
    t.spi = spi;
    t.selector = selector(source, destination);
    t.cipher = gdoi::TekCipher::aes_cbc;
    t.cipher_key_bits = 128;
    t.cipher_key = key(16, uint8_t(spi));
    t.integrity = gdoi::TekIntegrity::hmac_sha256;
    t.integrity_key = key(32, uint8_t(spi >> 8));
    t.lifetime = lifetime;
    return t;
}

inline gdoi::GroupPolicy group_policy(std::vector<gdoi::TekPolicy> teks,
                                      std::optional<std::chrono::seconds> atd = std::nullopt,
                                      std::optional<std::chrono::seconds> dtd = std::nullopt) {
    gdoi::GroupPolicy p;
    p.group_id = 1234;
    p.teks = std::move(teks);
    p.gap.activation_delay = atd;
    p.gap.deactivation_delay = dtd;
    return p;
}

// The router gmA of datapath-notes.md: WAN eth0 (ifindex 2) 192.0.2.1, LANs eth1/eth2.
inline policy::LocalSettings settings() {
    policy::LocalSettings s;
    s.group_name = "wan";
    s.group_id = 1234;
    s.group_slot = 0;
    s.wan = {"eth0", 2};
    s.lans = {{"eth1", 3}, {"eth2", 4}};
    s.v4 = policy::Anchors{addr("192.0.2.1"), addr("100.127.0.2"), addr("100.127.0.1")};
    s.router_addresses = {addr("10.1.0.1")};
    return s;
}

inline TimePoint t0() {
    return TimePoint{} + 100000s;
}
inline TimePoint at(std::chrono::seconds offset) {
    return t0() + offset;
}

// The datapath maps of one group, in memory; can fail a chosen call.
class FakeMaps : public policy::DatapathMapWriter {
public:
    void add(const policy::MapEntry& entry) override {
        check(entry, "add");
        auto& d = entries;
        switch (entry.kind) {
        case policy::MapEntry::Kind::inbound_spi:
            d.inbound_spis.insert(entry.spi);
            break;
        case policy::MapEntry::Kind::protected_destination:
            d.protected_destinations.insert(entry.prefix);
            break;
        case policy::MapEntry::Kind::outbound_flow:
            d.outbound_flows.insert({entry.prefix, entry.destination});
            break;
        }
        log.push_back("add map " + entry.to_string());
        if (observer) observer();
    }
    void remove(const policy::MapEntry& entry) override {
        check(entry, "remove");
        auto& d = entries;
        switch (entry.kind) {
        case policy::MapEntry::Kind::inbound_spi:
            d.inbound_spis.erase(entry.spi);
            break;
        case policy::MapEntry::Kind::protected_destination:
            d.protected_destinations.erase(entry.prefix);
            break;
        case policy::MapEntry::Kind::outbound_flow:
            d.outbound_flows.erase({entry.prefix, entry.destination});
            break;
        }
        log.push_back("remove map " + entry.to_string());
        if (observer) observer();
    }

    policy::DatapathEntries entries;
    std::vector<std::string> log;
    std::function<void()> observer;
    std::optional<policy::MapEntry> fail_on;

private:
    void check(const policy::MapEntry& entry, const char* what) {
        if (fail_on && *fail_on == entry) {
            fail_on.reset();
            throw std::runtime_error(std::string("map ") + what + " refused: map full");
        }
    }
};

// One group planned and applied against the fake kernel, as the daemon will do it.
struct Harness {
    policy::GroupTimeline timeline;
    policy::LocalSettings config = settings();
    policy::GroupStatus status;
    netlink::FakeKernelIpsec kernel;
    FakeMaps maps;

    policy::InstalledObjects installed() {
        return {kernel.dump_states(), kernel.dump_policies(), maps.entries};
    }
    policy::Plan plan_at(TimePoint now) {
        return policy::plan(timeline, config, status, installed(), now);
    }
    policy::ApplyResult step(TimePoint now) {
        const auto p = plan_at(now);
        return policy::apply_plan(p.operations, kernel, maps);
    }
    policy::DesiredObjects desired(TimePoint now) const {
        return policy::desired_objects(timeline, config, status, now);
    }
};

inline std::vector<std::string> texts(const std::vector<policy::Operation>& ops) {
    std::vector<std::string> result;
    for (const auto& op : ops)
        result.push_back(op.to_string());
    return result;
}

inline size_t count_kind(const std::vector<policy::Operation>& ops, policy::Operation::Kind kind) {
    return size_t(std::count_if(ops.begin(), ops.end(),
                                [&](const policy::Operation& op) { return op.kind == kind; }));
}

// The policy the kernel would pick for a packet in one direction (lowest priority value
// among matching ones; ifindex 0 matches any device), or nullptr.
inline const netlink::XfrmPolicy* lookup(const std::vector<netlink::XfrmPolicy>& policies,
                                         netlink::XfrmPolicyDirection direction, const char* source,
                                         const char* destination, int ifindex, uint32_t mark = 0,
                                         uint32_t if_id = 0) {
    const netlink::XfrmPolicy* best = nullptr;
    const auto s = addr(source);
    const auto d = addr(destination);
    for (const auto& p : policies) {
        if (p.id.direction != direction || p.id.if_id != if_id) continue;
        const auto& sel = p.id.selector;
        if (!sel.source.contains(s) || !sel.destination.contains(d)) continue;
        if (sel.ifindex != 0 && sel.ifindex != ifindex) continue;
        if (p.id.mark && (mark & p.id.mark->mask) != p.id.mark->value) continue;
        if (best == nullptr || p.priority < best->priority) best = &p;
    }
    return best;
}

} // namespace fixtures
