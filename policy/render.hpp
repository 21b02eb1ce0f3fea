// Human-readable text for gdoid's kernel objects, close to `ip xfrm` output so an operator can
// compare it with the kernel's: operation logs and `gdoictl`'s view of a group's desired objects.
// Keys are never printed, only their length.
#pragma once

#include "netlink/xfrm_objects.hpp"
#include "policy/desired_objects.hpp"
#include "policy/local_settings.hpp"

#include <string>

namespace policy {

std::string describe(const netlink::XfrmStateId& id);
std::string describe(const netlink::XfrmState& state);
// `settings` (optional) turns interface indexes into names.
std::string describe(const netlink::XfrmPolicyId& id, const LocalSettings* settings = nullptr);
std::string describe(const netlink::XfrmPolicy& policy, const LocalSettings* settings = nullptr);

// The whole desired set of one group: states, policies, datapath entries, problems, with what
// each object is for.
std::string render_desired(const DesiredObjects& desired, const LocalSettings& settings);

} // namespace policy
