// IKEv1 Main Mode with pre-shared keys or RSA signatures (certificates), responder side (the
// test key server), I/O free. The method is the one of the transform chosen from the member's
// offer; a method is available when a key (pre_shared_key_for) or credentials (certificate) exist.
// One object per initiator cookie. Answers a retransmitted request with the answer it already
// gave; a wrong pre-shared key shows up as a HASH_I mismatch and is answered with
// AUTHENTICATION-FAILED in the clear, or with silence, as configured.
#pragma once

#include "gdoi/crypto/dh_group.hpp"
#include "gdoi/ike/certificate_authentication.hpp"
#include "gdoi/ike/exchange_clock.hpp"
#include "gdoi/ike/phase1_proposal.hpp"
#include "gdoi/ike/phase1_sa.hpp"
#include "gdoi/ip_address.hpp"
#include "gdoi/secret_bytes.hpp"

#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace gdoi::ike {

struct MainModeResponderConfig {
    IpAddress local_address;
    std::vector<Phase1Proposal> acceptable; // the first offered transform that matches wins
    // The pre-shared key for a peer address; nullopt = this peer may not talk to us.
    std::function<std::optional<SecretBytes>(const IpAddress&)> pre_shared_key_for;
    // Our certificate, key and the authorities members' certificates must chain to.
    std::optional<CertificateCredentials> certificate;
    // When our CERT goes into message 6: always, only when the member sent a CERTREQ, or never
    // (members then need our certificate configured locally). Key servers differ in this.
    enum class SendCertificate : uint8_t { always, on_request, never };
    SendCertificate send_certificate = SendCertificate::always;
    // After the certificate check: may this member (address, certificate subject) register?
    // Unset = every member with a trusted certificate.
    std::function<bool(const IpAddress&, const std::string&)> authorise_certificate;
    bool notify_authentication_failure = true; // false: stay silent, as some servers do
    bool initial_contact = true;               // send INITIAL-CONTACT in message 6
    LogSink log;
};

class MainModeResponder {
public:
    MainModeResponder(const MainModeResponderConfig& config, IpAddress peer);

    // Returns the datagrams to send back to the peer.
    std::vector<Datagram> on_datagram(std::span<const uint8_t> datagram, TimePoint now);

    bool established() const { return state_ == State::established; }
    bool failed() const { return state_ == State::failed; }
    const std::string& failure_reason() const { return failure_; }
    Phase1Sa* sa() { return sa_ && state_ == State::established ? &*sa_ : nullptr; }
    TimePoint last_activity() const { return last_activity_; }
    // The member certificate's subject after a certificate authentication; empty otherwise.
    const std::string& peer_subject() const { return peer_subject_; }

private:
    enum class State { waiting_mm1, sent_mm2, sent_mm4, established, failed };

    std::vector<Datagram> handle_mm1(std::span<const uint8_t> datagram);
    std::vector<Datagram> handle_mm3(std::span<const uint8_t> datagram);
    std::vector<Datagram> handle_mm5(std::span<const uint8_t> datagram, TimePoint now);
    std::vector<Datagram> handle_signed_mm5(const wire::Message& m,
                                            std::span<const uint8_t> hash_i);
    bool signatures() const {
        return chosen_.authentication == Phase1Authentication::rsa_signature;
    }
    std::vector<Datagram> refuse(wire::NotifyType type, const std::string& reason, bool notify);
    void log(LogLevel level, const std::string& text) const;

    const MainModeResponderConfig& config_;
    IpAddress peer_;
    State state_ = State::waiting_mm1;
    std::string failure_;
    TimePoint last_activity_{};
    Datagram last_request_;
    Datagram last_answer_;

    wire::Cookie icookie_{};
    wire::Cookie rcookie_{};
    uint32_t doi_ = 1;
    std::vector<uint8_t> sai_body_;
    Phase1Proposal chosen_;
    SecretBytes pre_shared_key_;
    std::vector<uint8_t> g_xi_, g_xr_;
    SecretBytes skeyid_;
    std::optional<Phase1Sa> sa_;
    bool certificate_requested_ = false; // the member sent a CERTREQ in message 3
    std::string peer_subject_;
};

} // namespace gdoi::ike
