#include "gdoi/push/push_reason.hpp"

namespace gdoi::push {

std::string_view push_reason_name(PushReason reason) {
    switch (reason) {
    case PushReason::accepted:
        return "accepted";
    case PushReason::bad_header:
        return "bad_header";
    case PushReason::not_push:
        return "not_push";
    case PushReason::not_encrypted:
        return "not_encrypted";
    case PushReason::unknown_kek_spi:
        return "unknown_kek_spi";
    case PushReason::decrypt_failed:
        return "decrypt_failed";
    case PushReason::malformed:
        return "malformed";
    case PushReason::bad_signature:
        return "bad_signature";
    case PushReason::replayed_seq:
        return "replayed_seq";
    case PushReason::invalid_policy:
        return "invalid_policy";
    }
    return "unknown";
}

uint64_t PushCounters::rejected() const {
    uint64_t total = 0;
    for (size_t i = 1; i < kPushReasonCount; ++i)
        total += by_reason[i];
    return total;
}

} // namespace gdoi::push
