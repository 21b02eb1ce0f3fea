#!/usr/bin/env bash
# Fail-closed, partial fail-open and interface down/up, on the wire. Both members configure one
# fail-open rule (Juniper's partial fail-open), host-a2 <-> host-b2, and the key server is silent
# when they start. Asserts:
#   - while no server answers and no member has keys: host-a1 -> host-b1 (covered by the
#     group, no rule) is dropped, nothing of it reaches the core, neither clear text nor ESP
#     (fail-closed); host-a2 <-> host-b2 passes in clear text (the rule); host-a2 -> host-b1
#     (not in the rule) is dropped;
#   - the server answers again: both members register, the fail-open rule stops at once:
#     host-a2 <-> host-b2 now crosses the core only as ESP, with the hosts' addresses;
#   - gm-a's WAN interface goes down: gm-a clears the group's SAs (no ESP state left), reports
#     interface-down, and keeps fail-closed; it comes back up: gm-a registers by itself and
#     traffic flows encrypted again;
#   - /proc/net/xfrm_stat counts exactly the fail-closed drops (XfrmOutPolBlock) and nothing else.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib/topology.sh"
. "$here/lib/static-esp.sh" # xfrm_stat_errors, xfrm_stat_check
. "$here/lib/gdoi-lab.sh"
GLAB_DATAPATH_KEYS=yes
GLAB_MEMBER_EXTRA="
[[group.fail-open]]
name = \"monitoring\"
source = \"$LAB_HOST_A2/32\"
destination = \"$LAB_HOST_B2/32\""
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }
group_json() { glab_status "$1" | glab_json "j['result']['groups'][0]$2"; }
esp_states() { lab_exec "$1" ip xfrm state | grep -c 'proto esp' || true; }
# wait_group NODE PYTHON-CONDITION-over-g SECONDS (a deadline: each check costs ~1 s under TCG)
wait_group() {
    local deadline=$((SECONDS + $3))
    while ((SECONDS < deadline)); do
        glab_status "$1" 2>/dev/null | python3 -c "import json, sys
g = json.load(sys.stdin)['result']['groups'][0]
sys.exit(0 if ($2) else 1)" && return 0
        sleep 0.25
    done
    return 1
}
# pings FROM DST COUNT: how many echoes came back
pings() { { lab_ping "$1" "$2" "$3" 2>/dev/null || true; } | sed -n 's/.* \([0-9]*\) received.*/\1/p'; }
pcap_count() { { tcpdump -r "$1" -n "$2" 2>/dev/null || true; } | wc -l; }

lab_up
glab_ks_start ks1
glab_ks_command silent ks1 >/dev/null
for gm in gm-a gm-b; do glab_member_config "$gm" && glab_member_start "$gm"; done

# ---------------------------------------------------------------- no server, no keys
# ks1: first try + 1 retry, 3 s apart, then the round has failed and the rule applies.
for gm in gm-a gm-b; do
    # (the state says "registering" again as soon as the next round starts; the rule stays)
    wait_group "$gm" "g['kernel']['fail_open'] and g['kernel']['fail_closed'] and g['counters']['registrations'] == 0" 60 ||
        fail "$gm: no failed round with fail-open: $(glab_status "$gm")"
done
ok "both members: no key server answered, fail-closed with the fail-open rule in force"

lab_capture core to-gma "$GLAB_LOGS/silent.pcap"
n_closed=$(pings host-a1 "$LAB_HOST_B1" 5)
n_open=$(pings host-a2 "$LAB_HOST_B2" 5)
n_other=$(pings host-a2 "$LAB_HOST_B1" 3)
lab_capture_stop
pcap=$GLAB_LOGS/silent.pcap
[ "$n_closed" = 0 ] && [ "$(pcap_count "$pcap" "host $LAB_HOST_A1")" = 0 ] &&
    ok "fail-closed: host-a1 -> host-b1 dropped at gm-a, nothing of it on the core" ||
    fail "fail-closed: $n_closed/5 echoes host-a1 -> host-b1, $(pcap_count "$pcap" "host $LAB_HOST_A1") packets on the core"
clear_open=$(pcap_count "$pcap" "icmp and host $LAB_HOST_A2 and host $LAB_HOST_B2")
[ "$n_open" = 5 ] && [ "$clear_open" = 10 ] &&
    ok "fail-open: host-a2 <-> host-b2 passes in clear text (5/5 echoes, 10 ICMP packets on the core)" ||
    fail "fail-open: $n_open/5 echoes host-a2 -> host-b2, $clear_open clear ICMP packets on the core (want 10)"
[ "$n_other" = 0 ] && [ "$(pcap_count "$pcap" "host $LAB_HOST_A2 and host $LAB_HOST_B1")" = 0 ] &&
    ok "fail-open passes only the rule's traffic: host-a2 -> host-b1 dropped" ||
    fail "host-a2 -> host-b1 outside the rule: $n_other/3 echoes"
[ "$(pcap_count "$pcap" esp)" = 0 ] || fail "ESP on the core although no member has keys"

# ---------------------------------------------------------------- the server answers again
glab_ks_command come-back ks1 >/dev/null
glab_wait_registered gm-a 90 && glab_wait_registered gm-b 90 ||
    fail "the members did not register once ks1 answered again"
for gm in gm-a gm-b; do
    wait_group "$gm" "not g['kernel']['fail_open'] and not g['kernel']['fail_closed'] and g['kernel']['states'] >= 4" 30 ||
        fail "$gm: kernel after registration: $(group_json "$gm" "['kernel']")"
done
lab_capture core to-gma "$GLAB_LOGS/registered.pcap"
n_open=$(pings host-a2 "$LAB_HOST_B2" 5)
n_closed=$(pings host-a1 "$LAB_HOST_B1" 5)
lab_capture_stop
pcap=$GLAB_LOGS/registered.pcap
clear=$(pcap_count "$pcap" "icmp")
esp_a2=$(pcap_count "$pcap" "esp and host $LAB_HOST_A2 and host $LAB_HOST_B2")
[ "$n_open" = 5 ] && [ "$clear" = 0 ] && [ "$esp_a2" = 10 ] &&
    ok "keys arrived: the fail-open rule stopped, host-a2 <-> host-b2 crosses the core as 10 ESP packets with the hosts' addresses, no clear text" ||
    fail "after registration: $n_open/5 echoes host-a2 -> host-b2, $clear clear ICMP, $esp_a2 ESP packets a2<->b2 (want 5, 0, 10)"
[ "$n_closed" = 5 ] && ok "host-a1 -> host-b1 flows encrypted (5/5)" || fail "host-a1 -> host-b1 after registration: $n_closed/5"

# ---------------------------------------------------------------- WAN interface down and up
states_before=$(esp_states gm-a)
lab_exec gm-a ip link set wan0 down
wait_group gm-a "g['state'] == 'interface-down'" 20 || fail "gm-a does not report interface-down: $(group_json gm-a "['state']")"
deadline=$((SECONDS + 10))
while ((SECONDS < deadline)) && [ "$(esp_states gm-a)" != 0 ]; do sleep 0.25; done
closed=$(group_json gm-a "['kernel']['fail_closed']")
[ "$(esp_states gm-a)" = 0 ] && [ "$closed" = true ] &&
    ok "wan0 down: gm-a cleared its $states_before ESP states and stays fail-closed" ||
    fail "wan0 down: gm-a still has $(esp_states gm-a) ESP states, fail_closed $closed"
lab_exec gm-a ip link set wan0 up
lab_exec gm-a ip route replace default via "$LAB_CORE_A" # the link going down took the route
glab_wait_registered gm-a 90 || fail "gm-a did not register after wan0 came back"
wait_group gm-a "g['kernel']['states'] >= 4 and not g['kernel']['fail_closed']" 30 ||
    fail "gm-a kernel after wan0 up: $(group_json gm-a "['kernel']")"
n=$(pings host-a1 "$LAB_HOST_B1" 5)
[ "$n" = 5 ] && ok "wan0 up: gm-a registered again by itself, host-a1 -> host-b1 flows (5/5)" ||
    fail "after wan0 up: $n/5 echoes host-a1 -> host-b1"

# The fail-closed drops are the only errors the kernel counts: 5 echoes host-a1 -> host-b1 and
# 3 host-a2 -> host-b1 met gm-a's block policies (XfrmOutPolBlock), nothing else anywhere.
errors=$(xfrm_stat_errors gm-a | tr -s ' \t' ' ' | tr '\n' ' ')
[ "$errors" = "XfrmOutPolBlock 8 " ] &&
    ok "gm-a /proc/net/xfrm_stat: only the 8 fail-closed drops (XfrmOutPolBlock 8)" ||
    fail "gm-a /proc/net/xfrm_stat: '$errors' (want only XfrmOutPolBlock 8)"
xfrm_stat_check gm-b
if ((failures)); then
    echo "$failures check(s) failed; captures and logs in $GLAB_LOGS"
    exit 1
fi
echo "fail modes: fail-closed dropped, fail-open passed exactly its rule while the server was silent, stopped with keys; wan0 down cleared SAs, up re-registered"
