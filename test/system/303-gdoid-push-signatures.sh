#!/usr/bin/env bash
# GROUPKEY-PUSH signatures the daemon verifies (the KEK's SIG_ALGORITHM, RFC 6407 section 5.3).
# gdoid in namespace "gm" registers with gdoi-test-ks in "ks" twice; the key server's signing
# key is made by the openssl command line each time (not by our code):
#   1. RSA, SHA-256: push-now is accepted (sequence, new TEK SPIs in `gdoictl status --json`);
#   2. ECDSA P-256: the key server announces SIG_ALGORITHM ECDSA-256 with the EC key in KD, and
#      push-now is accepted the same way;
#   3. push-now "wrong-signature" (right KEK, signed with another P-256 key): refused as
#      bad_signature, logged with the sentence "signature does not verify with the KEK's ECDSA
#      P-256 key", nothing changes; the key server's next genuine push is accepted.
# 302-gdoid-push.sh covers the other checks of a push; this one only the signature algorithms.
. "$(dirname "$0")/lib.sh"
st_init
: "${GDOI_TEST_KS:?GDOI_TEST_KS must name gdoi-test-ks}"
started=$SECONDS

st_ks_lab 10.83.0
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$ST_DIR/ks-p256.pem" 2>/dev/null ||
    st_fail "cannot generate the key server's P-256 key"

# ks_config ALGORITHM KEY: the key server's configuration for group 4321 (a TEK pair) with that
# KEK signature.
ks_config() {
    cat >"$ST_DIR/ks.toml" <<TOML
listen = ["$KS_ADDR"]
port = 848
control-socket = "$ST_DIR/ks.sock"

[[group]]
id = 4321
sequence = 10
psk = { "$GM_ADDR" = "$ST_PSK" }

[group.kek]
algorithm = "aes-128-cbc"
signature-algorithm = "$1"
signing-key = "$2"
source = "$KS_ADDR:848"
destination = "$GM_ADDR:848"

[[group.tek]]
cipher = "aes-256-cbc"
integrity = "hmac-sha256"
source = "10.1.0.0/16"
destination = "10.2.0.0/16"
lifetime = 3600

[[group.tek]]
cipher = "aes-256-cbc"
integrity = "hmac-sha256"
source = "10.2.0.0/16"
destination = "10.1.0.0/16"
lifetime = 3600
TOML
}

ST_SOCKET="$ST_DIR/run/control"
ST_NETNS=$GM_NS
st_gdoid_group_config "$ST_DIR/gdoid.conf" "$KS_ADDR"
: >"$ST_DIR/gdoid.log"
group_json() { st_status_json | st_json "j['result']['groups'][0]"; }

# push_accepted WHAT: push-now, and gdoid takes it: its SEQ and new TEK pair in status, no
# refusal.
push_accepted() {
    local reply seq spis accepted rejected
    accepted=$(group_json | st_json "j['counters']['pushes_accepted']")
    rejected=$(group_json | st_json "j['counters']['pushes_rejected']")
    reply=$(st_ks_control '{"command":"push-now","group":4321}')
    st_assert_eq true "$(echo "$reply" | st_json "j['ok'] and len(j['new_tek_spis']) == 2")" "push-now reply: $reply"
    seq=$(echo "$reply" | st_json "j['sequence']")
    spis=$(echo "$reply" | st_json "j['new_tek_spis']")
    st_wait_group "g['counters']['pushes_accepted'] == $accepted + 1 and g['sequence'] == $seq" 10 "$1: push SEQ $seq not accepted"
    group_json | st_json_check "$1: status after push SEQ $seq" "$(cat <<PY
assert j['state'] == 'registered', j['state']
assert {int(s, 16) for s in $spis} <= {int(t['spi'], 16) for t in j['teks']}, j['teks']
assert j['counters']['pushes_rejected'] == $rejected, j['counters']
PY
)"
    grep -aqF "GROUPKEY-PUSH sequence $seq from $KS_ADDR:848 accepted" "$ST_DIR/gdoid.log" ||
        st_fail "$1: no log line for the accepted push SEQ $seq"
    st_pass "$1: push SEQ $seq accepted, new TEKs $spis listed"
}

# ---- 1. RSA with SHA-256 (the RSA key st_ks_lab made with openssl genpkey)
ks_config rsa "$ST_DIR/ks-key.pem"
st_ks_start "$ST_DIR/ks.toml"
st_assert_eq "RSA SHA256 2048" "$(st_ks_control '{"command":"status"}' | st_json "' '.join(str(j['groups'][0]['kek'][k]) for k in ('signature_algorithm', 'signature_hash', 'signature_key_bits'))")" "the key server's KEK signature"
st_start_gdoid "$ST_DIR/gdoid.conf"
st_wait_group "g['state'] == 'registered'" 20 "gdoid did not register (RSA KEK)"
push_accepted "RSA-SHA-256"
st_stop_gdoid
st_assert_eq 0 "$ST_GDOID_STATUS" "gdoid exit status"
kill "$KS_PID"
wait "$KS_PID" || true

# ---- 2. ECDSA P-256 (the EC key made with openssl genpkey)
ks_config ecdsa-p256 "$ST_DIR/ks-p256.pem"
st_ks_start "$ST_DIR/ks.toml"
st_assert_eq "ECDSA-256 SHA256 256" "$(st_ks_control '{"command":"status"}' | st_json "' '.join(str(j['groups'][0]['kek'][k]) for k in ('signature_algorithm', 'signature_hash', 'signature_key_bits'))")" "the key server's KEK signature"
: >"$ST_DIR/gdoid.log"
st_start_gdoid "$ST_DIR/gdoid.conf"
st_wait_group "g['state'] == 'registered'" 20 "gdoid did not register (ECDSA P-256 KEK)"
push_accepted "ECDSA-P256"

# ---- 3. the right KEK, another P-256 key's signature: refused with the sentence, nothing changed
before=$(group_json)
reply=$(st_ks_control '{"command":"push-now","group":4321,"wrong-signature":true}')
st_assert_eq true "$(echo "$reply" | st_json "j['ok'] and j['wrong_signature']")" "push-now wrong-signature reply: $reply"
bad_seq=$(echo "$reply" | st_json "j['sequence']")
st_wait_group "g['counters']['pushes_rejected_by_reason'].get('bad_signature', 0) == 1" 10 "the push signed with another key (SEQ $bad_seq) was not refused as bad_signature"
group_json | st_json_check "status after the wrongly signed push" "$(cat <<PY
import json
before = json.loads('''$before''')
assert j['state'] == 'registered', j['state']
assert j['sequence'] == before['sequence'], (j['sequence'], before['sequence'])
assert j['teks'] == before['teks'], (j['teks'], before['teks'])
assert j['counters']['pushes_accepted'] == before['counters']['pushes_accepted'], j['counters']
assert j['counters']['pushes_rejected'] == 1, j['counters']
PY
)"
line=$(grep -a "refused (bad_signature)" "$ST_DIR/gdoid.log" || true)
st_assert_contains "$line" "GROUPKEY-PUSH from $KS_ADDR:848 refused (bad_signature): push under KEK " "the refusal's log line"
st_assert_contains "$line" "signature does not verify with the KEK's ECDSA P-256 key" "the refusal's log line"
st_pass "push SEQ $bad_seq signed with another P-256 key refused: $(echo "$line" | grep -o 'refused (bad_signature).*')"
push_accepted "ECDSA-P256 after the refusal"

st_stop_gdoid
st_assert_eq 0 "$ST_GDOID_STATUS" "gdoid exit status"
st_pass "scenario took $((SECONDS - started)) s"
