// The key server side of GROUPKEY-PUSH for gdoi-test-ks, I/O free: the group's next state
// (fresh TEKs, a new KEK, deleted TEKs, ejected members) and the signed, encrypted push
// datagrams that announce it, all built by gdoi::push::build_push. ks_main sends them.
#pragma once

#include "gdoi/push/push_builder.hpp"
#include "test/ks/ks_config.hpp"

#include <chrono>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace gdoi_test_ks {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;

// A push to send: unicast to a member's port 848, or to the KEK's multicast destination.
struct OutgoingPush {
    std::vector<uint8_t> datagram;
    gdoi::IpAddress to;
    uint16_t port = 848;
    bool multicast = false;
};

struct PushPlan {
    uint32_t sequence = 0;
    std::vector<uint32_t> new_tek_spis;
    std::optional<gdoi::KekSpi> new_kek_spi;
    std::vector<uint32_t> deleted_tek_spis;
    std::string method; // eject: "old-teks-short-dtd" or "delete-all-teks"
    std::vector<OutgoingPush> pushes;
};

// A control request that cannot be carried out (unknown SPI, group without a KEK, ...).
class RekeyError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Per-group state of the running key server beyond the configuration.
struct GroupRuntime {
    std::map<uint32_t, TimePoint> tek_born; // when each TEK was made (lifetime counts from it)
    // The configured TEK (index in KsGroup::tek_templates) each rekeyed TEK was made from; a
    // configured TEK itself is not listed (its SPI is its template's).
    std::map<uint32_t, size_t> made_from;
    std::vector<gdoi::KekPolicy> previous_keks; // rolled-over KEKs (acks may still name them)
    std::set<gdoi::IpAddress> ejected;          // refused in later PULLs
    struct Acks {
        uint64_t count = 0;
        uint32_t last_sequence = 0;
    };
    std::map<gdoi::IpAddress, Acks> acks; // valid acks received, per member
    uint64_t bad_acks = 0;
    uint64_t timed_rekeys = 0; // made by [group.rekey] (test/ks/timed_rekey.*)
    // push-now "wrong-signature": a key of the KEK's kind that is not the KEK's (made once).
    std::shared_ptr<const gdoi::crypto::KekPrivateKey> impostor_signer;
};

// The group policy as a PULL hands it out at `now`: TEK lifetimes are the time left, TEKs past
// their lifetime are dropped from `group` for good.
gdoi::GroupPolicy current_policy(KsGroup& group, GroupRuntime& runtime, TimePoint now);

// push-now: one fresh TEK (new SPI and keys) per configured TEK, the still-valid TEKs repeated
// with their remaining lifetime, SEQ + 1; with `roll_kek` a new KEK (SPI and key), announced in
// a push encrypted under the old one. To every member in `members`, and to the KEK's multicast
// destination when it is one. With `wrong_signature` (a fault, to test members) the push is
// signed with another key of the KEK's kind: a member must refuse it, and the group state moves
// on all the same.
PushPlan rekey(KsGroup& group, GroupRuntime& runtime, const std::vector<gdoi::IpAddress>& members,
               bool roll_kek, TimePoint now, bool wrong_signature = false);

// The group state of a rekey, announced to nobody: the fresh TEKs and SEQ + 1 of rekey(),
// which members learn by their next PULL. Needs no KEK. The plan has no pushes.
PushPlan renew_teks(KsGroup& group, GroupRuntime& runtime, TimePoint now);

// delete-tek: a push with a DELETE for `spi` (0 = every TEK); the TEK(s) leave the policy.
PushPlan delete_tek(KsGroup& group, GroupRuntime& runtime,
                    const std::vector<gdoi::IpAddress>& members, uint32_t spi, TimePoint now);

// eject-member: the member is refused from now on and gets, unicast, a push repeating only the
// TEKs it holds with a DTD shorter than their remaining life (the ejection gdoi::push detects).
PushPlan eject(KsGroup& group, GroupRuntime& runtime, const gdoi::IpAddress& member,
               std::chrono::seconds dtd, TimePoint now);

} // namespace gdoi_test_ks
