#!/usr/bin/env bash
# Figure 2, the storm: bench-storm's MEMBERS registrations (200, --quick 5) started at once
# against one gdoi-test-ks on loopback in a fresh network namespace (bench/lab.sh's key server,
# 1 group x 2 TEKs, DH 14). Environment: as bench/run_all.sh sets it. Prints ROW lines.
. "$GDOID_SOURCE_ROOT/test/system/lib.sh"
. "$GDOID_SOURCE_ROOT/bench/lab.sh"
st_init
members=200
[ "$BENCH_QUICK" = yes ] && members=5
st_netns_create bench-storm
KS_NS=$ST_NETNS KS_ADDR=127.0.0.1 GM_ADDR=127.0.0.1
st_psk_file "$ST_DIR/psk"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$ST_DIR/ks-key.pem" 2>/dev/null ||
    st_fail "cannot generate the key server's RSA key"
ks_config 1 2 >"$ST_DIR/ks.toml"
st_ks_start "$ST_DIR/ks.toml"
ip netns exec "$KS_NS" "$BENCH_BUILD/bench/bench-storm" --server 127.0.0.1 --local 127.0.0.1 \
    --psk-file "$ST_DIR/psk" --group 5001 --members "$members" --ks-pid "$KS_PID" ||
    { tail -5 "$ST_DIR/ks.log" >&2; st_fail "bench-storm ($members members) failed"; }
