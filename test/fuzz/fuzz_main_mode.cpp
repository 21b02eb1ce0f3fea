// libFuzzer target for the member's Main Mode initiator (gdoi/ike/main_mode_initiator): the
// fuzzer plays the key server. The initiator is started (MM1 sent), then each input record is
// one datagram "from the server" or a clock tick, fed in turn; the initiator cookie of every
// datagram is overwritten with the real one, and the responder cookie of every datagram after
// the first with the first one's, so that the datagrams pass the first check (whose cookies)
// and reach the decoders and the exchange's checks at every step.
// Input: records of [flags:1][length:2, big-endian][datagram:length]; flags bit 0: advance the
// clock past the next timer and fire it before the datagram; bit 1: leave the cookies as they are.
// Invariants beyond "no crash": the state machine ends established, failed or waiting, never
// two at once; a failure has a reason; it never sends more than one datagram per event.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <span>

#include "gdoi/ike/main_mode_initiator.hpp"
#include "test/fuzz/fuzz_records.hpp"

using namespace gdoi;
using namespace gdoi::ike;

namespace {

void check(bool condition) {
    if (!condition) std::abort();
}

MainModeInitiatorConfig config() {
    MainModeInitiatorConfig c;
    c.local_address = IpAddress::v4(192, 0, 2, 10);
    c.server_address = IpAddress::v4(192, 0, 2, 1);
    c.pre_shared_key = SecretBytes(std::string_view("a-pre-shared-key-of-more-than-20-characters"));
    // What gdoid offers by default, and the reference key server's choice (its captures are
    // seeds): 3DES / SHA-1 / MODP-1024.
    c.proposals = {
        Phase1Proposal{crypto::CbcCipher::aes256, crypto::HashAlgorithm::sha256,
                       crypto::DhGroup::modp2048, std::chrono::seconds(86400)},
        Phase1Proposal{crypto::CbcCipher::des3, crypto::HashAlgorithm::sha1,
                       crypto::DhGroup::modp1024, std::chrono::seconds(86400)},
    };
    c.retransmit = {std::chrono::seconds(1), std::chrono::seconds(4), std::chrono::seconds(30)};
    // FUZZ_VERBOSE=1 with the replayer shows how far each input gets.
    if (std::getenv("FUZZ_VERBOSE"))
        c.log = [](LogLevel, const std::string& text) { std::fprintf(stderr, "main mode: %s\n", text.c_str()); };
    return c;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    MainModeInitiator initiator(config());
    TimePoint now{};
    initiator.start(now);
    check(initiator.take_datagrams().size() == 1);
    const auto icookie = initiator.initiator_cookie();
    std::optional<wire::Cookie> rcookie;
    for (auto& record : fuzz::split_records({data, size}, 8)) {
        if ((record.flags & 1) && initiator.next_timer()) {
            now = *initiator.next_timer();
            initiator.on_timer(now);
            check(initiator.take_datagrams().size() <= 1); // a retransmission at most
        }
        auto& datagram = record.bytes;
        if (!(record.flags & 2) && datagram.size() >= 16) {
            std::copy(icookie.begin(), icookie.end(), datagram.begin());
            if (!rcookie) {
                rcookie.emplace();
                std::copy(datagram.begin() + 8, datagram.begin() + 16, rcookie->begin());
            } else {
                std::copy(rcookie->begin(), rcookie->end(), datagram.begin() + 8);
            }
        }
        initiator.on_datagram(datagram, now);
        check(initiator.take_datagrams().size() <= 1);
        check(!(initiator.established() && initiator.failed()));
        if (initiator.failed()) check(!initiator.failure_reason().empty());
        if (initiator.failed() || initiator.established()) break;
    }
    return 0;
}
