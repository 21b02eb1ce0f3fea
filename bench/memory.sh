#!/usr/bin/env bash
# Figure 4, memory: peak RSS (VmHWM) of gdoid after registering with gdoi-test-ks (veth lab of
# test/system/lib.sh) with 1 group x 2 TEKs, 4 groups x 16 TEKs and 1 group x 300 TEKs (1,000
# do not fit one GROUPKEY-PULL; see the end).
# Baseline: bench-memory-baseline, a C++ program linked against the same shared libraries that
# does nothing, so the ratio is what gdoid itself adds. The note splits gdoid's resident pages
# (/proc/PID/smaps after the registration) into file pages per file and anonymous memory.
# Environment: as bench/run_all.sh sets it (GDOID, GDOICTL, GDOI_TEST_KS, BENCH_BUILD,
# BENCH_QUICK); BENCH_SMAPS_DIR=DIR keeps each measured /proc/PID/smaps there, for a look
# mapping by mapping. Prints ROW lines.
. "$GDOID_SOURCE_ROOT/test/system/lib.sh"
st_init
baseline_exe=$BENCH_BUILD/bench/bench-memory-baseline

vm_hwm_kib() { sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$1/status"; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }

# Resident pages by kind, from /proc/PID/smaps: pages of files (shared with the page cache: code,
# read-only data, symbol tables; the kernel maps up to 64 KiB around each page fault) per file,
# and anonymous pages (heap, stack, and the libraries' data written by relocation or at run
# time): "files 9.1 MiB (libcrypto 2.5, gdoid 2.1, libc 1.2, libstdc++ 0.9, 17 others 2.4),
# anonymous 2.9 MiB (heap 1.2, libraries' data 1.5, other 0.2)".
smaps_breakdown() {
    python3 - "/proc/$1/smaps" <<'PY'
import os, re, sys
files, heap, data, other = {}, 0, 0, 0
name = ""
for line in open(sys.argv[1]):
    head = re.match(r"^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$", line)
    if head:
        name = head.group(1)
        continue
    field = line.split()
    if field[0] == "Rss:":
        rss = int(field[1])
    elif field[0] == "Anonymous:":
        anon = int(field[1])
        if name.startswith("/"):
            short = re.sub(r"(-[0-9.]+)?\.so.*$", "", os.path.basename(name))
            files[short] = files.get(short, 0) + rss - anon
            data += anon
        elif name == "[heap]":
            heap += rss
        else:
            other += rss
top = sorted(files.items(), key=lambda kv: -kv[1])
parts = ", ".join(f"{k} {v / 1024:.1f}" for k, v in top[:4])
rest = sum(v for _, v in top[4:])
print(f"files {sum(files.values()) / 1024:.1f} MiB ({parts}, {len(top) - 4} others {rest / 1024:.1f}), "
      f"anonymous {(heap + data + other) / 1024:.1f} MiB (heap {heap / 1024:.1f}, libraries' data "
      f"{data / 1024:.1f}, other {other / 1024:.1f})")
PY
}

"$baseline_exe" &
baseline_pid=$!
st_cleanup_push "kill $baseline_pid"
sleep 0.3
baseline_kib=$(vm_hwm_kib "$baseline_pid")
baseline_smaps=$(smaps_breakdown "$baseline_pid")
[ -z "${BENCH_SMAPS_DIR:-}" ] || cp "/proc/$baseline_pid/smaps" "$BENCH_SMAPS_DIR/baseline.smaps"
kill "$baseline_pid"

. "$GDOID_SOURCE_ROOT/bench/lab.sh"
st_ks_lab 10.79.0
ST_SOCKET=$ST_DIR/run/control
ST_NETNS=$GM_NS

# measure GROUPS TEKS: one row.
measure() {
    local groups=$1 teks=$2 i target
    ks_config "$groups" "$teks" >"$ST_DIR/ks.toml"
    gdoid_config "$groups" >"$ST_DIR/gdoid.conf"
    st_ks_start "$ST_DIR/ks.toml"
    : >"$ST_DIR/gdoid.log"
    st_start_gdoid "$ST_DIR/gdoid.conf"
    for ((i = 0; i < 300; i++)); do all_registered && break; sleep 0.2; done
    all_registered || { st_status_json >&2; st_fail "gdoid did not register $groups group(s) x $teks TEKs within 60 s"; }
    sleep 0.5 # the kernel programming that follows the registration
    local kib breakdown
    kib=$(vm_hwm_kib "$ST_GDOID_PID")
    breakdown=$(smaps_breakdown "$ST_GDOID_PID")
    [ -z "${BENCH_SMAPS_DIR:-}" ] || cp "/proc/$ST_GDOID_PID/smaps" "$BENCH_SMAPS_DIR/gdoid-${groups}x$teks.smaps"
    st_stop_gdoid
    kill "$KS_PID"
    wait "$KS_PID" 2>/dev/null || true
    rm -f "$ST_DIR/ks.sock"
    target="<= 6 MiB"
    [ "$teks" -ge 100 ] && target="-"
    printf 'ROW\t4 memory %s group(s) x %s TEKs\t%s\t%s\t%s\t%s\t%s\n' "$groups" "$teks" \
        "$(mib "$kib")" "$(mib "$baseline_kib")" "$(awk -v a="$kib" -v b="$baseline_kib" 'BEGIN { printf "%.2f", a / b }')" \
        "$target" "VmHWM; gdoid now: $breakdown; baseline: $baseline_smaps"
}

if [ "$BENCH_QUICK" = yes ]; then
    measure 1 2
    measure 2 2
    measure 1 10
else
    measure 1 2
    measure 4 16
    # Not 1,000: gdoi-test-ks cannot send that many in one GROUPKEY-PULL (a KD payload of 81,363
    # octets overflows its 2-octet length, and one UDP datagram holds 65,507 at most).
    measure 1 "${BENCH_MANY_TEKS:-300}"
fi
