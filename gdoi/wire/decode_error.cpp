#include "gdoi/wire/decode_error.hpp"

namespace gdoi::wire {

DecodeError::DecodeError(NotifyType notify, std::string context, std::string detail, size_t offset)
    : std::runtime_error(context + " at offset " + std::to_string(offset) + ": " + detail),
      notify_(notify), context_(std::move(context)), detail_(std::move(detail)), offset_(offset) {}

const char* notify_type_name(NotifyType type) {
    switch (type) {
    case NotifyType::none:
        return "NONE";
    case NotifyType::invalid_payload_type:
        return "INVALID-PAYLOAD-TYPE";
    case NotifyType::doi_not_supported:
        return "DOI-NOT-SUPPORTED";
    case NotifyType::situation_not_supported:
        return "SITUATION-NOT-SUPPORTED";
    case NotifyType::invalid_cookie:
        return "INVALID-COOKIE";
    case NotifyType::invalid_major_version:
        return "INVALID-MAJOR-VERSION";
    case NotifyType::invalid_minor_version:
        return "INVALID-MINOR-VERSION";
    case NotifyType::invalid_exchange_type:
        return "INVALID-EXCHANGE-TYPE";
    case NotifyType::invalid_flags:
        return "INVALID-FLAGS";
    case NotifyType::invalid_message_id:
        return "INVALID-MESSAGE-ID";
    case NotifyType::invalid_protocol_id:
        return "INVALID-PROTOCOL-ID";
    case NotifyType::invalid_spi:
        return "INVALID-SPI";
    case NotifyType::invalid_transform_id:
        return "INVALID-TRANSFORM-ID";
    case NotifyType::attributes_not_supported:
        return "ATTRIBUTES-NOT-SUPPORTED";
    case NotifyType::no_proposal_chosen:
        return "NO-PROPOSAL-CHOSEN";
    case NotifyType::bad_proposal_syntax:
        return "BAD-PROPOSAL-SYNTAX";
    case NotifyType::payload_malformed:
        return "PAYLOAD-MALFORMED";
    case NotifyType::invalid_key_information:
        return "INVALID-KEY-INFORMATION";
    case NotifyType::invalid_id_information:
        return "INVALID-ID-INFORMATION";
    case NotifyType::invalid_cert_encoding:
        return "INVALID-CERT-ENCODING";
    case NotifyType::invalid_certificate:
        return "INVALID-CERTIFICATE";
    case NotifyType::cert_type_unsupported:
        return "CERT-TYPE-UNSUPPORTED";
    case NotifyType::invalid_cert_authority:
        return "INVALID-CERT-AUTHORITY";
    case NotifyType::invalid_hash_information:
        return "INVALID-HASH-INFORMATION";
    case NotifyType::authentication_failed:
        return "AUTHENTICATION-FAILED";
    case NotifyType::invalid_signature:
        return "INVALID-SIGNATURE";
    case NotifyType::address_notification:
        return "ADDRESS-NOTIFICATION";
    case NotifyType::notify_sa_lifetime:
        return "NOTIFY-SA-LIFETIME";
    case NotifyType::certificate_unavailable:
        return "CERTIFICATE-UNAVAILABLE";
    case NotifyType::unsupported_exchange_type:
        return "UNSUPPORTED-EXCHANGE-TYPE";
    case NotifyType::unequal_payload_lengths:
        return "UNEQUAL-PAYLOAD-LENGTHS";
    case NotifyType::connected:
        return "CONNECTED";
    case NotifyType::responder_lifetime:
        return "RESPONDER-LIFETIME";
    case NotifyType::replay_status:
        return "REPLAY-STATUS";
    case NotifyType::initial_contact:
        return "INITIAL-CONTACT";
    }
    return "UNKNOWN-NOTIFY";
}

} // namespace gdoi::wire
