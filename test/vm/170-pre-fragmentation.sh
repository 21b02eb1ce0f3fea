#!/usr/bin/env bash
# Fragmentation and the DF bit across the group (issue 15, scenario 7), with a core MTU smaller
# than the LANs': both members' WAN links are 1400 octets, the LANs 1500. No tcp-mss clamp, so
# TCP has to find the path MTU itself. Asserts:
#   - IPv4, DF set: an echo of 1400 octets from host-a1 gets ICMP "fragmentation needed" from
#     gm-a with the tunnel's MTU: 1400 minus the ESP overhead of the TEK's algorithms (read from
#     the kernel's state: IV, block size, ICV; computed here as xfrm_state_mtu() does);
#     host-a1 caches that path MTU; gdoictl status counts the refusal (ipv4_frag_needed, the
#     kernel's Ip FragFails);
#   - PMTU discovery works across the group: 20000 octets of TCP host-a2 -> host-b1 arrive,
#     host-a2 learned the same MTU, no TCP segment crossed the core as outer fragments;
#   - df-bit on the outer header, decrypted core capture (keys from the kernel, ICVs checked):
#     gm-a "set": outer DF 1 on forwarded echoes with inner DF 1 and 0 and on gm-a's own echoes
#     (router-originated, per-destination states) with inner DF 0, counted by the datapath
#     (out_df_set); gm-b "copy": outer DF = inner DF, forwarded and router-originated; after
#     `gdoictl reload` with gm-a "clear": outer DF 0 on forwarded and router-originated echoes
#     with inner DF 1;
#   - IPv4 pre-fragmentation (both members `pre-fragmentation = true`): gm-a's XFRM interface
#     gdoi-pf0 has the tunnel's MTU and its routing rules are in place; DF-clear 1428-octet
#     echoes host-a1 -> host-b2 and their replies are fragmented before encryption: on the core
#     no outer fragment, and each ESP packet decrypts (ICV good, outer = inner addresses) to
#     one inner fragment, two per echo each way; all answered; gm-a's datapath counts 2
#     packets marked (lan_pre_fragment) and 4 ESP packets restored (out_pre_fragmented);
#     gdoictl status names the interface and its MTU; someone deletes gdoi-pf0 (`ip link del`):
#     gm-a creates it again at once (a new index, the log says so), the interface-scoped
#     policies follow the new index, and the next two oversize echoes are fragmented before
#     encryption again (2 more marked, 4 more restored, answered); a stopped gdoid removes both;
#   - IPv6 (a second group, IPv6, added by SIGHUP with ks2): 1450-octet datagrams from host-a2
#     get Packet Too Big from gm-a, the last one naming the tunnel's IPv6 MTU (gdoictl's
#     ipv6_packet_too_big counts exactly those seen on lan0); host-a2 fragments the next copy,
#     each fragment crosses as an ESP packet of its own (no outer fragment on the core) and
#     host-b1 reassembles it; gm-a's own 1450-octet datagrams are fragmented by gm-a before
#     encryption (ipv6_fragments_created), each fragment its own ESP packet, and arrive; no
#     clear text on the core (gm-a's own IPv6 traffic left in clear text before this scenario);
#   - /proc/net/xfrm_stat clean but for XfrmOutNoStates (router flows) and, on gm-a, at most one
#     XfrmOutStateModeError per Packet Too Big; datapath unrestored 0.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib/topology.sh"
. "$here/lib/static-esp.sh" # xfrm_stat_errors
. "$here/lib/gdoi-lab.sh"
GLAB_DATAPATH_KEYS=yes
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }
command -v tshark >/dev/null || { echo "FAIL: tshark is needed"; exit 1; }
started=$SECONDS
WAN_MTU=1400

lab_up
lab_add_ipv6 || { echo "FAIL: the lab has no IPv6 path between the LANs"; exit 1; }
lab_set_mtu gm-a wan0 $WAN_MTU
lab_set_mtu gm-b wan0 $WAN_MTU
glab_ks_start ks1
glab_member_config gm-a
glab_member_config gm-b
sed -i '/^retry = /a df-bit = "set"' "${GLAB_CONFIG[gm-a]}"
sed -i '/^retry = /a df-bit = "copy"' "${GLAB_CONFIG[gm-b]}"
sed -i '/^retry = /a pre-fragmentation = true' "${GLAB_CONFIG[gm-a]}" "${GLAB_CONFIG[gm-b]}"
cp "${GLAB_CONFIG[gm-a]}" "$GLAB_LOGS/gm-a.gdoid.conf"
cp "${GLAB_CONFIG[gm-b]}" "$GLAB_LOGS/gm-b.gdoid.conf"
glab_member_start gm-a && glab_member_start gm-b &&
    glab_wait_registered gm-a && glab_wait_registered gm-b ||
    { echo "FAIL: the members did not register (logs in $GLAB_LOGS)"; exit 1; }
ok "gm-a (df-bit set) and gm-b (df-bit copy) registered; WAN links $WAN_MTU octets, LANs $LAB_MTU"

# frag_counter GM NAME: one of gdoictl status's kernel fragmentation counters
frag_counter() { glab_status "$1" | glab_json "j['result']['fragmentation']['counters']['$2']"; }
# tunnel_mtu GM FAMILY DST SPI: the inner MTU the outbound TEK leaves on a $WAN_MTU link, from the
# algorithms of GM's outbound state as the kernel holds them (xfrm_state_mtu(), tunnel mode)
tunnel_mtu() {
    lab_exec "$1" ip xfrm state list dst "$3" proto esp spi "$4" | python3 -c '
import re, sys
text, family, link = sys.stdin.read(), sys.argv[1], int(sys.argv[2])
outer = 20 if family == "4" else 40
if re.search(r"aead rfc4106\(gcm\(aes\)\) \S+ (\d+)", text):
    iv, block, icv = 8, 4, int(re.search(r"aead rfc4106\(gcm\(aes\)\) \S+ (\d+)", text).group(1)) // 8
else:
    enc = re.search(r"enc (\S+)", text).group(1)
    iv, block = {"cbc(aes)": (16, 16), "cbc(des3_ede)": (8, 8), "ecb(cipher_null)": (0, 4)}[enc]
    icv = int(re.search(r"auth-trunc \S+ \S+ (\d+)", text).group(1)) // 8
print(((link - outer - 8 - iv - icv) & ~(block - 1)) - 2)' "$2" "$WAN_MTU"
}
expected_mtu=$(tunnel_mtu gm-a 4 "$GLAB_ANCHOR_REMOTE" "$GLAB_TEK_SPI_AB")
# tek_inner_mtu GM SPI: the inner MTU gdoictl status names for the TEK
tek_inner_mtu() {
    glab_status "$1" | glab_json "[t['inner_mtu'] for g in j['result']['groups'] for t in g['teks'] if int(t['spi'], 16) == $2][0]"
}
said_mtu=$(tek_inner_mtu gm-a "$GLAB_TEK_SPI_AB" 2>&1 || true)
[ "$said_mtu" = "$expected_mtu" ] && [ -n "$expected_mtu" ] &&
    ok "gdoictl status: TEK $GLAB_TEK_SPI_AB (aes-256-cbc/hmac-sha256) leaves an inner MTU of $said_mtu on the $WAN_MTU-octet WAN, as the kernel's state computes" ||
    fail "gdoictl status names inner MTU '$said_mtu' for TEK $GLAB_TEK_SPI_AB, the kernel's state gives '$expected_mtu'"

# ---------------------------------------------------------------- IPv4 DF set: PMTU discovery
refused_before=$(frag_counter gm-a ipv4_frag_needed)
out=$(lab_exec host-a1 ping -n -c 1 -W 3 -M "do" -s 1372 "$LAB_HOST_B1" 2>&1 || true)
said_mtu=$(grep -o 'mtu = [0-9]*' <<<"$out" | awk '{ print $3 }' | head -n 1)
cached=$(lab_exec host-a1 ip route get "$LAB_HOST_B1" | grep -o 'mtu [0-9]*' | awk '{ print $2 }' || true)
refused=$(($(frag_counter gm-a ipv4_frag_needed) - refused_before))
[ "$said_mtu" = "$expected_mtu" ] && [ "$cached" = "$expected_mtu" ] && [ "$refused" = 1 ] &&
    ok "DF-set 1400-octet echo: gm-a answered \"fragmentation needed\" with mtu $said_mtu (= $WAN_MTU minus the TEK's ESP overhead), host-a1 caches it, gdoictl counts 1 refusal" ||
    fail "DF-set echo: ping said mtu '$said_mtu', host-a1 caches '$cached' (want $expected_mtu), gdoictl counted $refused refusals (want 1): $(tr '\n' ' ' <<<"$out")"

LAB_SNAPLEN=2000 lab_capture core to-gma "$GLAB_LOGS/pmtu.pcap" "net $LAB_LAN_A or net $LAB_LAN_B"
glab_tcp_sink host-b1
sleep 2 # the listener starts slowly under emulation
refused_before=$(frag_counter gm-a ipv4_frag_needed)
tcp_reply=$(glab_tcp_send host-a2 "$LAB_HOST_B1") || true
refused=$(($(frag_counter gm-a ipv4_frag_needed) - refused_before))
lab_capture_stop
cached=$(lab_exec host-a2 ip route get "$LAB_HOST_B1" | grep -o 'mtu [0-9]*' | awk '{ print $2 }' || true)
outer_fragments=$(tcpdump -r "$GLAB_LOGS/pmtu.pcap" -n "src host $LAB_HOST_A2 and (ip[6:2] & 0x3fff != 0)" 2>/dev/null | wc -l)
[ "$tcp_reply" = 20000 ] && [ "$cached" = "$expected_mtu" ] && ((refused >= 1)) && [ "$outer_fragments" = 0 ] &&
    ok "PMTU discovery: 20000 octets of TCP host-a2 -> host-b1 arrived after $refused \"fragmentation needed\"; host-a2 learned mtu $cached; no outer fragment on the core" ||
    fail "PMTU discovery: TCP reply '$tcp_reply' (want 20000), host-a2 caches mtu '$cached' (want $expected_mtu), $refused refusals, $outer_fragments outer fragments"

# ---------------------------------------------------------------- df-bit on the outer header
# decrypt PCAP: one line per ESP packet "sender inner-source outer-df inner-df icv-good", the
# sender "gm-a" or "gm-b" by the inner source's LAN; "bad ..." for one that did not decrypt
decrypt_df() {
    local pcap=$1 sa_opts=() record
    while read -r record; do sa_opts+=(-o "$record"); done < <(GLAB_FAMILY=4 glab_esp_sa_records gm-a)
    ((${#sa_opts[@]} == 4)) || { echo "bad keys: ${#sa_opts[@]} records from gm-a's states"; return 0; }
    tshark -r "$pcap" -n -o esp.enable_encryption_decode:TRUE -o esp.enable_authentication_check:TRUE \
        "${sa_opts[@]}" -Y "esp and ip.src != $LAB_GMA_WAN and ip.src != $LAB_GMB_WAN" -T fields \
        -E occurrence=a -E aggregator='|' -e frame.number -e ip.src -e ip.dst -e ip.flags.df \
        -e ip.flags.mf -e ip.frag_offset -e esp.icv_good -e icmp.type 2>>"$GLAB_LOGS/tshark.log" |
        python3 -c '
import ipaddress, sys
lan_a, routers = ipaddress.ip_network(sys.argv[1]), set(sys.argv[2:])
flag = lambda v: 1 if v in ("1", "True", "true") else 0
for line in sys.stdin:
    f = line.rstrip("\n").split("\t") + [""] * 8
    frame, src, dst, df, mf, off, icv = f[:7]
    src, dst, df, mf, off = (x.split("|") for x in (src, dst, df, mf, off))
    if flag(mf[0]) or off[0] not in ("", "0"):
        print("outer-fragment", frame, src[0], dst[0]); continue
    if len(src) < 2 or flag(icv) != 1 or (src[0], dst[0]) != (src[1], dst[1]):
        print("bad", frame, "|".join(src), "|".join(dst), icv); continue
    sender = "gm-a" if ipaddress.ip_address(src[1]) in lan_a else "gm-b"
    origin = "router" if src[1] in routers else "forwarded"
    print(sender, origin, f"outer-df={flag(df[0])}", f"inner-df={flag(df[1])}", src[1], dst[1])
' "$LAB_LAN_A" "$LAB_GMA_LAN" "$LAB_GMB_LAN"
}
# traffic for the df-bit checks: forwarded and router-originated echoes, inner DF 1 (-M do)
# and 0 (-M dont), both ways. A router's first echo to a new destination may be lost while
# gdoid installs the flow's state (ACQUIRE, VM 100), hence 3 echoes and a warm-up.
df_traffic() {
    lab_exec gm-a ping -n -q -c 1 -W 2 -I "$LAB_GMA_LAN" "$LAB_HOST_B1" >/dev/null 2>&1 || true
    lab_exec gm-b ping -n -q -c 1 -W 2 -I "$LAB_GMB_LAN" "$LAB_HOST_A1" >/dev/null 2>&1 || true
    local pmtu
    for pmtu in "do" "dont"; do
        lab_exec host-a1 ping -n -q -c 2 -i 0.2 -W 2 -M "$pmtu" -s 200 "$LAB_HOST_B2" >/dev/null 2>&1 || true
        lab_exec host-b1 ping -n -q -c 2 -i 0.2 -W 2 -M "$pmtu" -s 200 "$LAB_HOST_A2" >/dev/null 2>&1 || true
        lab_exec gm-a ping -n -q -c 3 -i 0.2 -W 2 -M "$pmtu" -s 200 -I "$LAB_GMA_LAN" "$LAB_HOST_B1" >/dev/null 2>&1 || true
        lab_exec gm-b ping -n -q -c 3 -i 0.2 -W 2 -M "$pmtu" -s 200 -I "$LAB_GMB_LAN" "$LAB_HOST_A1" >/dev/null 2>&1 || true
    done
}
# expect_df REPORT SENDER ORIGIN INNER OUTER WHAT: at least one packet of that kind, every one
# with that outer DF
expect_df() {
    local report=$1 sender=$2 origin=$3 inner=$4 outer=$5 what=$6 total wrong
    total=$(grep -c "^$sender $origin outer-df=[01] inner-df=$inner " <<<"$report" || true)
    wrong=$(grep "^$sender $origin outer-df=[01] inner-df=$inner " <<<"$report" | grep -vc " outer-df=$outer " || true)
    ((total > 0)) && [ "$wrong" = 0 ] &&
        ok "$what: $total $origin packets from $sender with inner DF $inner left with outer DF $outer" ||
        fail "$what: $total $origin packets from $sender with inner DF $inner, $wrong of them without outer DF $outer"
}
check_decrypted() {
    local report=$1 what=$2 bad
    bad=$(grep -c -e '^bad' -e '^outer-fragment' <<<"$report" || true)
    [ "$bad" = 0 ] && ok "$what: $(wc -l <<<"$report") ESP packets decrypted, ICV good, outer addresses = inner, none fragmented" ||
        fail "$what: $bad packets not decrypted, not preserved or fragmented: $(grep -e '^bad' -e '^outer' <<<"$report" | head -n 3 | tr '\n' ' ')"
}

LAB_SNAPLEN=2000 lab_capture core to-gma "$GLAB_LOGS/df-set-copy.pcap" "net $LAB_LAN_A or net $LAB_LAN_B"
df_set_before=$(glab_datapath_counters gm-a out_df_set)
df_traffic
lab_capture_stop
said=$(lab_capture_complete "$GLAB_LOGS/df-set-copy.pcap") && ok "$said" || fail "$said"
report=$(decrypt_df "$GLAB_LOGS/df-set-copy.pcap")
printf '%s\n' "$report" >"$GLAB_LOGS/df-set-copy.txt"
check_decrypted "$report" "df-bit set (gm-a) / copy (gm-b)"
expect_df "$report" gm-a forwarded 1 1 "gm-a df-bit set"
expect_df "$report" gm-a forwarded 0 1 "gm-a df-bit set"
expect_df "$report" gm-a router 1 1 "gm-a df-bit set"
expect_df "$report" gm-a router 0 1 "gm-a df-bit set"
expect_df "$report" gm-b forwarded 1 1 "gm-b df-bit copy"
expect_df "$report" gm-b forwarded 0 0 "gm-b df-bit copy"
expect_df "$report" gm-b router 1 1 "gm-b df-bit copy"
expect_df "$report" gm-b router 0 0 "gm-b df-bit copy"
df_set=$(($(glab_datapath_counters gm-a out_df_set) - df_set_before))
want=$(grep -c "^gm-a [a-z]* outer-df=1 inner-df=0 " <<<"$report" || true)
# the datapath sets DF on every packet that lacked it, ours in the capture and nothing else
[ "$df_set" = "$want" ] && ((want > 0)) &&
    ok "gm-a datapath counted $df_set outer headers given DF (out_df_set), as many as the capture shows" ||
    fail "gm-a datapath out_df_set grew by $df_set, the capture shows $want packets whose DF it set"

sed -i 's/^df-bit = "set"$/df-bit = "clear"/' "${GLAB_CONFIG[gm-a]}"
cp "${GLAB_CONFIG[gm-a]}" "$GLAB_LOGS/gm-a.gdoid.conf"
reload=$(glab_ctl gm-a reload 2>&1) && ok "gm-a reloaded with df-bit clear" || fail "gdoictl reload: $reload"
deadline=$((SECONDS + 30))
until lab_exec gm-a ip xfrm state list dst "$GLAB_ANCHOR_REMOTE" | grep -q nopmtudisc || ((SECONDS >= deadline)); do sleep 0.5; done
LAB_SNAPLEN=2000 lab_capture core to-gma "$GLAB_LOGS/df-clear.pcap" "net $LAB_LAN_A or net $LAB_LAN_B"
df_traffic
lab_capture_stop
report=$(decrypt_df "$GLAB_LOGS/df-clear.pcap")
printf '%s\n' "$report" >"$GLAB_LOGS/df-clear.txt"
check_decrypted "$report" "df-bit clear (gm-a, after reload) / copy (gm-b)"
expect_df "$report" gm-a forwarded 1 0 "gm-a df-bit clear"
expect_df "$report" gm-a router 1 0 "gm-a df-bit clear"
expect_df "$report" gm-b forwarded 1 1 "gm-b df-bit copy"

# ---------------------------------------------------------------- IPv4 DF clear, oversize
# pre-fragmentation: such a packet goes through gdoid's XFRM interface, whose MTU makes the
# kernel fragment it before encryption (docs/datapath-notes.md, "Fragmentation before
# encryption"); each fragment is its own ESP packet with the original addresses.
pf_mtu=$(lab_exec gm-a cat /sys/class/net/gdoi-pf0/mtu 2>/dev/null || echo none)
pf_rules=$(lab_exec gm-a ip rule show pref 41 2>&1 | grep -c "lookup 26468" || true)
[ "$pf_mtu" = "$expected_mtu" ] && ((pf_rules >= 1)) &&
    ok "pre-fragmentation: gm-a's XFRM interface gdoi-pf0 has the tunnel's MTU $pf_mtu; $pf_rules routing rule(s) send marked packets to its table" ||
    fail "pre-fragmentation: gdoi-pf0 MTU '$pf_mtu' (want $expected_mtu), $pf_rules rules toward table 26468: $(lab_exec gm-a ip rule 2>&1 | tr '\n' ' ')"
read -r marked_before restored_before < <(glab_datapath_counters gm-a lan_pre_fragment out_pre_fragmented)
LAB_SNAPLEN=2000 lab_capture core to-gma "$GLAB_LOGS/df-clear-oversize.pcap" "net $LAB_LAN_A or net $LAB_LAN_B"
out=$(lab_exec host-a1 ping -n -c 2 -i 0.3 -W 3 -M dont -s 1400 "$LAB_HOST_B2" 2>&1 || true)
lab_capture_stop
read -r marked restored < <(glab_datapath_counters gm-a lan_pre_fragment out_pre_fragmented)
marked=$((marked - marked_before)) restored=$((restored - restored_before))
outer_fragments=$(tcpdump -r "$GLAB_LOGS/df-clear-oversize.pcap" -n "(src host $LAB_HOST_A1 or src host $LAB_HOST_B2) and (ip[6:2] & 0x3fff != 0)" 2>/dev/null | wc -l)
# per ESP packet: "inner-source fragment|whole good|bad", reassembly off so each packet's own
# inner header is read
sa_opts=()
while read -r record; do sa_opts+=(-o "$record"); done < <(GLAB_FAMILY=4 glab_esp_sa_records gm-a)
inner=$(tshark -r "$GLAB_LOGS/df-clear-oversize.pcap" -n -o ip.defragment:FALSE \
    -o esp.enable_encryption_decode:TRUE -o esp.enable_authentication_check:TRUE "${sa_opts[@]}" \
    -Y "esp" -T fields -E occurrence=a -E aggregator='|' -e ip.src -e ip.dst -e ip.flags.mf \
    -e ip.frag_offset -e esp.icv_good 2>>"$GLAB_LOGS/tshark.log" | python3 -c '
import sys
for line in sys.stdin:
    src, dst, mf, off, icv = (line.rstrip("\n").split("\t") + [""] * 5)[:5]
    src, dst, mf, off = src.split("|"), dst.split("|"), mf.split("|"), off.split("|")
    if len(src) < 2 or icv not in ("1", "True", "true") or (src[0], dst[0]) != (src[1], dst[1]):
        print("bad", "|".join(src), "|".join(dst), icv); continue
    fragment = mf[1] in ("1", "True", "true") or off[1] not in ("", "0")
    print(src[1], "fragment" if fragment else "whole")
')
printf '%s\n' "$inner" >"$GLAB_LOGS/df-clear-oversize.txt"
from_a1=$(grep -c "^$LAB_HOST_A1 fragment" <<<"$inner" || true)
from_b2=$(grep -c "^$LAB_HOST_B2 fragment" <<<"$inner" || true)
bad=$(grep -c "^bad" <<<"$inner" || true)
grep -q " 2 received" <<<"$out" && [ "$outer_fragments" = 0 ] && [ "$from_a1" = 4 ] && [ "$from_b2" = 4 ] && [ "$bad" = 0 ] &&
    ok "DF-clear 1428-octet echoes host-a1 -> host-b2: 2/2 answered; fragmented before encryption both ways: 4 ESP packets each way, each carrying one inner fragment (ICV good, outer = inner addresses), no outer fragment on the core" ||
    fail "DF-clear 1428-octet echoes: $(grep transmitted <<<"$out"); $outer_fragments outer fragments; ESP packets carrying inner fragments: $from_a1 from host-a1, $from_b2 from host-b2 (want 4 and 4), $bad not decrypted or not preserved (see df-clear-oversize.txt)"
[ "$marked" = 2 ] && [ "$restored" = 4 ] &&
    ok "gm-a datapath: $marked oversize DF-clear packets sent to the XFRM interface (lan_pre_fragment), $restored of its ESP packets restored (out_pre_fragmented)" ||
    fail "gm-a datapath: lan_pre_fragment grew by $marked (want 2), out_pre_fragmented by $restored (want 4)"
text=$(glab_ctl gm-a status 2>&1 || true)
grep -q "pre-fragmentation: gdoi-pf0, MTU $expected_mtu: [0-9]* packets fragmented before encryption" <<<"$text" &&
    ok "gdoictl status: $(grep 'pre-fragmentation:' <<<"$text" | sed 's/^ *//')" ||
    fail "gdoictl status has no pre-fragmentation line with gdoi-pf0 and MTU $expected_mtu: $(tr '\n' ' ' <<<"$text" | cut -c1-300)"

# ---------------------------------------------------------------- someone deletes gdoi-pf0
old_index=$(lab_exec gm-a cat /sys/class/net/gdoi-pf0/ifindex)
lab_exec gm-a ip link del gdoi-pf0
pf_back() {
    local index
    index=$(lab_exec gm-a cat /sys/class/net/gdoi-pf0/ifindex 2>/dev/null) && [ "$index" != "$old_index" ] &&
        grep -q "was gone and is created again" "$GLAB_LOGS/gm-a.gdoid.log" &&
        lab_exec gm-a ip xfrm policy list dir out | grep -q "dev gdoi-pf0"
}
if glab_wait_for 20 "gdoi-pf0 created again by gm-a with its policies" pf_back; then
    read -r marked_before restored_before < <(glab_datapath_counters gm-a lan_pre_fragment out_pre_fragmented)
    out=$(lab_exec host-a1 ping -n -c 2 -i 0.3 -W 3 -M dont -s 1400 "$LAB_HOST_B2" 2>&1 || true)
    read -r marked restored < <(glab_datapath_counters gm-a lan_pre_fragment out_pre_fragmented)
    marked=$((marked - marked_before)) restored=$((restored - restored_before))
    grep -q " 2 received" <<<"$out" && [ "$marked" = 2 ] && [ "$restored" = 4 ] &&
        ok "gdoi-pf0 deleted by hand: gm-a created it again (index $old_index -> $(lab_exec gm-a cat /sys/class/net/gdoi-pf0/ifindex)), its policies followed, 2/2 oversize echoes answered, fragmented before encryption again ($marked marked, $restored ESP packets restored)" ||
        fail "after gdoi-pf0 was created again: $(grep transmitted <<<"$out"); lan_pre_fragment +$marked (want 2), out_pre_fragmented +$restored (want 4)"
fi

# ---------------------------------------------------------------- IPv6: a second group
v6_group=4323
GLAB_FAMILY=6 GLAB_GROUP_ID=$v6_group GLAB_TEK_SPI_AB=0x40000001 GLAB_TEK_SPI_BA=0x40000002 glab_ks_start ks2
for gm in gm-a gm-b; do GLAB_FAMILY=6 glab_member_add_group "$gm" lab-v6 $v6_group "$LAB6_KS2"; done
v6_registered() {
    glab_status "$1" 2>/dev/null | glab_json_check "
sys.exit(0 if any(g['id'] == $v6_group and g['state'] == 'registered' for g in j['result']['groups']) else 1)" 2>/dev/null
}
for gm in gm-a gm-b; do
    deadline=$((SECONDS + 60))
    until v6_registered "$gm" || ((SECONDS >= deadline)); do sleep 0.5; done
    v6_registered "$gm" && ok "$gm: IPv6 group $v6_group registered beside the IPv4 group" ||
        fail "$gm: IPv6 group not registered: $(glab_ctl "$gm" status 2>&1 | tr '\n' ' ' | cut -c1-300)"
done
expected_mtu6=$(tunnel_mtu gm-a 6 fd00:6764:6f69::2 0x40000001)
said_mtu=$(tek_inner_mtu gm-a 0x40000001 2>&1 || true)
[ "$said_mtu" = "$expected_mtu6" ] && [ -n "$expected_mtu6" ] &&
    ok "gdoictl status: IPv6 TEK 0x40000001 leaves an inner MTU of $said_mtu (IPv6 outer header), as the kernel's state computes" ||
    fail "gdoictl status names inner MTU '$said_mtu' for IPv6 TEK 0x40000001, the kernel's state gives '$expected_mtu6'"

# udp_receiver NODE PORT COUNT: print the sizes of up to COUNT datagrams received (the first
# within 20 s, each next within 6 s)
udp_receiver() {
    lab_exec "$1" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.bind(("::", int(sys.argv[1]))); s.settimeout(20)
sizes = []
try:
    for _ in range(int(sys.argv[2])):
        data, _ = s.recvfrom(65535); sizes.append(len(data)); s.settimeout(6)
except socket.timeout:
    pass
print(" ".join(map(str, sizes)))' "$2" "$3" 2>&1
}
# udp_send NODE SOURCE DST PORT SIZE...: one datagram per SIZE, a second apart
udp_send() {
    lab_exec "$1" python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
if sys.argv[1]: s.bind((sys.argv[1], 0))
for size in sys.argv[4:]:
    s.sendto(b"f" * int(size), (sys.argv[2], int(sys.argv[3])))
    time.sleep(1)' "$2" "$3" "$4" "${@:5}"
}
LAB_SNAPLEN=2000 lab_capture core to-gma "$GLAB_LOGS/ipv6.pcap" "net $LAB6_LAN_A or net $LAB6_LAN_B"
lab_capture gm-a lan0 "$GLAB_LOGS/ipv6-too-big.pcap" "icmp6 and ip6[40] == 2"
read -r too_big_before created_before < <(glab_status gm-a |
    glab_json "'%d %d' % tuple(j['result']['fragmentation']['counters'][k] for k in ('ipv6_packet_too_big', 'ipv6_fragments_created'))")
got=$(udp_receiver host-b1 5003 1 &
    sleep 2
    udp_send host-a2 "" "$LAB6_HOST_B1" 5003 1450 1450 1450
    wait)
# the router's first packet to a new destination is lost while gdoid installs the flow's
# state (ACQUIRE): a warm-up datagram to another port
udp_send gm-a "$LAB6_GMA_LAN" "$LAB6_HOST_B1" 5009 100
got_router=$(udp_receiver host-b1 5004 2 &
    sleep 2
    udp_send gm-a "$LAB6_GMA_LAN" "$LAB6_HOST_B1" 5004 1450 1450
    wait)
lab_capture_stop
read -r too_big created < <(glab_status gm-a |
    glab_json "'%d %d' % tuple(j['result']['fragmentation']['counters'][k] for k in ('ipv6_packet_too_big', 'ipv6_fragments_created'))")
too_big=$((too_big - too_big_before)) created=$((created - created_before))
pmtu6=$(lab_exec host-a2 ip -6 route get "$LAB6_HOST_B1" | grep -o 'mtu [0-9]*' | awk '{ print $2 }' || true)
# A datagram larger than the WAN link itself meets two checks: ip6_forward() measures it
# against the WAN device's MTU, then xfrm6_tunnel_check_size() against the tunnel's; each
# answers with its own Packet Too Big (docs/datapath-notes.md), the host obeys both.
mtus=$(tcpdump -r "$GLAB_LOGS/ipv6-too-big.pcap" -n -v 2>/dev/null | grep -o 'packet too big, mtu [0-9]*' | awk '{ printf "%s ", $5 }')
last_mtu=$(awk '{ print $NF }' <<<"$mtus")
sent=$(wc -w <<<"$mtus")
[ "$got" = 1450 ] && [ "$pmtu6" = "$expected_mtu6" ] && [ "$last_mtu" = "$expected_mtu6" ] && ((too_big >= 1)) && [ "$too_big" = "$sent" ] &&
    ok "IPv6: gm-a answered host-a2's 1450-octet datagrams with $too_big Packet Too Big (mtu $mtus; gdoictl counts $too_big), the last naming $expected_mtu6 = $WAN_MTU minus the IPv6 ESP overhead; host-a2 fragmented the next copy and it arrived" ||
    fail "IPv6: host-b1 received '$got' (want one of 1450), host-a2 path MTU '$pmtu6' (want $expected_mtu6), Packet Too Big on lan0 with mtu '$mtus', gdoictl counted $too_big"
[ "$got_router" = "1450 1450" ] && ((created >= 4)) &&
    ok "IPv6 router-originated: gm-a fragmented its own 1450-octet datagrams before encryption ($created fragments counted, ipv6_fragments_created) and host-b1 received them ($got_router)" ||
    fail "IPv6 router-originated: host-b1 received '$got_router' (want both 1450-octet ones), gm-a counted $created fragments created"
outer_fragments=$(tshark -r "$GLAB_LOGS/ipv6.pcap" -n -Y "ipv6.fragment and esp" 2>/dev/null | wc -l || true)
clear6=$(tcpdump -r "$GLAB_LOGS/ipv6.pcap" -n "not esp" 2>/dev/null | wc -l)
[ "$clear6" = 0 ] && ok "IPv6 on the core: no clear text between the LANs (the router's own datagrams included)" ||
    fail "IPv6 on the core: $clear6 packets in clear text: $(tcpdump -r "$GLAB_LOGS/ipv6.pcap" -n "not esp" 2>/dev/null | head -n 3 | tr '\n' ' ')"
# per datagram source: ESP packets on the core whose decrypted inner packet is a fragment
sa_opts=()
while read -r record; do sa_opts+=(-o "$record"); done < <(GLAB_FAMILY=6 glab_esp_sa_records gm-a)
# (reassembly off: each ESP packet's own inner fragment header, not the reassembled datagram)
inner=$(tshark -r "$GLAB_LOGS/ipv6.pcap" -n -o esp.enable_encryption_decode:TRUE -o esp.enable_authentication_check:TRUE \
    -o ipv6.defragment:FALSE "${sa_opts[@]}" -Y "esp.icv_good == 1 and ipv6.fraghdr.ident" -T fields -e ipv6.src 2>>"$GLAB_LOGS/tshark.log" | sort | uniq -c | tr -s ' ' | tr '\n' ',')
inner_a2=$(grep -o "[0-9]* $LAB6_HOST_A2," <<<"$inner" | awk '{ print $1 }' || true)
inner_gma=$(grep -o "[0-9]* $LAB6_GMA_LAN," <<<"$inner" | awk '{ print $1 }' || true)
[ "$outer_fragments" = 0 ] && ((${inner_a2:-0} >= 2 && ${inner_gma:-0} >= 4)) &&
    ok "IPv6 on the core: no outer fragment; decrypted, ${inner_a2} ESP packets from host-a2 and ${inner_gma} from gm-a each carry one inner fragment (ICV good)" ||
    fail "IPv6 on the core: $outer_fragments outer fragments; ESP packets carrying inner fragments: '$inner' (want >= 2 from host-a2, >= 4 from gm-a)"

# ---------------------------------------------------------------- counters, kernel
for gm in gm-a gm-b; do
    unrestored=$(glab_datapath_counters "$gm" out_unrestored_dropped)
    [ "$unrestored" = 0 ] && ok "$gm datapath: 0 unrestored" || fail "$gm datapath: $unrestored unrestored"
done
text=$(glab_ctl gm-a status 2>&1 || true)
grep -q "fragmentation (kernel): IPv4 [0-9]* fragmented, [1-9][0-9]* refused with fragmentation-needed; IPv6 [1-9][0-9]* Packet Too Big sent" <<<"$text" &&
    ok "gdoictl status shows the kernel's fragmentation counters: $(grep 'fragmentation (kernel)' <<<"$text" | sed 's/^ *//')" ||
    fail "gdoictl status has no fragmentation line with refusals and Packet Too Big: $(tr '\n' ' ' <<<"$text" | cut -c1-300)"
# XfrmOutNoStates: the first packet of each new router flow (VM 100); XfrmOutStateModeError:
# the IPv6 datagrams xfrm6_tunnel_check_size() refused, each answered with a Packet Too Big
for gm in gm-a gm-b; do
    errors=$(xfrm_stat_errors "$gm" | grep -v XfrmOutNoStates || true)
    mode_errors=$(awk '$1 == "XfrmOutStateModeError" { print $2 }' <<<"$errors")
    [ "$gm" = gm-a ] && ((${mode_errors:-0} <= too_big)) && errors=$(grep -v XfrmOutStateModeError <<<"$errors" || true)
    [ -z "$errors" ] && ok "$gm /proc/net/xfrm_stat: only XfrmOutNoStates${mode_errors:+ and $mode_errors XfrmOutStateModeError (IPv6 too big for the tunnel)}" ||
        fail "$gm /proc/net/xfrm_stat: $(tr '\n' ' ' <<<"$errors")"
done

# a gdoid that stops removes its XFRM interface and its routing rules
glab_member_stop gm-b
left=$(lab_exec gm-b sh -c 'ip -o link show gdoi-pf0 2>/dev/null; ip rule show pref 40; ip rule show pref 41; ip rule show pref 42' | wc -l)
[ "$left" = 0 ] && ok "gm-b stopped: its XFRM interface gdoi-pf0 and its routing rules are gone" ||
    fail "gm-b stopped, but left: $(lab_exec gm-b sh -c 'ip -o link show gdoi-pf0; ip rule' 2>&1 | tr '\n' ' ')"

echo "run time: $((SECONDS - started)) s"
if ((failures)); then
    echo "$failures check(s) failed; captures and logs in $GLAB_LOGS"
    exit 1
fi
echo "fragmentation: PMTU discovery across the group, df-bit set/copy/clear on forwarded and router-originated packets, IPv4 pre-fragmentation, IPv6 fragments before encryption"
