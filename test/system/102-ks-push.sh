#!/usr/bin/env bash
# GROUPKEY-PUSH from gdoi-test-ks, driven through its control channel, received by pull-probe
# --listen-push (gdoi::push::PushReceiver with the KEK from its registration) over veth.
# Asserts: push-now reaches the member unicast and on the KEK's multicast group, verifies, and
# carries the new SPIs and SEQ the key server reports; the member's RFC 8263 acks are counted;
# a KEK rollover is accepted and the next push verifies under the new KEK only; delete-tek
# deletes that SPI and the server stops handing it out; eject-member is seen as an ejection and
# the member can no longer register. Timed rekeys ([group.rekey], TEKs of 20 s renewed 15 s
# before expiry, from a second key server): with send = "push" the member gets and accepts a push
# with new TEKs about 5 s after the start; with send = "none" no push comes, and a registration
# afterwards gets the old TEKs (with less life left) and the new ones.
. "$(dirname "$0")/lib.sh"
st_init
: "${PULL_PROBE:?PULL_PROBE must name pull-probe}"

st_ks_lab 10.79.0
cat >"$ST_DIR/ks.toml" <<TOML
listen = ["$KS_ADDR"]
port = 848
control-socket = "$ST_DIR/ks.sock"

[[group]]
id = 1234
sequence = 3
psk = { "$GM_ADDR" = "$ST_PSK" }

[group.kek]
algorithm = "aes-128-cbc"
signing-key = "$ST_DIR/ks-key.pem"
lifetime = 86400
source = "$KS_ADDR:848"
destination = "239.79.1.1:848"
ack = "rfc8263"
multicast-ttl = 1

[group.gap]
atd = 0
dtd = 90

[[group.tek]]
spi = 0x10000001
cipher = "aes-256-cbc"
integrity = "hmac-sha256"
source = "10.1.0.0/16"
destination = "10.2.0.0/16"
lifetime = 3600

[[group.tek]]
spi = 0x10000002
cipher = "aes-256-cbc"
integrity = "hmac-sha256"
source = "10.2.0.0/16"
destination = "10.1.0.0/16"
lifetime = 3600
TOML
st_ks_start "$ST_DIR/ks.toml"

# The member: registers, then prints one JSON line per push for 90 s.
ip netns exec "$GM_NS" "$PULL_PROBE" --server "$KS_ADDR" --local "$GM_ADDR" --local-port 848 \
    --group 1234 --psk-file "$ST_DIR/psk" --listen-push 90 >"$ST_DIR/probe.out" 2>"$ST_DIR/probe.err" &
PROBE_PID=$!
st_cleanup_push "kill $PROBE_PID"

# wait_for_push PYTHON-CONDITION WHAT [PROBE-OUTPUT [KS-NAME]]: the first push line (`p`) for
# which the condition holds (default: the first probe's output, key server "ks").
wait_for_push() {
    local i line out=${3:-$ST_DIR/probe.out} ks=${4:-ks}
    for ((i = 0; i < 100; i++)); do
        line=$(python3 - "$out" "$1" <<'PY'
import json, sys
for text in open(sys.argv[1]):
    p = json.loads(text)
    if p.get("event") == "push" and eval(sys.argv[2]):
        print(text.strip())
        break
PY
)
        [ -n "$line" ] && { echo "$line"; return 0; }
        sleep 0.1
    done
    echo "---- probe output ----" >&2
    cat "$out" "${out%.out}.err" >&2
    echo "---- key server log ----" >&2
    tail -n 30 "$ST_DIR/$ks.log" >&2
    st_fail "$2"
}

for ((i = 0; i < 150; i++)); do grep -q '"registered"' "$ST_DIR/probe.out" && break; sleep 0.1; done
grep -q '"registered"' "$ST_DIR/probe.out" ||
    { cat "$ST_DIR/probe.err" "$ST_DIR/ks.log" >&2; st_fail "pull-probe did not register"; }
st_pass "member registered and listens for pushes on $GM_ADDR:848 and 239.79.1.1:848"

# 1. push-now: new TEKs, SEQ 4, to the member and to the multicast group.
reply=$(st_ks_control '{"command":"push-now","group":1234}')
echo "$reply" | st_json_check "push-now reply: $reply" "$(cat <<'PY'
assert j["ok"] and j["sequence"] == 4, j
assert j["datagrams_sent"] == 2 and j["destinations"] == ["10.79.0.2", "239.79.1.1"], j
assert len(j["new_tek_spis"]) == 2 and "new_kek_spi" not in j, j
PY
)"
new_spis=$(echo "$reply" | st_json 'j["new_tek_spis"]')
# The key server sends each push unicast and to the multicast group; whichever copy the member
# reads first is accepted, the other is the same SEQ again and refused as a replay.
push=$(wait_for_push 'p.get("sequence") == 4 and p["reason"] == "accepted"' "no push SEQ 4 accepted")
first_via=$(echo "$push" | st_json 'j["via"]')
echo "$push" | st_json_check "rekey verdict: $push" "
import json
assert j['reason'] == 'accepted', j
assert sorted(j['new_tek_spis']) == sorted(json.loads('$new_spis')), j
assert {'0x10000001', '0x10000002'} <= set(j['tek_spis']), j  # the old TEKs stay
assert not j['kek_rollover'] and not j['ejection_suspected'], j
assert j['ack_sent'], j
"
# The other copy is the same push: verified, then refused as a replay of SEQ 4.
other=$(wait_for_push "p['via'] != '$first_via'" "no second copy of SEQ 4 arrived (unicast and multicast)")
st_assert_eq replayed_seq "$(echo "$other" | st_json 'j["reason"]')" "the $(echo "$other" | st_json 'j["via"]') copy of SEQ 4"
st_pass "push-now: SEQ 4 with 2 new TEKs accepted ($first_via); the other copy verified and refused as replay"

# 2. Acks (RFC 8263 profile) counted per member.
wait_for_acks() { # wait_for_acks COUNT LAST-SEQ: the key server's ack list once it shows them
    local i acks
    for ((i = 0; i < 50; i++)); do
        acks=$(st_ks_control '{"command":"status"}' | st_json 'j["acks"]')
        [ "$(echo "$acks" | st_json "j == [{'group': 1234, 'member': '10.79.0.2', 'count': $1, 'last_sequence': $2}]")" = true ] &&
            { echo "$acks"; return 0; }
        sleep 0.1
    done
    tail -n 20 "$ST_DIR/ks.log" >&2
    st_fail "the key server did not count $1 acks up to SEQ $2: $acks"
}
acks=$(wait_for_acks 1 4)
st_pass "the member's ack for SEQ 4 is verified and counted: $acks"

# 3. KEK rollover: announced under the old KEK; the next push verifies under the new one.
reply=$(st_ks_control '{"command":"push-now","group":1234,"kek":true}')
new_kek=$(echo "$reply" | st_json 'j["new_kek_spi"]')
st_assert_eq 5 "$(echo "$reply" | st_json 'j["sequence"]')" "SEQ of the KEK rollover"
push=$(wait_for_push 'p.get("sequence") == 5 and p["reason"] == "accepted"' "no push SEQ 5 accepted")
echo "$push" | st_json_check "rollover verdict: $push" \
    "assert j['reason'] == 'accepted' and j['kek_rollover'] and j['kek_spi'] == '$new_kek', j"
reply=$(st_ks_control '{"command":"push-now","group":1234}')
push=$(wait_for_push 'p.get("sequence") == 6 and p["reason"] == "accepted"' "no push SEQ 6 accepted")
echo "$push" | st_json_check "push under the new KEK: $push" \
    "assert j['reason'] == 'accepted' and not j['kek_rollover'] and j['kek_spi'] == '$new_kek', j"
wait_for_acks 3 6 >/dev/null
st_pass "KEK rollover to $new_kek accepted; SEQ 6 verified under the new KEK; 3 acks counted"

# 4. delete-tek: an unknown SPI is refused; a known one is deleted and no longer handed out.
reply=$(st_ks_control '{"command":"delete-tek","group":1234,"spi":"0x0badf00d"}')
st_assert_eq false "$(echo "$reply" | st_json 'j["ok"]')" "delete-tek of an unknown SPI"
st_assert_contains "$reply" "has no TEK 0x0badf00d" "delete-tek of an unknown SPI says why"
reply=$(st_ks_control '{"command":"delete-tek","group":1234,"spi":"0x10000001"}')
st_assert_eq '["0x10000001"]' "$(echo "$reply" | st_json 'j["deleted_tek_spis"]')" "delete-tek reply"
push=$(wait_for_push 'p.get("sequence") == 7 and p["reason"] == "accepted"' "no delete push SEQ 7 accepted")
echo "$push" | st_json_check "delete verdict: $push" \
    "assert j['reason'] == 'accepted' and j['deleted_tek_spis'] == ['0x10000001'] and not j['all_teks_deleted'], j"
st_ks_control '{"command":"status"}' | st_json_check "TEK 0x10000001 still served" \
    'assert "0x10000001" not in [t["spi"] for t in j["groups"][0]["teks"]], j["groups"][0]["teks"]'
st_pass "delete-tek 0x10000001: DELETE accepted by the member, TEK no longer in the key server's policy"

# 5. eject-member: the member sees an ejection and is refused when it registers again.
reply=$(st_ks_control '{"command":"eject-member","group":1234,"member":"10.79.0.2"}')
st_assert_eq old-teks-short-dtd "$(echo "$reply" | st_json 'j["method"]')" "ejection method"
push=$(wait_for_push 'p.get("sequence") == 8' "no ejection push SEQ 8 arrived")
echo "$push" | st_json_check "ejection verdict: $push" \
    "assert j['reason'] == 'accepted' and j['ejection_suspected'] and j['new_tek_spis'] == [] and j['dtd'] == 10, j"
st_run out status ip netns exec "$GM_NS" "$PULL_PROBE" --server "$KS_ADDR" --local "$GM_ADDR" \
    --group 1234 --psk-file "$ST_DIR/psk" --budget 5
st_assert_eq 1 "$status" "registration after ejection"
st_assert_contains "$out" "AUTHENTICATION-FAILED" "registration after ejection is refused"
st_ks_control '{"command":"status"}' | st_json_check "ejected member in status" \
    'assert j["ejected"] == [{"group": 1234, "member": "10.79.0.2"}], j["ejected"]'
st_pass "eject-member: the member detects the ejection ($(echo "$push" | st_json 'j["ejection_reason"]')) and is refused afterwards"

# 6. Timed rekeys from a second key server (10.79.0.4): group 1301 pushes them, group 1302
# (send = "none") only hands them out in the next PULL. TEKs (a pair) live 20 s and are renewed 15 s
# before they expire: the first timed rekey is due 5 s after the start, then every 5 s.
TIMED_KS=10.79.0.4 PUSHED_GM=10.79.0.3 UNPUSHED_GM=10.79.0.5
ip -n "$KS_NS" addr add "$TIMED_KS/24" dev "$KS_IF"
ip -n "$GM_NS" addr add "$PUSHED_GM/24" dev "$GM_IF"
ip -n "$GM_NS" addr add "$UNPUSHED_GM/24" dev "$GM_IF"
timed_group() { # timed_group ID MULTICAST SEND
    cat <<TOML
[[group]]
id = $1
default-psk = "$ST_PSK"
[group.kek]
signing-key = "$ST_DIR/ks-key.pem"
source = "$TIMED_KS:848"
destination = "$2:848"
[[group.tek]]
source = "10.1.0.0/16"
destination = "10.2.0.0/16"
lifetime = 20
[[group.tek]]
source = "10.2.0.0/16"
destination = "10.1.0.0/16"
lifetime = 20
[group.rekey]
before-expiry = 15
send = "$3"
TOML
}
{
    printf 'listen = ["%s"]\ncontrol-socket = "%s"\n' "$TIMED_KS" "$ST_DIR/timed.sock"
    timed_group 1301 239.79.1.2 push
    timed_group 1302 239.79.1.3 none
} >"$ST_DIR/timed.toml"
st_ks_start "$ST_DIR/timed.toml" timed
started=$(date +%s.%N)
listen_timed() { # listen_timed ADDRESS GROUP NAME: pull-probe --listen-push in the background
    ip netns exec "$GM_NS" "$PULL_PROBE" --server "$TIMED_KS" --local "$1" --local-port 848 \
        --group "$2" --psk-file "$ST_DIR/psk" --listen-push 25 >"$ST_DIR/$3.out" 2>"$ST_DIR/$3.err" &
    st_cleanup_push "kill $!"
}
listen_timed "$PUSHED_GM" 1301 pushed
listen_timed "$UNPUSHED_GM" 1302 unpushed
registered_teks() { # registered_teks NAME: the registration's TEKs, {"0x...": lifetime}
    local i
    for ((i = 0; i < 100; i++)); do grep -q '"registered"' "$ST_DIR/$1.out" && break; sleep 0.1; done
    grep -q '"registered"' "$ST_DIR/$1.out" ||
        { cat "$ST_DIR/$1.err" "$ST_DIR/timed.log" >&2; st_fail "pull-probe ($1) did not register"; }
    head -n 1 "$ST_DIR/$1.out" | st_json '{"0x%08x" % t["spi"]: t["lifetime"] for t in j["policy"]["teks"]}'
}
pushed_teks=$(registered_teks pushed)
unpushed_teks=$(registered_teks unpushed)
# The check below needs the TEKs from before the first timed rekey.
st_assert_eq 0 "$(head -n 1 "$ST_DIR/unpushed.out" | st_json 'j["policy"]["sequence"]')" \
    "SEQ of group 1302 at the registration (it took longer than the 5 s to the first timed rekey)"

push=$(wait_for_push "p['reason'] == 'accepted' and p['via'] == 'unicast' and p['new_tek_spis']" \
    "no timed push arrived for group 1301" "$ST_DIR/pushed.out" timed)
elapsed=$(python3 -c "import time; print(round(time.time() - $started, 1))")
echo "$push" | st_json_check "timed push: $push" "
import json
registered = json.loads('$pushed_teks')
assert not set(j['new_tek_spis']) & set(registered), (registered, j)  # fresh SPIs
assert set(registered) <= set(j['tek_spis']), (registered, j)  # the old TEKs are repeated
assert 3 < $elapsed < 12, 'the first timed rekey is due 5 s after the start, came after $elapsed s'
"
grep -Eq "timed rekey of group 1301: new TEKs 0x[0-9a-f]{8}, 0x[0-9a-f]{8} \(sequence [0-9]+\), pushed to 1 members" \
    "$ST_DIR/timed.log" || { cat "$ST_DIR/timed.log" >&2; st_fail "no log line for the timed push"; }
st_pass "send = push: timed push with new TEKs $(echo "$push" | st_json '", ".join(j["new_tek_spis"])') accepted ${elapsed} s after the start"

# Group 1302 rekeyed in the same turn; nothing may have come to its member.
for ((i = 0; i < 50; i++)); do
    rekeys=$(st_ks_control '{"command":"status"}' timed | st_json '[g["timed_rekeys"] for g in j["groups"]]')
    [ "$(echo "$rekeys" | st_json 'j[1] >= 1')" = true ] && break
    sleep 0.1
done
echo "$rekeys" | st_json_check "timed_rekeys in status: $rekeys" 'assert j[0] >= 1 and j[1] >= 1, j'
grep -Eq "timed rekey of group 1302: new TEKs 0x[0-9a-f]{8}, 0x[0-9a-f]{8} \(sequence [0-9]+\), not pushed \(send = none\)" \
    "$ST_DIR/timed.log" || { cat "$ST_DIR/timed.log" >&2; st_fail "no log line for the unpushed rekey"; }
st_run out status ip netns exec "$GM_NS" "$PULL_PROBE" --server "$TIMED_KS" --local "$UNPUSHED_GM" \
    --group 1302 --psk-file "$ST_DIR/psk" --budget 10
st_assert_eq 0 "$status" "second registration in group 1302: $out"
echo "$out" | st_json_check "second registration after an unpushed rekey: $out" "
import json
before = json.loads('$unpushed_teks')
now = {'0x%08x' % t['spi']: t['lifetime'] for t in j['teks']}
assert set(before) < set(now), (before, now)  # the old TEKs and new ones
for spi in before:
    assert now[spi] <= 15, (spi, now)  # renewed at 15 s left: less life left now
assert j['sequence'] >= 1, j
"
grep -q '"event": *"push"' "$ST_DIR/unpushed.out" &&
    { cat "$ST_DIR/unpushed.out" >&2; st_fail "group 1302 (send = none) pushed to its member"; }
st_pass "send = none: no push arrived; the next registration got the old TEKs with less life left and the new ones"
