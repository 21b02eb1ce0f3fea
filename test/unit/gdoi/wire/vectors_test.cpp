// Runs every vector in test/vectors/*.vec (format: test/vectors/README.md).
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "gdoi/wire/describe.hpp"
#include "gdoi/wire/message.hpp"
#include "test/support/pcap_reader.hpp"

using namespace gdoi;
using namespace gdoi::wire;

namespace {

struct Vector {
    std::string file, name, quirks = "rfc", hex, expect, error, notify;
    bool padding = false;
    std::vector<std::string> lines;
};

std::string trim(std::string s) {
    while (!s.empty() && (s.back() == ' ' || s.back() == '\r')) s.pop_back();
    size_t start = s.find_first_not_of(' ');
    return start == std::string::npos ? "" : s.substr(start);
}

std::vector<Vector> load_vectors() {
    std::vector<Vector> out;
    std::string dir = std::string(std::getenv("GDOID_SOURCE_ROOT")) + "/test/vectors";
    std::vector<std::filesystem::path> files;
    for (auto& entry : std::filesystem::directory_iterator(dir))
        if (entry.path().extension() == ".vec") files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    for (auto& path : files) {
        std::ifstream in(path);
        std::string raw;
        while (std::getline(in, raw)) {
            std::string line = trim(raw);
            if (line.empty() || line[0] == '#') continue;
            if (line.front() == '[' && line.back() == ']') {
                out.push_back({});
                out.back().file = path.filename();
                out.back().name = line.substr(1, line.size() - 2);
                continue;
            }
            REQUIRE(!out.empty());
            size_t eq = line.find(" = ");
            INFO(path << ": " << line);
            REQUIRE(eq != std::string::npos);
            std::string key = line.substr(0, eq), value = line.substr(eq + 3);
            Vector& v = out.back();
            if (key == "quirks") v.quirks = value;
            else if (key == "trailing") v.padding = value == "padding";
            else if (key == "hex") v.hex += value;
            else if (key == "expect") v.expect = value;
            else if (key == "line") v.lines.push_back(value);
            else if (key == "error") v.error = value;
            else if (key == "notify") v.notify = value;
            else FAIL("unknown key " << key);
        }
    }
    return out;
}

ServerQuirks quirks_named(const std::string& name) {
    ServerQuirks q;
    if (name == "reference") {
        q.group_id_byte_order = GroupIdByteOrder::little_endian;
        q.sa_tek_ipv4_byte_reversed = true;
        q.phase1_doi = doi::gdoi;
    } else {
        REQUIRE(name == "rfc");
    }
    return q;
}

} // namespace

TEST_CASE("every test vector decodes to its fields or fails with its exact error", "[wire][vectors]") {
    auto vectors = load_vectors();
    REQUIRE(vectors.size() >= 30);
    size_t ok = 0, errors = 0;
    for (const auto& v : vectors) {
        INFO(v.file << " [" << v.name << "]");
        auto bytes = test_support::from_hex(v.hex);
        DecodeContext ctx{quirks_named(v.quirks),
                          v.padding ? TrailingData::padding : TrailingData::reject};
        if (v.expect == "ok") {
            ++ok;
            Message m = decode_message(bytes, ctx);
            auto described = describe_message(m);
            for (const auto& line : v.lines) {
                INFO("expected line: " << line);
                CHECK(std::find(described.begin(), described.end(), line) != described.end());
            }
            auto encoded = encode_message(m, EncodeContext{ctx.quirks});
            size_t end = find_chain_end(bytes);
            std::vector<uint8_t> expected(bytes.begin(), bytes.begin() + static_cast<long>(end));
            rewrite_header_length(expected, static_cast<uint32_t>(end));
            CHECK(encoded == expected);
        } else {
            REQUIRE(v.expect == "error");
            ++errors;
            bool threw = false;
            try {
                decode_message(bytes, ctx);
            } catch (const DecodeError& e) {
                threw = true;
                CHECK(std::string(e.what()) == v.error);
                CHECK(notify_type_name(e.notify()) == v.notify);
            }
            CHECK(threw);
        }
    }
    CHECK(ok >= 10);
    CHECK(errors >= 15);
}
