# shellcheck shell=bash
# A throw-away PKI made with the openssl command (independent of gdoid's own code), shared by
# the system tests (test/system/lib.sh) and the VM lab (test/vm/lib/gdoi-lab.sh). Source it.
#   pki_ca DIR NAME SUBJECT           a self-signed CA: DIR/NAME.crt, DIR/NAME.key
#   pki_issue DIR NAME SUBJECT CA [SAN]   a 2048-bit RSA key and a one-year certificate signed
#                                     by DIR/CA.*: DIR/NAME.crt, DIR/NAME.key (0600);
#                                     SAN like "DNS:ks.example,IP:192.0.2.1"
# SUBJECT is written as openssl -subj wants it: "/O=gdoid lab/CN=ks.lab.example".

pki_ca() {
    local dir=$1 name=$2 subject=$3
    mkdir -p "$dir"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$dir/$name.key" -days 3650 -sha256 \
        -subj "$subject" -out "$dir/$name.crt" -addext "basicConstraints=critical,CA:TRUE" \
        2>"$dir/$name.err" || { cat "$dir/$name.err" >&2; return 1; }
    chmod 0600 "$dir/$name.key"
}

pki_issue() {
    local dir=$1 name=$2 subject=$3 ca=$4 san=${5:-} ext=()
    openssl req -new -newkey rsa:2048 -nodes -keyout "$dir/$name.key" -subj "$subject" \
        -out "$dir/$name.csr" 2>"$dir/$name.err" || { cat "$dir/$name.err" >&2; return 1; }
    if [ -n "$san" ]; then
        printf 'subjectAltName = %s\n' "$san" >"$dir/$name.ext"
        ext=(-extfile "$dir/$name.ext")
    fi
    openssl x509 -req -in "$dir/$name.csr" -CA "$dir/$ca.crt" -CAkey "$dir/$ca.key" \
        -CAcreateserial -days 365 -sha256 "${ext[@]}" -out "$dir/$name.crt" \
        2>"$dir/$name.err" || { cat "$dir/$name.err" >&2; return 1; }
    chmod 0600 "$dir/$name.key"
}
