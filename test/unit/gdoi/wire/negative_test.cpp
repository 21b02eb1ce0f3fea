// Malformed input: truncation at every offset, every payload length one too big and one too
// small, and every octet and 16-bit word of every valid message disturbed. Each must end in a
// DecodeError (never a crash, another exception, or an out-of-bounds read under ASan).
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "gdoi/wire/message.hpp"
#include "test/support/pcap_reader.hpp"

using namespace gdoi;
using namespace gdoi::wire;

namespace {

struct Sample {
    std::string name;
    std::vector<uint8_t> bytes;
    bool padded;
};

std::vector<Sample> samples() {
    std::vector<Sample> out;
    auto add_pcap = [&](const char* file, bool padded) {
        auto datagrams =
            test_support::read_udp_datagrams(test_support::reference_vector_path(file));
        for (size_t i = 0; i < datagrams.size(); ++i) {
            auto& d = datagrams[i].payload;
            bool push = d.size() > 18 && d[18] == exchange::groupkey_push;
            if (padded && !push) continue;   // encrypted Phase 1 retries in the push file
            if (!padded && i >= 10) continue; // encrypted pushes in the plaintext log
            out.push_back({std::string(file) + "#" + std::to_string(i + 1), d, padded});
        }
    };
    add_pcap("ks-plaintext-log.pcap", false);
    add_pcap("wire-pushes-decrypted.pcap", true);
    // The valid hand-made vectors (decoded by vectors_test.cpp) are in the fuzz corpus too.
    std::string corpus = std::string(std::getenv("GDOID_SOURCE_ROOT")) + "/test/fuzz/corpus";
    for (const char* name : {"vec-pull1-rfc", "vec-pull2-rfc", "vec-pull2-id-length-2-octets",
                             "vec-pull2-kek-extra-reserved", "vec-pull4-rfc", "vec-mm1-doi-ipsec-vid",
                             "vec-mm5-id-hash-initial-contact", "vec-cert-sig"}) {
        std::ifstream in(corpus + "/" + name, std::ios::binary);
        std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), {});
        REQUIRE(!bytes.empty());
        out.push_back({name, bytes, false});
    }
    return out;
}

ServerQuirks reference_quirks() {
    ServerQuirks q;
    q.group_id_byte_order = GroupIdByteOrder::little_endian;
    q.sa_tek_ipv4_byte_reversed = true;
    return q;
}

DecodeContext context_for(const Sample& s) {
    return {reference_quirks(), s.padded ? TrailingData::padding : TrailingData::reject};
}

// Decodes and reports: 0 = decoded, 1 = DecodeError. Anything else propagates and fails.
int outcome(std::span<const uint8_t> bytes, const DecodeContext& ctx) {
    try {
        decode_message(bytes, ctx);
        return 0;
    } catch (const DecodeError&) {
        return 1;
    }
}

} // namespace

TEST_CASE("every sample decodes (the baseline for the negative tests)", "[wire][negative]") {
    auto all = samples();
    REQUIRE(all.size() >= 20);
    for (auto& s : all) {
        INFO(s.name);
        CHECK(outcome(s.bytes, context_for(s)) == 0);
    }
}

TEST_CASE("truncation at every offset is a specific DecodeError", "[wire][negative]") {
    for (auto& s : samples()) {
        INFO(s.name);
        size_t chain_end = find_chain_end(s.bytes);
        for (size_t cut = 0; cut < s.bytes.size(); ++cut) {
            INFO("cut at " << cut);
            std::vector<uint8_t> t(s.bytes.begin(), s.bytes.begin() + static_cast<long>(cut));
            if (cut < kHeaderSize) {
                try {
                    decode_message(t, context_for(s));
                    FAIL("decoded a truncated header");
                } catch (const DecodeError& e) {
                    CHECK(e.context() == "ISAKMP header");
                    CHECK(e.offset() <= cut);
                }
                continue;
            }
            // As received: the header length no longer matches.
            try {
                decode_message(t, context_for(s));
                FAIL("decoded a truncated message");
            } catch (const DecodeError& e) {
                CHECK(e.notify() == NotifyType::unequal_payload_lengths);
            }
            // With the header length fixed up, the chain itself must notice.
            rewrite_header_length(t, static_cast<uint32_t>(cut));
            if (s.padded && cut >= chain_end) {
                CHECK(outcome(t, context_for(s)) == 0); // only padding was cut
                continue;
            }
            try {
                decode_message(t, context_for(s));
                FAIL("decoded a truncated message");
            } catch (const DecodeError& e) {
                CHECK(e.offset() <= cut);
                CHECK((e.notify() == NotifyType::payload_malformed ||
                       e.notify() == NotifyType::bad_proposal_syntax ||
                       e.notify() == NotifyType::invalid_id_information));
            }
        }
    }
}

TEST_CASE("every payload length one too big or one too small is a DecodeError", "[wire][negative]") {
    for (auto& s : samples()) {
        INFO(s.name);
        auto chain = walk_payload_chain(s.bytes);
        for (const auto& loc : chain.payloads) {
            for (int delta : {-1, +1}) {
                INFO("payload at " << loc.offset << " length " << loc.length << " " << delta);
                auto t = s.bytes;
                uint16_t length = static_cast<uint16_t>(loc.length + delta);
                t[loc.offset + 2] = static_cast<uint8_t>(length >> 8);
                t[loc.offset + 3] = static_cast<uint8_t>(length);
                bool last = &loc == &chain.payloads.back();
                if (last && s.padded) {
                    // Known limit: in a zero-padded push the last payload (SIG) may grow into
                    // or shrink out of the padding and still parse; the signature check, not
                    // the codec, rejects it. Decoded or DecodeError, nothing else.
                    (void)outcome(t, context_for(s));
                    continue;
                }
                try {
                    decode_message(t, context_for(s));
                    FAIL("decoded with a wrong payload length");
                } catch (const DecodeError& e) {
                    CHECK(e.offset() >= loc.offset);
                    CHECK(std::string(e.what()).find(" at offset ") != std::string::npos);
                }
            }
        }
    }
}

TEST_CASE("any octet or 16-bit word disturbed: decoded or DecodeError, nothing else",
          "[wire][negative]") {
    size_t decoded = 0, rejected = 0;
    for (auto& s : samples()) {
        INFO(s.name);
        auto ctx = context_for(s);
        for (size_t i = 0; i < s.bytes.size(); ++i) {
            for (uint8_t value : {uint8_t{0x00}, uint8_t{0xff}, static_cast<uint8_t>(s.bytes[i] + 1),
                                  static_cast<uint8_t>(s.bytes[i] - 1)}) {
                auto t = s.bytes;
                t[i] = value;
                (outcome(t, ctx) ? rejected : decoded)++;
            }
            if (i + 1 < s.bytes.size()) {
                for (int delta : {-1, +1, 0x100}) {
                    auto t = s.bytes;
                    uint16_t word = static_cast<uint16_t>((t[i] << 8 | t[i + 1]) + delta);
                    t[i] = static_cast<uint8_t>(word >> 8);
                    t[i + 1] = static_cast<uint8_t>(word);
                    (outcome(t, ctx) ? rejected : decoded)++;
                }
            }
        }
    }
    // Both outcomes occur: values inside opaque data decode, lengths and counts do not.
    CHECK(decoded > 0);
    CHECK(rejected > 0);
}
