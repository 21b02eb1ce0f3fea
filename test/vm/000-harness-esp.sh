#!/usr/bin/env bash
# The kernel ESP path with no daemon: in the lab, gm-a and gm-b get hand-made states with the
# same SPI and key (two SAs: AES-GCM and AES-CBC + HMAC-SHA256) and tunnel policies; hosts ping
# across both ways. Asserts what an operator would check: replies come back; the WAN capture
# on core holds only ESP between the members' WAN addresses, with exactly the expected number
# of packets per SPI and no cleartext ICMP (a control capture first shows that it would see
# cleartext); every state's packet counter moved by the expected amount; /proc/net/xfrm_stat
# has no error on either member.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib/topology.sh"
. "$here/lib/static-esp.sh"
scratch=${GDOID_VM_SCRATCH:-$(mktemp -d)}
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }

lab_up
echo "lab is up"

# Control: without IPsec the same capture point sees the ICMP in clear.
lab_capture core to-gma "$scratch/clear.pcap" ip
lab_ping host-a1 "$LAB_HOST_B1" 2 >/dev/null || fail "plain ping host-a1 -> host-b1 failed"
lab_capture_stop
n=$(tcpdump -r "$scratch/clear.pcap" -n icmp 2>/dev/null | wc -l)
if [ "$n" = 4 ]; then ok "control capture sees 4 cleartext ICMP packets"; else fail "control capture saw $n ICMP packets, expected 4"; fi

esp_static_up
echo "states and policies installed on gm-a and gm-b:"
lab_exec gm-a ip xfrm state | grep -E '^src|proto esp' | sed 's/^/    gm-a: /'

lab_capture core to-gma "$scratch/wan.pcap" ip
declare -A sent=([a1b1]=5 [b1a1]=5 [a2b2]=4 [b2a2]=3)
ping_pair() {
    local from=$1 to=$2 count=$3 out
    if out=$(lab_ping "$from" "$to" "$count"); then
        if grep -q " $count received" <<<"$out"; then ok "$from -> $to: $count/$count echoes answered"
        else fail "$from -> $to lost replies: $(grep 'packets transmitted' <<<"$out")"; fi
    else
        fail "$from -> $to: ping failed: $(grep 'packets transmitted' <<<"$out")"
    fi
}
ping_pair host-a1 "$LAB_HOST_B1" "${sent[a1b1]}"
ping_pair host-b1 "$LAB_HOST_A1" "${sent[b1a1]}"
ping_pair host-a2 "$LAB_HOST_B2" "${sent[a2b2]}"
ping_pair host-b2 "$LAB_HOST_A2" "${sent[b2a2]}"
lab_capture_stop

echo "first packets on the WAN (core, to-gma):"
tcpdump -r "$scratch/wan.pcap" -n -c 4 2>/dev/null | sed 's/^/    /'
total=$(tcpdump -r "$scratch/wan.pcap" -n 2>/dev/null | wc -l)
icmp=$(tcpdump -r "$scratch/wan.pcap" -n icmp 2>/dev/null | wc -l)
not_member_esp=$(tcpdump -r "$scratch/wan.pcap" -n \
    "not (esp and host $LAB_GMA_WAN and host $LAB_GMB_WAN)" 2>/dev/null | wc -l)
gcm=$(tcpdump -r "$scratch/wan.pcap" -n esp 2>/dev/null | grep -c "spi=$ESP_SPI_GCM," || true)
cbc=$(tcpdump -r "$scratch/wan.pcap" -n esp 2>/dev/null | grep -c "spi=$ESP_SPI_CBC," || true)
want_gcm=$((2 * (sent[a1b1] + sent[b1a1]))) want_cbc=$((2 * (sent[a2b2] + sent[b2a2])))
[ "$icmp" = 0 ] && ok "no cleartext ICMP on the WAN" || fail "$icmp cleartext ICMP packets on the WAN"
[ "$not_member_esp" = 0 ] && ok "all $total IPv4 packets on the WAN are ESP between $LAB_GMA_WAN and $LAB_GMB_WAN" ||
    fail "$not_member_esp of $total WAN packets are not ESP between the members"
[ "$gcm" = "$want_gcm" ] && ok "$gcm ESP packets with SPI $ESP_SPI_GCM (AES-GCM)" ||
    fail "$gcm ESP packets with SPI $ESP_SPI_GCM, expected $want_gcm"
[ "$cbc" = "$want_cbc" ] && ok "$cbc ESP packets with SPI $ESP_SPI_CBC (AES-CBC + HMAC-SHA256)" ||
    fail "$cbc ESP packets with SPI $ESP_SPI_CBC, expected $want_cbc"

# Counters: each direction's state on each member carried one packet per echo request or reply.
check_counter() {
    local node=$1 src=$2 dst=$3 spi=$4 want=$5 got
    got=$(esp_state_packets "$node" "$src" "$dst" "$spi") || { fail "$node: no state $src -> $dst spi $spi"; return; }
    if [ "$got" = "$want" ]; then ok "$node state $src -> $dst spi $spi: $got packets"
    else fail "$node state $src -> $dst spi $spi counted $got packets, expected $want"; fi
}
for node in gm-a gm-b; do
    check_counter "$node" "$LAB_GMA_WAN" "$LAB_GMB_WAN" "$ESP_SPI_GCM" $((sent[a1b1] + sent[b1a1]))
    check_counter "$node" "$LAB_GMB_WAN" "$LAB_GMA_WAN" "$ESP_SPI_GCM" $((sent[a1b1] + sent[b1a1]))
    check_counter "$node" "$LAB_GMA_WAN" "$LAB_GMB_WAN" "$ESP_SPI_CBC" $((sent[a2b2] + sent[b2a2]))
    check_counter "$node" "$LAB_GMB_WAN" "$LAB_GMA_WAN" "$ESP_SPI_CBC" $((sent[a2b2] + sent[b2a2]))
    xfrm_stat_check "$node"
done

if ((failures)); then
    echo "$failures check(s) failed; captures in $scratch"
    exit 1
fi
echo "kernel ESP path works: $total packets on the WAN, all ESP"
