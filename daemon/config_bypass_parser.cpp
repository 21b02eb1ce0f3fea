#include "daemon/config_bypass_parser.hpp"

#include <algorithm>
#include <string>

namespace gdoid::daemon {

namespace {

bool valid_class_name(std::string_view name) {
    return !name.empty() && name.size() <= 32 && std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '_' || c == '.';
    });
}

std::optional<gdoi::IpPrefix> get_class_prefix(ConfigReader& reader, const toml::table& table,
                                               std::string_view key, const std::string& context) {
    auto text = reader.get_string(table, key, true, context);
    if (!text) return std::nullopt;
    auto prefix = gdoi::IpPrefix::parse(*text);
    if (!prefix) {
        reader.error(*table.get(key), context + ": `" + std::string(key) + "` \"" + *text +
                                          "\" is not an address prefix like \"10.1.0.0/16\"");
        return std::nullopt;
    }
    if (!prefix->is_canonical()) {
        const gdoi::IpPrefix canonical{prefix->first(), prefix->length};
        reader.error(*table.get(key), context + ": `" + std::string(key) + "` \"" + *text +
                                          "\" has host bits set; did you mean \"" +
                                          canonical.to_string() + "\"?");
        return std::nullopt;
    }
    return prefix;
}

// `protocol`: a name of gdoid.conf(5)'s list or a number 1..255; absent = any.
std::optional<uint8_t> get_protocol(ConfigReader& reader, const toml::table& table,
                                    const std::string& context, bool& bad) {
    const auto* node = table.get("protocol");
    if (!node) return uint8_t(0);
    if (const auto* text = node->as_string()) {
        if (auto number = parse_protocol_name(text->get())) return number;
        reader.error(*node,
                     context + ": `protocol` \"" + text->get() +
                         "\" is not one of \"tcp\", \"udp\", \"sctp\", \"icmp\", \"icmpv6\", "
                         "\"igmp\", \"gre\", \"esp\", \"ah\", \"ospf\", \"pim\", \"vrrp\" "
                         "or a protocol number 1 to 255");
    } else if (const auto* number = node->as_integer();
               number && number->get() >= 1 && number->get() <= 255) {
        return uint8_t(number->get());
    } else {
        reader.error(*node, context + ": `protocol` must be a protocol name like \"udp\" or a "
                                      "number 1 to 255");
    }
    bad = true;
    return std::nullopt;
}

bool has_ports(uint8_t protocol) {
    return protocol == 6 || protocol == 17 || protocol == 132;
}

} // namespace

void parse_bypass_classes(ConfigReader& reader, const toml::table& table, GroupConfig& group,
                          std::string_view context) {
    const auto* node = table.get("bypass");
    if (!node) return;
    const auto* array = node->as_array();
    if (!array || !array->is_array_of_tables()) {
        reader.error(*node, "`bypass` must be written as [[group.bypass]] tables");
        return;
    }
    size_t index = 0;
    for (const auto& element : *array) {
        const auto& class_table = *element.as_table();
        if (++index > max_bypass_classes) {
            reader.error(class_table, std::string(context) + " has " +
                                          std::to_string(array->size()) +
                                          " bypass classes; at most " +
                                          std::to_string(max_bypass_classes) + " are allowed");
            return;
        }
        reader.check_keys(
            class_table,
            {"name", "source", "destination", "protocol", "source-port", "destination-port"},
            "[[group.bypass]]");
        std::string class_context = "bypass class #" + std::to_string(index);
        auto name = reader.get_string(class_table, "name", true, class_context);
        if (name && !valid_class_name(*name)) {
            reader.error(*class_table.get("name"), class_context + ": `name` \"" + *name +
                                                       "\" is not valid (1 to 32 letters, digits, "
                                                       "'-', '_' or '.')");
            name.reset();
        }
        if (name) class_context = "bypass class `" + *name + "`";
        auto source = get_class_prefix(reader, class_table, "source", class_context);
        auto destination = get_class_prefix(reader, class_table, "destination", class_context);
        bool bad = false;
        const auto protocol = get_protocol(reader, class_table, class_context, bad);
        uint16_t ports[2] = {0, 0};
        const char* port_keys[2] = {"source-port", "destination-port"};
        for (int i = 0; i < 2; ++i) {
            const auto* port_node = class_table.get(port_keys[i]);
            if (!port_node) continue;
            auto port =
                reader.get_integer(class_table, port_keys[i], false, class_context, 1, 65535);
            if (!port) {
                bad = true;
                continue;
            }
            // XFRM selectors carry ports only for these; for any other protocol the kernel
            // would read the port fields as ICMP type/code or ignore them.
            if (protocol && !has_ports(*protocol)) {
                reader.error(*port_node,
                             class_context + ": `" + std::string(port_keys[i]) +
                                 "` needs `protocol` \"tcp\", \"udp\" or \"sctp\", not " +
                                 (*protocol ? "\"" + protocol_name(*protocol) + "\"" : "any"));
                bad = true;
                continue;
            }
            ports[i] = uint16_t(*port);
        }
        if (!name || !source || !destination || !protocol || bad) continue;
        if (source->address.family != destination->address.family) {
            reader.error(class_table, class_context + ": `source` " + source->to_string() +
                                          " and `destination` " + destination->to_string() +
                                          " are not the same address family");
            continue;
        }
        if (!group.local_address.is_unspecified() &&
            source->address.family != group.local_address.family) {
            reader.error(class_table,
                         class_context + ": " + source->to_string() +
                             " is not of the group's address family (`local-address` " +
                             group.local_address.to_string() +
                             "); the group's policies never see such traffic");
            continue;
        }
        const bool duplicate =
            std::any_of(group.bypass.begin(), group.bypass.end(),
                        [&](const BypassClassConfig& c) { return c.name == *name; });
        if (duplicate) {
            reader.error(*class_table.get("name"),
                         "bypass class name `" + *name + "` is used twice");
            continue;
        }
        group.bypass.push_back({*name, *source, *destination, *protocol, ports[0], ports[1]});
    }
}

} // namespace gdoid::daemon
