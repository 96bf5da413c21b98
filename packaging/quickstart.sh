#!/usr/bin/env bash
# Runs homthu with the demo province on this machine, on loopback only:
# installs what is missing, builds Release into build/, starts a private
# slapd loaded with the demo province and homthud, prints one READY line
# with every endpoint and a demo login, and runs until Ctrl-C or SIGTERM.
#
# Environment (DESIGN.md, "Stable contracts"):
#   HOMTHU_DATA           data directory (default ./var/quickstart); reused by a second run
#   HOMTHU_PORT_BASE      ports are BASE+25 smtp, +587 submission, +465 smtps, +143 imap,
#                         +993 imaps, +443 admin https, +80 admin http, +389 ldap (default 20000)
#   HOMTHU_DEMO_USERS     accounts in the demo province (default 9000; used on first run)
#   HOMTHU_DEMO_PASSWORD  password of every demo account (default: random, kept in the data dir)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# ccache: hits across checkouts in other folders (CI clones anew) and with
# the precompiled headers.
export CCACHE_BASEDIR="$root"
export CCACHE_SLOPPINESS="pch_defines,time_macros,include_file_mtime,include_file_ctime"
data=${HOMTHU_DATA:-./var/quickstart}
mkdir -p "$data"
data=$(cd "$data" && pwd)
base=${HOMTHU_PORT_BASE:-20000}
users=${HOMTHU_DEMO_USERS:-9000}
if ! [[ $base =~ ^[0-9]+$ ]] || ((base < 1024 || base > 64000)); then
  echo "quickstart: HOMTHU_PORT_BASE must be a number between 1024 and 64000" >&2
  exit 2
fi
if ! [[ $users =~ ^[0-9]+$ ]] || ((users < 1)); then
  echo "quickstart: HOMTHU_DEMO_USERS must be a positive number" >&2
  exit 2
fi

bash "$root/packaging/install-deps.sh"
cmake -G Ninja -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$root/build" --target homthud homthuctl
bin="$root/build/bin"

# The demo password: given, or the one kept from an earlier run, or new.
if [[ -n ${HOMTHU_DEMO_PASSWORD:-} ]]; then
  password=$HOMTHU_DEMO_PASSWORD
elif [[ -f $data/demo-password ]]; then
  password=$(<"$data/demo-password")
else
  password=$(head -c 12 /dev/urandom | base64 | tr -d '/+=' | head -c 12)
fi
(umask 077 && printf '%s' "$password" >"$data/demo-password")

# TLS: a self-signed certificate for loopback, made once.
mkdir -p "$data/tls"
if [[ ! -f $data/tls/cert.pem ]]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
    -subj "/O=homthu/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -keyout "$data/tls/key.pem" -out "$data/tls/cert.pem" 2>/dev/null
  chmod 600 "$data/tls/key.pem"
fi

# The directory: set up and loaded with the demo province once.
ldap_uri="ldap://127.0.0.1:$((base + 389))"
if [[ ! -f $data/ldap/.demo-loaded ]]; then
  echo "quickstart: creating the demo province ($users accounts)"
  rm -rf "$data/ldap" "$data/demo"
  bash "$root/packaging/slapd.sh" setup "$data/ldap"
  printf '%s' "$password" | "$bin/homthuctl" demo ldif --users "$users" --seed 1 --password-stdin --out "$data/demo"
  bash "$root/packaging/slapd.sh" load "$data/ldap" "$data/demo/demo.ldif"
  touch "$data/ldap/.demo-loaded"
fi
eval "$(bash "$root/packaging/slapd.sh" env "$data/ldap")"  # HOMTHU_LDAP_BIND_DN, HOMTHU_LDAP_SECRET_FILE

cat >"$data/homthu.toml" <<TOML
# Written by packaging/quickstart.sh on each run; see packaging/homthu.toml.example.
[server]
hostname = "localhost"
domains = ["thainguyen.gov.vn"]
data_dir = "$data"

[log]
level = "info"
file = "$data/homthud.log"

[tls]
cert = "$data/tls/cert.pem"
key = "$data/tls/key.pem"

[listen]
smtp = "127.0.0.1:$((base + 25))"
submission = "127.0.0.1:$((base + 587))"
smtps = "127.0.0.1:$((base + 465))"
imap = "127.0.0.1:$((base + 143))"
imaps = "127.0.0.1:$((base + 993))"
admin = "127.0.0.1:$((base + 443))"
admin_http = "127.0.0.1:$((base + 80))"

[ldap]
uri = "$ldap_uri"
base_dn = "dc=thainguyen,dc=gov,dc=vn"
bind_dn = "$HOMTHU_LDAP_BIND_DN"
bind_password_file = "$HOMTHU_LDAP_SECRET_FILE"
TOML

homthud_pid=""
stop_all() {
  trap - INT TERM EXIT
  if [[ -n $homthud_pid ]] && kill -0 "$homthud_pid" 2>/dev/null; then
    kill -TERM "$homthud_pid" 2>/dev/null || true
    wait "$homthud_pid" 2>/dev/null || true
  fi
  bash "$root/packaging/slapd.sh" stop "$data/ldap" || true
  echo "quickstart: stopped"
}
trap stop_all INT TERM EXIT

bash "$root/packaging/slapd.sh" start "$data/ldap" "$ldap_uri"
"$bin/homthud" --config "$data/homthu.toml" 2>>"$data/homthud.log" &
homthud_pid=$!

# Ready when every port accepts a connection (bounded: 30 s).
ports=($((base + 25)) $((base + 587)) $((base + 465)) $((base + 143)) $((base + 993)) $((base + 443)))
for _ in $(seq 1 300); do
  if ! kill -0 "$homthud_pid" 2>/dev/null; then
    echo "quickstart: homthud exited; the end of $data/homthud.log:" >&2
    tail -n 20 "$data/homthud.log" >&2
    exit 1
  fi
  up=0
  for p in "${ports[@]}"; do
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && up=$((up + 1))
  done
  ((up == ${#ports[@]})) && break
  sleep 0.1
done
if ((up != ${#ports[@]})); then
  echo "quickstart: homthud did not open its ports within 30 s; see $data/homthud.log" >&2
  exit 1
fi

login=$(awk -F'\t' 'NR == 2 { print $1; exit }' "$data/demo/accounts.tsv")
echo "READY smtp=127.0.0.1:$((base + 25)) submission=127.0.0.1:$((base + 587)) smtps=127.0.0.1:$((base + 465))" \
  "imap=127.0.0.1:$((base + 143)) imaps=127.0.0.1:$((base + 993)) admin=https://127.0.0.1:$((base + 443))/" \
  "admin_http=http://127.0.0.1:$((base + 80))/ ldap=$ldap_uri" \
  "login=$login admin_login=admin@thainguyen.gov.vn password=$password config=$data/homthu.toml"

wait "$homthud_pid" || true
