#!/usr/bin/env bash
# gdoi-test-ks in one network namespace, pull-probe (the member state machine over a real UDP
# socket) in another, joined by veth. Asserts: the policy the member receives is the one the key
# server holds (SPIs, selectors, key fingerprints, GAP, KEK); the server lists the member; a
# wrong PSK, an unknown group and a silent server each fail with their own sentence.
. "$(dirname "$0")/lib.sh"
st_init
: "${GDOI_TEST_KS:?GDOI_TEST_KS must name gdoi-test-ks}"
: "${PULL_PROBE:?PULL_PROBE must name pull-probe}"

st_ks_lab 10.77.0
st_psk_file "$ST_DIR/wrong-psk" "not-the-key-the-server-has-for-us"
cat >"$ST_DIR/ks.toml" <<TOML
listen = ["10.77.0.1"]
port = 848
control-socket = "$ST_DIR/ks.sock"

[phase1]
proposals = [ { encryption = "aes-256-cbc", hash = "sha256", dh-group = 14, lifetime = 86400 },
              { encryption = "3des-cbc", hash = "sha1", dh-group = 2, lifetime = 86400 } ]

[[group]]
id = 1234
sequence = 3
psk = { "10.77.0.2" = "$ST_PSK" }

[group.kek]
algorithm = "aes-128-cbc"
signing-key = "$ST_DIR/ks-key.pem"
signature-hash = "sha256"
lifetime = 86400
source = "10.77.0.1:848"
destination = "239.77.1.1:848"
ack = "rfc8263"

[group.gap]
atd = 60
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

[[group.tek]]
spi = 0x10000003
cipher = "3des-cbc"
integrity = "hmac-sha1"
source = "10.1.0.0/16"
destination = "239.192.1.1/32"
preservation = "destination-only"
direction = "receiver-only"
lifetime = 1800
TOML

st_ks_start "$ST_DIR/ks.toml"
ks_control() { st_ks_control "$1"; }

probe() { # probe OUT STATUS [pull-probe args...]
    local __out=$1 __status=$2
    shift 2
    st_run "$__out" "$__status" ip netns exec "$GM_NS" "$PULL_PROBE" --server 10.77.0.1 --local 10.77.0.2 "$@"
}

# 1. Registration: what the member got is what the server holds.
probe out status --group 1234 --psk-file "$ST_DIR/psk"
[ "$status" = 0 ] || { cat "$ST_DIR/ks.log" >&2; st_fail "registration failed: $out"; }
echo "$out" >"$ST_DIR/member.json"
ks_control '{"command":"status"}' >"$ST_DIR/status.json"
python3 - "$ST_DIR/member.json" "$ST_DIR/status.json" <<'PY' || st_fail "member policy differs from the key server's"
import json, sys
member = json.load(open(sys.argv[1]))
status = json.load(open(sys.argv[2]))
server = status["groups"][0]
assert status["ok"], status
for key in ("group", "sequence", "atd", "dtd"):
    assert member[key] == server[key], (key, member[key], server[key])
for key in ("spi", "cipher", "key_bits", "key", "iv_octets", "lifetime", "ack", "source",
            "destination", "public_key_octets", "signature_key_bits"):
    assert member["kek"][key] == server["kek"][key], ("kek", key, member["kek"][key], server["kek"][key])
assert len(member["teks"]) == len(server["teks"]) == 3, member["teks"]
for got, want in zip(member["teks"], server["teks"]):
    for key in ("spi", "description", "source", "destination", "cipher_key", "integrity_key",
                "tunnel", "preservation", "direction", "cipher_key_bits"):
        assert got[key] == want[key], (got["spi"], key, got[key], want[key])
    # The key server hands out the time left; status is read a moment later.
    assert 0 <= got["lifetime"] - want["lifetime"] <= 2, (got["spi"], got["lifetime"], want["lifetime"])
    assert got["cipher_key"] != "", got
assert member["group"] == 1234 and member["sequence"] == 3
assert member["teks"][2]["description"] == "ESP 3DES SPI 0x10000003 10.1.0.0/16 -> 239.192.1.1/32"
assert status["members"] == [{"address": "10.77.0.2", "group": 1234}], status["members"]
PY
st_pass "member received the key server's policy (3 TEKs, KEK, GAP) over UDP"

# 2. The other Phase 1 proposal works too (3DES/SHA-1/MODP-1024, DOI 2, group id in host order).
probe out status --group 1234 --psk-file "$ST_DIR/psk" --encryption 3des-cbc --hash sha1 --dh-group 2 \
    --phase1-doi 2 --group-id-little-endian
[ "$status" = 0 ] || st_fail "3DES/SHA-1/MODP-1024 registration failed: $out"
st_pass "3DES/SHA-1/MODP-1024 with DOI 2 and a little-endian group id registers"

# 3. Wrong pre-shared key.
probe out status --group 1234 --psk-file "$ST_DIR/wrong-psk" --budget 5
st_assert_eq 1 "$status" "exit status with a wrong PSK"
st_assert_contains "$out" "key server 10.77.0.1 rejected our pre-shared key (AUTHENTICATION-FAILED)" "wrong PSK"
st_assert_contains "$(cat "$ST_DIR/ks.log")" "HASH_I mismatch" "key server log on a wrong PSK"
st_pass "wrong PSK: AUTHENTICATION-FAILED reported in one sentence"

# 4. Unknown group.
probe out status --group 99 --psk-file "$ST_DIR/psk" --budget 5
st_assert_eq 1 "$status" "exit status for an unknown group"
st_assert_contains "$out" "key server 10.77.0.1 does not serve group 99 (INVALID-ID-INFORMATION)" "unknown group"
st_pass "unknown group: INVALID-ID-INFORMATION reported"

# 5. A silent server, then back.
reply=$(ks_control '{"command":"silent"}')
st_assert_eq true "$(echo "$reply" | st_json 'j["ok"]')" "silent command"
probe out status --group 1234 --psk-file "$ST_DIR/psk" --budget 3
st_assert_eq 1 "$status" "exit status against a silent server"
st_assert_contains "$out" "key server 10.77.0.1 did not answer Main Mode message 1 within 3 s" "silent server"
ks_control '{"command":"come-back"}' >/dev/null
probe out status --group 1234 --psk-file "$ST_DIR/psk"
st_assert_eq 0 "$status" "registration after come-back: $out"
reply=$(ks_control '{"command":"push-now"}')
st_assert_eq false "$(echo "$reply" | st_json 'j["ok"]')" "push-now without a group"
st_assert_contains "$reply" 'push-now needs \"group\"' "push-now without a group says what is missing"
members=$(ks_control '{"command":"status"}' | st_json 'len(j["members"])')
st_assert_eq 3 "$members" "registrations counted by the key server"
st_pass "silent server times out with a clear reason; come-back restores service"
