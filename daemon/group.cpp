#include "daemon/group.hpp"

namespace gdoid::daemon {

std::string_view to_string(GroupState state) {
    switch (state) {
    case GroupState::idle: return "idle";
    case GroupState::registering: return "registering";
    case GroupState::registered: return "registered";
    case GroupState::rekeying: return "rekeying";
    case GroupState::failed: return "failed";
    case GroupState::servers_unreachable: return "servers-unreachable";
    case GroupState::removed_by_key_server: return "removed-by-key-server";
    case GroupState::interface_down: return "interface-down";
    }
    return "unknown";
}

} // namespace gdoid::daemon
