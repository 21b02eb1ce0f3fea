// libFuzzer target for control-socket requests as gdoid reads them: the byte stream through the
// frame decoder (the first input octet splits it into pieces, as a slow client would send it),
// each frame through parse_request and the command table. Invariants beyond "no crash": a frame
// never exceeds the limit, every refused request has an error reply with a code and a message,
// and every reply is dumped without throwing (invalid UTF-8 included).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "daemon/control_protocol.hpp"

using namespace gdoid::control;

namespace {

void check(bool condition) {
    if (!condition) std::abort();
}

void one_request(const std::string& body) {
    const auto parsed = parse_request(body);
    if (!parsed.request) {
        check(parsed.error_reply.is_object());
        const auto& error = parsed.error_reply.at("error");
        check(!error.at("code").get<std::string>().empty());
        check(!error.at("message").get<std::string>().empty());
        (void)dump_json(parsed.error_reply);
        return;
    }
    (void)find_command(parsed.request->command);
    (void)dump_json(make_request(parsed.request->command, parsed.request->arguments));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    const size_t piece = 1 + data[0] % 64;
    const std::string_view stream(reinterpret_cast<const char*>(data) + 1, size - 1);
    // The body alone, as parse_request sees a complete frame.
    one_request(std::string(stream));
    // The stream as framed on the socket.
    FrameDecoder decoder(max_request_size);
    for (size_t at = 0; at < stream.size(); at += piece) {
        decoder.feed(stream.substr(at, piece));
        std::string body;
        for (;;) {
            const auto status = decoder.next(body);
            if (status == FrameDecoder::Status::need_more) break;
            if (status == FrameDecoder::Status::oversized) {
                check(decoder.declared_size() > max_request_size);
                return 0; // gdoid answers request-too-large and closes the connection
            }
            check(body.size() <= max_request_size);
            one_request(body);
        }
    }
    return 0;
}
