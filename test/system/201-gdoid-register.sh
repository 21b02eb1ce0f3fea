#!/usr/bin/env bash
# The real daemon registers with the real test key server over veth: gdoid in one namespace,
# gdoi-test-ks in another. Asserts what an operator checks with `gdoictl status`: the group is
# registered with the server named, the KEK and every TEK show exactly the SPIs, algorithms,
# selectors and lifetimes the key server holds; the first server in the list is silent, so the
# daemon moves to the second after the configured retries and says so in the log; a wrong
# pre-shared key gives "authentication failed" naming the server; the key never reaches a log.
# Phase 1 with the newer groups and hashes (ECP 19/20 with SHA-256/384, MODP 15 with SHA-512)
# registers too, and both ends log the proposal they agreed on.
. "$(dirname "$0")/lib.sh"
st_init
: "${GDOI_TEST_KS:?GDOI_TEST_KS must name gdoi-test-ks}"

st_ks_lab 10.78.0
cat >"$ST_DIR/ks.toml" <<TOML
listen = ["10.78.0.1"]
port = 848
control-socket = "$ST_DIR/ks.sock"

[phase1]
proposals = [ { encryption = "aes-256-cbc", hash = "sha256", dh-group = 14, lifetime = 86400 },
              { encryption = "3des-cbc", hash = "sha1", dh-group = 2, lifetime = 86400 },
              { encryption = "aes-256-cbc", hash = "sha256", dh-group = 19, lifetime = 86400 },
              { encryption = "aes-256-cbc", hash = "sha384", dh-group = 20, lifetime = 86400 },
              { encryption = "aes-128-cbc", hash = "sha512", dh-group = 15, lifetime = 86400 } ]

[[group]]
id = 4321
sequence = 5
psk = { "10.78.0.2" = "$ST_PSK" }

[group.kek]
algorithm = "aes-128-cbc"
signing-key = "$ST_DIR/ks-key.pem"
signature-hash = "sha256"
lifetime = 86400
source = "10.78.0.1:848"
destination = "239.78.1.1:848"

[group.gap]
atd = 60
dtd = 90

[[group.tek]]
spi = 0x20000001
cipher = "aes-256-cbc"
integrity = "hmac-sha256"
source = "10.1.0.0/16"
destination = "10.2.0.0/16"
lifetime = 3600

[[group.tek]]
spi = 0x20000002
cipher = "aes-256-cbc"
integrity = "hmac-sha256"
source = "10.2.0.0/16"
destination = "10.1.0.0/16"
lifetime = 3600
TOML
st_ks_start "$ST_DIR/ks.toml"

# gdoid.conf: server 10.78.0.9 does not exist (silent), 10.78.0.1 is the key server.
write_config() { # write_config FILE ENCRYPTION HASH DH PSKFILE
    cat >"$1" <<TOML
[daemon]
control-socket = "$ST_DIR/run/control"
log-level = "debug"

[[group]]
name = "lab"
id = 4321
servers = ["10.78.0.9", "10.78.0.1"]
local-address = "10.78.0.2"
pre-shared-key = { file = "$5" }
ike = { encryption = "$2", hash = "$3", dh-group = $4, lifetime = "8h" }
wan-interface = "gm$$"
lan-interfaces = ["lo"]
retry = { count = 1, interval = "2s" }
TOML
}
ST_SOCKET="$ST_DIR/run/control"
ST_NETNS=$GM_NS

status_json() { "$GDOICTL" --socket "$ST_SOCKET" status --json; }
wait_for_state() { # wait_for_state STATE SECONDS
    local i
    for ((i = 0; i < $2 * 10; i++)); do
        [ "$(status_json | st_json "j['result']['groups'][0]['state']")" = "$1" ] && return 0
        sleep 0.1
    done
    status_json >&2
    st_fail "group did not reach state $1 within $2 s"
}

# The Phase 1 proposal both ends settled on, as Phase1Proposal::describe() writes it.
negotiated() { # negotiated ENCRYPTION HASH DH
    local cipher hash group
    case $1 in 3des) cipher=3DES-CBC ;; aes-*) cipher="AES-${1#aes-}-CBC" ;; esac
    hash=$(echo "$2" | tr a-z A-Z)
    case $3 in
    1) group="MODP-768" ;; 2) group="MODP-1024" ;; 5) group="MODP-1536" ;; 14) group="MODP-2048" ;;
    15) group="MODP-3072" ;; 16) group="MODP-4096" ;;
    19) group="ECP-256" ;; 20) group="ECP-384" ;; 21) group="ECP-521" ;;
    esac
    echo "$cipher/$hash/$group (group $3)"
}

for variant in "aes-256 sha256 14" "3des sha1 2"; do
    set -- $variant
    proposal=$(negotiated "$@")
    : >"$ST_DIR/gdoid.log"
    write_config "$ST_DIR/gdoid.conf" "$1" "$2" "$3" "$ST_DIR/psk"
    st_start_gdoid "$ST_DIR/gdoid.conf"
    # Server 1 is silent: 2 attempts (first + 1 retry) 2 s apart, then server 2.
    wait_for_state registered 40
    status_json >"$ST_DIR/status.json"
    st_json_check "status after registration ($variant)" "$(cat <<'PY'
g = j['result']['groups'][0]
assert g['state'] == 'registered', g
assert g['server_in_use'] == '10.78.0.1:848', g
assert g['kek']['cipher'] == 'aes-cbc-128', g['kek']
assert len(g['kek']['spi']) == 32, g['kek']
assert g['sequence'] == 5, g
assert g['last_rekey']['kind'] == 'pull', g
teks = {t['spi']: t for t in g['teks']}
assert set(teks) == {'0x20000001', '0x20000002'}, teks
assert teks['0x20000001']['cipher'] == 'aes-cbc-256/hmac-sha256', teks
assert teks['0x20000001']['source'] == '10.1.0.0/16' and teks['0x20000001']['destination'] == '10.2.0.0/16', teks
assert teks['0x20000002']['source'] == '10.2.0.0/16' and teks['0x20000002']['destination'] == '10.1.0.0/16', teks
import time
left = teks['0x20000001']['expires'] - time.time()
assert 3500 < left <= 3600, left
assert g['counters']['registrations'] == 1, g
assert g['counters']['registration_failures'] == 2, g
PY
)" <"$ST_DIR/status.json"
    st_assert_contains "$(cat "$ST_DIR/gdoid.log")" "registering with key server 10.78.0.9:848 (attempt 2 of 2)" "retry of the silent server logged"
    st_assert_contains "$(cat "$ST_DIR/gdoid.log")" "registering with key server 10.78.0.1:848 (attempt 1 of 2)" "failover to server 2 logged"
    st_assert_contains "$(cat "$ST_DIR/gdoid.log")" "Phase 1 established ($proposal, 28800 s)" "gdoid logs the Phase 1 proposal"
    human=$("$GDOICTL" --socket "$ST_SOCKET" status)
    st_assert_contains "$human" "TEK 0x20000001 aes-cbc-256/hmac-sha256 10.1.0.0/16 -> 10.2.0.0/16" "gdoictl shows the TEK"
    st_stop_gdoid
    st_assert_eq 0 "$ST_GDOID_STATUS" "gdoid exit status"
    st_pass "registered with $variant after failing over from the silent server"
done

# The newer groups and hashes, with the key server as the only server (no failover wait).
for variant in "aes-256 sha256 19" "aes-256 sha384 20" "aes-128 sha512 15"; do
    set -- $variant
    proposal=$(negotiated "$@")
    : >"$ST_DIR/gdoid.log"
    write_config "$ST_DIR/gdoid.conf" "$1" "$2" "$3" "$ST_DIR/psk"
    sed -i 's/servers = \["10.78.0.9", "10.78.0.1"\]/servers = ["10.78.0.1"]/' "$ST_DIR/gdoid.conf"
    st_start_gdoid "$ST_DIR/gdoid.conf"
    wait_for_state registered 20
    status_json | st_json_check "status after registration ($variant)" "$(cat <<'PY'
g = j['result']['groups'][0]
assert g['state'] == 'registered', g
assert g['server_in_use'] == '10.78.0.1:848', g
assert {t['spi'] for t in g['teks']} == {'0x20000001', '0x20000002'}, g['teks']
assert g['counters']['registrations'] == 1 and g['counters']['registration_failures'] == 0, g
PY
)"
    st_assert_contains "$(cat "$ST_DIR/gdoid.log")" "Phase 1 established ($proposal, 28800 s)" "gdoid logs the Phase 1 proposal"
    st_assert_contains "$(cat "$ST_DIR/ks.log")" "chose $proposal, 28800 s" "the key server logs the proposal it chose"
    st_stop_gdoid
    st_assert_eq 0 "$ST_GDOID_STATUS" "gdoid exit status"
    st_pass "registered with Phase 1 $proposal"
done

# A wrong pre-shared key: the failure names the server and says what to fix.
st_psk_file "$ST_DIR/wrong-psk" "this-is-not-the-key-the-server-holds"
: >"$ST_DIR/gdoid.log"
write_config "$ST_DIR/gdoid.conf" aes-256 sha256 14 "$ST_DIR/wrong-psk"
sed -i 's/servers = \["10.78.0.9", "10.78.0.1"\]/servers = ["10.78.0.1"]/' "$ST_DIR/gdoid.conf"
st_start_gdoid "$ST_DIR/gdoid.conf"
st_wait_for_log "registration with key server 10.78.0.1:848 failed: .*(authenticat|pre-shared key)" 30
error=$(status_json | st_json "j['result']['groups'][0]['last_error']['message']")
st_assert_contains "$error" "10.78.0.1" "the error names the key server"
st_stop_gdoid
st_pass "a wrong pre-shared key is reported: $error"

for secret in "$ST_PSK" "this-is-not-the-key-the-server-holds"; do
    ! grep -qF -- "$secret" "$ST_DIR/gdoid.log" || st_fail "a pre-shared key appears in the gdoid log"
done
st_pass "no pre-shared key in any log"
