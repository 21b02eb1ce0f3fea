#!/usr/bin/env bash
# What gdoid does to the kernel of its box, on the host kernel (XFRM policies and tc-BPF work
# here; ESP states need the VM, test/vm/020-traffic.sh). gdoid in namespace "gm" with a WAN
# veth toward the key server and a LAN veth toward a host namespace, `lan-prefixes` and one
# fail-open rule configured. Asserts what an operator would look at with `ip xfrm policy`,
# `tc filter` and `gdoictl status`:
#   - before any key server answered: fail-closed block policies for the LAN prefixes, `out` on
#     the WAN device and `fwd` on the LAN device; the datapath programs attached to WAN ingress,
#     WAN egress and LAN ingress; the inbound anchor address on lo; status says fail-closed;
#   - a foreign policy (an operator's or strongSwan's) is never touched;
#   - someone deletes gdoid's WAN egress tc filter, then the LAN's clsact qdisc: both put back at
#     once (rtnetlink tc notifications), logged, counted as filters_restored;
#   - someone deletes one of gdoid's policies, then flushes the policy table: both noticed on the
#     event socket, everything put back, one log line each with the cause, `repairs` counted;
#   - 40,000 notifications overflow the event socket (ENOBUFS) while gdoid is stopped and one of
#     its policies is deleted: the resync after the overflow finds and puts back that policy;
#   - once every key server failed: the fail-open rule's allow policies, both directions;
#   - the key server comes back and registration succeeds: the fail-open rule goes, the SAs
#     cannot be installed on this ESP-less kernel, and status says so with the kernel's reason,
#     while the fail-closed blocks stay (nothing protected leaks);
#   - the WAN interface goes down: the keys are cleared, registration stops, fail-closed stays;
#     it comes back up: the group registers again;
#   - gdoid stopped: every object it made is gone (policies, filters, anchor address), the
#     foreign policy is still there.
. "$(dirname "$0")/lib.sh"
st_init

st_ks_lab 10.79.0
st_netns_create host
HOST_NS=$ST_NETNS
unset ST_NETNS
LAN_IF="lan$$"
ip link add "$LAN_IF" netns "$GM_NS" type veth peer name "h$$" netns "$HOST_NS" || st_fail "cannot create the LAN veth"
ip -n "$GM_NS" addr add 10.1.0.1/24 dev "$LAN_IF"
# IPv6 on the LAN too (nodad: usable at once), and a route toward a remote IPv6 LAN over the WAN.
# 2001:db8:9::1 is outside the protected prefixes: the control that sending works at all.
ip -n "$GM_NS" addr add 2001:db8:1::1/64 dev "$LAN_IF" nodad
ip -n "$GM_NS" addr add 2001:db8:9::1/128 dev "$LAN_IF" nodad
ip -n "$GM_NS" link set "$LAN_IF" up
ip -n "$HOST_NS" addr add 10.1.0.10/24 dev "h$$"
ip -n "$HOST_NS" link set "h$$" up
# An operator's own policy, in a priority gdoid does not use.
ip -n "$GM_NS" xfrm policy add src 10.50.0.0/16 dst 10.60.0.0/16 dir out priority 100 action block ||
    st_fail "cannot add the foreign policy"

cat >"$ST_DIR/ks.toml" <<TOML
listen = ["$KS_ADDR"]
port = 848
control-socket = "$ST_DIR/ks.sock"

[[group]]
id = 4321
psk = { "$GM_ADDR" = "$ST_PSK" }

[group.kek]
signing-key = "$ST_DIR/ks-key.pem"
source = "$KS_ADDR:848"
destination = "239.79.1.1:848"

[[group.tek]]
spi = 0x30000001
source = "10.1.0.0/16"
destination = "10.2.0.0/16"

[[group.tek]]
spi = 0x30000002
source = "10.2.0.0/16"
destination = "10.1.0.0/16"
TOML

cat >"$ST_DIR/gdoid.conf" <<TOML
[daemon]
control-socket = "$ST_DIR/run/control"
log-level = "debug"

[[group]]
name = "lab"
id = 4321
servers = ["$KS_ADDR"]
local-address = "$GM_ADDR"
pre-shared-key = { file = "$ST_DIR/psk" }
wan-interface = "$GM_IF"
lan-interfaces = ["$LAN_IF"]
lan-prefixes = ["10.1.0.0/16", "2001:db8:1::/48"]
# The first round (6 attempts of 2 s) outlasts the repair steps below: fail-open must not
# arrive in the middle of them (a SIGSTOP across the round's end made the ENOBUFS resync and
# the fail-open update one kernel update, and the repair count no longer the test's own).
retry = { count = 5, interval = "2s" }

  [[group.fail-open]]
  name = "management"
  source = "10.1.5.0/24"
  destination = "10.9.0.0/24"
TOML
ST_SOCKET="$ST_DIR/run/control"
ST_NETNS=$GM_NS

status_json() { "$GDOICTL" --socket "$ST_SOCKET" status --json; }
# wait_for_kernel PYTHON-CONDITION SECONDS WHAT: poll the group's status until the condition
# over g (the group) and k (its kernel object) holds.
wait_for_kernel() {
    local i
    for ((i = 0; i < $2 * 5; i++)); do
        status_json >"$ST_DIR/status.json" 2>/dev/null || true
        if python3 -c 'import json, sys
j = json.load(open(sys.argv[1])); g = j["result"]["groups"][0]; k = g["kernel"]
sys.exit(0 if eval(sys.argv[2]) else 1)' "$ST_DIR/status.json" "$1" 2>/dev/null; then
            return 0
        fi
        sleep 0.2
    done
    cat "$ST_DIR/status.json" >&2
    st_fail "$3 (within $2 s)"
}
# One line per policy: "src ... dst ... dev X <tab> dir out action block priority N ..." (ip prints
# no action for allow policies: "dir out priority N")
policies() { ip -n "$GM_NS" xfrm policy | awk '/^src/ { if (r) print r; r = $0; next } { r = r " " $0 } END { if (r) print r }'; }
# has_policy WORD...: some policy's line contains every WORD ("src 10.1.0.0/16", "dir out" ...)
has_policy() {
    local line word
    while IFS= read -r line; do
        for word in "$@"; do [[ "$line" == *"$word"* ]] || continue 2; done
        return 0
    done < <(policies)
    return 1
}

st_start_gdoid "$ST_DIR/gdoid.conf"

# ---- before any key server answered: fail-closed
wait_for_kernel "k['state'] == 'installed' and k['fail_closed']" 20 "fail-closed policies installed"
has_policy "src 10.1.0.0/16 dst 0.0.0.0/0 dev $GM_IF" "dir out action block" ||
    st_fail "no fail-closed out block from 10.1.0.0/16 on $GM_IF: $(policies)"
has_policy "src 0.0.0.0/0 dst 10.1.0.0/16 dev $GM_IF" "dir out action block" || st_fail "no fail-closed out block to 10.1.0.0/16"
has_policy "src 10.1.0.0/16 dst 0.0.0.0/0 dev $LAN_IF" "dir fwd action block" || st_fail "no fail-closed fwd block on $LAN_IF"
has_policy "src 0.0.0.0/0 dst 10.1.0.1/32" "dir in action block" || st_fail "no fail-closed in block toward the router's LAN address: $(policies)"
has_policy "src 10.1.0.0/16 dst 0.0.0.0/0" "dir in priority" || st_fail "the LAN lost its way to the router: $(policies)"
st_pass "fail-closed before registration: the LAN prefixes are blocked on $GM_IF (out), $LAN_IF (fwd) and toward the router's own 10.1.0.1 (in; its LAN still reaches it)"

# The router's own IPv6: its output route lookup leaves the device unset, so the WAN-scoped
# block never sees it; gdoid adds an unscoped block per router address. A real datagram from
# 2001:db8:1::1 toward a remote LAN is refused by the kernel (EPERM), one from an address
# outside the protected prefixes leaves.
ip -n "$GM_NS" -6 route add 2001:db8:2::/64 dev "$GM_IF"
send6() { # SOURCE DESTINATION: "sent" or the errno's name
    ip netns exec "$GM_NS" python3 -c 'import errno, socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 0))
try:
    s.sendto(b"gdoid fail-closed probe", (sys.argv[2], 9)); print("sent")
except OSError as e:
    print(errno.errorcode.get(e.errno, e.errno))' "$1" "$2"
}
own=$(send6 2001:db8:1::1 2001:db8:2::5) other=$(send6 2001:db8:9::1 2001:db8:2::5)
[ "$own" = EPERM ] && [ "$other" = sent ] ||
    st_fail "the router's own IPv6 before registration: from 2001:db8:1::1 '$own' (want EPERM), from 2001:db8:9::1 '$other' (want sent): $(policies)"
has_policy "src 2001:db8:1::1/128 dst ::/0" "dir out action block" ||
    st_fail "no fail-closed out block for the router's own 2001:db8:1::1: $(policies)"
[ "$(send6 2001:db8:1::1 2001:db8:1::7)" = sent ] || st_fail "fail-closed blocks the router's own IPv6 toward its LAN"
st_pass "fail-closed covers the router's own IPv6: a datagram from 2001:db8:1::1 to 2001:db8:2::5 refused (EPERM), from 2001:db8:9::1 sent, to its own LAN sent"

filters=$(tc -n "$GM_NS" filter show dev "$GM_IF" ingress; tc -n "$GM_NS" filter show dev "$GM_IF" egress;
          tc -n "$GM_NS" filter show dev "$LAN_IF" ingress)
for program in gdoid_wan_in gdoid_wan_out gdoid_lan_in; do
    st_assert_contains "$filters" "$program" "datapath program $program attached"
done
st_assert_contains "$(ip -n "$GM_NS" addr show dev lo)" "100.127.255.1/32" "the inbound anchor address on lo"
st_pass "the datapath is attached (WAN ingress/egress, LAN ingress) and the inbound anchor is on lo"

# ---- someone removes gdoid's tc filters: the WAN egress filter, then the LAN's whole clsact qdisc
datapath_restored() { status_json | st_json "j['result']['datapath']['counters']['filters_restored']"; }
st_assert_eq 0 "$(datapath_restored)" "filters restored before anyone touched them"
tc -n "$GM_NS" filter del dev "$GM_IF" egress || st_fail "cannot delete the WAN egress filter"
wait_for_filters() {
    local i
    for ((i = 0; i < 50; i++)); do
        [ "$(datapath_restored)" = "$1" ] && return 0
        sleep 0.2
    done
    st_fail "$2 (filters_restored is $(datapath_restored), not $1, after 10 s)"
}
wait_for_filters 1 "the deleted WAN egress filter put back"
st_assert_contains "$(tc -n "$GM_NS" filter show dev "$GM_IF" egress)" gdoid_wan_out "gdoid_wan_out is on WAN egress again"
st_wait_for_log "another process deleted tc filters or a qdisc: gdoid's tc-BPF filter\\(s\\) on egress of '$GM_IF' were missing and are put back \\(1 restored since start\\)" 5
tc -n "$GM_NS" qdisc del dev "$LAN_IF" clsact || st_fail "cannot delete the LAN's clsact qdisc"
wait_for_filters 2 "the LAN ingress filter put back after its qdisc was deleted"
st_assert_contains "$(tc -n "$GM_NS" filter show dev "$LAN_IF" ingress)" gdoid_lan_in "gdoid_lan_in is on LAN ingress again"
st_pass "tc filter del on WAN egress and tc qdisc del clsact on the LAN: both noticed, put back, logged, counted (filters_restored 2)"

# ---- someone else removes gdoid's objects: one policy deleted, then the whole table flushed
ip -n "$GM_NS" xfrm policy delete src 10.1.0.0/16 dst 0.0.0.0/0 dev "$GM_IF" dir out ||
    st_fail "cannot delete gdoid's fail-closed policy"
wait_for_kernel "k['repairs'] == 1" 10 "the deleted policy noticed and put back"
has_policy "src 10.1.0.0/16 dst 0.0.0.0/0 dev $GM_IF" "dir out action block" ||
    st_fail "the deleted fail-closed policy is not back: $(policies)"
st_wait_for_log "another process deleted an XFRM policy of ours: 1 of the group's kernel object\\(s\\) put back \\(repair 1\\)" 5
ip -n "$GM_NS" xfrm policy flush
ip -n "$GM_NS" xfrm policy add src 10.50.0.0/16 dst 10.60.0.0/16 dir out priority 100 action block # the operator's, again
wait_for_kernel "k['repairs'] == 2" 10 "the flush noticed and every policy put back"
has_policy "src 0.0.0.0/0 dst 10.1.0.1/32" "dir in action block" || st_fail "fail-closed not restored after the flush: $(policies)"
has_policy "src 10.1.0.0/16 dst 0.0.0.0/0 dev $LAN_IF" "dir fwd action block" || st_fail "fwd block not restored after the flush"
st_wait_for_log "the XFRM tables were flushed, or kernel notifications were lost: [0-9]+ of the group's kernel object\\(s\\) put back \\(repair 2\\)" 5
st_assert_contains "$("$GDOICTL" --socket "$ST_SOCKET" status)" "2 repairs of objects removed by others" "gdoictl status counts the repairs"
st_pass "a deleted policy and a flushed table: noticed, put back within a second, logged with the cause, counted (2 repairs)"

# ---- the event socket overflows (ENOBUFS): notifications are lost, a full resync finds the gap
# gdoid is stopped (SIGSTOP) while 40,000 notifications about someone else's policies fill its
# event socket; then one of gdoid's policies is deleted, and that notification is lost with the
# rest. Woken up, gdoid must read ENOBUFS, compare the whole table and put the policy back.
kill -STOP "$ST_GDOID_PID"
for ((i = 0; i < 20000; i++)); do
    echo "xfrm policy add src 10.200.$((i / 250)).$((i % 250))/32 dst 10.201.0.0/16 dir out priority 100 action block"
    echo "xfrm policy delete src 10.200.$((i / 250)).$((i % 250))/32 dst 10.201.0.0/16 dir out"
done >"$ST_DIR/flood.batch"
ip -n "$GM_NS" -batch "$ST_DIR/flood.batch" || { kill -CONT "$ST_GDOID_PID"; st_fail "cannot flood the XFRM notifications"; }
ip -n "$GM_NS" xfrm policy delete src 0.0.0.0/0 dst 10.1.0.1/32 dir in ||
    { kill -CONT "$ST_GDOID_PID"; st_fail "cannot delete gdoid's fail-closed in policy: $(policies)"; }
kill -CONT "$ST_GDOID_PID"
wait_for_kernel "k['repairs'] == 3" 10 "the lost deletion found by the resync after ENOBUFS"
has_policy "src 0.0.0.0/0 dst 10.1.0.1/32" "dir in action block" || st_fail "the policy deleted during the overflow is not back: $(policies)"
st_wait_for_log "the XFRM tables were flushed, or kernel notifications were lost: 1 of the group's kernel object\\(s\\) put back \\(repair 3\\)" 5
st_pass "40,000 notifications overflowed the event socket (ENOBUFS) while a policy of gdoid's was deleted: the resync put it back and said notifications were lost (repair 3)"

# ---- every server failed: partial fail-open
wait_for_kernel "k['fail_open']" 30 "fail-open rules in force after every key server failed"
has_policy "src 10.1.5.0/24 dst 10.9.0.0/24" "dir out priority" || st_fail "no fail-open out allow: $(policies)"
has_policy "src 10.9.0.0/24 dst 10.1.5.0/24" "dir fwd priority" || st_fail "no fail-open fwd allow for the return traffic"
st_assert_eq "registering" "$(status_json | st_json "j['result']['groups'][0]['state']")" "group state during fail-open"
st_pass "no key server answered: the fail-open rule management passes 10.1.5.0/24 <-> 10.9.0.0/24"

# ---- the key server comes back
st_ks_start "$ST_DIR/ks.toml"
wait_for_kernel "g['state'] == 'registered' and k['state'] == 'error'" 30 "registered, SAs refused by this kernel"
error=$(st_json "j['result']['groups'][0]['kernel']['error']" <"$ST_DIR/status.json")
st_assert_contains "$error" "add state" "the kernel error names the refused operation"
st_assert_contains "$error" "spi 0x3000000" "the kernel error names the TEK"
has_policy "src 10.1.0.0/16 dst 0.0.0.0/0 dev $GM_IF" "dir out action block" || st_fail "fail-closed blocks went away without SAs"
human=$("$GDOICTL" --socket "$ST_SOCKET" status)
st_assert_contains "$human" "kernel error: " "gdoictl status shows the kernel error"
st_pass "registered; the SA the kernel refused is reported ($error); fail-closed stays"

# ---- what gdoid wants in the kernel, as the operator reads it; a re-registration on request
objects=$("$GDOICTL" --socket "$ST_SOCKET" kernel lab)
st_assert_contains "$objects" "# ACL entry 1 TEK 0x30000001 inbound anchor" "gdoictl kernel names each state's role"
st_assert_contains "$objects" "dst 100.127.255.1 proto esp spi 0x30000001" "gdoictl kernel shows the inbound anchor state"
st_assert_not_contains "$objects" "$ST_PSK" "gdoictl kernel shows no secret"
st_run out code "$GDOICTL" --socket "$ST_SOCKET" kernel nosuchgroup
[ "$code" != 0 ] || st_fail "gdoictl kernel nosuchgroup succeeded"
st_assert_contains "$out" "no group named \`nosuchgroup\` is configured" "unknown group refused by name"
"$GDOICTL" --socket "$ST_SOCKET" re-register lab >/dev/null || st_fail "gdoictl re-register failed"
wait_for_kernel "g['state'] == 'registered' and g['counters']['registrations'] == 2" 30 "registered again on request"
st_pass "gdoictl kernel shows the objects with their roles; gdoictl re-register registers again"

# ---- WAN interface down: SAs cleared, registration stops, fail-closed stays; up: registers again
ip -n "$GM_NS" link set "$GM_IF" down
wait_for_kernel "g['state'] == 'interface-down' and g['teks'] == [] and k['fail_closed']" 20 \
    "interface-down with the keys cleared and fail-closed in force"
has_policy "src 10.1.0.0/16 dst 0.0.0.0/0 dev $GM_IF" "dir out action block" || st_fail "fail-closed lost while the WAN is down"
st_wait_for_log "WAN interface $GM_IF is down: clearing the group's SAs and stopping registration" 10
ip -n "$GM_NS" link set "$GM_IF" up
wait_for_kernel "g['state'] == 'registered' and g['counters']['registrations'] == 3" 30 "registered again after the WAN came back"
st_pass "WAN down: keys cleared, registration stopped, fail-closed kept; WAN up: registered again"

# ---- stop: gdoid's objects go, the operator's stay
st_stop_gdoid
st_assert_eq 0 "$ST_GDOID_STATUS" "gdoid exit status"
left=$(policies)
st_assert_contains "$left" "src 10.50.0.0/16 dst 10.60.0.0/16" "the foreign policy survived"
st_assert_eq 1 "$(grep -c '^src' <<<"$left")" "policies left after gdoid stopped (only the foreign one): $left"
st_assert_not_contains "$(ip -n "$GM_NS" addr show dev lo)" "100.127.255.1" "anchor address removed"
filters=$(tc -n "$GM_NS" filter show dev "$GM_IF" ingress; tc -n "$GM_NS" filter show dev "$LAN_IF" ingress)
st_assert_not_contains "$filters" "gdoid_" "datapath filters removed"
st_pass "stopped: gdoid's policies, filters and anchor address are gone; the foreign policy stays"
