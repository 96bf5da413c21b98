#!/usr/bin/env bash
# Directory benchmark (issue 3): against a private slapd loaded with the demo
# province (packaging/slapd.sh, the same script quickstart, the integration
# harness and bench/run.sh use), measure
#   - start-up, cold and warm recipient resolution (lookups/s), authentication
#     cold (one slapd Argon2id verification) and warm (p50/p99), and what one
#     Argon2id hash costs here (bench_directory);
#   - `homthuctl import` of a CSV with HOMTHU_DEMO_USERS accounts (default
#     9,000), each with its own random password, into a second slapd that holds
#     only the unit tree; the import prints where its time went.
#
#   bench/directory/run.sh                      # build Release into build/, run
#   HOMTHU_BIN=/path/bin bench/directory/run.sh # binaries built elsewhere
#   BENCH_SKIP_IMPORT=1 bench/directory/run.sh  # lookups and logins only
#
# Loopback only: slapd on HOMTHU_PORT_BASE+389 and +390 (default: two free
# ports the kernel picks, since other benches share this machine), everything under HOMTHU_DATA (default /tmp/homthu-bench-directory), removed
# first. Argon2id cost: [argon2] of the written config, m = 19 MiB, t = 2
# (OWASP's minimum, homthu's default).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
data=${HOMTHU_DATA:-/tmp/homthu-bench-directory}
free_port() { /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
if [[ -n ${HOMTHU_PORT_BASE:-} ]]; then
  port_lookups=$((HOMTHU_PORT_BASE + 389)) port_import=$((HOMTHU_PORT_BASE + 390))
else
  port_lookups=$(free_port) port_import=$(free_port)
fi
users=${HOMTHU_DEMO_USERS:-9000}
seconds=${BENCH_SECONDS:-6}
password=Mat-khau-bench-2026
slapd_sh=$root/packaging/slapd.sh

if [[ -n ${HOMTHU_BIN:-} ]]; then
  bin=$HOMTHU_BIN
else
  cmake -G Ninja -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$root/build" --target homthuctl bench_directory
  bin=$root/build/bin
fi

rm -rf "$data"
mkdir -p "$data"
cleanup() {
  trap - INT TERM EXIT
  bash "$slapd_sh" stop "$data/ldap" >/dev/null 2>&1 || true
  bash "$slapd_sh" stop "$data/ldap-import" >/dev/null 2>&1 || true
}
trap cleanup INT TERM EXIT

# config DIR URI OUT: a homthu.toml naming the slapd set up in DIR.
config() {
  local dir=$1 uri=$2 out=$3
  (
    eval "$(bash "$slapd_sh" env "$dir")"
    cat >"$out" <<TOML
[server]
hostname = "localhost"
domains = ["thainguyen.gov.vn"]
data_dir = "$data"
[log]
level = "error"
[ldap]
uri = "$uri"
bind_dn = "$HOMTHU_LDAP_BIND_DN"
bind_password_file = "$HOMTHU_LDAP_SECRET_FILE"
[argon2]
ops_limit = 2
mem_limit = "19M"
TOML
  )
}

echo "== machine: $(nproc) cores, $(uptime | sed 's/.*load average/load average/')"

# Lookups and logins: the demo province with $users accounts.
uri=ldap://127.0.0.1:$port_lookups
bash "$slapd_sh" setup "$data/ldap"
printf '%s' "$password" >"$data/password"
printf '%s' "$password" | "$bin/homthuctl" demo ldif --users "$users" --seed 1 --password-stdin --out "$data/demo" >/dev/null
t0=$(date +%s.%N)
bash "$slapd_sh" load "$data/ldap" "$data/demo/demo.ldif"
t1=$(date +%s.%N)
echo "== slapadd of the demo province ($users accounts): $(awk "BEGIN{printf \"%.1f\", $t1 - $t0}") s"
bash "$slapd_sh" start "$data/ldap" "$uri"
config "$data/ldap" "$uri" "$data/homthu.toml"
"$bin/bench_directory" --config "$data/homthu.toml" --accounts "$data/demo/accounts.tsv" \
  --password-file "$data/password" --seconds "$seconds"
bash "$slapd_sh" stop "$data/ldap"

if [[ -n ${BENCH_SKIP_IMPORT:-} ]]; then
  exit 0
fi

# Import: the same people as a CSV, each with a password of their own, into a
# slapd that has the units but no accounts.
uri=ldap://127.0.0.1:$port_import
bash "$slapd_sh" setup "$data/ldap-import"
printf '%s' "$password" | "$bin/homthuctl" demo ldif --users 0 --seed 1 --password-stdin --out "$data/units" >/dev/null
bash "$slapd_sh" load "$data/ldap-import" "$data/units/demo.ldif"
bash "$slapd_sh" start "$data/ldap-import" "$uri"
config "$data/ldap-import" "$uri" "$data/import.toml"
/usr/bin/python3 - "$data/demo/accounts.tsv" "$data/accounts.csv" <<'PY'
import csv, secrets, sys
with open(sys.argv[1], encoding="utf-8") as f:
    rows = list(csv.reader(f, delimiter="\t"))[1:]
with open(sys.argv[2], "w", encoding="utf-8", newline="") as f:
    w = csv.writer(f)
    w.writerow(["address", "name", "unit", "quota", "password"])
    for address, _id, name, unit in rows:
        w.writerow([address, name, unit, "2G", secrets.token_urlsafe(12)])
PY
echo "== import of $(($(wc -l <"$data/accounts.csv") - 1)) accounts, each with its own password"
t0=$(date +%s.%N)
"$bin/homthuctl" --config "$data/import.toml" import "$data/accounts.csv" </dev/null
t1=$(date +%s.%N)
echo "import wall time: $(awk "BEGIN{printf \"%.1f\", $t1 - $t0}") s"
eval "$(bash "$slapd_sh" env "$data/ldap-import")"
n=$(ldapsearch -x -LLL -H "$uri" -D "$HOMTHU_LDAP_ADMIN_DN" -y "$HOMTHU_LDAP_ADMIN_PASSWORD_FILE" \
  -b "ou=units,$HOMTHU_LDAP_BASE_DN" -E pr=1000/noprompt '(objectClass=inetOrgPerson)' 1.1 | grep -c '^dn:')
echo "accounts in slapd after the import: $n"
