// A group's rekey life on a simulated clock, asserted as one timeline of kernel operations:
// registration, a push with ATD/DTD, the 7-5 % pull window, retries and failover, the 30 s
// activate-before-expiry lead, fail-closed. The pure parts are composed the way
// daemon/group_controller.cpp and daemon/group_dataplane.cpp compose them; only the sockets,
// the timers and the clock belong to the test.
#include "daemon/local_settings_builder.hpp"
#include "daemon/registration_driver.hpp"
#include "daemon/rekey_schedule.hpp"
#include "gdoi/crypto/prf.hpp"
#include "gdoi/crypto/rsa_signature.hpp"
#include "gdoi/pull/key_server_endpoint.hpp"
#include "gdoi/push/push_apply.hpp"
#include "netlink/fake_kernel_ipsec.hpp"
#include "policy/apply_plan.hpp"
#include "policy/desired_objects.hpp"
#include "policy/object_band.hpp"
#include "policy/plan.hpp"
#include "policy/tek_schedule.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

using namespace gdoid::daemon;
using namespace std::chrono_literals;
using gdoi::IpAddress;
using netlink::XfrmPolicyAction;
using netlink::XfrmPolicyDirection;
using netlink::XfrmStateDirection;

namespace {

constexpr uint32_t spi_a = 0xa0000001;
constexpr uint32_t spi_b = 0xb0000002;
constexpr uint32_t spi_c = 0xc0000003;
// The member registers at t0; every time in a timeline is an offset from it, in seconds.
const TimePoint t0 = TimePoint{} + 100000s;
const char* psk = "a-pre-shared-key-of-enough-length";

TimePoint at(std::chrono::seconds offset) {
    return t0 + offset;
}
long long offset_of(TimePoint t) {
    return std::chrono::duration_cast<std::chrono::seconds>(t - t0).count();
}

IpAddress address(const char* text) {
    const auto parsed = IpAddress::parse(text);
    REQUIRE(parsed);
    return *parsed;
}

gdoi::SelectorEndpoint endpoint(const char* prefix) {
    const auto parsed = gdoi::IpPrefix::parse(prefix);
    REQUIRE(parsed);
    return gdoi::SelectorEndpoint::from_prefix(*parsed);
}

// One ACL entry, the classic GET VPN "permit ip 10.0.0.0/8 10.0.0.0/8" (its own mirror, so one
// TEK covers both directions); every TEK of the story protects it.
gdoi::TekPolicy tek(uint32_t spi, std::chrono::seconds lifetime) {
    gdoi::TekPolicy t;
    t.spi = spi;
    t.selector = {0, endpoint("10.0.0.0/8"), endpoint("10.0.0.0/8")};
    t.cipher = gdoi::TekCipher::aes_cbc;
    t.cipher_key_bits = 256;
    t.integrity = gdoi::TekIntegrity::hmac_sha256;
    t.cipher_key = gdoi::crypto::random_secret(32);
    t.integrity_key = gdoi::crypto::random_secret(32);
    t.lifetime = lifetime;
    return t;
}

// A KEK that lives a day: its pull point never comes first here.
gdoi::KekPolicy kek() {
    static const auto key = gdoi::crypto::RsaPrivateKey::generate(2048);
    gdoi::KekPolicy k;
    k.spi.fill(0x5a);
    k.cipher = gdoi::KekCipher::aes_cbc;
    k.key_bits = 128;
    k.key = gdoi::crypto::random_secret(16);
    k.iv = gdoi::crypto::random_bytes(16);
    k.signature_key_bits = 2048;
    k.public_key_der = key.public_key_der();
    k.lifetime = 86400s;
    k.source = endpoint("192.0.2.1/32");
    k.destination = endpoint("239.1.1.1/32");
    return k;
}

gdoi::GroupPolicy served(std::vector<gdoi::TekPolicy> teks, uint32_t sequence) {
    gdoi::GroupPolicy p;
    p.group_id = 4321;
    p.kek = kek();
    p.teks = std::move(teks);
    p.sequence = sequence;
    return p;
}

// Two key servers in priority order, the defaults an operator gets: retry 3 times 10 s apart,
// pull window 7 %-5 %, new outbound SAs 30 s before the old ones expire.
GroupConfig group_config() {
    GroupConfig config;
    config.name = "wan";
    config.id = 4321;
    config.servers = {{address("192.0.2.1"), 848}, {address("192.0.2.2"), 848}};
    config.local_address = address("192.0.2.10");
    config.psk = gdoi::SecretBytes(std::string_view(psk));
    config.ike = {IkeEncryption::aes256_cbc, IkeHash::sha256, 14, 8h};
    config.wan_interface = "eth0";
    config.lan_interfaces = {"eth1"};
    config.anchor = default_anchor_addresses(gdoi::IpFamily::v4);
    return config;
}

// What build_local_settings() makes of `config` on a router whose eth0 has ifindex 2 and whose
// eth1 has ifindex 3 and the address 10.1.0.1 (it reads those from the system, which a unit test
// cannot set up).
policy::LocalSettings local_settings(const GroupConfig& config, uint32_t group_slot) {
    policy::LocalSettings s;
    s.group_name = config.name;
    s.group_id = config.id;
    s.group_slot = group_slot;
    s.wan = {config.wan_interface, 2};
    s.lans = {{config.lan_interfaces.at(0), 3}};
    s.v4 = policy::Anchors{config.local_address, config.anchor.remote, config.anchor.inbound};
    s.router_addresses = {address("10.1.0.1")};
    s.activate_before_expiry = config.rekey.activate_before_expiry;
    return s;
}

// The datapath maps of the group, in memory; every change is reported to `record`.
class RecordingMaps : public policy::DatapathMapWriter {
public:
    void add(const policy::MapEntry& e) override {
        change(e, true);
        if (record) record("map add " + e.to_string());
    }
    void remove(const policy::MapEntry& e) override {
        change(e, false);
        if (record) record("map remove " + e.to_string());
    }

    policy::DatapathEntries entries;
    std::function<void(const std::string&)> record;

private:
    template <typename Set, typename Value>
    static void change(Set& set, const Value& value, bool add) {
        if (add)
            set.insert(value);
        else
            set.erase(value);
    }
    void change(const policy::MapEntry& e, bool add) {
        switch (e.kind) {
        case policy::MapEntry::Kind::inbound_spi:
            change(entries.inbound_spis, e.spi, add);
            break;
        case policy::MapEntry::Kind::protected_destination:
            change(entries.protected_destinations, e.prefix, add);
            break;
        case policy::MapEntry::Kind::outbound_flow:
            change(entries.outbound_flows, std::pair(e.prefix, e.destination), add);
            break;
        }
    }
};

struct KeyServer {
    std::string name;
    IpAddress address;
    bool silent = false;                       // swallows every datagram
    std::function<gdoi::GroupPolicy()> policy; // what it hands out at a PULL
    std::unique_ptr<gdoi::pull::KeyServerEndpoint> endpoint;
};

// One member and its key servers on a simulated clock. The member is GroupController +
// GroupDataplane without sd-event: their four timers (registration, pull, TEK removal, kernel
// update) are optional time points, and run_until() jumps from one due time to the next.
class SimulatedMember {
public:
    explicit SimulatedMember(double pull_draw)
        : config_(group_config()), group_slot_(pick_group_slot(config_.id, {})),
          settings_(local_settings(config_, group_slot_)),
          timeline_(config_.rekey.activate_before_expiry),
          driver_(config_,
                  [this](const ServerAddress& server) {
                      // As the group controller: INITIAL-CONTACT only on first contact.
                      auto attempt = RegistrationDriver::attempt_config(config_, server, {});
                      attempt.phase1.initial_contact = !contacted_.contains(index_of(server));
                      return attempt;
                  }),
          pull_draw_(pull_draw) {
        for (size_t i = 0; i < config_.servers.size(); ++i) {
            servers_.push_back(
                {"ks" + std::to_string(i + 1), config_.servers[i].address, false, {}, {}});
            gdoi::pull::KeyServerEndpointConfig ks;
            ks.phase1.local_address = config_.servers[i].address;
            ks.phase1.acceptable = {{gdoi::crypto::CbcCipher::aes256,
                                     gdoi::crypto::HashAlgorithm::sha256,
                                     gdoi::crypto::DhGroup::modp2048, 86400s}};
            ks.phase1.pre_shared_key_for = [](const IpAddress&) {
                return std::optional<gdoi::SecretBytes>(gdoi::SecretBytes(std::string_view(psk)));
            };
            ks.authorizer = [this, i](const IpAddress&,
                                      const std::vector<uint32_t>&) -> gdoi::pull::PullDecision {
                auto policy = servers_[i].policy();
                const uint32_t sequence = policy.sequence.value_or(0);
                return gdoi::pull::PullGrant{std::move(policy), {}, sequence};
            };
            servers_.back().endpoint =
                std::make_unique<gdoi::pull::KeyServerEndpoint>(std::move(ks));
        }
        kernel_.on_change(
            [this](const netlink::FakeKernelIpsec& kernel, const netlink::FakeKernelIpsec::Call&) {
                record(kernel.journal().back());
                check_make_before_break(kernel.journal().back());
            });
        maps_.record = [this](const std::string& line) {
            record(line);
            check_make_before_break(line);
        };
    }

    KeyServer& server(size_t index) { return servers_.at(index); }
    // Something that happens at `offset` (registration, a push, a server going quiet).
    void schedule(std::chrono::seconds offset, std::function<void()> what) {
        script_.emplace(at(offset), std::move(what));
    }

    // GroupController::start().
    void start() {
        record("register");
        driver_.start(now_);
        pump();
    }

    // GroupController::on_push() once the receiver accepted the push.
    void push(gdoi::push::PushUpdate update) {
        REQUIRE(policy_);
        REQUIRE(policy_->kek); // without a KEK no push is accepted
        update.received_at = now_;
        std::string line = "push accepted, seq " + std::to_string(update.sequence) + ", new TEK";
        for (uint32_t spi : update.new_tek_spis)
            line += " " + hex(spi);
        record(line);
        const auto result = gdoi::push::apply(*policy_, update, now_);
        REQUIRE_FALSE(result.reregister);
        policy_ = result.next;
        if (update.kek) kek_received_ = now_;
        drop_retired_teks();
        for (const auto& removal : result.removals)
            pending_removals_.push_back(removal);
        observe(*policy_);
        apply_removals();
        schedule_pull();
    }

    void run_until(std::chrono::seconds offset) {
        const TimePoint end = at(offset);
        for (int steps = 0; steps < 10000; ++steps) {
            const auto next = next_event();
            if (!next || *next > end) {
                now_ = end;
                return;
            }
            now_ = std::max(now_, *next);
            dispatch_due();
            audit();
        }
        FAIL("the simulation does not settle");
    }

    TimePoint now() const { return now_; }
    const std::vector<std::string>& lines() const { return lines_; }
    const std::vector<std::string>& violations() const { return violations_; }
    const netlink::FakeKernelIpsec& kernel() const { return kernel_; }
    const policy::DatapathEntries& maps() const { return maps_.entries; }
    const std::optional<gdoi::GroupPolicy>& policy() const { return policy_; }
    const GroupConfig& config() const { return config_; }
    std::optional<TimePoint> pull_timer() const { return pull_timer_; }
    uint32_t group_slot() const { return group_slot_; }

private:
    static std::string hex(uint32_t value) {
        char buffer[16];
        snprintf(buffer, sizeof buffer, "0x%08x", value);
        return buffer;
    }

    void record(const std::string& what) {
        char when[32];
        snprintf(when, sizeof when, "%5lld  ", offset_of(now_));
        lines_.push_back(when + what);
    }

    size_t index_of(const ServerAddress& server) const {
        const auto& servers = config_.servers;
        return size_t(std::find(servers.begin(), servers.end(), server) - servers.begin());
    }

    std::optional<TimePoint> next_event() {
        std::optional<TimePoint> next;
        const auto consider = [&](std::optional<TimePoint> t) {
            if (t && (!next || *t < *next)) next = t;
        };
        if (!script_.empty()) consider(script_.begin()->first);
        consider(removal_timer_);
        consider(driver_.next_timer());
        consider(pull_timer_);
        consider(kernel_timer_);
        return next;
    }

    // Everything due now, in a fixed order (sd-event gives timers due together no order the
    // daemon relies on).
    void dispatch_due() {
        while (!script_.empty() && script_.begin()->first <= now_) {
            auto what = std::move(script_.begin()->second);
            script_.erase(script_.begin());
            what();
        }
        if (removal_timer_ && *removal_timer_ <= now_) {
            removal_timer_.reset();
            apply_removals();
        }
        if (const auto t = driver_.next_timer(); t && *t <= now_) {
            driver_.on_timer(now_);
            pump();
        }
        if (pull_timer_ && *pull_timer_ <= now_) {
            pull_timer_.reset();
            record("pull: no push renewed the keys in time");
            driver_.start(now_); // GroupController::reregister()
            pump();
        }
        if (kernel_timer_ && *kernel_timer_ <= now_) {
            kernel_timer_.reset();
            reconcile();
        }
    }

    // GroupController::pump(), with the network in between: datagrams reach the servers at
    // once, and their answers come back at once.
    void pump() {
        for (int round = 0; round < 100; ++round) {
            auto out = driver_.take_datagrams();
            for (auto& progress : driver_.take_events())
                handle(progress);
            if (out.empty()) return;
            for (const auto& datagram : out) {
                for (auto& ks : servers_) {
                    if (ks.address != datagram.to.address || ks.silent) continue;
                    for (const auto& answer :
                         ks.endpoint->on_datagram(config_.local_address, datagram.bytes, now_))
                        driver_.on_datagram({ks.address, 848}, answer, now_);
                }
            }
        }
        FAIL("the registration exchange does not end");
    }

    // GroupController::handle().
    void handle(RegistrationProgress& progress) {
        const std::string server = servers_.at(progress.server_index).name;
        switch (progress.kind) {
        case RegistrationProgress::Kind::attempt_started:
            record(server + ": attempt " + std::to_string(progress.attempt));
            break;
        case RegistrationProgress::Kind::attempt_failed:
            break; // the next attempt_started says when the driver went on
        case RegistrationProgress::Kind::all_servers_failed:
            record("no server answered: servers unreachable");
            if (!status_.servers_unreachable) { // GroupDataplane::set_servers_unreachable()
                status_.servers_unreachable = true;
                reconcile();
            }
            break;
        case RegistrationProgress::Kind::registered: {
            REQUIRE(progress.policy);
            policy_ = std::move(progress.policy);
            kek_received_ = now_;
            drop_retired_teks();
            contacted_.insert(progress.server_index);
            std::string line = "registered with " + server + ", TEK";
            for (const auto& t : policy_->teks)
                line += " " + hex(t.spi);
            record(line);
            observe(*policy_);
            schedule_pull();
            break;
        }
        }
    }

    void apply_removals() {
        std::optional<TimePoint> next;
        std::vector<gdoi::push::TekRemoval> later;
        for (const auto& removal : pending_removals_) {
            if (removal.at <= now_) {
                record("TEK " + hex(removal.spi) + " removed: " + removal.why);
                timeline_.forget_tek(removal.spi); // GroupDataplane::forget_tek()
                reconcile();
                retired_spis_.insert(removal.spi);
                drop_retired_teks();
            } else {
                later.push_back(removal);
                if (!next || removal.at < *next) next = removal.at;
            }
        }
        pending_removals_ = std::move(later);
        removal_timer_ = next;
    }

    void drop_retired_teks() {
        if (!policy_) return;
        std::erase_if(policy_->teks,
                      [&](const gdoi::TekPolicy& t) { return retired_spis_.contains(t.spi); });
    }

    // GroupController::schedule_pull(): each key from its first receipt (the timeline's).
    void schedule_pull() {
        const auto first_receipt = [this](uint32_t spi) -> std::optional<KeyLifetime> {
            if (const auto* known = timeline_.find(spi))
                return KeyLifetime{known->received_at, known->tek.lifetime};
            return std::nullopt;
        };
        pull_timer_ = next_pull(renewal_keys(*policy_, kek_received_, first_receipt, now_),
                                config_.rekey.pull_window, pull_draw_);
        if (pull_timer_) record("next pull at " + std::to_string(offset_of(*pull_timer_)));
    }

    // GroupDataplane::observe().
    void observe(const gdoi::GroupPolicy& policy) {
        status_.servers_unreachable = false;
        timeline_.observe(policy, now_);
        reconcile();
    }

    policy::InstalledObjects installed() {
        return {kernel_.dump_states(), kernel_.dump_policies(), maps_.entries};
    }

    // GroupDataplane::reconcile().
    void reconcile() {
        const auto desired = policy::desired_objects(timeline_, settings_, status_, now_);
        const auto operations = policy::diff(desired, installed(), group_slot_);
        const auto result = policy::apply_plan(operations, kernel_, maps_);
        REQUIRE(result.ok());
        timeline_.prune(now_);
        kernel_timer_ = timeline_.next_change_after(now_);
    }

    // After every step: what is installed is what should be installed now, so no timer of the
    // daemon missed a change.
    void audit() {
        const auto desired = policy::desired_objects(timeline_, settings_, status_, now_);
        for (const auto& op : policy::diff(desired, installed(), group_slot_))
            record("MISSED: " + op.to_string());
    }

    // Make-before-break, checked after every single kernel and map change: no `out` policy
    // sends through a state that is not there, nor with a key whose inbound state is not
    // installed yet; every decrypting policy has an inbound state to accept with; the ingress
    // rewrite only steers SPIs whose inbound state exists.
    void check_make_before_break(const std::string& change) {
        const auto inbound_spi = [&](uint32_t spi) {
            return std::any_of(kernel_.states().begin(), kernel_.states().end(),
                               [&](const netlink::XfrmState& s) {
                                   return s.direction == XfrmStateDirection::in && s.id.spi == spi;
                               });
        };
        const auto inbound_reqid = [&](uint32_t reqid) {
            return std::any_of(kernel_.states().begin(), kernel_.states().end(),
                               [&](const netlink::XfrmState& s) {
                                   return s.direction == XfrmStateDirection::in && s.reqid == reqid;
                               });
        };
        const auto violation = [&](const std::string& what) {
            violations_.push_back(std::to_string(offset_of(now_)) + " after '" + change +
                                  "': " + what);
        };
        for (const auto& p : kernel_.policies()) {
            if (p.action != XfrmPolicyAction::allow) continue;
            for (const auto& t : p.templates) {
                // An ACQUIRE trap names a state that never exists, by design
                // (policy/per_destination.hpp).
                if (policy::band::reqid_slot_of_acquire_reqid(t.reqid) != 0 && t.spi == 0) continue;
                if (p.id.direction == XfrmPolicyDirection::out) {
                    if (!kernel_.find_state({t.destination, t.spi, t.ip_protocol, {}}))
                        violation("an out policy sends through missing state " + hex(t.spi));
                    if (!inbound_spi(t.spi))
                        violation("an out policy sends with " + hex(t.spi) +
                                  " before its inbound state exists");
                } else if (!inbound_reqid(t.reqid)) {
                    violation("a decrypting policy has no inbound state of reqid " +
                              std::to_string(t.reqid));
                }
            }
        }
        for (uint32_t spi : maps_.entries.inbound_spis)
            if (!inbound_spi(spi))
                violation("the ingress rewrites SPI " + hex(spi) + " with no inbound state");
    }

    GroupConfig config_;
    uint32_t group_slot_;
    policy::LocalSettings settings_;
    std::vector<KeyServer> servers_;
    netlink::FakeKernelIpsec kernel_;
    RecordingMaps maps_;
    policy::GroupTimeline timeline_;
    policy::GroupStatus status_;
    RegistrationDriver driver_;
    double pull_draw_;
    std::optional<gdoi::GroupPolicy> policy_;
    TimePoint kek_received_{};
    std::vector<gdoi::push::TekRemoval> pending_removals_;
    std::set<uint32_t> retired_spis_;
    std::set<size_t> contacted_;
    std::optional<TimePoint> removal_timer_;
    std::optional<TimePoint> pull_timer_;
    std::optional<TimePoint> kernel_timer_;
    std::multimap<TimePoint, std::function<void()>> script_;
    TimePoint now_ = t0;
    std::vector<std::string> lines_;
    std::vector<std::string> violations_;
};

std::string joined(const std::vector<std::string>& lines) {
    std::string text;
    for (const auto& line : lines)
        text += line + "\n";
    return text;
}

std::vector<std::string> operator+(std::vector<std::string> a, const std::vector<std::string>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

// TEK A: 1000 s from the registration at 0. TEK B: pushed at 100 for 2000 s (expires at 2100),
// ATD 60 s, DTD 90 s; the push repeats A with the 900 s it has left. Pull draw 0.5: the middle
// of the 7 %-5 % window of B's lifetime (140 s to 100 s before 2100), 1980.
constexpr double pull_draw = 0.5;

void play_registration_and_push(SimulatedMember& member) {
    member.server(0).policy = [] { return served({tek(spi_a, 1000s)}, 1); };
    member.schedule(0s, [&member] { member.start(); });
    member.schedule(100s, [&member] {
        gdoi::push::PushUpdate update;
        update.sequence = 2;
        auto repeated = member.policy()->teks.at(0);
        REQUIRE(repeated.spi == spi_a);
        repeated.lifetime = 900s; // what A has left
        update.teks = {repeated, tek(spi_b, 2000s)};
        update.new_tek_spis = {spi_b};
        update.gap = gdoi::GroupAssociatedPolicy{};
        update.gap->activation_delay = 60s;
        update.gap->deactivation_delay = 90s;
        member.push(update);

        // The pull window is 7 % to 5 % of B's 2000 s before B's expiry at 2100.
        const auto& window = member.config().rekey.pull_window;
        CHECK(next_pull(*member.policy(), member.now(), window, 0.0) == at(2100s - 140s));
        CHECK(next_pull(*member.policy(), member.now(), window, 1.0) == at(2100s - 100s));
        CHECK(member.pull_timer() == at(1980s));
        // From the pull on, the preferred server does not answer any more.
        member.server(0).silent = true;
    });
}

// Up to the pull, both stories are the same.
const std::vector<std::string> until_the_pull{
    // Registration with ks1: TEK A. Inbound state and the ingress entries first, then the
    // outbound state and the LAN flows, then the policies: `out` on the WAN (if2) pinned to the
    // sending TEK, `fwd` on the LAN (if3) and `in` to the router's 10.1.0.1 accepting any TEK
    // of the entry (one reqid per ACL entry).
    "    0  register",
    "    0  ks1: attempt 1",
    "    0  registered with ks1, TEK 0xa0000001",
    "    0  add state 0xa0000001 in",
    "    0  map add protected 10.0.0.0/8",
    "    0  map add inbound spi 0xa0000001",
    "    0  add state 0xa0000001 out",
    "    0  map add flow 10.0.0.0/8 -> 10.0.0.0/8",
    "    0  add policy out 10.1.0.1/32->10.0.0.0/8 dev if2 esp", // the router's ACQUIRE trap
    "    0  add policy out 10.0.0.0/8->10.0.0.0/8 dev if2 esp spi 0xa0000001",
    "    0  add policy fwd 10.0.0.0/8->10.0.0.0/8 dev if3 esp",
    "    0  add policy in 10.0.0.0/8->10.1.0.1/32 esp",
    // 7 %-5 % of A's 1000 s, draw 0.5: 60 s before A expires.
    "    0  next pull at 940",
    // The push: B receives at once, senders keep A until the ATD; the pull moves to B's window.
    "  100  push accepted, seq 2, new TEK 0xb0000002",
    "  100  add state 0xb0000002 in",
    "  100  map add inbound spi 0xb0000002",
    "  100  next pull at 1980",
    // ATD: outbound switches to B (its state first); A's outbound state stays until the DTD,
    // for packets that met the policy just before the switch.
    "  160  add state 0xb0000002 out",
    "  160  update policy out 10.0.0.0/8->10.0.0.0/8 dev if2 esp spi 0xb0000002",
    // DTD: A's states go (the inbound one after its ingress entry).
    "  190  TEK 0xa0000001 removed: superseded",
    "  190  delete state 0xa0000001 out",
    "  190  map remove inbound spi 0xa0000001",
    "  190  delete state 0xa0000001 in",
    // No push for B: the pull; ks1 gets its first try and 3 retries 10 s apart, then ks2.
    " 1980  pull: no push renewed the keys in time",
    " 1980  ks1: attempt 1",
    " 1990  ks1: attempt 2",
    " 2000  ks1: attempt 3",
    " 2010  ks1: attempt 4",
    " 2020  ks2: attempt 1",
};

} // namespace

TEST_CASE("rekey timeline: push with ATD/DTD, pull window, failover, activation 30 s before expiry",
          "[rekey-timeline]") {
    SimulatedMember member(pull_draw);
    play_registration_and_push(member);
    // ks2 answers with TEK C and, as key servers do, repeats B with the 80 s it has left.
    member.server(1).policy = [] { return served({tek(spi_b, 80s), tek(spi_c, 1000s)}, 3); };
    member.run_until(2200s);

    const auto expected =
        until_the_pull +
        std::vector<std::string>{
            // C received at 2020: inbound at once; no ATD, so senders switch 30 s before B expires.
            " 2020  registered with ks2, TEK 0xb0000002 0xc0000003",
            " 2020  add state 0xc0000003 in",
            " 2020  map add inbound spi 0xc0000003",
            // 7 %-5 % of C's 1000 s, draw 0.5.
            " 2020  next pull at 2960",
            " 2070  add state 0xc0000003 out",
            " 2070  update policy out 10.0.0.0/8->10.0.0.0/8 dev if2 esp spi 0xc0000003",
            // B expires: its states go (the outbound one stayed for packets already past the
            // policy at the switch).
            " 2100  delete state 0xb0000002 out",
            " 2100  map remove inbound spi 0xb0000002",
            " 2100  delete state 0xb0000002 in",
        };
    CHECK(joined(member.lines()) == joined(expected));
    CHECK(joined(member.violations()) == "");

    // What is left: C in both directions, the out policy pinned to it.
    std::vector<std::string> states;
    for (const auto& s : member.kernel().states())
        states.push_back((s.direction == XfrmStateDirection::in ? "in " : "out ") +
                         std::to_string(s.id.spi));
    CHECK(states ==
          std::vector<std::string>{"in " + std::to_string(spi_c), "out " + std::to_string(spi_c)});
    CHECK(member.maps().inbound_spis == std::set<uint32_t>{spi_c});
    const auto out = std::find_if(
        member.kernel().policies().begin(), member.kernel().policies().end(),
        [](const netlink::XfrmPolicy& p) {
            // The entry's own (the router's ACQUIRE trap has the router address as source).
            return p.id.direction == XfrmPolicyDirection::out && p.id.selector.source.length == 8;
        });
    REQUIRE(out != member.kernel().policies().end());
    REQUIRE(out->templates.size() == 1);
    CHECK(out->templates[0].spi == spi_c);
}

TEST_CASE("rekey timeline: an ATD earlier than the 30 s lead wins, a DTD ends the old key early",
          "[rekey-timeline]") {
    SimulatedMember member(pull_draw);
    play_registration_and_push(member);
    // ks2's answer carries a GAP: senders switch 20 s after receipt, the old TEK goes 45 s after.
    member.server(1).policy = [] {
        auto policy = served({tek(spi_b, 80s), tek(spi_c, 1000s)}, 3);
        policy.gap.activation_delay = 20s;
        policy.gap.deactivation_delay = 45s;
        return policy;
    };
    member.run_until(2200s);

    const auto expected =
        until_the_pull +
        std::vector<std::string>{
            " 2020  registered with ks2, TEK 0xb0000002 0xc0000003",
            " 2020  add state 0xc0000003 in",
            " 2020  map add inbound spi 0xc0000003",
            " 2020  next pull at 2960",
            // ATD: 2040, before the lead's 2070.
            " 2040  add state 0xc0000003 out",
            " 2040  update policy out 10.0.0.0/8->10.0.0.0/8 dev if2 esp spi 0xc0000003",
            // DTD: 2065, before B's expiry at 2100; B's outbound state goes with it.
            " 2065  delete state 0xb0000002 out",
            " 2065  map remove inbound spi 0xb0000002",
            " 2065  delete state 0xb0000002 in",
        };
    CHECK(joined(member.lines()) == joined(expected));
    CHECK(joined(member.violations()) == "");
}

TEST_CASE("rekey timeline: no server answers until the keys expire, then fail-closed",
          "[rekey-timeline]") {
    SimulatedMember member(pull_draw);
    play_registration_and_push(member);
    member.server(1).silent = true;
    member.run_until(2100s);

    const auto expected =
        until_the_pull +
        std::vector<std::string>{
            " 2030  ks2: attempt 2",
            " 2040  ks2: attempt 3",
            " 2050  ks2: attempt 4",
            // Every server failed: fail-open rules would apply now (none configured); B still
            // works.
            " 2060  no server answered: servers unreachable",
            " 2060  ks1: attempt 1",
            " 2070  ks1: attempt 2",
            " 2080  ks1: attempt 3",
            " 2090  ks1: attempt 4",
            // B expires with no successor: the entry's policies turn into blocks in place (no
            // moment in clear text), then B's objects go; ks2's next try comes after.
            " 2100  update policy out 10.0.0.0/8->10.0.0.0/8 dev if2 block",
            " 2100  update policy fwd 10.0.0.0/8->10.0.0.0/8 dev if3 block",
            " 2100  update policy in 10.0.0.0/8->10.1.0.1/32 block",
            " 2100  delete policy out 10.1.0.1/32->10.0.0.0/8 dev if2",
            " 2100  map remove flow 10.0.0.0/8 -> 10.0.0.0/8",
            " 2100  delete state 0xb0000002 out",
            " 2100  map remove inbound spi 0xb0000002",
            " 2100  map remove protected 10.0.0.0/8",
            " 2100  delete state 0xb0000002 in",
            " 2100  ks2: attempt 1",
        };
    CHECK(joined(member.lines()) == joined(expected));
    CHECK(joined(member.violations()) == "");

    // Only the fail-closed blocks of the group's last known ACL remain.
    CHECK(member.kernel().states().empty());
    CHECK(member.maps() == policy::DatapathEntries{});
    // out on the WAN, fwd on the LAN, in toward the router's LAN address
    REQUIRE(member.kernel().policies().size() == 3);
    for (const auto& p : member.kernel().policies()) {
        CHECK(p.action == XfrmPolicyAction::block);
        CHECK(p.priority ==
              policy::band::priority(member.group_slot(), policy::band::block_offset));
    }
}
