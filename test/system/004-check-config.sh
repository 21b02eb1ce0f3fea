#!/usr/bin/env bash
# gdoid --check-config: the example passes with a one-line summary; broken files fail with
# every problem at its file:line:col; key files are checked for owner, mode and length; the
# pre-shared key itself never appears in any output. gdoid refuses to start on a broken file.
. "$(dirname "$0")/lib.sh"
st_init
st_example_config "$ST_DIR/gdoid.conf"
conf=$ST_DIR/gdoid.conf

st_run out status "$GDOID" --check-config "$conf"
st_assert_eq 0 "$status" "--check-config of the example"
st_assert_eq "$conf: configuration OK: 2 group(s) (wan, branch-v6), control socket $ST_SOCKET" "$out" "summary line"
st_run out status "$GDOID" --config "$conf" --check-config
st_assert_eq 0 "$status" "--check-config without FILE uses --config"
st_pass "the example configuration passes"

# Several problems at once, all reported in file order.
cat >"$ST_DIR/broken.conf" <<CONF
[daemon]
log-levl = "debug"

[[group]]
name = "wan"
id = 70000000000
servers = ["192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4", "192.0.2.5"]
local-address = "192.0.2.10"
pre-shared-key = "$ST_PSK"
wan-interface = "eth0"
lan-interfaces = ["eth1"]
df-bit = "sometimes"
CONF
st_run out status "$GDOID" --check-config "$ST_DIR/broken.conf"
st_assert_eq 1 "$status" "--check-config of a broken file"
expected="$ST_DIR/broken.conf:2:1: unknown key \`log-levl\` in [daemon]; did you mean \`log-level\`?
$ST_DIR/broken.conf:6:6: \`id\` must be between 1 and 4294967295, not 70000000000
$ST_DIR/broken.conf:7:11: \`servers\` lists 5 key servers; at most 4 are allowed
$ST_DIR/broken.conf:9:18: \`pre-shared-key\` must name where the key is, not hold it: write { file = \"/etc/gdoid/<group>.psk\" } or { credential = \"<name>\" }
$ST_DIR/broken.conf:12:10: \`df-bit\` must be one of \"clear\", \"set\", \"copy\", not \"sometimes\"
$ST_DIR/broken.conf: 5 error(s)"
st_assert_eq "$expected" "$out" "every problem with its position"
st_assert_not_contains "$out" "$ST_PSK" "a literal key is never echoed"
st_pass "a broken file: 5 problems at their positions"

# The key file rules, each with the sentence that says what is wrong.
check_psk() { # WHAT EXPECTED-SUFFIX
    st_run out status "$GDOID" --check-config "$conf"
    st_assert_eq 1 "$status" "$1: exit status"
    st_assert_contains "$out" "$conf:30:18: group \`wan\`: $2" "$1: message"
    st_assert_not_contains "$out" "$ST_PSK" "$1: the key is never printed"
}
chmod 0644 "$ST_DIR/wan.key"
check_psk "world-readable key file" "pre-shared-key file $ST_DIR/wan.key has mode 0644, which lets all users access it; it must be 0600 or stricter (chmod 600)"
chmod 0600 "$ST_DIR/wan.key"
chown nobody "$ST_DIR/wan.key"
check_psk "key file owned by nobody" "pre-shared-key file $ST_DIR/wan.key is owned by uid $(id -u nobody); it must be owned by root (chown root)"
st_psk_file "$ST_DIR/wan.key" "short-key-19-chars!"
check_psk "short key" "the pre-shared key in pre-shared-key file $ST_DIR/wan.key is 19 characters long; at least 20 are required"
st_assert_not_contains "$out" "short-key-19" "the short key is never printed"
rm "$ST_DIR/wan.key"
check_psk "missing key file" "cannot open pre-shared-key file $ST_DIR/wan.key: No such file or directory"
st_psk_file "$ST_DIR/wan.key"
st_pass "key files: mode, owner, length and existence are checked"

# Two groups on one box share the header-preservation datapath: what it holds once (WAN
# interface, routing instance, anchors, df-bit set, tcp-mss, bypass-mark) is checked here, not
# after the second group registered.
cat >"$ST_DIR/shared.conf" <<CONF
[[group]]
name = "wan"
id = 1
servers = ["192.0.2.1"]
local-address = "192.0.2.10"
pre-shared-key = { file = "$ST_DIR/wan.key" }
wan-interface = "eth0"
lan-interfaces = ["eth1"]
bypass-mark = "0x10"

[[group]]
name = "voice"
id = 2
servers = ["192.0.2.1"]
local-address = "192.0.2.10"
pre-shared-key = { file = "$ST_DIR/wan.key" }
wan-interface = "eth0"
lan-interfaces = ["eth2"]
routing-instance = "vrf-wan"
df-bit = "set"
bypass-mark = "0x20"
CONF
st_run out status "$GDOID" --check-config "$ST_DIR/shared.conf"
st_assert_eq 1 "$status" "--check-config of two groups that cannot share the datapath"
expected="$ST_DIR/shared.conf:19:20: group \`voice\`: routing-instance \`vrf-wan\` differs from none (the main table) (group \`wan\`, line 1): all groups share one header-preservation datapath, whose WAN interface and inbound anchor are in one routing instance
$ST_DIR/shared.conf:20:10: group \`voice\`: df-bit \"set\" is for all groups or none (group \`wan\`, line 1): all groups share one header-preservation datapath, which sets DF on every packet it restores
$ST_DIR/shared.conf:21:15: group \`voice\`: bypass-mark 0x20 differs from 0x10 (group \`wan\`, line 1): all groups share one header-preservation datapath, which skips one mark bit
$ST_DIR/shared.conf: 3 error(s)"
st_assert_eq "$expected" "$out" "each disagreement at its key, with both values and why"
st_pass "two groups that cannot share the datapath are refused at --check-config"

st_run out status "$GDOID" --check-config "$ST_DIR/absent.conf"
st_assert_eq 1 "$status" "--check-config of a missing file"
st_assert_contains "$out" "$ST_DIR/absent.conf: cannot read the configuration: No such file or directory" "missing file message"

# The daemon itself refuses a broken file before binding anything.
st_run out status "$GDOID" --foreground --config "$ST_DIR/broken.conf"
st_assert_eq 1 "$status" "gdoid with a broken file"
st_assert_contains "$out" "the configuration $ST_DIR/broken.conf has 5 error(s); not starting" "gdoid explains"
st_assert_not_contains "$out" "$ST_PSK" "startup errors never print the key"
[ ! -e "$ST_SOCKET" ] || st_fail "a socket was created for a broken configuration"
st_run out status "$GDOID" --no-such-option
st_assert_eq 2 "$status" "usage error exit status"
st_assert_eq "gdoid 0.1.0" "$("$GDOID" --version)" "--version"
st_pass "gdoid refuses to start on a broken file; usage errors exit 2"
