// Timed rekeys ([group.rekey]): when the test key server renews a group's TEKs on its own, as a
// production key server does, and the renewal itself, pushed (as push-now) or left for the
// members' next PULL. I/O free and clock free: ks_main passes the time, sends and logs.
#pragma once

#include "test/ks/rekey.hpp"

#include <optional>
#include <string>
#include <vector>

namespace gdoi_test_ks {

// When the group's next timed rekey is due: the earliest moment at which the newest TEK made
// from one of the configured TEKs has `before_expiry` of its lifetime left (one rekey renews
// them all). Births come from runtime.tek_born; a TEK without one is not timed. A configured TEK
// none of whose TEKs is left (delete-tek) times nothing until push-now makes it a new one.
// nullopt without [group.rekey] or with nothing to time. The moment may be past: overdue.
std::optional<TimePoint> next_timed_rekey(const KsGroup& group, const GroupRuntime& runtime);

// The timed rekey: send = "push" is rekey() (to `members` and the KEK's multicast group, the
// KEK kept); send = "none" is renew_teks() (no pushes). Counted in runtime.timed_rekeys.
// Throws RekeyError when the group has no [group.rekey].
PushPlan timed_rekey(KsGroup& group, GroupRuntime& runtime,
                     const std::vector<gdoi::IpAddress>& members, TimePoint now);

// "timed rekey of group N: new TEKs 0x..., 0x... (sequence S), pushed to K members" or
// "..., not pushed (send = none)".
std::string timed_rekey_summary(const KsGroup& group, const PushPlan& plan);

} // namespace gdoi_test_ks
