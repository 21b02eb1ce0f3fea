#!/usr/bin/env bash
# tc-BPF works in the VM the way the datapath needs it: a program compiled here with
# clang-14 -target bpf (libbpf headers, a BTF-defined map) attaches to gm-a's lan0 ingress
# through clsact, is JIT-compiled, sees exactly the packets it should (3 echo requests from
# host-a1 -> counter 3), obeys a map value written from user space (drop flag -> the pings
# fail and are still counted), and stops acting once the qdisc is removed.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib/topology.sh"
scratch=${GDOID_VM_SCRATCH:-$(mktemp -d)}
fail() { echo "FAIL: $*"; exit 1; }
ok() { echo "ok: $*"; }

cat >"$scratch/count_icmp.c" <<'EOF'
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

/* [0] ICMP packets seen, [1] drop flag set from user space */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 2);
    __type(key, __u32);
    __type(value, __u64);
} lab_icmp SEC(".maps");

SEC("tc")
int count_icmp(struct __sk_buff *skb)
{
    void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
    struct ethhdr *eth = data;
    struct iphdr *ip = (void *)(eth + 1);
    if ((void *)(ip + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP) || ip->protocol != IPPROTO_ICMP)
        return TC_ACT_OK;
    __u32 key = 0;
    __u64 *count = bpf_map_lookup_elem(&lab_icmp, &key);
    if (count)
        __sync_fetch_and_add(count, 1);
    key = 1;
    __u64 *drop = bpf_map_lookup_elem(&lab_icmp, &key);
    return drop && *drop ? TC_ACT_SHOT : TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
EOF
t0=$(date +%s.%N)
clang-14 -O2 -g -target bpf -I/usr/include/x86_64-linux-gnu -c "$scratch/count_icmp.c" \
    -o "$scratch/count_icmp.o"
echo "compiled with clang-14 -target bpf in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"

lab_up
lab_exec gm-a tc qdisc add dev lan0 clsact
lab_on_exit "lab_exec gm-a tc qdisc del dev lan0 clsact 2>/dev/null"
lab_exec gm-a tc filter add dev lan0 ingress bpf direct-action obj "$scratch/count_icmp.o" sec tc
show=$(lab_exec gm-a tc filter show dev lan0 ingress)
echo "$show" | sed 's/^/    /'
prog_id=$(grep -o ' id [0-9]*' <<<"$show" | head -n 1 | awk '{ print $2 }')
[ -n "$prog_id" ] || fail "tc shows no BPF program on gm-a lan0 ingress"
prog=$(bpftool prog show id "$prog_id")
grep -q "jited" <<<"$prog" && ok "program $prog_id is JIT-compiled" || fail "program $prog_id is not JIT-compiled: $prog"
map_id=$(grep -o 'map_ids [0-9]*' <<<"$prog" | awk '{ print $2 }')
[ -n "$map_id" ] || fail "program $prog_id has no map: $prog"

map_value() {
    bpftool -j map lookup id "$map_id" key "$1" 0 0 0 |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["formatted"]["value"])'
}

lab_ping host-a1 "$LAB_HOST_B1" 3 >/dev/null || fail "ping through the counting program failed"
n=$(map_value 0)
[ "$n" = 3 ] && ok "the program counted 3 ICMP packets on lan0 ingress" || fail "counter is $n, expected 3"

bpftool map update id "$map_id" key 1 0 0 0 value 1 0 0 0 0 0 0 0
if lab_ping host-a1 "$LAB_HOST_B1" 2 >/dev/null; then fail "pings went through with the drop flag set"; fi
n=$(map_value 0)
[ "$n" = 5 ] && ok "with the drop flag set the pings fail and are counted (5)" || fail "counter is $n, expected 5"

lab_exec gm-a tc qdisc del dev lan0 clsact
lab_ping host-a1 "$LAB_HOST_B1" 1 >/dev/null && ok "after removing clsact the ping works again" ||
    fail "ping fails after the program was removed"
# the kernel frees the program after an RCU grace period: give it a moment
for ((i = 0; i < 30; i++)); do
    bpftool prog show id "$prog_id" >/dev/null 2>&1 || break
    sleep 0.1
done
bpftool prog show id "$prog_id" >/dev/null 2>&1 && fail "program $prog_id still loaded 3 s after removal" ||
    ok "program $prog_id unloaded with its qdisc"
