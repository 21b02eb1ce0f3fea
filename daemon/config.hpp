// The typed configuration of gdoid: what /etc/gdoid/gdoid.conf says once it has been parsed and
// validated completely. Plain values only; parsing lives in config_parser, secrets in config_secrets.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gdoi/group_policy.hpp"
#include "gdoi/ip_address.hpp"
#include "gdoi/secret_bytes.hpp"
#include "gdoi/server_quirks.hpp"

namespace gdoi::ike {
struct CertificateCredentials;
}

namespace gdoid::daemon {

enum class LogLevel : uint8_t { error, warning, info, debug };

// GDOI runs on UDP 848 in both directions (RFC 6407 section 5).
inline constexpr uint16_t default_gdoi_port = 848;
inline constexpr size_t max_servers = 4;
inline constexpr size_t max_fail_open_rules = 10;
// Juniper refuses pre-shared keys shorter than this; so do we.
inline constexpr size_t min_psk_length = 20;

struct DaemonSettings {
    std::string control_socket = "/run/gdoid/control";
    // Unix group whose members may read status; unset: root only.
    std::optional<std::string> control_group;
    std::optional<uint32_t> control_gid; // resolved from control_group at load time
    LogLevel log_level = LogLevel::info;
    // SIGTERM leaves the groups' SAs, policies and tc-BPF datapath in the kernel for the next
    // gdoid to adopt (Cisco's and Juniper's graceful restart); off: SIGTERM removes them.
    bool graceful_restart = false;
    // How long a starting gdoid lets objects an earlier one left (graceful restart, SIGKILL)
    // carry the traffic while it registers again; after that its own plan replaces them.
    std::chrono::seconds restart_time{120};

    bool operator==(const DaemonSettings&) const = default;
};

struct ServerAddress {
    gdoi::IpAddress address;
    uint16_t port = default_gdoi_port;

    std::string to_string() const; // "192.0.2.1:848", "[2001:db8::1]:848"
    bool operator==(const ServerAddress&) const = default;
};

// Where the pre-shared key comes from; the key itself never appears in the file.
struct PskSource {
    enum class Kind : uint8_t { file, credential } kind = Kind::file;
    std::string name; // file path or systemd credential name

    std::string describe() const; // "file /etc/gdoid/wan.psk" / "credential ks-psk"
    bool operator==(const PskSource&) const = default;
};

// Phase 1 with RSA signatures (gdoid.conf(5), `certificate`): where the files are, which
// identity we send and which we expect. The files are read with the secrets (load time).
struct CertificateSettings {
    enum class Identity : uint8_t { distinguished_name, address, fqdn };

    std::string certificate_file; // PEM: ours first, then intermediates to send with it
    PskSource private_key;        // PEM, same ownership rules as a pre-shared-key file
    std::vector<std::string> ca_files;
    std::optional<std::string> crl_file;
    std::optional<std::string> server_certificate_file; // when servers send no CERT
    Identity identity = Identity::distinguished_name;
    std::string fqdn;
    std::string server_identity; // pin: DN or subjectAltName; empty = any the CA vouches for
    bool certificate_request = true;

    // Loaded: built from the files; material_digest (SHA-256 over all of them) lets a reload
    // see a renewed certificate or CRL even when the paths stay the same.
    std::shared_ptr<const gdoi::ike::CertificateCredentials> credentials;
    std::vector<uint8_t> material_digest;

    bool same_settings(const CertificateSettings& o) const {
        return certificate_file == o.certificate_file && private_key == o.private_key &&
               ca_files == o.ca_files && crl_file == o.crl_file &&
               server_certificate_file == o.server_certificate_file && identity == o.identity &&
               fqdn == o.fqdn && server_identity == o.server_identity &&
               certificate_request == o.certificate_request;
    }
    bool operator==(const CertificateSettings& o) const {
        return same_settings(o) && material_digest == o.material_digest;
    }
};

enum class IkeEncryption : uint8_t { des3_cbc, aes128_cbc, aes192_cbc, aes256_cbc };
enum class IkeHash : uint8_t { md5, sha1, sha256, sha384, sha512 };

struct IkeProposal {
    IkeEncryption encryption = IkeEncryption::aes256_cbc;
    IkeHash hash = IkeHash::sha256;
    uint8_t dh_group = 14; // 1, 2, 5, 14, 15, 16 (MODP) or 19, 20, 21 (ECP)
    std::chrono::seconds lifetime{std::chrono::hours(24)};

    bool operator==(const IkeProposal&) const = default;
};

enum class MatchDirection : uint8_t { input, output, both };
enum class DfBit : uint8_t { clear, set, copy };
// NIC crypto offload of the outbound state on the WAN device: asked for (the kernel falls back
// to software when the driver cannot) or never asked for.
enum class CryptoOffload : uint8_t { automatic, off };
// What a group does when the kernel cannot run the BPF datapath: refuse (install nothing, say
// why) or fall back to destination-only preservation (outer source = our WAN address).
enum class DatapathFallback : uint8_t { refuse, destination_only };

struct BypassMark {
    uint32_t value = 0;
    uint32_t mask = 0;
    bool operator==(const BypassMark&) const = default;
};

struct RetryPolicy {
    uint32_t count = 3;
    std::chrono::seconds interval{10};
    bool operator==(const RetryPolicy&) const = default;
};

// When, before a TEK/KEK expires, the member pulls again if no push arrived. Either a share of
// the lifetime ("7%-5%": start when 7 % is left, at the latest when 5 % is left; a random point
// in between spreads members out) or absolute times before expiry ("90s-30s").
struct PullWindow {
    enum class Unit : uint8_t { percent, seconds } unit = Unit::percent;
    uint32_t start = 7; // percent of the lifetime, or seconds before expiry
    uint32_t end = 5;
    bool operator==(const PullWindow&) const = default;
};

struct RekeyPolicy {
    PullWindow pull_window;
    // New outbound SAs are used this long before the old ones expire.
    std::chrono::seconds activate_before_expiry{30};
    bool operator==(const RekeyPolicy&) const = default;
};

// Traffic that stays in clear text when the group has no valid keys (Juniper's fail-open rules).
struct FailOpenRule {
    std::string name;
    gdoi::IpPrefix source;
    gdoi::IpPrefix destination;
    bool operator==(const FailOpenRule&) const = default;
};

// Traffic that is never encrypted nor required to arrive encrypted, in both directions: the
// member's own deny list (Cisco's local `match address` deny ACL, Junos exclude rules), next
// to the key server's deny entries. Ports only with TCP, UDP or SCTP; 0 = any.
struct BypassClassConfig {
    std::string name;
    gdoi::IpPrefix source;
    gdoi::IpPrefix destination;
    uint8_t protocol = 0; // IANA protocol number, 0 = any
    uint16_t source_port = 0;
    uint16_t destination_port = 0;
    bool operator==(const BypassClassConfig&) const = default;
};
inline constexpr size_t max_bypass_classes = 64;

// The addresses of the header-preservation anchors (design.md): a local address the inbound
// states are found by (gdoid puts it on the loopback device when it is missing) and a dummy
// routable address the outbound state points at (the WAN egress program replaces it with
// each packet's real destination). Neither appears on the wire.
struct AnchorAddresses {
    gdoi::IpAddress inbound;
    gdoi::IpAddress remote;
    bool operator==(const AnchorAddresses&) const = default;
};
// Defaults: in the shared address space (RFC 6598) for IPv4 and the ULA space for IPv6, so
// they collide with nothing routed publicly; an operator using 100.64/10 picks others.
AnchorAddresses default_anchor_addresses(gdoi::IpFamily family);

struct GroupConfig {
    std::string name;
    uint32_t id = 0;
    std::vector<ServerAddress> servers; // priority order, 1..4
    gdoi::IpAddress local_address;
    std::optional<std::string> routing_instance;
    PskSource psk_source;  // empty name when `certificate` is used instead
    gdoi::SecretBytes psk; // loaded by config_secrets; never printed
    std::optional<CertificateSettings> certificate;
    IkeProposal ike;
    std::string wan_interface;
    std::vector<std::string> lan_interfaces;
    // Our own protected prefixes (behind the LAN interfaces); optional, see gdoid.conf(5).
    std::vector<gdoi::IpPrefix> lan_prefixes;
    AnchorAddresses anchor; // of local_address's family
    MatchDirection match_direction = MatchDirection::both;
    DfBit df_bit = DfBit::clear;
    // Fragment oversize forwarded IPv4 with DF clear before encryption (Junos'
    // pre-fragmentation), through gdoid's XFRM interface (gdoid.conf(5) FRAGMENTATION).
    bool pre_fragmentation = false;
    CryptoOffload crypto_offload = CryptoOffload::automatic;
    DatapathFallback datapath_fallback = DatapathFallback::refuse;
    std::optional<BypassMark> bypass_mark;
    std::optional<uint16_t> tcp_mss;
    // A flow the router itself originates (its own state, found through ACQUIRE) is removed
    // after carrying nothing for this long.
    std::chrono::seconds per_destination_idle{300};
    RetryPolicy retry;
    RekeyPolicy rekey;
    std::vector<FailOpenRule> fail_open;
    std::vector<BypassClassConfig> bypass;
    gdoi::ServerQuirks quirks;
    // Answer the key servers' RFC 8263 GROUPKEY-PUSH acknowledgement requests (`push-ack`).
    // Off by default: no deployed key server has confirmed our reading of RFC 8263 yet
    // (gdoi/push/push_ack.hpp); a member that does not answer stays in the group.
    bool push_ack = false;
    // The most TEKs a policy from the key server may carry (registration and pushes); above it
    // the policy is refused whole and nothing is installed.
    size_t max_teks = gdoi::kDefaultMaxTeks;
};

struct Config {
    std::string path; // the file it was read from
    DaemonSettings daemon;
    std::vector<GroupConfig> groups;

    const GroupConfig* find_group(std::string_view name) const;
};

// Names as they are written in the file, for messages and the control protocol.
std::string_view to_string(LogLevel level);
std::string_view to_string(IkeEncryption encryption);
std::string_view to_string(IkeHash hash);
std::string_view to_string(MatchDirection direction);
std::string_view to_string(DfBit df_bit);
// Protocol names of bypass classes ("tcp", "udp", "icmp", "ospf" …, see gdoid.conf(5)):
// the name of a number ("any" for 0, the number itself when it has none), and back.
std::string protocol_name(uint8_t protocol);
std::optional<uint8_t> parse_protocol_name(std::string_view name);
std::optional<LogLevel> parse_log_level(std::string_view text);

// "30s", "10m", "24h", "1d", "1h30m"; nullopt when malformed or overflowing.
std::optional<std::chrono::seconds> parse_duration(std::string_view text);
std::string format_duration(std::chrono::seconds duration);

// "7%-5%" or "90s-30s"; the error names what is wrong.
struct PullWindowParse {
    std::optional<PullWindow> window;
    std::string error;
};
PullWindowParse parse_pull_window(std::string_view text);

// "0x00100000" (mask = value) or "0x100/0xf00".
struct BypassMarkParse {
    std::optional<BypassMark> mark;
    std::string error;
};
BypassMarkParse parse_bypass_mark(std::string_view text);

// "192.0.2.1", "192.0.2.1:848", "2001:db8::1", "[2001:db8::1]:848".
std::optional<ServerAddress> parse_server_address(std::string_view text);

} // namespace gdoid::daemon
