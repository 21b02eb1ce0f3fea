// Fills policy::LocalSettings for one group from its configuration and the system as it is
// now (interface indexes, the router's addresses on its LAN devices). Interfaces that do not
// exist (yet) are reported, not guessed: the group's kernel objects wait for them.
#pragma once

#include "daemon/config.hpp"
#include "policy/local_settings.hpp"

#include <optional>
#include <set>
#include <string>

namespace gdoid::daemon {

struct LocalSettingsResult {
    std::optional<policy::LocalSettings> settings;
    std::string problem; // when settings is empty: "wan-interface eth0 does not exist"
};

// `group_slot`: the group's place in gdoid's reqid/priority band (policy/object_band.hpp).
LocalSettingsResult build_local_settings(const GroupConfig& config, uint32_t group_slot);

// A stable slot for a group: its id modulo 256, or the next one not in `taken` on a collision.
// Groups are given slots in configuration order, so the same configuration always gives the
// same slots and a restarted daemon finds (adopts) its own objects.
uint32_t pick_group_slot(uint32_t group_id, const std::set<uint32_t>& taken);

} // namespace gdoid::daemon
