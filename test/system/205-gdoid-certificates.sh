#!/usr/bin/env bash
# Phase 1 with RSA signatures and certificates, the real gdoid against the real gdoi-test-ks,
# as a GET VPN or Group VPNv2 network with a PKI runs it (certificates made by the openssl
# command, independent of gdoid's code):
#   1. --check-config names what is wrong with the files: a key that is not the certificate's,
#      a key file others can read, a CA file that holds no certificate, both authentication
#      methods at once;
#   2. registration: both ends name each other's certificate subject in their logs, the key
#      server's CERT travels in message 6, and a push signed by the KEK is accepted afterwards;
#   3. a key server whose certificate comes from another CA (same name): refused, and
#      `gdoictl status` says it was not issued by a configured certificate authority;
#   4. a key server that never sends its CERT (RFC 2409: "[ CERT, ]" is optional): registration
#      works with `server-certificate` configured, and a server-identity pin that names another
#      server is refused at --check-config time.
. "$(dirname "$0")/lib.sh"
st_init
: "${GDOI_TEST_KS:?GDOI_TEST_KS must name gdoi-test-ks}"

st_ks_lab 10.86.0
st_pki "$ST_DIR/pki"
P=$ST_DIR/pki
ST_SOCKET="$ST_DIR/run/control"
ST_NETNS=$GM_NS

ks_config() { # ks_config CERT KEY SEND
    st_ks_group_config ks "$KS_ADDR"
    python3 - "$ST_DIR/ks.toml" "$1" "$2" "$3" "$P/ca.crt" <<'PY'
import sys
path, cert, key, send, ca = sys.argv[1:]
text = open(path).read()
# The member authenticates by certificate: no pre-shared key for it.
text = text.replace('psk = { ', '# psk = { ', 1)
text = text.replace('[[group]]', f'''[phase1.certificate]
file = "{cert}"
private-key = "{key}"
ca = ["{ca}"]
send-certificate = "{send}"

[[group]]''', 1)
open(path, 'w').write(text)
PY
}

gdoid_config() { # gdoid_config FILE EXTRA_CERTIFICATE_KEYS
    ST_GDOID_EXTRA="" st_gdoid_group_config "$1" "$KS_ADDR"
    sed -i "s|^pre-shared-key = .*|certificate = { file = \"$P/gm.crt\", private-key = { file = \"$P/gm.key\" }, ca = [\"$P/ca.crt\"]${2:+, $2} }|" "$1"
    grep -q '^certificate = ' "$1" || st_fail "the helper's config has no pre-shared-key line to replace"
}

# ---- 1. --check-config on the certificate files
gdoid_config "$ST_DIR/good.conf"
st_run out status "$GDOID" --check-config "$ST_DIR/good.conf"
st_assert_eq 0 "$status" "--check-config with a good certificate setup: $out"

gdoid_config "$ST_DIR/wrong-key.conf"
sed -i "s|$P/gm.key|$P/ks.key|" "$ST_DIR/wrong-key.conf"
st_run out status "$GDOID" --check-config "$ST_DIR/wrong-key.conf"
st_assert_eq 1 "$status" "--check-config with the key server's key"
st_assert_contains "$out" "private-key file $P/ks.key does not hold the private key of certificate \"CN=gm.lab.example,O=gdoid lab\"" "a key that is not the certificate's"

cp "$P/gm.key" "$ST_DIR/open.key"
chmod 0644 "$ST_DIR/open.key"
gdoid_config "$ST_DIR/open-key.conf"
sed -i "s|$P/gm.key|$ST_DIR/open.key|" "$ST_DIR/open-key.conf"
st_run out status "$GDOID" --check-config "$ST_DIR/open-key.conf"
st_assert_eq 1 "$status" "--check-config with a world-readable key"
st_assert_contains "$out" "private-key file $ST_DIR/open.key has mode 0644, which lets all users access it; it must be 0600 or stricter" "key file permissions"

: >"$ST_DIR/empty-ca.crt"
echo "not a certificate" >"$ST_DIR/empty-ca.crt"
gdoid_config "$ST_DIR/bad-ca.conf"
sed -i "s|\"$P/ca.crt\"|\"$ST_DIR/empty-ca.crt\"|" "$ST_DIR/bad-ca.conf"
st_run out status "$GDOID" --check-config "$ST_DIR/bad-ca.conf"
st_assert_eq 1 "$status" "--check-config with a CA file without certificates"
st_assert_contains "$out" "certificate authority file $ST_DIR/empty-ca.crt holds no PEM certificate" "CA file content"

gdoid_config "$ST_DIR/both.conf"
sed -i "s|^certificate = |pre-shared-key = { file = \"$ST_DIR/psk\" }\ncertificate = |" "$ST_DIR/both.conf"
st_run out status "$GDOID" --check-config "$ST_DIR/both.conf"
st_assert_eq 1 "$status" "--check-config with both methods"
st_assert_contains "$out" "has both \`pre-shared-key\` and \`certificate\`" "one authentication method"
st_pass "--check-config names the key mismatch, the key's mode, the CA file and the double method"

# ---- 2. registration with certificates, then a push
ks_config "$P/ks.crt" "$P/ks.key" always
st_ks_start "$ST_DIR/ks.toml"
: >"$ST_DIR/gdoid.log"
st_start_gdoid "$ST_DIR/good.conf"
st_wait_group "g['state'] == 'registered'" 30 "registration with certificates"
st_assert_contains "$(cat "$ST_DIR/gdoid.log")" "key server authenticated by certificate \"CN=ks.lab.example,O=gdoid lab\"" "gdoid names the server's certificate"
st_assert_contains "$(cat "$ST_DIR/ks.log")" "member authenticated by certificate \"CN=gm.lab.example,O=gdoid lab\"" "the key server names the member's certificate"
st_assert_contains "$(cat "$ST_DIR/gdoid.log")" "RSA signatures" "the negotiated Phase 1 says RSA signatures"
reply=$(st_ks_control '{"command":"push-now","group":4321}')
st_assert_contains "$reply" '"ok":true' "push-now"
st_wait_group "g['counters']['pushes_accepted'] >= 1" 20 "a push after certificate registration"
st_stop_gdoid
kill "$KS_PID"; wait "$KS_PID" 2>/dev/null || true
st_pass "registered with certificates, both subjects logged, a push accepted"

# ---- 3. a key server certified by another CA under the same name
ks_config "$P/rogue-ks.crt" "$P/rogue-ks.key" always
# the rogue server trusts our CA, so it would accept us: only our check stops it
st_ks_start "$ST_DIR/ks.toml"
: >"$ST_DIR/gdoid.log"
st_start_gdoid "$ST_DIR/good.conf"
sentence="certificate \"CN=ks.lab.example,O=gdoid lab\" was not issued by a configured certificate authority (its issuer is \"CN=gdoid lab CA,O=gdoid lab\")"
st_wait_group "'not issued by a configured certificate authority' in (g.get('last_error') or {}).get('message', '')" 30 "refusal of the rogue key server"
st_assert_contains "$(cat "$ST_DIR/gdoid.log")" "$sentence" "the log names the certificate and the rule"
st_wait_group "g['state'] != 'registered'" 1 "not registered with the rogue server"
st_stop_gdoid
kill "$KS_PID"; wait "$KS_PID" 2>/dev/null || true
st_pass "a key server certified by another CA is refused: \"$sentence\""

# ---- 4. a key server that never sends its certificate; pins
ks_config "$P/ks.crt" "$P/ks.key" never
st_ks_start "$ST_DIR/ks.toml"
gdoid_config "$ST_DIR/pinned-wrong.conf" "server-certificate = \"$P/ks.crt\", server-identity = \"CN=other.lab.example, O=gdoid lab\""
st_run out status "$GDOID" --check-config "$ST_DIR/pinned-wrong.conf"
st_assert_eq 1 "$status" "--check-config with a pin naming another server"
st_assert_contains "$out" "server certificate \"CN=ks.lab.example,O=gdoid lab\" does not match server-identity \"CN=other.lab.example, O=gdoid lab\"" "the pin is checked against the configured server certificate"
gdoid_config "$ST_DIR/pinned.conf" "server-certificate = \"$P/ks.crt\", server-identity = \"ks.lab.example\", certificate-request = false"
: >"$ST_DIR/gdoid.log"
st_start_gdoid "$ST_DIR/pinned.conf"
st_wait_group "g['state'] == 'registered'" 30 "registration with a server that sends no CERT"
st_stop_gdoid
st_pass "a server that never sends its CERT: registered with server-certificate and a DNS pin"
