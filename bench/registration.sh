#!/usr/bin/env bash
# Figure 2, registration: bench-registration against gdoi-test-ks on loopback inside a fresh
# network namespace, for DH 14/AES-256/SHA-256 and DH 2/3DES/SHA-1 (COUNT: 500, --quick 5).
# Environment: as bench/run_all.sh sets it. Prints ROW lines.
. "$GDOID_SOURCE_ROOT/test/system/lib.sh"
st_init
count=500
[ "$BENCH_QUICK" = yes ] && count=5
st_netns_create bench-reg
ns=$ST_NETNS
st_psk_file "$ST_DIR/psk"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$ST_DIR/ks-key.pem" 2>/dev/null ||
    st_fail "cannot generate the key server's RSA key"
cat >"$ST_DIR/ks.toml" <<TOML
listen = ["127.0.0.1"]
port = 848
control-socket = "$ST_DIR/ks.sock"

[phase1]
proposals = [ { encryption = "aes-256-cbc", hash = "sha256", dh-group = 14, lifetime = 86400 },
              { encryption = "3des-cbc", hash = "sha1", dh-group = 2, lifetime = 86400 } ]

[[group]]
id = 4321
sequence = 1
psk = { "127.0.0.1" = "$ST_PSK" }

[group.kek]
algorithm = "aes-128-cbc"
signing-key = "$ST_DIR/ks-key.pem"
signature-hash = "sha256"
lifetime = 86400
source = "127.0.0.1:848"
destination = "127.0.0.1:848"

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
KS_NS=$ns
st_ks_start "$ST_DIR/ks.toml"
for suite in "14 aes-256-cbc sha256" "2 3des-cbc sha1"; do
    set -- $suite
    ip netns exec "$ns" "$BENCH_BUILD/bench/bench-registration" --server 127.0.0.1 \
        --local 127.0.0.1 --psk-file "$ST_DIR/psk" --group 4321 --count "$count" \
        --dh-group "$1" --encryption "$2" --hash "$3" ||
        { tail -5 "$ST_DIR/ks.log" >&2; st_fail "bench-registration ($suite) failed"; }
done
