#!/usr/bin/env bash
# Runs every benchmark of bench/ against the programs of one build directory and prints one
# table: figure, our result, the baseline measured in the same run, ratio, target, note, and
# the machine. Needs root (network namespaces). Exits non-zero when a benchmark failed or
# reported fewer rows than it should -- never because of a timing.
#   bench/run_all.sh [--quick] BUILD_DIR
#   --quick   tiny sizes: a smoke test that every benchmark runs and reports (meson test
#             bench-smoke)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
quick=no
if [ "${1:-}" = --quick ]; then
    quick=yes
    shift
fi
build=${1:?usage: bench/run_all.sh [--quick] BUILD_DIR}
build=$(cd "$build" && pwd)
if [ "$(id -u)" != 0 ]; then
    echo "bench: run as root (the benchmarks create network namespaces)" >&2
    exit 2
fi
export GDOID=$build/daemon/gdoid GDOICTL=$build/ctl/gdoictl GDOI_TEST_KS=$build/test/ks/gdoi-test-ks
export PULL_PROBE=$build/test/ks/pull-probe GDOID_SOURCE_ROOT=$(cd "$here/.." && pwd)
export BENCH_BUILD=$build BENCH_QUICK=$quick

rows=$(mktemp)
trap 'rm -f "$rows"' EXIT
failures=()

# run_bench NAME EXPECTED_ROWS COMMAND...: its ROW lines go to the table, everything else to
# stderr (progress, errors).
run_bench() {
    local name=$1 expected=$2 output status=0 got
    shift 2
    echo "bench: $name: $*" >&2
    output=$("$@" 2> >(sed "s/^/  $name: /" >&2)) || status=$?
    got=$(grep -c '^ROW' <<<"$output" || true)
    grep '^ROW' <<<"$output" >>"$rows"
    grep -v '^ROW' <<<"$output" | sed "s/^/  $name: /" >&2
    if [ "$status" != 0 ] || [ "$got" -lt "$expected" ]; then
        failures+=("$name (exit $status, $got of $expected rows)")
        printf 'ROW\t%s\tFAILED\t-\t-\t-\texit %s, %s of %s rows\n' "$name" "$status" "$got" \
            "$expected" >>"$rows"
    fi
}

if [ "$quick" = yes ]; then policies=100; else policies=10000; fi
run_bench kernel-policies 3 "$build/bench/bench-kernel-policies" "$policies"
run_bench registration 4 bash "$here/registration.sh"
run_bench storm 2 bash "$here/storm.sh"
if [ "$quick" = yes ]; then pushes=5; else pushes=500; fi
run_bench push-processing 1 "$build/bench/bench-push-processing" "$pushes"
run_bench push-to-kernel 1 "$build/bench/bench-push-to-kernel" --kernel fake "$pushes"
run_bench memory 3 bash "$here/memory.sh"
run_bench startup 4 bash "$here/startup.sh"
run_bench bpf-per-packet 7 bash "$here/bpf_per_packet.sh" "$build/test/unit/bpf/unit-bpf"
# Figures that need ESP in the kernel: one VM boot (bench/vm_run.sh) with this build's programs;
# 3 state rows, 3 push-to-kernel rows, 4 datapath rows, 1 rekey-loss row. The VM figures are meaningful as ratios only.
if [ "$quick" = yes ]; then vm_args=(--quick); vm_timeout=600; else vm_args=(); vm_timeout=1800; fi
if [ "${BENCH_VM:-yes}" = no ]; then
    # a build configured without VM tests (-Dvm_tests=false): said in the table, not hidden
    printf 'ROW\tvm (figures 1 states, 3 kernel part, 5, 6)\tnot run\t-\t-\t-\tBENCH_VM=no (meson -Dvm_tests=false)\n' >>"$rows"
else
    run_bench vm 11 "$GDOID_SOURCE_ROOT/scripts/vm" run --build-dir "$build" --timeout "$vm_timeout" -- \
        bash "$here/vm_run.sh" "${vm_args[@]}"
fi

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
cores=$(grep -c '^processor' /proc/cpuinfo)
echo
echo "gdoid benchmarks, $(date -u '+%Y-%m-%d %H:%M UTC')$([ "$quick" = yes ] && echo ' (--quick: smoke-test sizes, not figures)')"
echo "machine: ${cpu:-unknown CPU}, $cores cores, Linux $(uname -r) $(uname -m)"
echo
python3 - "$rows" <<'PY'
import sys
rows = [line.rstrip("\n").split("\t")[1:] for line in open(sys.argv[1]) if line.startswith("ROW")]
head = ["figure", "ours", "baseline", "ratio", "target"]
widths = [max(len(r[i]) for r in rows + [head]) for i in range(5)]
line = lambda r: "| " + " | ".join(r[i].ljust(widths[i]) for i in range(5)) + " |"
print(line(head))
print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
for r in rows:
    print(line(r[:5]))
print()
print("notes:")
for r in rows:
    if len(r) > 5 and r[5]:
        print(f"- {r[0]}: {r[5]}")
PY
if ((${#failures[@]})); then
    echo "bench: failed: ${failures[*]}" >&2
    exit 1
fi
