// The bad-input catalogue, network part (docs/bad-input.md): one row per class of hostile or
// broken datagram a registered member may receive. Every row runs against a freshly registered
// member made of the daemon's real parts (bad_input_member.hpp), sends its datagram through
// the kernel to the member's GDOI socket, and asserts what an operator would see: the counter
// of `gdoictl status --json` that moves, the specific log line, and that the installed XFRM
// states and policies are byte-for-byte what they were, with the group still registered under
// its SEQ. The pushes are made by the test key server's builder (gdoi/push/push_builder) and
// changed where the row says so, then signed and encrypted like real ones.
#include "bad_input_member.hpp"
#include "gdoi/crypto/cbc_cipher.hpp"
#include "gdoi/push/push_crypto.hpp"

using namespace gdoid::daemon;
using namespace gdoid::daemon::bad_input;
using gdoi::wire::Message;
namespace payload = gdoi::wire::payload;

namespace {

using Bytes = std::vector<uint8_t>;

Bytes valid_push(uint32_t sequence = first_sequence + 1) {
    return gdoi::push::build_push(push_spec(sequence));
}

void set_header_length(Bytes& d, uint32_t length) {
    gdoi::wire::rewrite_header_length(d, length);
}

// Decrypts a push under the group's KEK, lets `change` edit the plaintext body, encrypts again:
// for damage the signature must catch.
Bytes tamper(Bytes push, const std::function<void(Bytes&)>& change) {
    const auto k = kek();
    const auto cipher = gdoi::push::kek_cbc_cipher(k);
    auto body = gdoi::crypto::cbc_decrypt(cipher, k.key, k.iv,
                                          std::span(push).subspan(gdoi::wire::kHeaderSize));
    change(body);
    auto encrypted = gdoi::crypto::cbc_encrypt(cipher, k.key, k.iv, body);
    std::copy(encrypted.begin(), encrypted.end(), push.begin() + gdoi::wire::kHeaderSize);
    return push;
}

// The chain of a valid push SEQ 11 with `edit` applied to its payloads, signed and sealed.
Bytes edited_push(const std::function<void(Message&)>& edit) {
    return seal(gdoi::push::push_chain(push_spec(first_sequence + 1), edit));
}

// Seals a chain whose first payload may not be SEQ: the header's next-payload from `first`.
Bytes edited_push_first(uint8_t first, const std::function<void(Message&)>& edit) {
    auto chain = gdoi::push::push_chain(push_spec(first_sequence + 1), edit);
    return seal(chain, first);
}

struct Row {
    const char* klass; // the class in docs/bad-input.md
    std::function<Bytes()> datagram;
    gdoi::IpAddress from; // sender
    const char* reason;   // pushes_rejected_by_reason key that moves by one
    const char* text;     // in the refusal's log line
};

std::vector<Row> rows() {
    return {
        {"truncated push (cut inside the ISAKMP header)",
         [] {
             auto d = valid_push();
             d.resize(20);
             return d;
         },
         server_address, "bad_header",
         "push of 20 octets is shorter than the 28-octet ISAKMP header"},
        {"length lie: header length says more than the datagram",
         [] {
             auto d = valid_push();
             set_header_length(d, uint32_t(d.size() + 16));
             return d;
         },
         server_address, "bad_header", "ISAKMP length field says"},
        {"truncated push (ciphertext cut, header length adjusted)",
         [] {
             auto d = valid_push();
             d.resize(d.size() - 5);
             set_header_length(d, uint32_t(d.size()));
             return d;
         },
         server_address, "decrypt_failed", "is not whole 16-octet"},
        {"push without the encryption flag",
         [] {
             auto d = valid_push();
             d[19] &= uint8_t(~gdoi::wire::flags::encryption);
             return d;
         },
         server_address, "not_encrypted", "GROUPKEY-PUSH without the encryption flag"},
        {"push under an unknown KEK SPI",
         [] {
             auto d = valid_push();
             d[0] ^= 0xff;
             return d;
         },
         server_address, "unknown_kek_spi", "unknown KEK SPI"},
        {"length lie inside the payload chain (SEQ longer than the message)",
         [] {
             auto chain = gdoi::push::push_chain(push_spec(first_sequence + 1));
             chain[3] = 0xf0; // SEQ payload length 0x00f0 ... past the end of the chain
             chain[2] = 0x0f;
             return seal(chain);
         },
         server_address, "malformed", "decrypted push does not parse"},
        {"payloads out of order (SIG before SEQ)",
         [] {
             return edited_push_first(payload::signature, [](Message& m) {
                 m.payloads.insert(m.payloads.begin(), gdoi::wire::SigPayload{Bytes(8, 0x55)});
             });
         },
         server_address, "malformed", "SIG is not the single last payload of the push"},
        {"mandatory payload missing (no SEQ)",
         [] {
             return edited_push_first(payload::sa,
                                      [](Message& m) { m.payloads.erase(m.payloads.begin()); });
         },
         server_address, "malformed", "push must carry exactly one SEQ payload"},
        {"mandatory payload duplicated (two SEQ)",
         [] {
             return edited_push([](Message& m) {
                 m.payloads.insert(m.payloads.begin(), gdoi::wire::SeqPayload{first_sequence + 2});
             });
         },
         server_address, "malformed", "push must carry exactly one SEQ payload"},
        {"unknown payload marked critical",
         [] {
             return edited_push([](Message& m) {
                 gdoi::wire::Payload unknown(gdoi::wire::UnknownPayload{200, Bytes(4, 0x11)});
                 unknown.critical = true;
                 m.payloads.insert(m.payloads.begin() + 1, unknown);
             });
         },
         server_address, "malformed", "of unknown type 200 is marked critical"},
        {"wrong signature (one octet of SIG changed after signing)",
         [] {
             // The SIG data ends the chain; the last 16 octets of the body hold its end or the
             // padding after it: change an octet well inside the signature.
             return tamper(valid_push(), [](Bytes& body) { body[body.size() - 40] ^= 0x01; });
         },
         server_address, "bad_signature", "signature does not verify with the KEK's RSA key"},
        {"foreign signature (signed by another key server's key)",
         [] {
             static const auto other =
                 gdoi::crypto::KekPrivateKey::generate(gdoi::crypto::KekSignatureScheme::rsa, 2048);
             auto chain = gdoi::push::push_chain(push_spec(first_sequence + 1));
             return gdoi::push::seal_push(kek(), other, gdoi::crypto::SignatureForm::digest_info,
                                          payload::sequence, chain);
         },
         server_address, "bad_signature", "signature does not verify with the KEK's RSA key"},
        {"replayed SEQ (equal to the last accepted)", [] { return valid_push(first_sequence); },
         server_address, "replayed_seq", "SEQ 10 is not greater than the last accepted 10"},
        {"old SEQ (below the last accepted)", [] { return valid_push(3); }, server_address,
         "replayed_seq", "SEQ 3 is not greater than the last accepted 10"},
        {"push from an address that is not a configured key server, forged",
         [] {
             static const auto other =
                 gdoi::crypto::KekPrivateKey::generate(gdoi::crypto::KekSignatureScheme::rsa, 2048);
             auto chain = gdoi::push::push_chain(push_spec(first_sequence + 1));
             return gdoi::push::seal_push(kek(), other, gdoi::crypto::SignatureForm::digest_info,
                                          payload::sequence, chain);
         },
         stranger_address, "bad_signature",
         "GROUPKEY-PUSH from 192.0.2.99:848 refused (bad_signature)"},
        {"oversized datagram (59996 octets claiming to be a push)",
         [] {
             auto d = valid_push();
             d.resize(59996, 0xee); // whole AES blocks: it gets as far as the payload chain
             set_header_length(d, uint32_t(d.size()));
             return d;
         },
         server_address, "malformed",
         "octets after the payload chain, more than one block of padding"},
    };
}

} // namespace

TEST_CASE("bad input from the network: refused with its reason, counted, logged, nothing installed "
          "changes",
          "[bad-input]") {
    for (const auto& row : rows()) {
        DYNAMIC_SECTION(row.klass) {
            Lab lab;
            lab.register_member();
            const auto before = lab.kernel_snapshot();
            REQUIRE_FALSE(before.empty());
            const auto sequence = lab.controller().policy()->sequence;
            auto& counters = lab.group().counters;
            const uint64_t rejected = counters.pushes_rejected;
            const auto datagram = row.datagram();
            lab.send(row.from, datagram);
            REQUIRE(lab.run_until([&] { return counters.pushes_rejected > rejected; }, 5s));
            lab.run_for(100ms);
            CHECK(counters.pushes_rejected == rejected + 1);
            CHECK(counters.pushes_rejected_by_reason[row.reason] == 1);
            CHECK(counters.pushes_accepted == 0);
            INFO("log: " << [&] {
                std::string all;
                for (const auto& line : lab.log)
                    all += line.text + "\n";
                return all;
            }());
            CHECK(lab.logged(row.text));
            CHECK(lab.logged(std::string("refused (") + row.reason + ")"));
            CHECK(lab.kernel_snapshot() == before);
            CHECK(lab.controller().policy()->sequence == sequence);
            CHECK(lab.group().state() == GroupState::registered);
        }
    }
}

// The same push twice: the first is a rekey (the kernel changes), the second a replay.
TEST_CASE("a push replayed after it was accepted changes nothing the second time", "[bad-input]") {
    Lab lab;
    lab.register_member();
    auto& counters = lab.group().counters;
    const auto push = valid_push(first_sequence + 1);
    const auto before_rekey = lab.kernel_snapshot();
    lab.send(server_address, push);
    REQUIRE(lab.run_until([&] { return counters.pushes_accepted == 1; }, 5s));
    REQUIRE(lab.run_until([&] { return lab.kernel_snapshot() != before_rekey; }, 5s));
    lab.run_for(300ms);
    const auto after_rekey = lab.kernel_snapshot();
    lab.send(server_address, push);
    REQUIRE(lab.run_until([&] { return counters.pushes_rejected == 1; }, 5s));
    lab.run_for(100ms);
    CHECK(counters.pushes_rejected_by_reason["replayed_seq"] == 1);
    CHECK(lab.logged("SEQ 11 is not greater than the last accepted 11"));
    CHECK(lab.kernel_snapshot() == after_rekey);
    CHECK(lab.controller().policy()->sequence == first_sequence + 1);
}

namespace {

// A Main Mode response (exchange 2) as a stale or forged key server would send it: the
// member's cookie unknown, any responder cookie, an SA payload of junk.
Bytes main_mode_response(uint32_t n) {
    Bytes d(28 + 40, 0);
    for (int i = 0; i < 8; ++i)
        d[i] = uint8_t(n >> (i % 4 * 8)) ^ uint8_t(0x5a + i);
    for (int i = 8; i < 16; ++i)
        d[i] = uint8_t(i * 7 + n);
    d[16] = payload::sa;
    d[17] = gdoi::wire::kIsakmpVersion;
    d[18] = gdoi::wire::exchange::identity_protection;
    set_header_length(d, uint32_t(d.size()));
    d[28 + 3] = 40; // SA payload length
    return d;
}

size_t lines_with(const Lab& lab, const std::string& text) {
    return size_t(std::count_if(lab.log.begin(), lab.log.end(), [&](const auto& line) {
        return line.text.find(text) != std::string::npos;
    }));
}

} // namespace

TEST_CASE("stray datagrams: from a stranger, or a flood of Main Mode responses nobody asked for",
          "[bad-input]") {
    Lab lab;
    lab.register_member();
    const auto before = lab.kernel_snapshot();
    auto& counters = lab.group().counters;

    SECTION("a datagram from an address that is not a configured key server") {
        lab.send(stranger_address, main_mode_response(1));
        REQUIRE(lab.run_until([&] { return counters.datagrams_ignored == 1; }, 5s));
        CHECK(lab.logged(
            "datagram of 68 octets from 192.0.2.99:848 ignored: the sender is not one of the "
            "group's key servers"));
    }
    SECTION("a flood of Main Mode responses for unknown cookies: counted, logged once") {
        constexpr uint32_t flood = 1000;
        for (uint32_t i = 0; i < flood; ++i) {
            lab.send(server_address, main_mode_response(i));
            if (i % 50 ==
                49) // the socket's receive buffer holds a few hundred: let the member read
                lab.run_until([&] { return counters.datagrams_ignored == i + 1; }, 5s);
        }
        REQUIRE(lab.run_until([&] { return counters.datagrams_ignored == flood; }, 10s));
        CHECK(lines_with(lab, "ignored: no registration with that key server is under way") == 1);
    }
    lab.run_for(100ms);
    CHECK(counters.pushes_rejected == 0);
    CHECK(counters.registration_failures == 0);
    CHECK(lab.kernel_snapshot() == before);
    CHECK(lab.group().state() == GroupState::registered);
}

// The keys in use stay while a re-registration fails: a server that answers the first Main
// Mode message and then goes silent costs one failed attempt, nothing installed.
TEST_CASE("a key server that answers half an exchange and goes silent", "[bad-input]") {
    auto config = member_config();
    config.retry = {1, 2s}; // an attempt lives 2 s (the shortest the driver allows)
    Lab lab(config);
    lab.register_member();
    const auto before = lab.kernel_snapshot();
    auto& counters = lab.group().counters;
    lab.server_answers_left = 1; // MM2, then silence
    lab.controller().reregister("bad-input test: re-registering");
    REQUIRE(lab.run_until([&] { return counters.registration_failures == 1; }, 10s));
    CHECK(lab.server_answers_left == 0); // it did answer once
    CHECK(lab.logged("registration with key server 192.0.2.1:848 failed"));
    CHECK(lab.kernel_snapshot() == before);
    CHECK(lab.group().state() == GroupState::rekeying);
    CHECK(lab.controller().policy()->sequence == first_sequence);
}
