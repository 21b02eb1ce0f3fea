# The key server lab the whole-process benchmarks share (memory.sh, startup.sh), on top of
# test/system/lib.sh's st_ks_lab: configuration writers for GROUPS groups of TEKS TEKs each.
# Needs $ST_DIR, $KS_ADDR, $GM_ADDR, $GM_IF, $ST_PSK, $ST_SOCKET.

# ks_config GROUPS TEKS: a key server serving GROUPS groups (ids 5001..) of TEKS TEKs each
# (TEKS even).
ks_config() {
    local groups=$1 teks=$2 g t host net pair
    cat <<TOML
listen = ["$KS_ADDR"]
port = 848
control-socket = "$ST_DIR/ks.sock"

[phase1]
proposals = [ { encryption = "aes-256-cbc", hash = "sha256", dh-group = 14, lifetime = 86400 } ]
TOML
    for ((g = 0; g < groups; g++)); do
        cat <<TOML

[[group]]
id = $((5001 + g))
sequence = 1
psk = { "$GM_ADDR" = "$ST_PSK" }

[group.kek]
algorithm = "aes-128-cbc"
signing-key = "$ST_DIR/ks-key.pem"
signature-hash = "sha256"
lifetime = 86400
source = "$KS_ADDR:848"
destination = "$GM_ADDR:848"
TOML
        # gdoid takes TEK policies in pairs (A->B with B->A): TEKS/2 pairs of host <-> net.
        for ((t = 0; t < teks / 2; t++)); do
            host="10.$((10 + g)).$((t / 250)).$((t % 250))/32" net="10.$((100 + g)).0.0/16"
            for pair in "$host $net" "$net $host"; do
                set -- $pair
                cat <<TOML

[[group.tek]]
cipher = "aes-256-cbc"
integrity = "hmac-sha256"
source = "$1"
destination = "$2"
lifetime = 3600
TOML
            done
        done
    done
}

gdoid_config() {
    local groups=$1 g
    printf '[daemon]\ncontrol-socket = "%s"\nlog-level = "info"\n' "$ST_SOCKET"
    for ((g = 0; g < groups; g++)); do
        cat <<TOML

[[group]]
name = "g$g"
id = $((5001 + g))
servers = ["$KS_ADDR"]
local-address = "$GM_ADDR"
pre-shared-key = { file = "$ST_DIR/psk" }
ike = { encryption = "aes-256", hash = "sha256", dh-group = 14, lifetime = "8h" }
wan-interface = "$GM_IF"
lan-interfaces = ["lo"]
TOML
    done
}

# Whether every group of gdoid's status is registered.
all_registered() {
    st_status_json 2>/dev/null | python3 -c "import json, sys
gs = json.load(sys.stdin)['result']['groups']
sys.exit(0 if gs and all(g['state'] == 'registered' for g in gs) else 1)"
}

