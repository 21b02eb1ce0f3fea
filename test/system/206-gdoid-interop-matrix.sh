#!/usr/bin/env bash
# The combinations deployed Cisco GET VPN and Juniper Group VPNv2 key servers use, each a real
# registration of gdoid with gdoi-test-ks followed by a GROUPKEY-PUSH rekey:
#   Phase 1 authentication {pre-shared key, RSA signatures with certificates}
#   x DH group {14 (MODP-2048), 19 (ECP-256), 20 (ECP-384)} x hash/PRF {SHA-256, SHA-384}
#   x KEK signature {RSA with SHA-256, ECDSA P-256 (Suite B)}
# (24 registrations, 24 pushes). For each: the negotiated Phase 1 named in gdoid's log (cipher,
# hash, group and, with certificates, "RSA signatures"), the group registered, the push
# accepted (pushes_accepted 1, pushes_rejected 0) and its new TEK pair in `gdoictl status`,
# whose `phase1` and `kek.signature` name the same proposal, method and signature algorithm.
# Certificates come from the openssl command (test/support/test-pki.sh).
. "$(dirname "$0")/lib.sh"
st_init
: "${GDOI_TEST_KS:?GDOI_TEST_KS must name gdoi-test-ks}"
PYTHON3=$(python3 -c 'import sys; print(sys.executable)')
python3() { "$PYTHON3" "$@"; }

st_ks_lab 10.87.0
st_pki "$ST_DIR/pki"
P=$ST_DIR/pki
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$ST_DIR/kek-p256.pem" 2>/dev/null ||
    st_fail "cannot make the ECDSA P-256 KEK key"
ST_SOCKET="$ST_DIR/run/control"
ST_NETNS=$GM_NS

# ks_config SIGNATURE_ALGORITHM KEY: every proposal of the matrix, both authentication methods.
ks_config() {
    cat >"$ST_DIR/ks.toml" <<TOML
listen = ["$KS_ADDR"]
port = 848
control-socket = "$ST_DIR/ks.sock"

[phase1]
proposals = [
  { encryption = "aes-256-cbc", hash = "sha256", dh-group = 14 },
  { encryption = "aes-256-cbc", hash = "sha384", dh-group = 14 },
  { encryption = "aes-256-cbc", hash = "sha256", dh-group = 19 },
  { encryption = "aes-256-cbc", hash = "sha384", dh-group = 19 },
  { encryption = "aes-256-cbc", hash = "sha256", dh-group = 20 },
  { encryption = "aes-256-cbc", hash = "sha384", dh-group = 20 } ]

[phase1.certificate]
file = "$P/ks.crt"
private-key = "$P/ks.key"
ca = ["$P/ca.crt"]

[[group]]
id = 4321
sequence = 1
psk = { "$GM_ADDR" = "$ST_PSK" }

[group.kek]
algorithm = "aes-256-cbc"
signature-algorithm = "$1"
signature-hash = "sha256"
signing-key = "$2"
source = "$KS_ADDR:848"
destination = "$GM_ADDR:848"

[group.gap]
atd = 0
dtd = 1

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

# gdoid_config AUTH DH HASH
gdoid_config() {
    ST_GDOID_EXTRA="" st_gdoid_group_config "$ST_DIR/gdoid.conf" "$KS_ADDR"
    sed -i "s|^ike = .*|ike = { encryption = \"aes-256\", hash = \"$3\", dh-group = $2, lifetime = \"8h\" }|" "$ST_DIR/gdoid.conf"
    if [ "$1" = certificate ]; then
        sed -i "s|^pre-shared-key = .*|certificate = { file = \"$P/gm.crt\", private-key = { file = \"$P/gm.key\" }, ca = [\"$P/ca.crt\"], server-identity = \"ks.lab.example\" }|" "$ST_DIR/gdoid.conf"
    fi
}

declare -A group_name=([14]="MODP-2048 (group 14)" [19]="ECP-256 (group 19)" [20]="ECP-384 (group 20)")
declare -A hash_name=([sha256]=SHA256 [sha384]=SHA384)
combinations=0
for kek in "rsa $ST_DIR/ks-key.pem" "ecdsa-p256 $ST_DIR/kek-p256.pem"; do
    read -r algorithm key <<<"$kek"
    ks_config "$algorithm" "$key"
    st_ks_start "$ST_DIR/ks.toml"
    for auth in psk certificate; do
        for dh in 14 19 20; do
            for hash in sha256 sha384; do
                what="$auth / DH $dh / $hash / KEK $algorithm"
                gdoid_config "$auth" "$dh" "$hash"
                : >"$ST_DIR/gdoid.log"
                st_start_gdoid "$ST_DIR/gdoid.conf"
                st_wait_group "g['state'] == 'registered'" 30 "$what: registration"
                expected="Phase 1 established (AES-256-CBC/${hash_name[$hash]}/${group_name[$dh]}, 28800 s"
                [ "$auth" = certificate ] && expected+=", RSA signatures)" || expected+=")"
                st_assert_contains "$(cat "$ST_DIR/gdoid.log")" "$expected" "$what: the negotiated Phase 1"
                reply=$(st_ks_control '{"command":"push-now","group":4321}')
                new_spis=$(echo "$reply" | st_json "' '.join(j['new_tek_spis'])")
                st_wait_group "g['counters']['pushes_accepted'] == 1 and g['counters']['pushes_rejected'] == 0 and all(any(int(t['spi'], 16) == int(s, 16) for t in g['teks']) for s in '$new_spis'.split())" 20 "$what: the push and its TEKs ($reply)"
                st_status_json | st_json_check "$what: phase 1 and KEK signature in gdoictl status" "$(cat <<PY
g = j['result']['groups'][0]
assert g['phase1']['proposal'].startswith('${expected#Phase 1 established (}'.rstrip(')')), g['phase1']
assert g['phase1']['authentication'] == ('certificate' if '$auth' == 'certificate' else 'pre-shared-key'), g['phase1']
assert ('$auth' != 'certificate') == (g['phase1']['server_certificate'] is None), g['phase1']
assert g['kek']['signature'] == ('RSA/SHA256' if '$algorithm' == 'rsa' else 'ECDSA-256/SHA256'), g['kek']
PY
)"
                st_stop_gdoid
                st_assert_eq 0 "$ST_GDOID_STATUS" "$what: gdoid exit status"
                combinations=$((combinations + 1))
            done
        done
    done
    kill "$KS_PID"
    wait "$KS_PID" 2>/dev/null || true
    st_pass "KEK $algorithm: 12 registrations (PSK and certificates x DH 14/19/20 x SHA-256/384), each followed by an accepted push"
done
st_assert_eq 24 "$combinations" "combinations run"
st_pass "24 combinations registered and rekeyed by push"
