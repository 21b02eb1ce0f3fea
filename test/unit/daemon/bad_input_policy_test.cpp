// The bad-input catalogue, policy content (docs/bad-input.md): authentic, fresh pushes (the
// key server's own signature, SEQ 11) whose content a member must not install. Each row runs
// against a freshly registered member of the daemon's real parts (bad_input_member.hpp) and
// asserts the counter that moves, the sentence in the log, and that the installed XFRM states
// and policies are byte-for-byte what they were. A push refused whole keeps its SEQ unused; a
// push whose TEKs are refused one by one is accepted (its SEQ is taken, its other content
// applies), as Cisco and Juniper members do.
#include "bad_input_member.hpp"

#include <algorithm>

using namespace gdoid::daemon;
using namespace gdoid::daemon::bad_input;
using gdoi::wire::Message;

namespace {

using Bytes = std::vector<uint8_t>;

// The SA TEK payloads of a push's SA, for edits.
std::vector<gdoi::wire::SaTekPayload*> sa_teks(Message& m) {
    std::vector<gdoi::wire::SaTekPayload*> out;
    for (auto& p : m.payloads)
        if (auto* sa = p.get<gdoi::wire::GdoiSaPayload>())
            for (auto& a : sa->attributes)
                if (auto* t = std::get_if<gdoi::wire::SaTekPayload>(&a)) out.push_back(t);
    return out;
}

struct Row {
    const char* klass;
    std::function<Bytes()> datagram;
    const char* counter; // "accepted" (the push, not the refused TEK) or a refusal reason
    const char* text;    // in the log
    size_t max_teks = gdoi::kDefaultMaxTeks;
    bool installs = false; // the push is good after all: its TEK goes into the kernel
};

gdoi::push::PushSpec spec_with(std::vector<gdoi::TekPolicy> teks) {
    auto spec = push_spec(first_sequence + 1);
    spec.teks = std::move(teks);
    return spec;
}

std::vector<Row> rows() {
    return {
        {"more TEKs than max-teks",
         [] {
             return gdoi::push::build_push(
                 spec_with({tek(0x20000001), tek(0x20000002), tek(0x20000003)}));
         },
         "invalid_policy", "carries 3 TEKs, more than max-teks (2): refused, nothing changed", 2},
        {"unpaired selectors (a unicast TEK without its mirror)",
         [] {
             auto t = tek(0x20000002);
             t.selector = {0, endpoint("10.1.0.0/16"), endpoint("10.2.0.0/16")};
             return gdoi::push::build_push(spec_with({t}));
         },
         "accepted",
         "rekey: TEK 0x20000002 refused: TEK 0x20000002: unicast policy without its mirror"},
        {"unsupported algorithm (ESP_NULL)",
         [] {
             return seal(gdoi::push::push_chain(spec_with({tek(0x20000002)}), [](Message& m) {
                 for (auto* t : sa_teks(m))
                     t->transform_id = gdoi::wire::esp_transform::null_encryption;
             }));
         },
         "accepted",
         "rekey: TEK 0x20000002 refused: ESP_NULL (no encryption) refused: the group's traffic "
         "would "
         "cross the WAN in clear text"},
        {"unsupported algorithm (single DES)",
         [] {
             return seal(gdoi::push::push_chain(spec_with({tek(0x20000002)}), [](Message& m) {
                 for (auto* t : sa_teks(m))
                     t->transform_id = gdoi::wire::esp_transform::des;
             }));
         },
         "accepted",
         "rekey: TEK 0x20000002 refused: SA TEK 20000002: ESP transform 2 not supported"},
        {"key length that does not match the algorithm (16-octet key for AES-256)",
         [] {
             auto t = tek(0x20000002);
             t.cipher_key = gdoi::crypto::random_secret(16);
             return gdoi::push::build_push(spec_with({t}));
         },
         "accepted", "TEK_ALGORITHM_KEY has 16 octets, expected 32"},
        {"AES key length that AES does not have (AES-200)",
         [] {
             auto t = tek(0x20000002);
             t.cipher_key_bits = 200;
             t.cipher_key = gdoi::crypto::random_secret(25);
             return gdoi::push::build_push(spec_with({t}));
         },
         "accepted", "AES key length 200 (128, 192 or 256)"},
        {"zero lifetime (none given): RFC 2407's default, as at registration",
         [] { return gdoi::push::build_push(spec_with({tek(0x20000002, 0s)})); }, "accepted",
         "TEK 0x20000002 came with lifetime 0 s (none): RFC 2407's 28800 s applies",
         gdoi::kDefaultMaxTeks, true},
        {"absurd lifetime (ten years)",
         [] {
             return gdoi::push::build_push(
                 spec_with({tek(0x20000002, std::chrono::hours(24 * 3650))}));
         },
         "accepted",
         "rekey: TEK 0x20000002 refused: lifetime 315360000 s is beyond 2592000 s (30 days)"},
    };
}

} // namespace

TEST_CASE("authentic pushes with content a member must not install: refused with the reason, "
          "installed SAs unchanged",
          "[bad-input]") {
    for (const auto& row : rows()) {
        DYNAMIC_SECTION(row.klass) {
            auto config = member_config();
            config.max_teks = row.max_teks;
            Lab lab(config);
            lab.register_member();
            const auto before = lab.kernel_snapshot();
            REQUIRE_FALSE(before.empty());
            auto& counters = lab.group().counters;
            lab.send(server_address, row.datagram());
            REQUIRE(lab.run_until(
                [&] { return counters.pushes_rejected + counters.pushes_accepted > 0; }, 5s));
            lab.run_for(300ms);
            INFO("log: " << [&] {
                std::string all;
                for (const auto& line : lab.log)
                    all += line.text + "\n";
                return all;
            }());
            if (std::string(row.counter) == "accepted") {
                CHECK(counters.pushes_accepted == 1);
                CHECK(counters.pushes_rejected == 0);
                CHECK(lab.controller().policy()->sequence == first_sequence + 1);
            } else {
                CHECK(counters.pushes_rejected == 1);
                CHECK(counters.pushes_rejected_by_reason[row.counter] == 1);
                CHECK(lab.controller().policy()->sequence == first_sequence);
            }
            CHECK(lab.logged(row.text));
            if (row.installs) {
                const auto& states = lab.kernel().states();
                CHECK(std::any_of(states.begin(), states.end(),
                                  [](const auto& st) { return st.id.spi == 0x20000002; }));
            } else {
                CHECK(lab.kernel_snapshot() == before);
            }
            CHECK(lab.group().state() == GroupState::registered);
        }
    }
}

// Accepted with a warning, not refused: the member simply pulls before the KEK expires (what
// Cisco and Juniper members do when no KEK rekey comes), and the operator learns why it will.
TEST_CASE("a KEK lifetime shorter than a TEK's is accepted with a warning naming both",
          "[bad-input]") {
    Lab lab;
    lab.register_member();
    auto spec = push_spec(first_sequence + 1);
    spec.sa_kek->lifetime = 600s;
    spec.teks = {tek(0x20000002, 3600s)};
    lab.send(server_address, gdoi::push::build_push(spec));
    auto& counters = lab.group().counters;
    REQUIRE(lab.run_until([&] { return counters.pushes_accepted == 1; }, 5s));
    CHECK(lab.logged("KEK lifetime 600 s is shorter than TEK 0x20000002's 3600 s"));
}
