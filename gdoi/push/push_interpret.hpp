// Turns an authentic, fresh GROUPKEY-PUSH (already decrypted, signature and SEQ checked) into a
// PushUpdate: the KEK it announces, its TEKs with their keys, GAP, deletes, ejection signs.
#pragma once

#include "gdoi/group_policy.hpp"
#include "gdoi/push/push_update.hpp"
#include "gdoi/server_quirks.hpp"
#include "gdoi/wire/message.hpp"

#include <span>
#include <string>
#include <variant>

namespace gdoi::push {

// The update, or why the push as a whole cannot be applied (invalid_policy). Single TEKs that
// are unusable do not fail the push: they land in PushUpdate::rejected_teks.
std::variant<PushUpdate, std::string> interpret_push(const wire::Message& message,
                                                     const KekPolicy& current_kek,
                                                     std::span<const TekPolicy> current_teks,
                                                     const ServerQuirks& quirks, TimePoint now);

} // namespace gdoi::push
