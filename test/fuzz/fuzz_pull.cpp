// libFuzzer target for the member's GROUPKEY-PULL initiator (gdoi/pull/pull_initiator): the
// fuzzer plays the key server inside an established Phase 1 SA whose keys the harness holds, so
// its answers are encrypted and carry a correct HASH(2)/HASH(4) and reach the decoders and the
// policy checks (read_group_sa, read_key_download, validate_group_policy).
// Input: the first octet picks the decode quirks (bit 0: the reference key server's), then
// records of [flags:1][length:2, big-endian][bytes:length]. A record's bytes are the next-payload
// type of the first payload after HASH, then the payload chain after HASH; the harness adds the
// header (the SA's cookies, the exchange's M-ID, E flag) and the HASH over M-ID | Ni_b [| Nr_b]
// | chain, pads and encrypts with the IV chain the member uses. Flags: bit 0 fires the next timer
// first; bit 1 sends the bytes as the whole datagram instead (cookies patched, not encrypted);
// bit 2 spoils the HASH. Invariants beyond "no crash": done or failed, never both; a failure
// has a reason; a policy comes out only when done.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <span>
#include <utility>

#include "gdoi/crypto/isakmp_cipher.hpp"
#include "gdoi/ike/isakmp_io.hpp"
#include "gdoi/pull/pull_initiator.hpp"
#include "gdoi/wire/message.hpp"
#include "test/fuzz/fuzz_records.hpp"

using namespace gdoi;
using namespace gdoi::ike;
using namespace gdoi::wire;

namespace {

void check(bool condition) {
    if (!condition) std::abort();
}

const std::vector<uint8_t> kIv(16, 0x5a);

crypto::IsakmpCipher make_cipher() {
    crypto::IsakmpCipher c(crypto::CbcCipher::aes256, crypto::HashAlgorithm::sha256,
                           SecretBytes(std::vector<uint8_t>(32, 0x4b)), kIv);
    c.finish_phase1();
    return c;
}

Phase1Sa make_sa(TimePoint now) {
    Phase1Sa sa;
    sa.initiator_cookie = {1, 2, 3, 4, 5, 6, 7, 8};
    sa.responder_cookie = {0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18};
    sa.proposal = Phase1Proposal{crypto::CbcCipher::aes256, crypto::HashAlgorithm::sha256,
                                 crypto::DhGroup::modp2048, std::chrono::seconds(86400)};
    sa.doi = 2;
    sa.local = IpAddress::v4(192, 0, 2, 10);
    sa.peer = IpAddress::v4(192, 0, 2, 1);
    sa.skeyid_d = SecretBytes(std::vector<uint8_t>(32, 0x3d));
    sa.skeyid_a = SecretBytes(std::vector<uint8_t>(32, 0x3a));
    sa.cipher = make_cipher();
    sa.established = now;
    return sa;
}

uint32_t be32(std::span<const uint8_t> b, size_t at) {
    return uint32_t(b[at]) << 24 | uint32_t(b[at + 1]) << 16 | uint32_t(b[at + 2]) << 8 | b[at + 3];
}

// The key server's half: follows the member's IV chain and answers with fuzzer-chosen bodies.
struct Server {
    crypto::IsakmpCipher cipher = make_cipher();
    // The chain after our last answer: adopted once the member answers it (it committed that
    // IV), dropped when the member dropped the answer (its chain stayed where it was).
    std::optional<crypto::IsakmpCipher> pending;
    const Phase1Sa& sa;
    uint32_t message_id = 0;
    int received = 0; // member messages read (1: answer is message 2; 2: message 4)
    std::vector<uint8_t> nonce_i, nonce_r, last;

    explicit Server(const Phase1Sa& s) : sa(s) {}

    void receive(const Datagram& d) {
        if (d.size() <= kHeaderSize || d == last) return; // retransmissions change nothing
        last = d;
        if (pending) cipher = *std::exchange(pending, std::nullopt);
        message_id = be32(d, 20);
        auto plain = cipher.decrypt(message_id, std::span(d).subspan(kHeaderSize));
        check(plain.has_value()); // the member encrypts whole blocks
        cipher.commit(message_id, plain->next_iv);
        ++received;
        if (received == 1) {
            std::vector<uint8_t> clear(d.begin(), d.begin() + kHeaderSize);
            clear.insert(clear.end(), plain->plaintext.begin(), plain->plaintext.end());
            Message m = decode_message(clear, DecodeContext{{}, TrailingData::padding});
            auto* nonce = m.find<NoncePayload>();
            check(nonce != nullptr);
            nonce_i = nonce->data;
        }
    }

    Datagram answer(std::span<const uint8_t> body, bool spoil_hash, const ServerQuirks& quirks) {
        const size_t hash_size = 32;
        std::vector<uint8_t> clear(kHeaderSize, 0);
        std::copy(sa.initiator_cookie.begin(), sa.initiator_cookie.end(), clear.begin());
        std::copy(sa.responder_cookie.begin(), sa.responder_cookie.end(), clear.begin() + 8);
        clear[16] = payload::hash;
        clear[17] = kIsakmpVersion;
        clear[18] = exchange::groupkey_pull;
        clear[19] = flags::encryption;
        for (int i = 0; i < 4; ++i) clear[20 + i] = uint8_t(message_id >> (24 - 8 * i));
        clear.push_back(body.empty() ? 0 : body[0]);
        clear.push_back(0);
        clear.push_back(0);
        clear.push_back(uint8_t(4 + hash_size));
        clear.resize(clear.size() + hash_size, 0);
        if (!body.empty()) clear.insert(clear.end(), body.begin() + 1, body.end());
        const uint32_t length = uint32_t(clear.size());
        for (int i = 0; i < 4; ++i) clear[24 + i] = uint8_t(length >> (24 - 8 * i));
        std::vector<uint8_t> prefix;
        for (int i = 0; i < 4; ++i) prefix.push_back(uint8_t(message_id >> (24 - 8 * i)));
        prefix.insert(prefix.end(), nonce_i.begin(), nonce_i.end());
        if (received >= 2) prefix.insert(prefix.end(), nonce_r.begin(), nonce_r.end());
        try {
            auto hash = crypto::hmac_public(sa.hash(), sa.skeyid_a.reveal(),
                                            {prefix, after_first_payload(clear)});
            if (!spoil_hash)
                std::copy(hash.begin(), hash.end(), clear.begin() + kHeaderSize + 4);
            if (received == 1) {
                Message m = decode_message(clear, DecodeContext{quirks, TrailingData::padding});
                if (auto* nonce = m.find<NoncePayload>()) nonce_r = nonce->data;
            }
        } catch (const DecodeError&) {
        }
        pending = cipher;
        return encrypt_encoded(clear, *pending);
    }
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    TimePoint now{};
    Phase1Sa sa = make_sa(now);
    pull::PullInitiatorConfig config;
    config.group_id = 1234;
    if (data[0] & 1) {
        config.quirks.group_id_byte_order = GroupIdByteOrder::little_endian;
        config.quirks.sa_tek_ipv4_byte_reversed = true;
        config.quirks.phase1_doi = 2;
    }
    config.retransmit = {std::chrono::seconds(1), std::chrono::seconds(4), std::chrono::seconds(30)};
    // FUZZ_VERBOSE=1 with the replayer shows how far each input gets.
    static const bool verbose = std::getenv("FUZZ_VERBOSE") != nullptr;
    if (verbose)
        config.log = [](LogLevel, const std::string& text) { std::fprintf(stderr, "pull: %s\n", text.c_str()); };
    pull::PullInitiator initiator(config, sa);
    Server server(sa);
    initiator.start(now);
    for (auto& d : initiator.take_datagrams()) server.receive(d);
    check(server.received == 1);
    for (auto& record : fuzz::split_records({data + 1, size - 1}, 8)) {
        if ((record.flags & 1) && initiator.next_timer()) {
            now = *initiator.next_timer();
            initiator.on_timer(now);
            for (auto& d : initiator.take_datagrams()) server.receive(d);
        }
        if (initiator.failed() || initiator.done()) break;
        Datagram datagram;
        if (record.flags & 2) {
            datagram = record.bytes;
            if (datagram.size() >= 16) {
                std::copy(sa.initiator_cookie.begin(), sa.initiator_cookie.end(), datagram.begin());
                std::copy(sa.responder_cookie.begin(), sa.responder_cookie.end(), datagram.begin() + 8);
            }
        } else {
            datagram = server.answer(record.bytes, record.flags & 4, config.quirks);
        }
        initiator.on_datagram(datagram, now);
        auto out = initiator.take_datagrams();
        check(out.size() <= 1);
        for (auto& d : out) server.receive(d);
        check(!(initiator.done() && initiator.failed()));
        if (initiator.failed()) check(!initiator.failure_reason().empty());
        if (initiator.failed() || initiator.done()) break;
    }
    auto policy = initiator.take_policy();
    check(policy.has_value() == initiator.done());
    if (verbose)
        std::fprintf(stderr, "pull: %s\n", initiator.done() ? "done" : initiator.failed() ? initiator.failure_reason().c_str() : "waiting");
    return 0;
}
