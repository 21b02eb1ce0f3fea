#include "daemon/push_ack_requests.hpp"

namespace gdoid::daemon {

gdoi::push::PushReceiverConfig push_receiver_config(const GroupConfig& config) {
    return gdoi::push::PushReceiverConfig{config.quirks, config.local_address, config.push_ack, config.max_teks};
}

AckRequestOutcome PushAckRequests::on_accepted(gdoi::push::PushVerdict& verdict,
                                               GroupCounters& counters) {
    AckRequestOutcome outcome;
    if (verdict.ack) outcome.ack = std::move(verdict.ack);
    if (!verdict.ack_declined) return outcome;
    ++counters.ack_requests_ignored;
    if (!logged_.insert(*verdict.ack_declined).second) return outcome;
    // RFC 8263 section 1: "Implementation of the GROUPKEY-PUSH Acknowledgement Message is
    // OPTIONAL"; section 4: a GM that cannot respond "continues with protocol exchange and
    // participates in the group".
    const std::string advice =
        push_ack_
            ? "; not answered (RFC 8263 section 4: a member that cannot answer stays in the group)"
            : ": push-ack is off for this group (the default while gdoid's RFC 8263 ack is "
              "unproven against a real key server; a member that does not answer stays in "
              "the group, RFC 8263 section 4); set push-ack = true to answer";
    outcome.log_line = *verdict.ack_declined + advice +
                       ". Further requests for this reason are only counted (gdoictl status, "
                       "ack_requests_ignored)";
    return outcome;
}

} // namespace gdoid::daemon
