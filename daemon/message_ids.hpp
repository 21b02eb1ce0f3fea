// Stable journal MESSAGE_ID= values for the events operators search and alert on
// (`journalctl MESSAGE_ID=...`, gdoid(8) MESSAGE IDS). Made once with `systemd-id128 new`; a
// published ID never changes meaning, and a new kind of event gets a new ID.
#pragma once

#include <string_view>

namespace gdoid::daemon::message_id {

// A registration (Main Mode or reused Phase 1 + GROUPKEY-PULL) completed: new keys installed.
inline constexpr std::string_view registered = "d4c159de8f2342a99606e2d028e30522";
// A GROUPKEY-PUSH was accepted: a rekey (TEK, KEK, deletion or ejection) took effect.
inline constexpr std::string_view push_accepted = "8c20aef461a84527aaf3077792a58b99";
// A GROUPKEY-PUSH was refused (signature, sequence, KEK SPI, ...); nothing changed.
inline constexpr std::string_view push_refused = "13473c28b5f746a095b13e6390e851d4";
// Registration moved to another key server than the one last tried (failover, or back).
inline constexpr std::string_view server_changed = "26f560d4413d4225a044db791ac0bd88";
// A group left the configuration (reload): its kernel objects are removed.
inline constexpr std::string_view group_removed = "b2ee4ebca3564ad69bcfa9d62a71f344";
// The key servers removed this member (ejection): no server accepts it again.
inline constexpr std::string_view member_ejected = "7d030cdc509645688f24b48eb4ade389";
// gdoid stopped with graceful-restart: its SAs, policies and datapath stay for the next one.
inline constexpr std::string_view graceful_restart = "f15e1371ce904fe194f9996ac0372edd";

} // namespace gdoid::daemon::message_id
