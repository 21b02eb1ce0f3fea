// Writes the seeds of fuzz-push (test/fuzz/corpus-push/) from the pushes the test key server
// builds (gdoi/push/push_builder: push_chain, the part before the SIG the harness appends):
//   build-test/test/fuzz/make-push-seeds test/fuzz/corpus-push
// Each seed is [flags][first payload = SEQ][chain] (format in fuzz_push.cpp); the flags give
// the same chains signed by a foreign key, sent unsealed, and after a high last SEQ.
#include "gdoi/push/push_builder.hpp"
#include "gdoi/wire/constants.hpp"
#include "test/fuzz/push_harness.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

using namespace gdoi;
using namespace fuzz::push_harness;
using namespace std::chrono_literals;

namespace {

push::PushSpec spec(uint32_t sequence) {
    push::PushSpec s;
    s.kek = current_kek();
    s.signer = &signer();
    s.sequence = sequence;
    return s;
}

void write(const std::filesystem::path& dir, const std::string& name, uint8_t flags,
           const std::vector<uint8_t>& chain) {
    std::vector<uint8_t> seed{flags, wire::payload::sequence};
    seed.insert(seed.end(), chain.begin(), chain.end());
    std::ofstream(dir / name, std::ios::binary)
        .write(reinterpret_cast<const char*>(seed.data()), std::streamsize(seed.size()));
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: make-push-seeds DIRECTORY\n");
        return 2;
    }
    const std::filesystem::path dir = argv[1];
    std::filesystem::create_directories(dir);
    std::vector<std::pair<std::string, push::PushSpec>> pushes;

    pushes.emplace_back("seq-only", spec(2));
    {
        auto s = spec(2); // rekey: same KEK again, a new TEK, ATD and DTD
        s.sa_kek = current_kek();
        s.gap = GroupAssociatedPolicy{60s, 120s, std::nullopt};
        s.teks = {tek(held_tek_spi), tek(0x20000002)};
        pushes.emplace_back("rekey-gap-two-teks", s);
    }
    {
        auto s = spec(2); // KEK rollover with an RFC 8263 ack request
        auto next = current_kek();
        next.spi[0] ^= 0xff;
        next.key = SecretBytes(std::vector<uint8_t>(16, 0x77));
        next.ack_request = AckRequest::rfc8263;
        next.ack_type = 1;
        s.sa_kek = next;
        s.kd_kek_label_old_spi = true;
        s.teks = {tek(0x20000002)};
        pushes.emplace_back("kek-rollover-ack", s);
    }
    {
        auto s = spec(2); // unpaired unicast TEKs, an AES-GCM one
        auto gcm = tek(0x30000003, "10.1.0.0/16", "10.2.0.0/16");
        gcm.cipher = TekCipher::aes_gcm_16;
        gcm.integrity = TekIntegrity::none;
        gcm.cipher_key = SecretBytes(std::vector<uint8_t>(20, 0x33));
        s.sa_kek = current_kek();
        s.teks = {gcm, tek(0x30000004, "10.2.0.0/16", "10.3.0.0/16")};
        pushes.emplace_back("unpaired-gcm", s);
    }
    {
        auto s = spec(2); // ejection: delete of the held TEK, no replacement
        s.deletes.tek_spis = {held_tek_spi};
        pushes.emplace_back("delete-held-tek", s);
    }
    {
        auto s = spec(2); // delete every KEK
        s.deletes.all_keks = true;
        s.sa_kek = current_kek();
        pushes.emplace_back("delete-all-keks", s);
    }
    {
        auto s = spec(2); // three TEKs: above max-teks 2 (flag bit 4)
        s.sa_kek = current_kek();
        s.teks = {tek(0x40000001), tek(0x40000002), tek(0x40000003)};
        pushes.emplace_back("three-teks", s);
    }
    {
        auto s = spec(2); // the reference server's reversed SA TEK IPv4 IDs (flag bit 5)
        s.sa_kek = current_kek();
        s.teks = {tek(0x50000001, "10.1.0.0/16", "10.1.0.0/16")};
        s.quirks.sa_tek_ipv4_byte_reversed = true;
        pushes.emplace_back("reversed-ipv4-ids", s);
    }

    size_t written = 0;
    for (const auto& [name, s] : pushes) {
        const auto chain = push::push_chain(s);
        const uint8_t quirk = s.quirks.sa_tek_ipv4_byte_reversed ? 0x20 : 0;
        write(dir, name, quirk, chain);
        write(dir, name + "-foreign-signer", quirk | 0x01, chain);
        write(dir, name + "-after-seq-1000", quirk | 0x08, chain);
        write(dir, name + "-max-teks-2", quirk | 0x10, chain);
        written += 4;
    }
    // A whole datagram as the harness's raw mode takes it: a sealed push.
    const auto sealed = push::build_push(pushes[1].second);
    write(dir, "raw-sealed-push", 0x02, sealed);
    ++written;
    std::printf("wrote %zu seeds to %s\n", written, dir.c_str());
    return 0;
}
