#include "daemon/config_group_parser.hpp"

#include "daemon/config_bypass_parser.hpp"
#include "daemon/config_certificate.hpp"
#include "daemon/config_datapath_parser.hpp"

#include <algorithm>
#include <set>

namespace gdoid::daemon {

namespace {

std::string quoted(std::string_view key) { return "`" + std::string(key) + "`"; }

bool valid_group_name(std::string_view name) {
    return !name.empty() && name.size() <= 32 && std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '_' || c == '.';
    });
}

// Linux interface (and VRF device) names: 1..15 bytes, no '/', no white space, not "." or "..".
bool valid_interface_name(std::string_view name) {
    return !name.empty() && name.size() <= 15 && name != "." && name != ".." &&
           std::none_of(name.begin(), name.end(),
                        [](char c) { return c == '/' || c == ':' || c <= ' ' || c == 0x7f; });
}

std::optional<std::string> get_interface(ConfigReader& reader, const toml::table& table,
                                         std::string_view key, bool required, std::string_view context) {
    auto name = reader.get_string(table, key, required, context);
    if (name && !valid_interface_name(*name)) {
        reader.error(*table.get(key), quoted(key) + ": \"" + *name +
                                          "\" is not a valid interface name (1 to 15 characters, no "
                                          "'/', ':' or spaces)");
        return std::nullopt;
    }
    return name;
}

void parse_servers(ConfigReader& reader, const toml::table& table, GroupConfig& group,
                   std::string_view context) {
    const auto* array = reader.get_array(table, "servers", true, context);
    if (!array) return;
    if (array->empty()) {
        reader.error(*array, "`servers` must list at least one key server");
        return;
    }
    if (array->size() > max_servers) {
        reader.error(*array, "`servers` lists " + std::to_string(array->size()) +
                                 " key servers; at most " + std::to_string(max_servers) + " are allowed");
        return;
    }
    for (const auto& element : *array) {
        const auto* text = element.as_string();
        if (!text) {
            reader.error(element, "each entry of `servers` must be an address string like "
                                  "\"192.0.2.1\" or \"[2001:db8::1]:848\", not " +
                                      std::string(type_name(element)));
            continue;
        }
        auto server = parse_server_address(text->get());
        if (!server) {
            reader.error(element, "`servers`: \"" + text->get() +
                                      "\" is not an IPv4 or IPv6 address with an optional port");
            continue;
        }
        if (server->address.is_unspecified() || server->address.is_multicast()) {
            reader.error(element, "`servers`: " + server->address.to_string() +
                                      " cannot be a key server's address");
            continue;
        }
        if (std::find(group.servers.begin(), group.servers.end(), *server) != group.servers.end()) {
            reader.error(element, "`servers`: " + server->to_string() + " is listed twice");
            continue;
        }
        group.servers.push_back(*server);
    }
}

void parse_psk_source(ConfigReader& reader, const toml::table& table, GroupConfig& group,
                      std::string_view context) {
    const auto* node = table.get("pre-shared-key");
    const bool certificate = table.get("certificate") != nullptr;
    if (!node) {
        if (!certificate)
            reader.error(table.source(), std::string(context) +
                                             " is missing `pre-shared-key` (or `certificate`, for "
                                             "authentication with RSA signatures)");
        return;
    }
    if (certificate) {
        reader.error(*node, std::string(context) +
                                " has both `pre-shared-key` and `certificate`; Phase 1 uses one "
                                "authentication method: remove one of them");
        return;
    }
    const auto* source = node->as_table();
    if (!source) {
        // Never echo the value: it may well be the key itself.
        reader.error(*node, "`pre-shared-key` must name where the key is, not hold it: write "
                            "{ file = \"/etc/gdoid/<group>.psk\" } or { credential = \"<name>\" }");
        return;
    }
    reader.check_keys(*source, {"file", "credential"}, "`pre-shared-key`");
    const auto file = reader.get_string(*source, "file", false, "`pre-shared-key`");
    const auto credential = reader.get_string(*source, "credential", false, "`pre-shared-key`");
    if (file && credential) {
        reader.error(*node, "`pre-shared-key` takes either `file` or `credential`, not both");
    } else if (file) {
        if (file->empty() || file->front() != '/')
            reader.error(*source->get("file"), "`pre-shared-key`: `file` must be an absolute path");
        else
            group.psk_source = {PskSource::Kind::file, *file};
    } else if (credential) {
        if (credential->empty() || credential->find('/') != std::string::npos)
            reader.error(*source->get("credential"),
                         "`pre-shared-key`: `credential` must be a credential name without '/'");
        else
            group.psk_source = {PskSource::Kind::credential, *credential};
    } else {
        reader.error(*node, "`pre-shared-key` needs `file` or `credential`");
    }
}

void parse_ike(ConfigReader& reader, const toml::table& table, IkeProposal& ike) {
    reader.check_keys(table, {"encryption", "hash", "dh-group", "lifetime"}, "`ike`");
    if (auto encryption = reader.get_choice<IkeEncryption>(table, "encryption",
                                                           {{"3des", IkeEncryption::des3_cbc},
                                                            {"aes-128", IkeEncryption::aes128_cbc},
                                                            {"aes-192", IkeEncryption::aes192_cbc},
                                                            {"aes-256", IkeEncryption::aes256_cbc}}))
        ike.encryption = *encryption;
    if (auto hash = reader.get_choice<IkeHash>(table, "hash",
                                               {{"md5", IkeHash::md5},
                                                {"sha1", IkeHash::sha1},
                                                {"sha256", IkeHash::sha256},
                                                {"sha384", IkeHash::sha384},
                                                {"sha512", IkeHash::sha512}}))
        ike.hash = *hash;
    if (const auto* node = table.get("dh-group")) {
        // MODP 1, 2 (RFC 2409), 5, 14, 15, 16 (RFC 3526); ECP 19, 20, 21 (RFC 5903).
        static constexpr int64_t supported[] = {1, 2, 5, 14, 15, 16, 19, 20, 21};
        const auto* value = node->as_integer();
        const int64_t group = value ? value->get() : -1;
        if (std::find(std::begin(supported), std::end(supported), group) != std::end(supported))
            ike.dh_group = uint8_t(group);
        else
            reader.error(*node,
                         "`dh-group` must be one of 1, 2, 5, 14, 15, 16 (MODP) or 19, 20, 21 "
                         "(ECP), not " +
                             (value ? std::to_string(group) : std::string(type_name(*node))));
    }
    // Junos accepts 180 s to 24 h for IKE proposals.
    if (auto lifetime = reader.get_duration(table, "lifetime", std::chrono::seconds(180),
                                            std::chrono::hours(24)))
        ike.lifetime = *lifetime;
}

void parse_lan_interfaces(ConfigReader& reader, const toml::table& table, GroupConfig& group,
                          std::string_view context) {
    const auto* array = reader.get_array(table, "lan-interfaces", true, context);
    if (!array) return;
    if (array->empty()) reader.error(*array, "`lan-interfaces` must list at least one interface");
    for (const auto& element : *array) {
        const auto* text = element.as_string();
        if (!text || !valid_interface_name(text->get())) {
            reader.error(element, "`lan-interfaces`: each entry must be an interface name (1 to 15 "
                                  "characters, no '/', ':' or spaces)");
            continue;
        }
        if (text->get() == group.wan_interface) {
            reader.error(element, "`lan-interfaces`: " + text->get() + " is already the `wan-interface`");
            continue;
        }
        if (std::find(group.lan_interfaces.begin(), group.lan_interfaces.end(), text->get()) !=
            group.lan_interfaces.end()) {
            reader.error(element, "`lan-interfaces`: " + text->get() + " is listed twice");
            continue;
        }
        group.lan_interfaces.push_back(text->get());
    }
}

void parse_rekey(ConfigReader& reader, const toml::table& table, RekeyPolicy& rekey) {
    reader.check_keys(table, {"pull-window", "activate-before-expiry"}, "`rekey`");
    if (auto text = reader.get_string(table, "pull-window", false, "`rekey`")) {
        auto parsed = parse_pull_window(*text);
        if (parsed.window)
            rekey.pull_window = *parsed.window;
        else
            reader.error(*table.get("pull-window"), "`pull-window`: " + parsed.error);
    }
    if (auto before = reader.get_duration(table, "activate-before-expiry", std::chrono::seconds(0),
                                          std::chrono::minutes(10)))
        rekey.activate_before_expiry = *before;
}

std::optional<gdoi::IpPrefix> get_prefix(ConfigReader& reader, const toml::table& table,
                                         std::string_view key, std::string_view context) {
    auto text = reader.get_string(table, key, true, context);
    if (!text) return std::nullopt;
    auto prefix = gdoi::IpPrefix::parse(*text);
    if (!prefix) {
        reader.error(*table.get(key), quoted(key) + ": \"" + *text + "\" is not an address prefix like \"10.1.0.0/16\"");
        return std::nullopt;
    }
    if (!prefix->is_canonical()) {
        const gdoi::IpPrefix canonical{prefix->first(), prefix->length};
        reader.error(*table.get(key), quoted(key) + ": \"" + *text +
                                          "\" has host bits set; did you mean \"" +
                                          canonical.to_string() + "\"?");
        return std::nullopt;
    }
    return prefix;
}

void parse_fail_open(ConfigReader& reader, const toml::table& table, GroupConfig& group,
                     std::string_view context) {
    const auto* node = table.get("fail-open");
    if (!node) return;
    const auto* array = node->as_array();
    if (!array || !array->is_array_of_tables()) {
        reader.error(*node, "`fail-open` must be written as [[group.fail-open]] tables");
        return;
    }
    size_t index = 0;
    for (const auto& element : *array) {
        const auto& rule_table = *element.as_table();
        if (++index > max_fail_open_rules) {
            reader.error(rule_table, std::string(context) + " has " + std::to_string(array->size()) +
                                         " fail-open rules; at most " +
                                         std::to_string(max_fail_open_rules) + " are allowed");
            return;
        }
        const std::string rule_context = "fail-open rule #" + std::to_string(index);
        reader.check_keys(rule_table, {"name", "source", "destination"}, "[[group.fail-open]]");
        FailOpenRule rule;
        auto name = reader.get_string(rule_table, "name", true, rule_context);
        auto source = get_prefix(reader, rule_table, "source", rule_context);
        auto destination = get_prefix(reader, rule_table, "destination", rule_context);
        if (!name || !source || !destination) continue;
        if (source->address.family != destination->address.family) {
            reader.error(rule_table, rule_context + ": `source` and `destination` must be the same "
                                                    "address family");
            continue;
        }
        const bool duplicate = std::any_of(group.fail_open.begin(), group.fail_open.end(),
                                           [&](const FailOpenRule& r) { return r.name == *name; });
        if (duplicate) {
            reader.error(*rule_table.get("name"), "fail-open rule name `" + *name + "` is used twice");
            continue;
        }
        group.fail_open.push_back({*name, *source, *destination});
    }
}

std::optional<gdoi::IdLengthWidth> get_id_length(ConfigReader& reader, const toml::table& table,
                                                 std::string_view key) {
    const auto* node = table.get(key);
    if (!node) return std::nullopt;
    if (const auto* text = node->as_string(); text && text->get() == "auto")
        return gdoi::IdLengthWidth::automatic;
    if (const auto* value = node->as_integer()) {
        if (value->get() == 1) return gdoi::IdLengthWidth::one_octet;
        if (value->get() == 2) return gdoi::IdLengthWidth::two_octets;
    }
    reader.error(*node, quoted(key) + " must be \"auto\", 1 or 2");
    return std::nullopt;
}

void parse_quirks(ConfigReader& reader, const toml::table& table, gdoi::ServerQuirks& quirks) {
    reader.check_keys(table,
                      {"group-id-byte-order", "sa-tek-id-length", "sa-kek-id-length",
                       "sa-tek-ipv4-byte-reversed", "phase1-doi"},
                      "[group.server-quirks]");
    if (auto order = reader.get_choice<gdoi::GroupIdByteOrder>(
            table, "group-id-byte-order",
            {{"network", gdoi::GroupIdByteOrder::network},
             {"little-endian", gdoi::GroupIdByteOrder::little_endian}}))
        quirks.group_id_byte_order = *order;
    if (auto width = get_id_length(reader, table, "sa-tek-id-length")) quirks.sa_tek_id_length = *width;
    if (auto width = get_id_length(reader, table, "sa-kek-id-length")) quirks.sa_kek_id_length = *width;
    if (auto reversed = reader.get_bool(table, "sa-tek-ipv4-byte-reversed"))
        quirks.sa_tek_ipv4_byte_reversed = *reversed;
    if (auto doi = reader.get_integer(table, "phase1-doi", false, "", 1, 2)) quirks.phase1_doi = uint32_t(*doi);
}

} // namespace

GroupConfig parse_group(ConfigReader& reader, const toml::table& table, size_t index) {
    GroupConfig group;
    std::string context = "[[group]] #" + std::to_string(index);
    reader.check_keys(table,
                      {"name", "id", "servers", "local-address", "routing-instance", "pre-shared-key",
                       "certificate", "ike", "wan-interface", "lan-interfaces", "lan-prefixes", "anchor",
                       "match-direction", "df-bit", "crypto-offload", "datapath-fallback",
                       "bypass-mark", "tcp-mss", "per-destination-idle", "retry", "rekey", "fail-open", "bypass", "server-quirks",
                       "push-ack", "max-teks", "pre-fragmentation"},
                      "[[group]]");

    if (auto name = reader.get_string(table, "name", true, context)) {
        if (valid_group_name(*name)) {
            group.name = *name;
            context = "group `" + *name + "`";
        } else {
            reader.error(*table.get("name"), "`name`: \"" + *name +
                                                 "\" is not a valid group name (1 to 32 letters, "
                                                 "digits, '-', '_' or '.')");
        }
    }
    // RFC 6407 section 5.1: the group identifier is a 4-octet number; 0 identifies no group.
    if (auto id = reader.get_integer(table, "id", true, context, 1, 4294967295)) group.id = uint32_t(*id);
    parse_servers(reader, table, group, context);

    if (auto text = reader.get_string(table, "local-address", true, context)) {
        auto address = gdoi::IpAddress::parse(*text);
        if (!address || address->is_unspecified() || address->is_multicast()) {
            reader.error(*table.get("local-address"),
                         "`local-address`: \"" + *text + "\" is not a unicast IPv4 or IPv6 address");
        } else {
            group.local_address = *address;
            for (const auto& server : group.servers)
                if (server.address.family != address->family)
                    reader.error(*table.get("local-address"),
                                 "`local-address` " + address->to_string() +
                                     " and key server " + server.address.to_string() +
                                     " are not the same address family");
        }
    }
    group.routing_instance = get_interface(reader, table, "routing-instance", false, context);
    parse_psk_source(reader, table, group, context);
    parse_certificate(reader, table, group, context);
    if (const auto* ike = reader.get_table(table, "ike", false, context)) parse_ike(reader, *ike, group.ike);
    if (auto wan = get_interface(reader, table, "wan-interface", true, context)) group.wan_interface = *wan;
    parse_lan_interfaces(reader, table, group, context);
    parse_lan_prefixes(reader, table, group);
    parse_anchor(reader, table, group, context);
    if (auto direction = reader.get_choice<MatchDirection>(table, "match-direction",
                                                           {{"input", MatchDirection::input},
                                                            {"output", MatchDirection::output},
                                                            {"both", MatchDirection::both}}))
        group.match_direction = *direction;
    if (auto df = reader.get_choice<DfBit>(
            table, "df-bit", {{"clear", DfBit::clear}, {"set", DfBit::set}, {"copy", DfBit::copy}}))
        group.df_bit = *df;
    // Junos' pre-fragmentation: forwarded IPv4 with DF clear that would not fit the tunnel is
    // fragmented first, each fragment its own ESP packet (docs/datapath-notes.md,
    // "Fragmentation before encryption"). Refused where it cannot apply rather than ignored.
    if (const auto pre = reader.get_bool(table, "pre-fragmentation")) {
        if (*pre && group.local_address.family == gdoi::IpFamily::v6)
            reader.error(*table.get("pre-fragmentation"),
                         "`pre-fragmentation = true` applies to IPv4 groups: IPv6 routers never fragment what "
                         "they forward, the member answers Packet Too Big with the tunnel's MTU and the "
                         "sending host fragments before the packet reaches it (FRAGMENTATION in gdoid.conf(5))");
        else
            group.pre_fragmentation = *pre;
    }
    if (auto offload = reader.get_choice<CryptoOffload>(
            table, "crypto-offload", {{"auto", CryptoOffload::automatic}, {"off", CryptoOffload::off}}))
        group.crypto_offload = *offload;
    if (auto fallback = reader.get_choice<DatapathFallback>(
            table, "datapath-fallback",
            {{"refuse", DatapathFallback::refuse}, {"destination-only", DatapathFallback::destination_only}}))
        group.datapath_fallback = *fallback;
    if (auto text = reader.get_string(table, "bypass-mark", false, context)) {
        auto parsed = parse_bypass_mark(*text);
        if (parsed.mark)
            group.bypass_mark = parsed.mark;
        else
            reader.error(*table.get("bypass-mark"), "`bypass-mark`: " + parsed.error);
    }
    if (auto mss = reader.get_integer(table, "tcp-mss", false, context, 64, 65535)) group.tcp_mss = uint16_t(*mss);
    if (auto idle = reader.get_duration(table, "per-destination-idle", std::chrono::seconds(1), std::chrono::hours(24)))
        group.per_destination_idle = *idle;
    if (const auto* retry = reader.get_table(table, "retry", false, context)) {
        reader.check_keys(*retry, {"count", "interval"}, "`retry`");
        if (auto count = reader.get_integer(*retry, "count", false, "`retry`", 1, 100))
            group.retry.count = uint32_t(*count);
        if (auto interval = reader.get_duration(*retry, "interval", std::chrono::seconds(1),
                                                std::chrono::hours(1)))
            group.retry.interval = *interval;
    }
    if (const auto* rekey = reader.get_table(table, "rekey", false, context))
        parse_rekey(reader, *rekey, group.rekey);
    parse_fail_open(reader, table, group, context);
    parse_bypass_classes(reader, table, group, context);
    if (const auto* quirks = reader.get_table(table, "server-quirks", false, context))
        parse_quirks(reader, *quirks, group.quirks);
    if (auto push_ack = reader.get_bool(table, "push-ack")) group.push_ack = *push_ack;
    // 65,535: a key download payload cannot number more key packets (RFC 6407 section 5.6).
    if (auto max_teks = reader.get_integer(table, "max-teks", false, context, 1, 65535))
        group.max_teks = size_t(*max_teks);
    return group;
}

} // namespace gdoid::daemon
