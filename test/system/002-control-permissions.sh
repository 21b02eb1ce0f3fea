#!/usr/bin/env bash
# Who may do what on the control socket: root everything; members of the control group
# (here `nogroup`, which `nobody` belongs to) status only; anyone else nothing at all.
. "$(dirname "$0")/lib.sh"
st_init
st_netns_create gdoid-002
st_example_config "$ST_DIR/gdoid.conf"
st_start_gdoid "$ST_DIR/gdoid.conf"

as_user() { local user=$1; shift; setpriv --reuid="$user" --regid="$(id -g "$user")" --init-groups -- "$@"; }

# nobody: primary group nogroup = the control group. Status yes, actions no.
st_run out status as_user nobody "$GDOICTL" --socket "$ST_SOCKET" status
st_assert_eq 0 "$status" "status as nobody (member of the control group)"
st_assert_contains "$out" "group wan (id 1234): failed" "status as nobody shows the groups"
st_run out status as_user nobody "$GDOICTL" --socket "$ST_SOCKET" reload
st_assert_eq 4 "$status" "reload as nobody exit status"
st_assert_eq "gdoictl: gdoid refused \`reload\`: permission-denied: only root and gdoid's own user may run \`reload\`" "$out" "reload as nobody message"
st_wait_for_log "refused \`reload\` to uid $(id -u nobody)"
st_pass "a control-group member may read status but not reload"

# daemon (uid 1): not in the control group. The socket's mode keeps it out.
st_run out status as_user daemon "$GDOICTL" --socket "$ST_SOCKET" status
st_assert_eq 4 "$status" "status as a non-member exit status"
st_assert_eq "gdoictl: cannot reach gdoid at $ST_SOCKET: permission denied (status needs root or membership in gdoid's control-group)" "$out" "status as a non-member message"
st_pass "a non-member cannot even connect"

# root may reload; the outcome is reported.
st_run out status "$GDOICTL" --socket "$ST_SOCKET" reload
st_assert_eq 0 "$status" "reload as root exit status"
st_assert_eq "reloaded: no changes" "$out" "reload as root output"
st_pass "root may reload"

# Without a control group the socket is root-only: even nobody is refused.
sed -i '/^control-group = /d' "$ST_DIR/gdoid.conf"
st_stop_gdoid TERM
st_start_gdoid "$ST_DIR/gdoid.conf"
st_assert_eq "600 root root" "$(stat -c '%a %U %G' "$ST_SOCKET")" "socket without a control group"
st_run out status as_user nobody "$GDOICTL" --socket "$ST_SOCKET" status
st_assert_eq 4 "$status" "status as nobody without a control group"
st_pass "no control group: root only"
st_stop_gdoid TERM
st_assert_eq 0 "$ST_GDOID_STATUS" "gdoid exit status"
