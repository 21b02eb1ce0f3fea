#!/usr/bin/env bash
# GROUPKEY-PUSH from gdoi-test-ks, driven through its control channel, received by pull-probe
# --listen-push (gdoi::push::PushReceiver with the KEK from its registration) over veth.
# Asserts: push-now reaches the member unicast and on the KEK's multicast group, verifies, and
# carries the new SPIs and SEQ the key server reports; the member's RFC 8263 acks are counted;
# a KEK rollover is accepted and the next push verifies under the new KEK only; delete-tek
# deletes that SPI and the server stops handing it out; eject-member is seen as an ejection and
# the member can no longer register.
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

# wait_for_push PYTHON-CONDITION WHAT: the first push line (`p`) for which the condition holds.
wait_for_push() {
    local i line
    for ((i = 0; i < 100; i++)); do
        line=$(python3 - "$ST_DIR/probe.out" "$1" <<'PY'
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
    cat "$ST_DIR/probe.out" "$ST_DIR/probe.err" >&2
    echo "---- key server log ----" >&2
    tail -n 30 "$ST_DIR/ks.log" >&2
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
push=$(wait_for_push 'p["via"] == "unicast" and p.get("sequence") == 4' "no unicast push SEQ 4 arrived")
echo "$push" | st_json_check "rekey verdict: $push" "
import json
assert j['reason'] == 'accepted', j
assert sorted(j['new_tek_spis']) == sorted(json.loads('$new_spis')), j
assert {'0x10000001', '0x10000002'} <= set(j['tek_spis']), j  # the old TEKs stay
assert not j['kek_rollover'] and not j['ejection_suspected'], j
assert j['ack_sent'], j
"
# The multicast copy is the same push: verified, then refused as a replay of SEQ 4.
mcast=$(wait_for_push 'p["via"] == "multicast"' "no push arrived on the multicast group")
st_assert_eq replayed_seq "$(echo "$mcast" | st_json 'j["reason"]')" "multicast copy of SEQ 4"
st_pass "push-now: SEQ 4 with 2 new TEKs accepted unicast; multicast copy verified and refused as replay"

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
push=$(wait_for_push 'p.get("sequence") == 5 and p["via"] == "unicast"' "no push SEQ 5 arrived")
echo "$push" | st_json_check "rollover verdict: $push" \
    "assert j['reason'] == 'accepted' and j['kek_rollover'] and j['kek_spi'] == '$new_kek', j"
reply=$(st_ks_control '{"command":"push-now","group":1234}')
push=$(wait_for_push 'p.get("sequence") == 6 and p["via"] == "unicast"' "no push SEQ 6 arrived")
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
push=$(wait_for_push 'p.get("sequence") == 7 and p["via"] == "unicast"' "no delete push SEQ 7 arrived")
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
