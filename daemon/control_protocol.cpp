#include "daemon/control_protocol.hpp"

#include <algorithm>

namespace gdoid::control {

using nlohmann::json;

std::string encode_frame(std::string_view body) {
    const auto size = uint32_t(body.size());
    std::string frame;
    frame.reserve(frame_header_size + body.size());
    frame.push_back(char(size >> 24));
    frame.push_back(char(size >> 16));
    frame.push_back(char(size >> 8));
    frame.push_back(char(size));
    frame.append(body);
    return frame;
}

bool FrameDecoder::ready() const {
    if (buffer_.size() < frame_header_size) return false;
    const auto* header = reinterpret_cast<const uint8_t*>(buffer_.data());
    const size_t declared = size_t(header[0]) << 24 | size_t(header[1]) << 16 | size_t(header[2]) << 8 | header[3];
    return declared > max_body_ || buffer_.size() >= frame_header_size + declared;
}

FrameDecoder::Status FrameDecoder::next(std::string& body) {
    if (buffer_.size() < frame_header_size) return Status::need_more;
    const auto* header = reinterpret_cast<const uint8_t*>(buffer_.data());
    declared_ = size_t(header[0]) << 24 | size_t(header[1]) << 16 | size_t(header[2]) << 8 | header[3];
    if (declared_ > max_body_) return Status::oversized;
    if (buffer_.size() < frame_header_size + declared_) return Status::need_more;
    body.assign(buffer_, frame_header_size, declared_);
    buffer_.erase(0, frame_header_size + declared_);
    return Status::frame;
}

const std::vector<CommandInfo>& commands() {
    static const std::vector<CommandInfo> list = {
        {"status", Access::read, "daemon and group state"},
        {"reload", Access::action, "re-read the configuration file (like SIGHUP)"},
        {"re-register", Access::action, "register a group (or every group) again from the preferred server"},
        {"kernel", Access::read, "the kernel objects gdoid keeps for a group, with their roles"},
    };
    return list;
}

const CommandInfo* find_command(std::string_view name) {
    for (const auto& command : commands())
        if (command.name == name) return &command;
    return nullptr;
}

json make_request(std::string_view command, json arguments) {
    return json{{"version", protocol_version}, {"command", command}, {"arguments", std::move(arguments)}};
}

json make_ok_reply(json result) {
    return json{{"version", protocol_version}, {"ok", true}, {"result", std::move(result)}};
}

json make_error_reply(std::string_view code, std::string_view message) {
    return json{{"version", protocol_version},
                {"ok", false},
                {"error", {{"code", code}, {"message", message}}}};
}

std::string dump_json(const json& value, int indent) {
    return value.dump(indent, ' ', false, json::error_handler_t::replace);
}

RequestParse parse_request(std::string_view body) {
    // Without exceptions: a malformed request is ordinary input, not an exceptional event.
    json document = json::parse(body, nullptr, false);
    if (document.is_discarded())
        return {std::nullopt, make_error_reply(error_code::malformed_json, "the request is not valid JSON")};
    if (!document.is_object())
        return {std::nullopt, make_error_reply(error_code::bad_request, "the request must be a JSON object")};
    for (const auto& [key, value] : document.items()) {
        if (key != "version" && key != "command" && key != "arguments")
            return {std::nullopt, make_error_reply(error_code::bad_request,
                                                   "unknown member `" + key + "` in the request")};
    }
    const auto version = document.find("version");
    if (version == document.end() || !version->is_number_integer())
        return {std::nullopt, make_error_reply(error_code::bad_request,
                                               "the request needs an integer `version` (1)")};
    if (version->get<int64_t>() != protocol_version)
        return {std::nullopt,
                make_error_reply(error_code::unsupported_version,
                                 "this gdoid speaks control protocol version " +
                                     std::to_string(protocol_version) + ", the request uses version " +
                                     std::to_string(version->get<int64_t>()))};
    const auto command = document.find("command");
    if (command == document.end() || !command->is_string())
        return {std::nullopt, make_error_reply(error_code::bad_request, "the request needs a string `command`")};
    Request request;
    request.command = command->get<std::string>();
    if (const auto arguments = document.find("arguments"); arguments != document.end()) {
        if (!arguments->is_object())
            return {std::nullopt, make_error_reply(error_code::bad_request, "`arguments` must be an object")};
        request.arguments = *arguments;
    }
    return {std::move(request), {}};
}

bool is_allowed(Access access, const PeerCredentials& peer, std::optional<gid_t> control_gid, uid_t daemon_uid) {
    if (peer.uid == 0 || peer.uid == daemon_uid) return true;
    if (access == Access::action || !control_gid) return false;
    return peer.gid == *control_gid ||
           std::find(peer.groups.begin(), peer.groups.end(), *control_gid) != peer.groups.end();
}

json to_json(const DaemonStatus& status) {
    json groups = json::array();
    for (const auto& group : status.groups) {
        json teks = json::array();
        for (const auto& tek : group.teks)
            teks.push_back({{"spi", tek.spi},
                            {"cipher", tek.cipher},
                            {"source", tek.source},
                            {"destination", tek.destination},
                            {"expires", tek.expires},
                            {"inner_mtu", tek.inner_mtu ? json(*tek.inner_mtu) : json(nullptr)}});
        json bypass = json::array();
        for (const auto& c : group.bypass)
            bypass.push_back({{"origin", c.origin},
                              {"name", c.name},
                              {"protocol", c.protocol},
                              {"source", c.source},
                              {"destination", c.destination}});
        json entry = {
            {"name", group.name},
            {"id", group.id},
            {"state", group.state},
            {"servers", group.servers},
            {"server_in_use", group.server_in_use ? json(*group.server_in_use) : json(nullptr)},
            {"last_error", group.last_error ? json{{"message", group.last_error->message},
                                                   {"time", group.last_error->time}}
                                            : json(nullptr)},
            {"phase1", group.phase1 ? json{{"proposal", group.phase1->proposal},
                                           {"authentication", group.phase1->authentication},
                                           {"server_certificate", group.phase1->server_certificate
                                                                      ? json(*group.phase1->server_certificate)
                                                                      : json(nullptr)}}
                                    : json(nullptr)},
            {"kek", group.kek ? json{{"spi", group.kek->spi}, {"cipher", group.kek->cipher},
                                     {"signature", group.kek->signature}, {"expires", group.kek->expires}}
                              : json(nullptr)},
            {"teks", teks},
            {"match_direction", group.match_direction},
            {"bypass_mark", group.bypass_mark ? json(*group.bypass_mark) : json(nullptr)},
            {"bypass", std::move(bypass)},
            {"sequence", group.sequence ? json(*group.sequence) : json(nullptr)},
            {"last_rekey", group.last_rekey ? json{{"kind", group.last_rekey->kind}, {"time", group.last_rekey->time}}
                                            : json(nullptr)},
            {"next_pull", group.next_pull ? json(*group.next_pull) : json(nullptr)},
            {"counters",
             {{"registrations", group.registrations},
              {"registration_failures", group.registration_failures},
              {"pushes_accepted", group.pushes_accepted},
              {"pushes_rejected", group.pushes_rejected},
              {"pushes_rejected_by_reason", group.pushes_rejected_by_reason},
              {"acks_sent", group.acks_sent},
              {"ack_requests_ignored", group.ack_requests_ignored},
              {"datagrams_ignored", group.datagrams_ignored}}},
        };
        if (group.kernel)
            entry["kernel"] = {{"state", group.kernel->state},
                               {"states", group.kernel->states},
                               {"policies", group.kernel->policies},
                               {"per_destination_flows", group.kernel->per_destination_flows},
                               {"fail_closed", group.kernel->fail_closed},
                               {"fail_open", group.kernel->fail_open},
                               {"problems", group.kernel->problems},
                               {"error", group.kernel->error ? json(*group.kernel->error) : json(nullptr)},
                               {"warning", group.kernel->warning ? json(*group.kernel->warning) : json(nullptr)},
                               {"repairs", group.kernel->repairs},
                               {"notes", group.kernel->notes},
                               {"adopted", group.kernel->adopted}};
        groups.push_back(std::move(entry));
    }
    return json{{"daemon",
                 {{"version", status.version},
                  {"pid", status.pid},
                  {"uptime_seconds", status.uptime_seconds},
                  {"config_path", status.config_path},
                  {"config_error", status.config_error ? json(*status.config_error) : json(nullptr)}}},
                {"groups", std::move(groups)},
                {"datapath", status.datapath_counters ? json{{"counters", *status.datapath_counters}} : json(nullptr)},
                {"fragmentation",
                 status.fragmentation_counters ? json{{"counters", *status.fragmentation_counters}} : json(nullptr)},
                {"pre_fragmentation",
                 status.pre_fragmentation
                     ? json{{"interface", status.pre_fragmentation->interface},
                            {"mtu", status.pre_fragmentation->mtu},
                            {"error", status.pre_fragmentation->error ? json(*status.pre_fragmentation->error)
                                                                      : json(nullptr)}}
                     : json(nullptr)}};
}

namespace {

// Small typed accessors that turn a shape error into a sentence instead of an exception.
template <typename T>
bool read_member(const json& object, const char* key, T& out, std::string& error, bool nullable = false) {
    const auto it = object.find(key);
    if (it == object.end() || (it->is_null() && !nullable)) {
        error = std::string("missing `") + key + "`";
        return false;
    }
    if (it->is_null()) return true;
    try {
        out = it->get<T>();
    } catch (const json::exception&) {
        error = std::string("`") + key + "` has the wrong type";
        return false;
    }
    return true;
}

} // namespace

std::optional<DaemonStatus> status_from_json(const json& result, std::string& error) {
    if (!result.is_object() || !result.contains("daemon") || !result["daemon"].is_object() ||
        !result.contains("groups") || !result["groups"].is_array()) {
        error = "the status reply has no `daemon` object or `groups` array";
        return std::nullopt;
    }
    DaemonStatus status;
    const auto& daemon = result["daemon"];
    std::string config_error;
    if (!read_member(daemon, "version", status.version, error) || !read_member(daemon, "pid", status.pid, error) ||
        !read_member(daemon, "uptime_seconds", status.uptime_seconds, error) ||
        !read_member(daemon, "config_path", status.config_path, error) ||
        !read_member(daemon, "config_error", config_error, error, true))
        return std::nullopt;
    if (!config_error.empty()) status.config_error = config_error;
    if (const auto it = result.find("datapath"); it != result.end() && it->is_object()) {
        std::map<std::string, uint64_t> counters;
        if (!read_member(*it, "counters", counters, error)) return std::nullopt;
        status.datapath_counters = std::move(counters);
    }
    if (const auto it = result.find("fragmentation"); it != result.end() && it->is_object()) {
        std::map<std::string, uint64_t> counters;
        if (!read_member(*it, "counters", counters, error)) return std::nullopt;
        status.fragmentation_counters = std::move(counters);
    }
    if (const auto it = result.find("pre_fragmentation"); it != result.end() && it->is_object()) {
        DaemonStatus::PreFragmentation pre;
        if (const auto name = it->find("interface"); name != it->end() && name->is_string())
            pre.interface = name->get<std::string>();
        if (const auto mtu = it->find("mtu"); mtu != it->end() && mtu->is_number_unsigned())
            pre.mtu = mtu->get<uint32_t>();
        if (const auto why = it->find("error"); why != it->end() && why->is_string())
            pre.error = why->get<std::string>();
        status.pre_fragmentation = std::move(pre);
    }
    for (const auto& entry : result["groups"]) {
        if (!entry.is_object()) {
            error = "a group entry is not an object";
            return std::nullopt;
        }
        GroupStatus group;
        std::string in_use;
        if (!read_member(entry, "name", group.name, error) || !read_member(entry, "id", group.id, error) ||
            !read_member(entry, "state", group.state, error) ||
            !read_member(entry, "servers", group.servers, error) ||
            !read_member(entry, "server_in_use", in_use, error, true))
            return std::nullopt;
        if (!in_use.empty()) group.server_in_use = in_use;
        if (const auto it = entry.find("last_error"); it != entry.end() && it->is_object()) {
            GroupErrorStatus last;
            if (!read_member(*it, "message", last.message, error) || !read_member(*it, "time", last.time, error))
                return std::nullopt;
            group.last_error = last;
        }
        if (const auto it = entry.find("kek"); it != entry.end() && it->is_object()) {
            KekStatus kek;
            if (!read_member(*it, "spi", kek.spi, error) || !read_member(*it, "cipher", kek.cipher, error) ||
                !read_member(*it, "signature", kek.signature, error, true) ||
                !read_member(*it, "expires", kek.expires, error))
                return std::nullopt;
            group.kek = kek;
        }
        if (const auto it = entry.find("phase1"); it != entry.end() && it->is_object()) {
            Phase1Status phase1;
            std::string certificate;
            if (!read_member(*it, "proposal", phase1.proposal, error) ||
                !read_member(*it, "authentication", phase1.authentication, error) ||
                !read_member(*it, "server_certificate", certificate, error, true))
                return std::nullopt;
            if (!certificate.empty()) phase1.server_certificate = certificate;
            group.phase1 = phase1;
        }
        if (const auto it = entry.find("teks"); it != entry.end() && it->is_array()) {
            for (const auto& item : *it) {
                TekStatus tek;
                if (!item.is_object() || !read_member(item, "spi", tek.spi, error) ||
                    !read_member(item, "cipher", tek.cipher, error) || !read_member(item, "source", tek.source, error) ||
                    !read_member(item, "destination", tek.destination, error) ||
                    !read_member(item, "expires", tek.expires, error)) {
                    if (error.empty()) error = "a TEK entry is not an object";
                    return std::nullopt;
                }
                if (const auto mtu = item.find("inner_mtu"); mtu != item.end() && mtu->is_number_unsigned())
                    tek.inner_mtu = mtu->get<uint32_t>();
                group.teks.push_back(std::move(tek));
            }
        }
        if (const auto it = entry.find("match_direction"); it != entry.end() && it->is_string())
            group.match_direction = it->get<std::string>();
        if (const auto it = entry.find("bypass_mark"); it != entry.end() && it->is_string())
            group.bypass_mark = it->get<std::string>();
        if (const auto it = entry.find("bypass"); it != entry.end() && it->is_array()) {
            for (const auto& item : *it) {
                BypassStatus c;
                if (!item.is_object() || !read_member(item, "origin", c.origin, error) ||
                    !read_member(item, "name", c.name, error) || !read_member(item, "protocol", c.protocol, error) ||
                    !read_member(item, "source", c.source, error) ||
                    !read_member(item, "destination", c.destination, error)) {
                    if (error.empty()) error = "a bypass entry is not an object";
                    return std::nullopt;
                }
                group.bypass.push_back(std::move(c));
            }
        }
        if (const auto it = entry.find("sequence"); it != entry.end() && it->is_number_unsigned())
            group.sequence = it->get<uint32_t>();
        if (const auto it = entry.find("last_rekey"); it != entry.end() && it->is_object()) {
            RekeyStatus rekey;
            if (!read_member(*it, "kind", rekey.kind, error) || !read_member(*it, "time", rekey.time, error))
                return std::nullopt;
            group.last_rekey = rekey;
        }
        if (const auto it = entry.find("next_pull"); it != entry.end() && it->is_number_integer())
            group.next_pull = it->get<int64_t>();
        if (const auto it = entry.find("counters"); it != entry.end() && it->is_object()) {
            if (!read_member(*it, "registrations", group.registrations, error) ||
                !read_member(*it, "registration_failures", group.registration_failures, error) ||
                !read_member(*it, "pushes_accepted", group.pushes_accepted, error) ||
                !read_member(*it, "pushes_rejected", group.pushes_rejected, error))
                return std::nullopt;
            if (const auto by = it->find("pushes_rejected_by_reason"); by != it->end() && by->is_object())
                for (const auto& [reason, count] : by->items())
                    if (count.is_number_unsigned()) group.pushes_rejected_by_reason[reason] = count.get<uint64_t>();
            if (const auto acks = it->find("acks_sent"); acks != it->end() && acks->is_number_unsigned())
                group.acks_sent = acks->get<uint64_t>();
            if (const auto ignored = it->find("ack_requests_ignored");
                ignored != it->end() && ignored->is_number_unsigned())
                group.ack_requests_ignored = ignored->get<uint64_t>();
            if (const auto ignored = it->find("datagrams_ignored");
                ignored != it->end() && ignored->is_number_unsigned())
                group.datagrams_ignored = ignored->get<uint64_t>();
        }
        if (const auto it = entry.find("kernel"); it != entry.end() && it->is_object()) {
            KernelStatus kernel;
            std::string kernel_error;
            if (!read_member(*it, "state", kernel.state, error) || !read_member(*it, "states", kernel.states, error) ||
                !read_member(*it, "policies", kernel.policies, error) ||
                !read_member(*it, "fail_closed", kernel.fail_closed, error) ||
                !read_member(*it, "fail_open", kernel.fail_open, error) ||
                !read_member(*it, "problems", kernel.problems, error) ||
                !read_member(*it, "error", kernel_error, error, true))
                return std::nullopt;
            if (!kernel_error.empty()) kernel.error = kernel_error;
            if (const auto warning = it->find("warning"); warning != it->end() && warning->is_string())
                kernel.warning = warning->get<std::string>();
            if (const auto flows = it->find("per_destination_flows"); flows != it->end() && flows->is_number_unsigned())
                kernel.per_destination_flows = flows->get<uint64_t>();
            if (const auto repairs = it->find("repairs"); repairs != it->end() && repairs->is_number_unsigned())
                kernel.repairs = repairs->get<uint64_t>();
            if (const auto notes = it->find("notes"); notes != it->end() && notes->is_array())
                for (const auto& note : *notes)
                    if (note.is_string()) kernel.notes.push_back(note.get<std::string>());
            if (const auto adopted = it->find("adopted"); adopted != it->end() && adopted->is_boolean())
                kernel.adopted = adopted->get<bool>();
            group.kernel = std::move(kernel);
        }
        status.groups.push_back(std::move(group));
    }
    return status;
}

} // namespace gdoid::control
