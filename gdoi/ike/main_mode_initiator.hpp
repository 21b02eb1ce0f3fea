// IKEv1 Main Mode with pre-shared keys, initiator side (the group member), I/O free:
//   I->R HDR, SA            R->I HDR, SA
//   I->R HDR, KE, Ni        R->I HDR, KE, Nr
//   I->R HDR*, IDii, HASH_I [, N(INITIAL-CONTACT)]   R->I HDR*, IDir, HASH_R
// (INITIAL-CONTACT only when MainModeInitiatorConfig::initial_contact is set.)
// Feed datagrams from the key server and clock ticks; drain datagrams to send. Ends in
// established() with a Phase1Sa, or failed() with one operator-readable sentence.
#pragma once

#include "gdoi/crypto/dh_group.hpp"
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
    SecretBytes pre_shared_key;
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
};

} // namespace gdoi::ike
