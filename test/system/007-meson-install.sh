#!/usr/bin/env bash
# `meson install --destdir` of this build: the layout (programs, unit, sysusers.d file, man pages,
# example configuration) where the build's prefix and systemd's pkg-config file put them, the
# installed unit runs the installed gdoid, the installed programs run from there and check the
# installed example, and the destdir holds exactly what meson says it installs: nothing is
# written elsewhere (the build's prefix or the system).
. "$(dirname "$0")/lib.sh"
st_init
: "${GDOID_BUILD_ROOT:?GDOID_BUILD_ROOT must name the meson build directory}"
build=$GDOID_BUILD_ROOT
dest=$ST_DIR/root

# Where this build installs: the options it was configured with.
meson introspect --buildoptions "$build" >"$ST_DIR/options.json"
build_option() { st_json "next(o['value'] for o in j if o['name'] == '$1')" <"$ST_DIR/options.json"; }
absolute() { case $2 in /*) echo "$2" ;; *) echo "$1/$2" ;; esac; }
prefix=$(build_option prefix)
sbindir=$(absolute "$prefix" "$(build_option sbindir)")
mandir=$(absolute "$prefix" "$(build_option mandir)")
datadir=$(absolute "$prefix" "$(build_option datadir)")
version=$(meson introspect --projectinfo "$build" | st_json "j['version']")
# The unit and sysusers.d directories are systemd's (pkg-config), whatever the prefix.
if pkg-config --exists systemd; then
    unitdir=$(pkg-config --variable=systemdsystemunitdir systemd)
    sysusersdir=$(pkg-config --variable=sysusersdir systemd)
else
    unitdir=$prefix/lib/systemd/system
    sysusersdir=$prefix/lib/sysusers.d
fi

touch "$ST_DIR/before-install"
sleep 1.1 # mtimes after the install are strictly newer than the marker, even on 1 s clocks
st_run out status meson install -C "$build" --destdir "$dest" --no-rebuild --quiet
st_assert_eq 0 "$status" "meson install --destdir (output: $out)"
st_pass "meson install --destdir $dest"

# The layout.
for program in gdoid gdoictl; do
    [ -f "$dest$sbindir/$program" ] && [ -x "$dest$sbindir/$program" ] ||
        st_fail "$sbindir/$program is not an installed executable"
done
unit=$dest$unitdir/gdoid.service
[ -f "$unit" ] || st_fail "no unit at $unitdir/gdoid.service"
for page in man8/gdoid.8 man8/gdoictl.8 man5/gdoid.conf.5; do
    cmp -s "$GDOID_SOURCE_ROOT/man/${page#*/}" "$dest$mandir/$page" || st_fail "$mandir/$page is not man/${page#*/}"
done
example=$dest$datadir/doc/gdoid/examples/gdoid.conf
cmp -s "$GDOID_SOURCE_ROOT/examples/gdoid.conf" "$example" ||
    st_fail "$datadir/doc/gdoid/examples/gdoid.conf is not examples/gdoid.conf"
sysusers=$dest$sysusersdir/gdoid.conf
cmp -s "$GDOID_SOURCE_ROOT/systemd/gdoid.sysusers" "$sysusers" ||
    st_fail "$sysusersdir/gdoid.conf is not systemd/gdoid.sysusers"
grep -Eq '^u[[:space:]]+gdoid[[:space:]]' "$sysusers" || st_fail "the sysusers.d file declares no user gdoid"
st_pass "layout: $sbindir/{gdoid,gdoictl}, $unitdir/gdoid.service, $sysusersdir/gdoid.conf, man pages, the example"

# The installed unit names the installed program, with every @VARIABLE@ substituted.
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
st_assert_eq "$sbindir/gdoid" "${exec_start%% *}" "the unit's ExecStart program"
st_assert_not_contains "$(cat "$unit")" "$dest" "the unit names no destdir path"
if grep -En '@[A-Z_]+@' "$unit"; then st_fail "the installed unit has unsubstituted @VARIABLES@"; fi
st_pass "the unit's ExecStart is $sbindir/gdoid"

# Least privilege, as systemd rates it: at most 2.0 (the project's bar; 3.3 when gdoid ran as
# root with CAP_SYS_ADMIN). The VM scenario test/vm/systemd/010 rates the packaged unit too.
command -v systemd-analyze >/dev/null || st_fail "systemd-analyze is missing (package systemd, scripts/debian-packages.txt)"
rating=$(systemd-analyze security --offline=true "$unit" 2>&1) || true
exposure=$(awk '/Overall exposure level/ { print $(NF-2) }' <<<"$rating")
awk -v e="$exposure" 'BEGIN { exit !(e != "" && e <= 2.0) }' ||
    st_fail "systemd-analyze security rates the unit '$exposure' (want at most 2.0): $rating"
st_pass "systemd-analyze security --offline=true: exposure $exposure"

# meson drops the build tree's run path on install; nothing else sets one.
if command -v readelf >/dev/null; then
    for program in gdoid gdoictl; do
        if readelf -d "$dest$sbindir/$program" | grep -E '\((RPATH|RUNPATH)\)'; then
            st_fail "the installed $program has a run path"
        fi
    done
fi

# The installed programs run. gdoid checks the installed example as shipped: it names a key file
# under /etc/gdoid and a credential, neither of which exists here.
st_run out status "$dest$sbindir/gdoid" --version
st_assert_eq 0 "$status" "gdoid --version"
st_assert_eq "gdoid $version" "$out" "gdoid --version"
if [ ! -e /etc/gdoid/psk/wan.key ]; then
    st_run out status env -u CREDENTIALS_DIRECTORY "$dest$sbindir/gdoid" --check-config "$example"
    st_assert_eq 1 "$status" "--check-config of the installed example as shipped"
    st_assert_contains "$out" "cannot open pre-shared-key file /etc/gdoid/psk/wan.key: No such file or directory" \
        "the shipped example's missing key file"
fi
# With its key file and credential (the helper rewrites the installed copy), it passes.
mkdir -p "$ST_DIR/installed/examples"
cp "$example" "$ST_DIR/installed/examples/gdoid.conf"
GDOID_SOURCE_ROOT=$ST_DIR/installed st_example_config "$ST_DIR/gdoid.conf"
st_run out status "$dest$sbindir/gdoid" --check-config "$ST_DIR/gdoid.conf"
st_assert_eq 0 "$status" "--check-config of the installed example with its secrets"
st_assert_eq "$ST_DIR/gdoid.conf: configuration OK: 2 group(s) (wan, branch-v6), control socket $ST_SOCKET" \
    "$out" "summary line"
st_run out status "$dest$sbindir/gdoictl" --help
st_assert_eq 0 "$status" "gdoictl --help"
st_assert_contains "$out" "gdoictl" "gdoictl --help"
st_run out status "$dest$sbindir/gdoictl" --socket "$ST_DIR/no-such-socket" status
[ "$status" != 0 ] || st_fail "gdoictl status without a daemon succeeded"
st_pass "installed gdoid --version, --check-config of the example; gdoictl runs"

# Exactly what meson says it installs is in the destdir, and nothing of it was written to its
# real place (a file there is older than this install, or absent).
meson introspect --installed "$build" >"$ST_DIR/installed.json"
st_json "'\n'.join(sorted(set(j.values())))" <"$ST_DIR/installed.json" >"$ST_DIR/expected"
(cd "$dest" && find . \( -type f -o -type l \) -printf '/%P\n' | LC_ALL=C sort) >"$ST_DIR/actual"
LC_ALL=C sort -o "$ST_DIR/expected" "$ST_DIR/expected"
diff -u "$ST_DIR/expected" "$ST_DIR/actual" >"$ST_DIR/diff" ||
    st_fail "the destdir differs from meson introspect --installed: $(cat "$ST_DIR/diff")"
while IFS= read -r path; do
    if [ -e "$path" ] && [ "$path" -nt "$ST_DIR/before-install" ]; then
        st_fail "$path was written outside the destdir"
    fi
done <"$ST_DIR/expected"
st_pass "the destdir holds the $(wc -l <"$ST_DIR/expected") files meson installs, and nothing was written outside it"
