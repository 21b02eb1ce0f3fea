#!/usr/bin/env bash
# meson's vm-systemd test: builds the Debian package of this tree (scripts/package: release
# build, lintian with no error allowed), then boots the VM with systemd as PID 1 and runs
# test/vm/systemd/NNN-*.sh against that package (GDOID_DEB). TAP on stdout, like vm-scenarios.
#   run-with-package.sh BUILD_DIR
set -euo pipefail
build=$1
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
if ! "$root/scripts/package" "$build/deb" >"$build/deb.log" 2>&1; then
    tail -n 40 "$build/deb.log" >&2
    echo "TAP version 13"
    echo "Bail out! the Debian package did not build or lintian found errors (log: $build/deb.log)"
    exit 1
fi
grep -E "^(package|[EWI]):" "$build/deb.log" >&2 || true # stderr: TAP must begin with its version line
GDOID_DEB="$build/deb" exec "$root/scripts/vm" run-scenarios --tap --init systemd --build-dir "$build"
