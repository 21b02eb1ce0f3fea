#!/usr/bin/env bash
# match-direction on the wire (issue 15, item 5), with both members in one lab and changed by
# `gdoictl reload` (the group keeps its keys):
#   1. gm-a `input`, gm-b `output` (a site being brought in: gm-a decrypts but sends clear
#      text; gm-b encrypts and does not require ESP): echoes host-a1 -> host-b1 and host-b2 ->
#      host-a2 all answered; on the core everything from LAN a is clear text, everything from
#      LAN b is ESP that decrypts with the hosts' addresses as outer addresses.
#   2. swapped (gm-a `output`, gm-b `input`): the reverse, on the wire.
#   3. both `both` (the default): every packet between the LANs is ESP.
# In each step `gdoictl status --json` shows the direction and the kernel objects installed,
# gm-a's states match the direction (no outbound state with `input`, no inbound with `output`).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib/topology.sh"
. "$here/lib/static-esp.sh" # xfrm_stat_check
. "$here/lib/gdoi-lab.sh"
GLAB_DATAPATH_KEYS=yes
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }
command -v tshark >/dev/null || { echo "FAIL: tshark is needed"; exit 1; }

lab_up
glab_ks_start ks1
glab_member_config gm-a
glab_member_config gm-b
glab_member_set gm-a match-direction '"input"'
glab_member_set gm-b match-direction '"output"'
glab_member_start gm-a && glab_member_start gm-b &&
    glab_wait_registered gm-a && glab_wait_registered gm-b ||
    { echo "FAIL: the members did not register (logs in $GLAB_LOGS)"; exit 1; }
ok "gm-a (match-direction input) and gm-b (output) registered"

# wait_direction GM DIRECTION: until the status shows DIRECTION with the kernel objects installed
wait_direction() {
    local gm=$1 want=$2 deadline=$((SECONDS + 30)) json=""
    while ((SECONDS < deadline)); do
        json=$(glab_status "$gm" 2>/dev/null) || json=""
        glab_json_check "
g = j['result']['groups'][0]
assert g['match_direction'] == '$want' and g['kernel']['state'] == 'installed' and g['state'] == 'registered'
" <<<"$json" 2>/dev/null && { ok "$gm gdoictl status --json: match_direction $want, registered, kernel installed"; return 0; }
        sleep 0.5
    done
    fail "$gm status never showed match_direction $want installed: $json"
}

# step NAME DIR_A DIR_B: traffic both ways, the core capture decrypted, checked per direction
step() {
    local name=$1 dir_a=$2 dir_b=$3 pcap=$GLAB_LOGS/$1.pcap
    wait_direction gm-a "$dir_a"
    wait_direction gm-b "$dir_b"
    local out_states in_states
    out_states=$(lab_exec gm-a ip xfrm state list | grep -c "^src $LAB_GMA_WAN dst $GLAB_ANCHOR_REMOTE" || true)
    in_states=$(lab_exec gm-a ip xfrm state list | grep -c "dst $GLAB_ANCHOR_INBOUND\$" || true)
    local want_out=1 want_in=1
    [ "$dir_a" = input ] && want_out=0
    [ "$dir_a" = output ] && want_in=0
    (((out_states > 0) == want_out && (in_states > 0) == want_in)) &&
        ok "$name: gm-a ($dir_a) has $out_states outbound and $in_states inbound state(s)" ||
        fail "$name: gm-a ($dir_a) has $out_states outbound and $in_states inbound states, want $([ $want_out = 1 ] && echo some || echo none) and $([ $want_in = 1 ] && echo some || echo none)"
    LAB_SNAPLEN=2000 lab_capture core to-gma "$pcap" "net 10.0.0.0/8"
    local p1 p2
    p1=$(lab_exec host-a1 ping -n -c 3 -i 0.2 -W 3 "$LAB_HOST_B1" 2>&1 | grep -o '[0-9]* received' || true)
    p2=$(lab_exec host-b2 ping -n -c 3 -i 0.2 -W 3 "$LAB_HOST_A2" 2>&1 | grep -o '[0-9]* received' || true)
    lab_capture_stop
    [ "$p1 $p2" = "3 received 3 received" ] &&
        ok "$name: echoes host-a1 -> host-b1 and host-b2 -> host-a2 all answered" ||
        fail "$name: host-a1 -> host-b1 '$p1', host-b2 -> host-a2 '$p2' (want 3 of 3 each)"
    said=$(lab_capture_complete "$pcap") && ok "$said" || fail "$said"
    local report esp clear problems
    report=$(glab_wire_flows "$pcap" gm-a gm-b)
    echo "$report" | grep -v '^SUMMARY' | sed "s/^/  $name: /"
    read -r _ esp clear problems <<<"$(grep '^SUMMARY' <<<"$report")"
    [ "$problems" = 0 ] && ok "$name: every ESP packet ($esp) decrypted, ICV good, outer addresses = inner" ||
        fail "$name: $problems problem(s) in the decrypted capture ($pcap)"
    # From LAN a, gm-a encrypts unless it is `input`; from LAN b, gm-b unless it is `input`.
    local from_a=esp from_b=esp flow kind
    [ "$dir_a" = input ] && from_a=clear
    [ "$dir_b" = input ] && from_b=clear
    for flow in "icmp $LAB_HOST_A1 > $LAB_HOST_B1" "icmp $LAB_HOST_A2 > $LAB_HOST_B2" \
        "icmp $LAB_HOST_B1 > $LAB_HOST_A1" "icmp $LAB_HOST_B2 > $LAB_HOST_A2"; do
        kind=$from_b
        [[ $flow == "icmp 10.1."* ]] && kind=$from_a
        local other=esp
        [ "$kind" = esp ] && other=clear
        grep -q "^   3 x $kind $flow\$" <<<"$report" && ! grep -q "x $other $flow\$" <<<"$report" &&
            ok "$name: $flow: 3 packets, all $kind" || fail "$name: $flow is not 3 packets all $kind"
    done
}

step input-output input output
glab_member_set gm-a match-direction '"output"'
glab_member_set gm-b match-direction '"input"'
glab_ctl gm-a reload >"$GLAB_LOGS/reload.txt" && glab_ctl gm-b reload >>"$GLAB_LOGS/reload.txt" &&
    ok "gdoictl reload: $(tr '\n' ' ' <"$GLAB_LOGS/reload.txt")" || fail "reload refused: $(cat "$GLAB_LOGS/reload.txt")"
step output-input output input
glab_member_set gm-a match-direction '"both"'
glab_member_set gm-b match-direction '"both"'
glab_ctl gm-a reload >/dev/null && glab_ctl gm-b reload >/dev/null || fail "reload to both refused"
step both both both
registrations=$(glab_status gm-a | glab_json "j['result']['groups'][0]['counters']['registrations']")
[ "$registrations" = 1 ] && ok "gm-a registered once: the reloads changed only the kernel objects" ||
    fail "gm-a registered $registrations times"
xfrm_stat_check gm-a gm-b
if ((failures)); then
    echo "$failures check(s) failed; captures and logs in $GLAB_LOGS"
    exit 1
fi
echo "match-direction: input, output and both shown on the wire with both members"
