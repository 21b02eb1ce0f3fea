// libFuzzer target for the member's GROUPKEY-PUSH handler (gdoi/push/push_receiver, then
// push_apply as GroupController does): the harness holds the group's current KEK and the key
// server's signing key, so fuzzer-written payload chains are sealed like real pushes (header
// under the KEK's SPI, SIG over "rekey" | HDR | chain, zero padding, AES-CBC under the KEK) and
// reach the decrypted and verified stages: the chain walk, SIG/SEQ placement, the signature,
// the SEQ check, max-teks and the policy interpretation.
// Input: [flags:1][first payload type:1][payload chain]. The chain is sealed as written (its
// last payload's next-payload should be SIG, 9, for the SIG the harness appends). Flags: bit 0
// signs with another key server's key; bit 1 sends the chain as the whole datagram instead
// (cookies patched to the KEK's SPI, nothing encrypted); bits 2-3 pick the last accepted SEQ
// (0, 1, 1000, 0xfffffffe); bit 4 sets max-teks to 2; bit 5 the reference key server's
// reversed SA TEK IPv4 IDs. Invariants beyond "no crash": a verdict has a sentence; nothing
// signed by another key, nor any unsealed datagram, is ever accepted; an accepted push has an
// update whose SEQ is above the last accepted one, and the held policy takes that SEQ.
#include "gdoi/push/push_apply.hpp"
#include "gdoi/push/push_builder.hpp"
#include "gdoi/push/push_receiver.hpp"
#include "test/fuzz/push_harness.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <vector>

using namespace gdoi;
using namespace fuzz::push_harness;

namespace {

void check(bool condition) {
    if (!condition) std::abort();
}

constexpr uint32_t last_sequences[] = {0, 1, 1000, 0xfffffffe};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 2) return 0;
    const uint8_t flags = data[0];
    const uint8_t first_payload = data[1];
    const std::span<const uint8_t> chain(data + 2, size - 2);
    const bool foreign = flags & 1;
    const bool raw = flags & 2;
    const uint32_t last_sequence = last_sequences[(flags >> 2) & 3];

    // One receiver per configuration for the whole run, as the daemon keeps one per group: its
    // KEK key cache then decodes the public key once, not once an input (that decoding was
    // most of an execution). Its counters are compared before and after.
    static auto receivers = [] {
        std::vector<push::PushReceiver> all;
        all.reserve(4);
        for (int variant = 0; variant < 4; ++variant) {
            push::PushReceiverConfig config;
            config.member_address = IpAddress::v4(192, 0, 2, 10);
            config.answer_ack_requests = true;
            if (variant & 1) config.max_teks = 2;
            config.quirks.sa_tek_ipv4_byte_reversed = variant & 2;
            all.emplace_back(config);
        }
        return all;
    }();
    push::PushReceiver& receiver = receivers[(flags >> 4) & 3];

    static const KekPolicy kek = current_kek();
    std::vector<uint8_t> datagram;
    if (raw) {
        datagram.assign(chain.begin(), chain.end());
        if (datagram.size() >= 16) std::copy(kek.spi.begin(), kek.spi.end(), datagram.begin());
    } else {
        datagram = push::seal_push(kek, foreign ? foreign_signer() : signer(),
                                   crypto::SignatureForm::digest_info, first_payload, chain);
    }

    GroupPolicy held = current_policy();
    held.sequence = last_sequence;
    const push::TimePoint now{};
    const push::PushCounters before = receiver.counters();
    auto verdict = receiver.receive(datagram, kek, last_sequence, now, held.teks);
    check(!verdict.message.empty());
    check(verdict.accepted() == verdict.update.has_value());
    check(receiver.counters()[verdict.reason] == before[verdict.reason] + 1);
    static const bool verbose = std::getenv("FUZZ_VERBOSE") != nullptr;
    if (verbose)
        std::fprintf(stderr, "push: %s: %s\n",
                     std::string(push::push_reason_name(verdict.reason)).c_str(),
                     verdict.message.c_str());
    if (!verdict.accepted()) return 0;
    check(!foreign && !raw);
    check(verdict.update->sequence > last_sequence);
    auto result = push::apply(held, *verdict.update, now);
    check(result.next.sequence == verdict.update->sequence);
    check(result.next.kek.has_value() || result.reregister); // without a KEK no push can come
    return 0;
}
