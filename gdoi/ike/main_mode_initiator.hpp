// IKEv1 Main Mode, initiator side (the group member), I/O free. With pre-shared keys:
//   I->R HDR, SA            R->I HDR, SA
//   I->R HDR, KE, Ni        R->I HDR, KE, Nr
//   I->R HDR*, IDii, HASH_I [, N(INITIAL-CONTACT)]   R->I HDR*, IDir, HASH_R
// With RSA signatures (MainModeInitiatorConfig::certificate set; RFC 2409 section 5.1):
//   I->R HDR, KE, Ni [, CERTREQ...]
//   I->R HDR*, IDii, CERT [, CERT...], SIG_I [, N(INITIAL-CONTACT)]
//   R->I HDR*, IDir, [ CERT, ] SIG_R
// We send our CERT whether or not the server asked with a CERTREQ: some key servers never ask.
// (INITIAL-CONTACT only when MainModeInitiatorConfig::initial_contact is set.)
// Feed datagrams from the key server and clock ticks; drain datagrams to send. Ends in
// established() with a Phase1Sa, or failed() with one operator-readable sentence.
#pragma once

#include "gdoi/crypto/dh_group.hpp"
#include "gdoi/ike/certificate_authentication.hpp"
#include "gdoi/ike/exchange_clock.hpp"
#include "gdoi/ike/phase1_proposal.hpp"
#include "gdoi/ike/phase1_sa.hpp"
#include "gdoi/ip_address.hpp"
#include "gdoi/secret_bytes.hpp"
#include "gdoi/server_quirks.hpp"

#include <optional>
#include <string>
#include <vector>

namespace gdoi::ike {

struct MainModeInitiatorConfig {
    IpAddress local_address;
    IpAddress server_address;
    SecretBytes pre_shared_key; // unused with certificates
    // Set: authenticate with RSA signatures and certificates instead of the pre-shared key; the
    // proposals' authentication method follows.
    std::optional<CertificateCredentials> certificate;
    std::vector<Phase1Proposal> proposals; // in order of preference, at least one
    ServerQuirks quirks;                   // phase1_doi: DOI of our SA payload
    // INITIAL-CONTACT in message 5. RFC 2407 section 4.6.3.3 (paraphrased): the notification
    // tells the peer that we hold no other SA with it (we just started, or forgot them), so it
    // may drop the SAs it still has with us. True only on the first contact with this server
    // since the daemon started; false on every later registration with it, or the server would
    // delete Phase 1 SAs we still use.
    bool initial_contact = true;
    RetransmitPolicy retransmit;
    LogSink log;
};

class MainModeInitiator {
public:
    explicit MainModeInitiator(MainModeInitiatorConfig config);

    void start(TimePoint now);
    void on_datagram(std::span<const uint8_t> datagram, TimePoint now);
    void on_timer(TimePoint now);
    std::optional<TimePoint> next_timer() const;
    std::vector<Datagram> take_datagrams();

    bool established() const { return state_ == State::established; }
    bool failed() const { return state_ == State::failed; }
    const std::string& failure_reason() const { return failure_; }
    // The SA once established (moved out: call once).
    std::optional<Phase1Sa> take_sa();
    Phase1Sa* sa() { return sa_ ? &*sa_ : nullptr; }
    const wire::Cookie& initiator_cookie() const { return icookie_; }
    // The server certificate's subject once authenticated with certificates; empty otherwise.
    const std::string& peer_subject() const { return peer_subject_; }

private:
    enum class State { idle, sent_mm1, sent_mm3, sent_mm5, established, failed };

    void handle_mm2(std::span<const uint8_t> datagram, TimePoint now);
    void handle_mm4(std::span<const uint8_t> datagram, TimePoint now);
    void handle_mm6(std::span<const uint8_t> datagram, TimePoint now);
    void handle_informational(std::span<const uint8_t> datagram);
    void send(Datagram message, TimePoint now);
    void fail(const std::string& reason);
    void log(LogLevel level, const std::string& text) const;
    int message_number() const;

    MainModeInitiatorConfig config_;
    State state_ = State::idle;
    std::string failure_;
    Retransmitter retransmit_;
    std::vector<Datagram> out_;
    Datagram last_received_;

    wire::Cookie icookie_{};
    wire::Cookie rcookie_{};
    std::vector<uint8_t> sai_body_; // SAi_b: our SA payload body as sent
    Phase1Proposal chosen_;
    std::optional<crypto::DiffieHellman> dh_;
    std::vector<uint8_t> nonce_i_;
    std::vector<uint8_t> g_xi_;
    std::vector<uint8_t> g_xr_;
    SecretBytes skeyid_;
    std::optional<Phase1Sa> sa_;
    std::string peer_subject_;
};

} // namespace gdoi::ike
