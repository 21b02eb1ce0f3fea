# shellcheck shell=bash
# Hand-made group ESP between gm-a and gm-b, no daemon: what gdoid will install, minus header
# preservation (plain tunnel mode between the members' WAN addresses). Source after topology.sh.
# Both members hold the SAME SPI and key for both directions, the way a GDOI TEK is shared.
#
#   esp_static_up           two TEK-like SAs on both members and the policies that use them:
#                             SPI 0x10000001 rfc4106(gcm(aes)) 128-bit, host-a1 <-> host-b1
#                             SPI 0x10000002 cbc(aes) 256 + hmac(sha256) 128, host-a2 <-> host-b2
#   esp_state_packets NODE SRC DST SPI    packet counter of one state (ip -s xfrm state)
#   xfrm_stat_errors NODE   the non-zero lines of NODE's /proc/net/xfrm_stat (empty = clean)
# Test keys only; they are printed by nobody.

ESP_SPI_GCM=0x10000001
ESP_SPI_CBC=0x10000002
_esp_key_gcm=0x4a3c1f0e9d8b7a6958473625140302f1e0d1c2b3  # 128-bit key + 32-bit salt
_esp_key_cbc=0x603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4
_esp_key_hmac=0x0b1c2d3e4f5061728394a5b6c7d8e9fa0b1c2d3e4f5061728394a5b6c7d8e9fa

# _esp_member NODE LOCAL_WAN REMOTE_WAN LOCAL_H1 REMOTE_H1 LOCAL_H2 REMOTE_H2
_esp_member() {
    local n=$1 l=$2 r=$3 lh1=$4 rh1=$5 lh2=$6 rh2=$7 dir src dst
    local gcm=(aead 'rfc4106(gcm(aes))' "$_esp_key_gcm" 128)
    local cbc=(enc 'cbc(aes)' "$_esp_key_cbc" auth-trunc 'hmac(sha256)' "$_esp_key_hmac" 128)
    for dir in out in; do
        if [ $dir = out ]; then src=$l dst=$r; else src=$r dst=$l; fi
        lab_exec "$n" ip xfrm state add src "$src" dst "$dst" proto esp spi "$ESP_SPI_GCM" reqid 1 \
            mode tunnel replay-window 0 "${gcm[@]}"
        lab_exec "$n" ip xfrm state add src "$src" dst "$dst" proto esp spi "$ESP_SPI_CBC" reqid 2 \
            mode tunnel replay-window 0 "${cbc[@]}"
    done
    # out: our host -> their host through our WAN; fwd: decrypted traffic may reach our host
    lab_exec "$n" ip xfrm policy add dir out src "$lh1/32" dst "$rh1/32" \
        tmpl src "$l" dst "$r" proto esp reqid 1 mode tunnel
    lab_exec "$n" ip xfrm policy add dir out src "$lh2/32" dst "$rh2/32" \
        tmpl src "$l" dst "$r" proto esp reqid 2 mode tunnel
    lab_exec "$n" ip xfrm policy add dir fwd src "$rh1/32" dst "$lh1/32" \
        tmpl src "$r" dst "$l" proto esp reqid 1 mode tunnel
    lab_exec "$n" ip xfrm policy add dir fwd src "$rh2/32" dst "$lh2/32" \
        tmpl src "$r" dst "$l" proto esp reqid 2 mode tunnel
}

esp_static_up() {
    _esp_member gm-a "$LAB_GMA_WAN" "$LAB_GMB_WAN" "$LAB_HOST_A1" "$LAB_HOST_B1" "$LAB_HOST_A2" "$LAB_HOST_B2"
    _esp_member gm-b "$LAB_GMB_WAN" "$LAB_GMA_WAN" "$LAB_HOST_B1" "$LAB_HOST_A1" "$LAB_HOST_B2" "$LAB_HOST_A2"
}

esp_state_packets() {
    local out
    out=$(lab_exec "$1" ip -s xfrm state get src "$2" dst "$3" proto esp spi "$4") || return 1
    # "lifetime current:" is followed by "  <n>(bytes), <m>(packets)"
    awk '/lifetime current:/ { getline; sub(/^.*, */, ""); sub(/\(packets\).*/, ""); print; found = 1 }
         END { exit !found }' <<<"$out"
}

xfrm_stat_errors() {
    lab_exec "$1" cat /proc/net/xfrm_stat | awk '$2 != 0'
}

# xfrm_stat_check NODE...: one "ok"/"fail" (the scenario's own functions) per NODE, on whether
# its /proc/net/xfrm_stat error counters are all zero.
xfrm_stat_check() {
    local node errors
    for node in "$@"; do
        errors=$(xfrm_stat_errors "$node")
        [ -z "$errors" ] && ok "$node /proc/net/xfrm_stat: all zero" ||
            fail "$node /proc/net/xfrm_stat: $(tr '\n' ' ' <<<"$errors")"
    done
}
