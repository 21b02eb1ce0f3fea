#include <catch2/catch.hpp>

#include "daemon/control_protocol.hpp"

using namespace gdoid::control;
using nlohmann::json;

namespace {

std::string error_code_of(const RequestParse& parsed) {
    REQUIRE_FALSE(parsed.request);
    CHECK(parsed.error_reply["ok"] == false);
    CHECK(parsed.error_reply["version"] == 1);
    CHECK(parsed.error_reply["error"]["message"].get<std::string>().size() > 0);
    return parsed.error_reply["error"]["code"].get<std::string>();
}

} // namespace

TEST_CASE("frames: a length prefix and the body, reassembled from any split", "[control]") {
    const std::string body = R"({"version":1,"command":"status"})";
    const std::string frame = encode_frame(body);
    REQUIRE(frame.size() == body.size() + 4);
    CHECK(frame.substr(0, 4) == std::string("\0\0\0\x20", 4));

    // Split at every offset, then two frames back to back.
    for (size_t split = 0; split <= frame.size(); ++split) {
        FrameDecoder decoder(max_request_size);
        std::string out;
        decoder.feed(frame.substr(0, split));
        if (split < frame.size()) {
            CHECK(decoder.next(out) == FrameDecoder::Status::need_more);
            CHECK_FALSE(decoder.ready());
        }
        decoder.feed(frame.substr(split));
        CHECK(decoder.ready());
        REQUIRE(decoder.next(out) == FrameDecoder::Status::frame);
        CHECK(out == body);
        CHECK(decoder.buffered() == 0);
    }
    FrameDecoder decoder(max_request_size);
    decoder.feed(frame + encode_frame("{}"));
    std::string out;
    REQUIRE(decoder.next(out) == FrameDecoder::Status::frame);
    REQUIRE(decoder.next(out) == FrameDecoder::Status::frame);
    CHECK(out == "{}");
    CHECK(decoder.next(out) == FrameDecoder::Status::need_more);
}

TEST_CASE("frames: an oversized request is refused from its header alone", "[control]") {
    FrameDecoder decoder(max_request_size);
    std::string out;
    // Exactly the limit is accepted...
    decoder.feed(encode_frame(std::string(max_request_size, ' ')));
    CHECK(decoder.next(out) == FrameDecoder::Status::frame);
    // ...one more octet is not, before any of the body arrives.
    decoder.feed(std::string("\x00\x01\x00\x01", 4));
    CHECK(decoder.ready());
    CHECK(decoder.next(out) == FrameDecoder::Status::oversized);
    CHECK(decoder.declared_size() == max_request_size + 1);
    FrameDecoder huge(max_request_size);
    huge.feed(std::string("\xff\xff\xff\xff", 4));
    CHECK(huge.next(out) == FrameDecoder::Status::oversized);
}

TEST_CASE("requests: a valid one", "[control]") {
    auto parsed = parse_request(R"({"version":1,"command":"status"})");
    REQUIRE(parsed.request);
    CHECK(parsed.request->command == "status");
    CHECK(parsed.request->arguments == json::object());
    parsed = parse_request(make_request("reload", {{"group", "wan"}}).dump());
    REQUIRE(parsed.request);
    CHECK(parsed.request->command == "reload");
    CHECK(parsed.request->arguments["group"] == "wan");
}

TEST_CASE("requests: malformed JSON, wrong shapes and versions", "[control]") {
    CHECK(error_code_of(parse_request("{\"version\":1,")) == "malformed-json");
    CHECK(error_code_of(parse_request("")) == "malformed-json");
    CHECK(error_code_of(parse_request("\xff\xfe")) == "malformed-json");
    CHECK(error_code_of(parse_request("[1,2]")) == "bad-request");
    CHECK(error_code_of(parse_request(R"({"command":"status"})")) == "bad-request");
    CHECK(error_code_of(parse_request(R"({"version":"1","command":"status"})")) == "bad-request");
    CHECK(error_code_of(parse_request(R"({"version":1})")) == "bad-request");
    CHECK(error_code_of(parse_request(R"({"version":1,"command":7})")) == "bad-request");
    CHECK(error_code_of(parse_request(R"({"version":1,"command":"status","arguments":[]})")) == "bad-request");
    CHECK(error_code_of(parse_request(R"({"version":1,"command":"status","extra":1})")) == "bad-request");
    const auto wrong = parse_request(R"({"version":2,"command":"status"})");
    CHECK(error_code_of(wrong) == "unsupported-version");
    CHECK(wrong.error_reply["error"]["message"] ==
          "this gdoid speaks control protocol version 1, the request uses version 2");
}

TEST_CASE("commands: known ones and who may run them", "[control]") {
    REQUIRE(find_command("status"));
    CHECK(find_command("status")->access == Access::read);
    REQUIRE(find_command("reload"));
    CHECK(find_command("reload")->access == Access::action);
    CHECK_FALSE(find_command("shutdown"));

    const PeerCredentials root{1, 0, 0, {}};
    const PeerCredentials member{2, 1000, 1000, {4, 27}};
    const PeerCredentials primary{3, 1001, 4, {}};
    const PeerCredentials stranger{4, 1002, 1002, {100}};
    const uid_t daemon_uid = 0; // gdoid running as root
    CHECK(is_allowed(Access::action, root, std::nullopt, daemon_uid));
    CHECK(is_allowed(Access::read, root, std::nullopt, daemon_uid));
    CHECK(is_allowed(Access::read, member, 4, daemon_uid));
    CHECK(is_allowed(Access::read, primary, 4, daemon_uid));
    CHECK_FALSE(is_allowed(Access::read, stranger, 4, daemon_uid));
    CHECK_FALSE(is_allowed(Access::read, member, std::nullopt, daemon_uid));
    CHECK_FALSE(is_allowed(Access::action, member, 4, daemon_uid));
    // gdoid under its unit runs as its own user (uid 1002 here): that user may act (the
    // unit's ExecReload=gdoictl reload runs as it), root still may, others still may not.
    CHECK(is_allowed(Access::action, stranger, std::nullopt, stranger.uid));
    CHECK(is_allowed(Access::action, root, std::nullopt, stranger.uid));
    CHECK_FALSE(is_allowed(Access::action, member, 4, stranger.uid));
}

TEST_CASE("status: the reply model round-trips through JSON", "[control]") {
    DaemonStatus status;
    status.version = "0.1.0";
    status.pid = 42;
    status.uptime_seconds = 3661;
    status.config_path = "/etc/gdoid/gdoid.conf";
    GroupStatus group;
    group.name = "wan";
    group.id = 1234;
    group.state = "registered";
    group.servers = {"192.0.2.1:848", "192.0.2.2:848"};
    group.server_in_use = "192.0.2.2:848";
    group.last_error = GroupErrorStatus{"no reply from 192.0.2.1:848", 1700000000};
    group.pushes_accepted = 3;
    group.phase1 = Phase1Status{"AES-256-CBC/SHA384/ECP-384 (group 20), 28800 s, RSA signatures", "certificate",
                                "CN=ks1,O=Example"};
    group.kek = KekStatus{"00112233445566778899aabbccddeeff", "aes-cbc-256", "ECDSA-256/SHA256", 1700003600};
    status.groups = {group};

    const auto reply = make_ok_reply(to_json(status));
    CHECK(reply["ok"] == true);
    CHECK(reply["version"] == 1);
    CHECK(reply["result"]["groups"][0]["server_in_use"] == "192.0.2.2:848");
    CHECK(reply["result"]["daemon"]["config_error"].is_null());
    std::string error;
    const auto back = status_from_json(json::parse(reply.dump())["result"], error);
    REQUIRE(back);
    CHECK(back->groups.size() == 1);
    CHECK(back->groups[0].servers == group.servers);
    CHECK(back->groups[0].server_in_use == group.server_in_use);
    CHECK(back->groups[0].last_error->message == "no reply from 192.0.2.1:848");
    CHECK(back->groups[0].pushes_accepted == 3);
    REQUIRE(back->groups[0].phase1);
    CHECK(back->groups[0].phase1->proposal == group.phase1->proposal);
    CHECK(back->groups[0].phase1->authentication == "certificate");
    CHECK(back->groups[0].phase1->server_certificate == "CN=ks1,O=Example");
    REQUIRE(back->groups[0].kek);
    CHECK(back->groups[0].kek->signature == "ECDSA-256/SHA256");
    CHECK(back->uptime_seconds == 3661);
    CHECK_FALSE(back->datapath_counters); // no datapath loaded: "datapath": null
    CHECK(reply["result"]["datapath"].is_null());

    status.datapath_counters = std::map<std::string, uint64_t>{{"out_restored", 12}, {"out_unrestored_dropped", 0}};
    const auto with_datapath = status_from_json(json::parse(to_json(status).dump()), error);
    REQUIRE(with_datapath);
    CHECK(with_datapath->datapath_counters == status.datapath_counters);
    CHECK_FALSE(with_datapath->fragmentation_counters);

    status.fragmentation_counters = std::map<std::string, uint64_t>{{"ipv4_frag_needed", 3}};
    const auto with_fragmentation = status_from_json(json::parse(to_json(status).dump()), error);
    REQUIRE(with_fragmentation);
    CHECK(with_fragmentation->fragmentation_counters == status.fragmentation_counters);

    CHECK_FALSE(status_from_json(json::object(), error));
    auto broken = to_json(status);
    broken["groups"][0]["id"] = "x";
    CHECK_FALSE(status_from_json(broken, error));
    CHECK(error == "`id` has the wrong type");
}

TEST_CASE("replies survive invalid UTF-8 in names", "[control]") {
    const auto reply = make_error_reply("bad-request", std::string("unknown member `\xff`"));
    const auto text = dump_json(reply);
    CHECK(json::parse(text)["ok"] == false);
}
