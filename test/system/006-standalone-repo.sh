#!/usr/bin/env bash
# The repository stands alone: a fresh clone (what a user gets, committed files only) refers to
# nothing outside itself. No tracked text file names a sibling folder of the checkout (the
# parent folder of the source root, by its absolute path, found at run time), the team's old
# shared folder (a "shared" folder beside the repository, or its vectors and docs), or anyone's
# home directory; every reference-ks capture the unit tests open is in the clone. Binary files
# (captures, keys, fuzz inputs) are not searched. Every finding is printed as file:line: text.
. "$(dirname "$0")/lib.sh"
st_init

command -v git >/dev/null ||
    st_fail "git is not installed; this scenario clones the repository (apt-get install git)"
# The checkout may belong to another user than the one running the tests (root).
git_() { git -c safe.directory='*' "$@"; }

source_root=$(cd "$GDOID_SOURCE_ROOT" && pwd -P)
toplevel=$(git_ -C "$source_root" rev-parse --show-toplevel 2>/dev/null) ||
    st_fail "the source root $source_root is not a git checkout: this scenario checks what a git clone of it contains, so run it from one"
[ "$(cd "$toplevel" && pwd -P)" = "$source_root" ] ||
    st_fail "the source root $source_root is not the top of its git checkout ($toplevel)"
git_ -C "$source_root" rev-parse --verify --quiet HEAD >/dev/null ||
    st_fail "the checkout at $source_root has no commit to clone"

clone=$ST_DIR/clone
git_ clone --quiet "$source_root" "$clone" || st_fail "git clone of $source_root failed"
st_pass "cloned $(git_ -C "$clone" rev-parse --short HEAD) into a temporary folder"

findings=0
# search WHAT ERE: report every line of a tracked text file that matches.
search() {
    local what=$1 pattern=$2 out rc=0
    out=$(git_ -C "$clone" grep -n -I -E -e "$pattern" -- . ':!*.pcap' ':!*.der') || rc=$?
    [ "$rc" -le 1 ] || st_fail "git grep could not search for $what (pattern $pattern)"
    [ -z "$out" ] && return 0
    echo "FOUND: $what:"
    # git grep prints file:line:text; show file:line: text.
    printf '%s\n' "$out" | sed -E 's/^([^:]*:[0-9]+):/    \1: /'
    findings=$((findings + $(printf '%s\n' "$out" | wc -l)))
}

# A path starts where the previous character cannot continue a path or a variable.
start='(^|[^A-Za-z0-9_.$}/-])'
end='(/|$|[^A-Za-z0-9_.-])'
ere_escape() { printf '%s' "$1" | sed -E 's/[][\.^$*+?(){}|]/\\&/g'; }

search "the old shared folder beside the repository" '\.\./shared([^A-Za-z0-9_]|$)'
search "the old shared vectors or documents" '(^|[^A-Za-z0-9_])shared/(vectors|docs)([^A-Za-z0-9_]|$)'
search "a home directory" "$start/home/[A-Za-z0-9._-]+"
search "root's home directory" "$start/root/"

# The checkout's own absolute path, and the folder it sits in: nothing tracked may name either.
# Folders every machine has (/tmp, /home, /usr, …) say nothing about this machine and are
# far too common in legitimate text; for those only the checkout's own path is checked.
parent=$(dirname "$source_root")
search "the checkout's own absolute path ($source_root)" "$start$(ere_escape "$source_root")$end"
case $parent in
/ | /tmp | /var/tmp | /home | /root | /srv | /opt | /usr | /usr/local | /usr/src | /var | /var/lib | /mnt | /media | /run)
    echo "note: the checkout sits in $parent, a folder every machine has; not searched for" ;;
*)
    search "the folder the checkout sits in ($parent)" "$start$(ere_escape "$parent")$end" ;;
esac

# The reference key server's captures: the tests find them in the repository, and every file
# they open is there.
reader=$clone/test/support/pcap_reader.cpp
if ! grep -q '"/test/vectors/reference-ks/"' "$reader"; then
    echo "FOUND: test/support/pcap_reader.cpp does not look for the captures in test/vectors/reference-ks/"
    findings=$((findings + 1))
fi
users=$(git_ -C "$clone" grep -l -e 'reference_vector_path(' -- test ':!test/support' || true)
[ -n "$users" ] || st_fail "no test calls reference_vector_path(); this scenario no longer knows which captures to look for"
names=$(cd "$clone" && printf '%s\n' "$users" |
    xargs grep -h -o -E '"[A-Za-z0-9._-]+\.(pcap|der)"' | tr -d '"' | sort -u) || true
[ "$(printf '%s\n' "$names" | grep -c .)" -ge 4 ] ||
    st_fail "found only these capture names in the tests: $(echo $names); expected the four reference-ks files"
missing=0
for name in $names; do
    if [ ! -f "$clone/test/vectors/reference-ks/$name" ]; then
        echo "FOUND: the tests open test/vectors/reference-ks/$name, which the clone lacks:"
        (cd "$clone" && printf '%s\n' "$users" | xargs grep -n -F "\"$name\"" /dev/null || true) |
            sed -E 's/^([^:]*:[0-9]+):/    \1: /'
        missing=$((missing + 1))
    fi
done
findings=$((findings + missing))
[ "$missing" != 0 ] ||
    st_pass "the tests open $(echo $names | wc -w) captures, all in the clone's test/vectors/reference-ks/: $(echo $names)"

[ "$findings" = 0 ] || st_fail "$findings reference(s) to something outside the repository (above)"
st_pass "no tracked text file refers outside the repository"
