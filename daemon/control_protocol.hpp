// The control protocol between gdoid and gdoictl (or any client), without any I/O.
// A UNIX SOCK_STREAM connection carries frames: a 4-octet big-endian length, then that many
// octets of UTF-8 JSON. Each request frame gets exactly one reply frame; a connection may carry
// several requests in turn. Requests: {"version":1,"command":"status","arguments":{...}}.
// Replies: {"version":1,"ok":true,"result":{...}} or
//          {"version":1,"ok":false,"error":{"code":"...","message":"..."}}.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

#include <nlohmann/json.hpp>

namespace gdoid::control {

inline constexpr int protocol_version = 1;
inline constexpr size_t frame_header_size = 4;
inline constexpr size_t max_request_size = 64 * 1024;       // what gdoid accepts
inline constexpr size_t max_reply_size = 16 * 1024 * 1024;  // what gdoictl accepts

// Error codes in replies; stable, scripts may match on them.
namespace error_code {
inline constexpr std::string_view malformed_json = "malformed-json";
inline constexpr std::string_view bad_request = "bad-request";
inline constexpr std::string_view request_too_large = "request-too-large";
inline constexpr std::string_view unknown_command = "unknown-command";
inline constexpr std::string_view unsupported_version = "unsupported-version";
inline constexpr std::string_view permission_denied = "permission-denied";
inline constexpr std::string_view config_invalid = "config-invalid";
inline constexpr std::string_view internal_error = "internal-error";
} // namespace error_code

std::string encode_frame(std::string_view body);

// Reassembles frames from a byte stream that arrives in arbitrary pieces.
class FrameDecoder {
public:
    enum class Status : uint8_t { need_more, frame, oversized };

    explicit FrameDecoder(size_t max_body) : max_body_(max_body) {}

    void feed(std::string_view bytes) { buffer_.append(bytes); }
    // On `frame`, `body` holds one complete frame body and it is removed from the buffer.
    // `oversized` is reported as soon as the header declares more than the limit, before the
    // body is read: the peer cannot make us buffer it.
    Status next(std::string& body);
    // True when next() would return a frame or `oversized`.
    bool ready() const;
    // The length the pending header declared (valid after `oversized`).
    size_t declared_size() const { return declared_; }
    size_t buffered() const { return buffer_.size(); }

private:
    size_t max_body_;
    size_t declared_ = 0;
    std::string buffer_;
};

enum class Access : uint8_t {
    read,   // root and members of the control group
    action, // root only
};

struct CommandInfo {
    std::string_view name;
    Access access;
    std::string_view summary;
};

const std::vector<CommandInfo>& commands();
const CommandInfo* find_command(std::string_view name);

struct Request {
    std::string command;
    nlohmann::json arguments = nlohmann::json::object();
};

// Either a request, or the error reply to send back.
struct RequestParse {
    std::optional<Request> request;
    nlohmann::json error_reply;
};

// Checks syntax, version and shape; does not check that the command exists (see find_command).
RequestParse parse_request(std::string_view body);

nlohmann::json make_request(std::string_view command, nlohmann::json arguments = nlohmann::json::object());
nlohmann::json make_ok_reply(nlohmann::json result);
nlohmann::json make_error_reply(std::string_view code, std::string_view message);
// Dumps replies with invalid UTF-8 replaced, so a strange interface name cannot break the reply.
std::string dump_json(const nlohmann::json& value, int indent = -1);

// Who is on the other end (SO_PEERCRED, SO_PEERGROUPS).
struct PeerCredentials {
    pid_t pid = 0;
    uid_t uid = 0;
    gid_t gid = 0;
    std::vector<gid_t> groups; // supplementary groups
};

// Root and the user gdoid runs as (`gdoid` under its unit, e.g. `ExecReload=gdoictl reload`)
// may do everything; members of the control group may read.
bool is_allowed(Access access, const PeerCredentials& peer, std::optional<gid_t> control_gid, uid_t daemon_uid);

// ---- the status reply: one data model for --json and the human rendering ----

struct GroupErrorStatus {
    std::string message;
    int64_t time = 0; // seconds since the epoch
};

// Key material is never part of the status: SPIs, algorithms, selectors and times only.
// The Phase 1 SA of the last registration: how the member and the key server proved who they are.
struct Phase1Status {
    std::string proposal;       // "AES-256-CBC/SHA384/ECP-384 (group 20), 28800 s, RSA signatures"
    std::string authentication; // "pre-shared-key" or "certificate"
    std::optional<std::string> server_certificate; // its subject, with certificates
};

struct KekStatus {
    std::string spi;            // 32 hex digits: the rekey SA's cookie pair
    std::string cipher;         // "aes-cbc-128"
    std::string signature;      // "RSA/SHA256", "ECDSA-256/SHA256"
    int64_t expires = 0;        // seconds since the epoch
};

struct TekStatus {
    std::string spi;            // "0x10000001"
    std::string cipher;         // "aes-cbc-256/hmac-sha256"
    std::string source;         // "10.1.0.0/16"
    std::string destination;
    int64_t expires = 0;
    // The largest inner packet that leaves the WAN interface as one ESP packet under this TEK
    // (its MTU minus the TEK's ESP overhead): what "fragmentation needed" / Packet Too Big
    // name. nullopt when the WAN interface's MTU is unknown.
    std::optional<uint32_t> inner_mtu;
};

// Traffic the group never encrypts nor requires encrypted: a [[group.bypass]] class of the
// configuration, or a deny entry of the key server's ACL.
struct BypassStatus {
    std::string origin;      // "configuration" or "key server"
    std::string name;        // the class's name, or "deny entry N"
    std::string protocol;    // "udp", "any", "47"
    std::string source;      // "10.1.0.0/16", "10.1.0.0/16 port 161"
    std::string destination;
};

struct RekeyStatus {
    std::string kind;           // "pull" or "push"
    int64_t time = 0;
};

// The group's kernel objects and datapath as gdoid last left them.
struct KernelStatus {
    std::string state;              // "installed", "waiting", "error", "unavailable"
    uint64_t states = 0;            // gdoid's XFRM states of this group in the kernel
    uint64_t policies = 0;
    // Flows with an outbound state of their own, found through ACQUIRE: router-originated
    // traffic, and all traffic in destination-only mode.
    uint64_t per_destination_flows = 0;
    bool fail_closed = false;       // block policies stand in for missing keys
    bool fail_open = false;         // the operator's fail-open rules are in force
    std::vector<std::string> problems; // TEKs or settings that could not be installed, and why
    std::optional<std::string> error;  // the last refusal (kernel, datapath) or missing interface
    std::optional<std::string> warning; // working, but not as configured (destination-only fallback)
    uint64_t repairs = 0; // objects someone else removed, put back (ip xfrm state flush ...)
    std::vector<std::string> notes; // installed, with what the kernel cannot do for it said
    bool adopted = false; // an earlier gdoid's objects carry the traffic until registration
};

struct GroupStatus {
    std::string name;
    uint32_t id = 0;
    std::string state;
    std::vector<std::string> servers; // "192.0.2.1:848", priority order
    std::optional<std::string> server_in_use;
    std::optional<GroupErrorStatus> last_error;
    std::optional<Phase1Status> phase1;
    std::optional<KekStatus> kek;
    std::vector<TekStatus> teks;
    std::optional<uint32_t> sequence;
    std::optional<RekeyStatus> last_rekey;
    std::optional<int64_t> next_pull; // seconds since the epoch
    uint64_t registrations = 0;
    uint64_t registration_failures = 0;
    uint64_t pushes_accepted = 0;
    uint64_t pushes_rejected = 0;
    std::map<std::string, uint64_t> pushes_rejected_by_reason;
    uint64_t acks_sent = 0;
    uint64_t ack_requests_ignored = 0; // RFC 8263 ack requests not answered
    uint64_t datagrams_ignored = 0;    // not from a key server, or no exchange open
    std::optional<KernelStatus> kernel;
    std::string match_direction = "both"; // "input", "output" or "both"
    std::optional<std::string> bypass_mark; // "0x100/0x100"
    std::vector<BypassStatus> bypass;       // configured classes, then the key server's deny entries
};

struct DaemonStatus {
    std::string version;
    int64_t pid = 0;
    int64_t uptime_seconds = 0;
    std::string config_path;
    // Set when the last reload was refused; the previous configuration is still in force.
    std::optional<std::string> config_error;
    std::vector<GroupStatus> groups;
    // The tc-BPF datapath's packet counters (summed over CPUs), by name; nullopt while no
    // datapath is loaded. "out_unrestored_dropped" must stay 0: a packet the WAN egress program
    // could not give its real addresses back, dropped instead of leaking toward the anchor.
    std::optional<std::map<std::string, uint64_t>> datapath_counters;
    // The kernel's fragmentation counters of gdoid's network namespace (daemon/
    // kernel_fragmentation.hpp): what was fragmented, refused with "fragmentation needed" or
    // answered with Packet Too Big. nullopt when /proc/net/snmp could not be read.
    std::optional<std::map<std::string, uint64_t>> fragmentation_counters;
    // pre-fragmentation, while a group asks for it: gdoid's XFRM interface and its MTU (the
    // size above which forwarded IPv4 with DF clear is fragmented before encryption), or why
    // it could not be set up.
    struct PreFragmentation {
        std::string interface;
        uint32_t mtu = 0;
        std::optional<std::string> error;
        bool operator==(const PreFragmentation&) const = default;
    };
    std::optional<PreFragmentation> pre_fragmentation;
};

nlohmann::json to_json(const DaemonStatus& status);
// Reads a status result; nullopt (with `error` set) when the reply does not have the shape.
std::optional<DaemonStatus> status_from_json(const nlohmann::json& result, std::string& error);

} // namespace gdoid::control
