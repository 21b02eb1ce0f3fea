#!/usr/bin/env bash
# gdoid.conf `push-ack` with a key server that asks for RFC 8263 acks of type
# REKEY_ACK_KEK_SHA512 (gdoi-test-ks `ack = "rfc8263-sha512"`; 302 covers SHA-256):
#   1. default (no push-ack in the file): pushes are accepted, no ack leaves gdoid (the key
#      server counts none), `ack_requests_ignored` counts each request, `gdoictl status` shows
#      them, and the log says once why ("push-ack is off") and how to change it;
#   2. `push-ack = true` by `gdoictl reload`: the reload names the change, and the next push is
#      acknowledged: acks_sent 1, and the key server verifies and counts the ack with the push's
#      sequence number.
. "$(dirname "$0")/lib.sh"
st_init
: "${GDOI_TEST_KS:?GDOI_TEST_KS must name gdoi-test-ks}"

st_ks_lab 10.83.0
st_ks_group_config ks "$KS_ADDR" "[group.gap]
atd = 0
dtd = 1"
# The KEK asks for acks (st_ks_group_config writes none): one line into its [group.kek].
sed -i '0,/^signature-hash = .*/s//&\nack = "rfc8263-sha512"/' "$ST_DIR/ks.toml"
grep -q '^ack = "rfc8263-sha512"$' "$ST_DIR/ks.toml" || st_fail "cannot ask for acks in $ST_DIR/ks.toml"
st_ks_start "$ST_DIR/ks.toml"

ST_SOCKET="$ST_DIR/run/control"
st_gdoid_group_config "$ST_DIR/gdoid.conf" "$KS_ADDR"
ST_NETNS=$GM_NS
: >"$ST_DIR/gdoid.log"
st_start_gdoid "$ST_DIR/gdoid.conf"
st_wait_group "g['state'] == 'registered'" 20 "gdoid did not register"

ks_acks() { st_ks_control '{"command":"status"}' | st_json "j['acks']"; }
# push_now: one push-now, its sequence number printed.
push_now() {
    local reply
    reply=$(st_ks_control '{"command":"push-now","group":4321}')
    [ "$(echo "$reply" | st_json "j['ok'] and j['datagrams_sent'] == 1")" = true ] ||
        st_fail "push-now failed: $reply"
    echo "$reply" | st_json "j['sequence']"
}

# ---- 1. push-ack off (the default)
seq1=$(push_now)
st_wait_group "g['counters']['pushes_accepted'] == 1 and g['counters']['ack_requests_ignored'] == 1" 10 \
    "push $seq1 not accepted with its ack request ignored"
seq2=$(push_now)
st_wait_group "g['counters']['pushes_accepted'] == 2 and g['counters']['ack_requests_ignored'] == 2" 10 \
    "push $seq2 not accepted with its ack request ignored"
# An ack would leave within the 2 s jitter (RFC 8263: at most 5 s): wait past it.
sleep 3
st_status_json | st_json_check "status with push-ack off" "
g = j['result']['groups'][0]
assert g['counters']['acks_sent'] == 0, g['counters']
assert g['counters']['ack_requests_ignored'] == 2, g['counters']
assert g['sequence'] == $seq2, g['sequence']
"
st_assert_eq "[]" "$(ks_acks)" "acks counted by the key server with push-ack off"
n=$(grep -acF "push-ack is off for this group" "$ST_DIR/gdoid.log" || true)
st_assert_eq 1 "$n" "log lines saying push-ack is off"
line=$(grep -aF "push-ack is off for this group" "$ST_DIR/gdoid.log")
st_assert_contains "$line" "KEK_ACK_REQUESTED REKEY_ACK_KEK_SHA512 (3)" "the log line names the request"
st_assert_contains "$line" "set push-ack = true to answer" "the log line says how to answer"
st_run out status "$GDOICTL" --socket "$ST_SOCKET" status
st_assert_eq 0 "$status" "gdoictl status exit status"
st_assert_contains "$out" "pushes: 2 accepted, 0 rejected, 2 ack requests ignored (see the log)" "gdoictl status"
st_pass "push-ack off: 2 pushes accepted, no ack sent or counted by the key server, 2 requests ignored, logged once"

# ---- 2. push-ack = true by reload: the next push is acknowledged
ST_GDOID_EXTRA='push-ack = true' st_gdoid_group_config "$ST_DIR/gdoid.conf" "$KS_ADDR"
st_run out status "$GDOICTL" --socket "$ST_SOCKET" reload
st_assert_eq 0 "$status" "gdoictl reload exit status ($out)"
st_wait_for_log "configuration changed \(push-ack\)" 10
st_wait_group "g['state'] == 'registered'" 20 "gdoid not registered after the reload"
seq3=$(push_now)
st_wait_group "g['counters']['acks_sent'] == 1 and g['sequence'] == $seq3" 10 "push $seq3 not acknowledged"
for ((i = 0; i < 50; i++)); do
    acks=$(ks_acks)
    [ "$(echo "$acks" | st_json "j == [{'group': 4321, 'member': '$GM_ADDR', 'count': 1, 'last_sequence': $seq3}]")" = true ] && break
    sleep 0.1
done
[ "$i" -lt 50 ] || { tail -n 20 "$ST_DIR/ks.log" >&2; st_fail "the key server did not verify gdoid's ack of SEQ $seq3: $acks"; }
st_status_json | st_json_check "status with push-ack on" "
g = j['result']['groups'][0]
assert g['counters']['ack_requests_ignored'] == 0, g['counters']
"
grep -aqF "ack from $GM_ADDR for group 4321 SEQ $seq3" "$ST_DIR/ks.log" || st_fail "no ack line in the key server's log"
! grep -aqE "ack from .* refused" "$ST_DIR/ks.log" || { grep -aE "ack from .* refused" "$ST_DIR/ks.log" >&2; st_fail "the key server refused an ack"; }
st_pass "push-ack = true by reload: push $seq3 acknowledged (REKEY_ACK_KEK_SHA512), verified and counted by the key server: $acks"
