#!/usr/bin/env bash
# Figure 5, per-packet cost of each tc-BPF program: test/unit/bpf's perf case (unit-bpf
# '[perf]', 3,000 single BPF_PROG_TEST_RUNs of a 1.4 kB frame per program and path, against a
# two-instruction program that only returns TC_ACT_OK), turned into ROW lines. The median of
# each path against the no-op's; the difference is what the program itself costs per packet
# (the no-op's figure is the test run's own overhead: the skb built around the frame).
# Runs on the host kernel (BPF needs no ESP, and TCG would time its emulation). Root.
#   bench/bpf_per_packet.sh UNIT_BPF_BINARY
set -euo pipefail
binary=${1:?usage: bench/bpf_per_packet.sh UNIT_BPF_BINARY}
output=$("$binary" '[perf]' 2>&1) || { printf '%s\n' "$output" >&2; exit 1; }
BENCH_OUTPUT=$output python3 - "$(uname -r)" <<'PY' || { printf '%s\n' "$output" >&2; exit 1; }
import os, re, sys
rows = {}
for line in os.environ["BENCH_OUTPUT"].splitlines():
    m = re.match(r"^(\S.*?)\s{2,}([\d.]+)\s+(\d+)$", line.rstrip())
    if m:
        rows[m.group(1)] = (float(m.group(2)), int(m.group(3)))
noop = rows.pop("no-op baseline", None)
if noop is None or not rows:
    sys.exit("bench: unit-bpf printed no timings")
for name, (mean, median) in rows.items():
    print(f"ROW\t5 tc-BPF {name}, per packet\t{median} ns\t{noop[1]} ns\t{median / noop[1]:.2f}\treport"
          f"\tmedian of 3,000 BPF_PROG_TEST_RUNs (mean {mean:.0f} ns), no-op program {noop[1]} ns: "
          f"the program itself costs ~{max(median - noop[1], 0)} ns; host kernel {sys.argv[1]}")
PY
