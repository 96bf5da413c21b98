#!/usr/bin/env bash
# Side-by-side benchmark: homthu against Postfix + Dovecot on this machine,
# same accounts, same load, loopback only: SMTP delivery, the province-wide
# list, IMAP logins, the IMAP mixed workload, idle IMAP connection memory.
#
#   bench/run.sh                       # build Release, run, print the table
#   BENCH_MESSAGES=2000 bench/run.sh   # more messages per case
#   HOMTHU_BIN=/path/bin bench/run.sh  # use binaries built elsewhere, no build
#   BENCH_PHASES=imap bench/run.sh     # only some of: smtp,list,imap
#
# Builds Release into build/ (homthud, homthuctl), starts a private slapd and
# homthud with the demo province (HOMTHU_DEMO_USERS, default 1000) under
# HOMTHU_DATA (default /tmp/homthu-bench) on HOMTHU_PORT_BASE (default
# 23000). The demo has 9,000 accounts (HOMTHU_DEMO_USERS) so that the list
# case sends to the real province. When packaging/install-peers.sh has installed Postfix and Dovecot,
# starts them with bench/peers/peers.sh (same accounts.tsv, the demo
# password's Argon2id hash from the demo LDIF) on PORT_BASE+2000.
#
# Load: postfix's smtp-source, 4 KB and 100 KB messages at 1, 10 and 50
# connections, each connection to its own recipient; every case bounded in
# count (BENCH_MESSAGES, default 500, and at least 40 per connection) and time
# (BENCH_TIMEOUT s, default 120), each after BENCH_SETTLE s (default 3) of
# quiet. The 40: the load generators are started one
# after another, which took 1.2 s for 50 of them here, longer than homthu
# needed for 500 messages; with 10 per connection the 50-connection case
# measured the start of smtp-source, not the servers.
# homthu answers 250 after the message is committed into the mailbox;
# Postfix answers 250 once queued, so its figure is taken when the last
# message has reached Dovecot's maildir (both "accepted" and "in mailbox"
# are recorded).
#
# List: one message to toantinh@ (every account), time until it is in every
# INBOX (bench/list/run.py). IMAP (bench/imap/compare.py): logins/s and
# LOGIN p50/p99 at 20 clients, mixed workload ops/s and command p50/p99 at
# BENCH_IMAP_CLIENTS (100), memory per idle connection at BENCH_IDLE_CONNS
# (10000) plain and TLS-in-IDLE; homthud is restarted before each memory
# figure, Dovecot's whole process tree is counted.
#
# Results: bench/results/<date>.md (tables) and .svg (chart), tables on stdout.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
data=${HOMTHU_DATA:-/tmp/homthu-bench}
base=${HOMTHU_PORT_BASE:-23000}
peer_base=$((base + 2000))
users=${HOMTHU_DEMO_USERS:-9000}
imap_clients=${BENCH_IMAP_CLIENTS:-100}
idle_conns=${BENCH_IDLE_CONNS:-10000}
imap_seconds=${BENCH_IMAP_SECONDS:-20}
messages=${BENCH_MESSAGES:-500}
timeout_s=${BENCH_TIMEOUT:-120}
settle_s=${BENCH_SETTLE:-3}
phases=,${BENCH_PHASES:-smtp,list,imap},
password=Mat-khau-bench-2026
stamp=$(date -u +%Y-%m-%d)
out_dir=$root/bench/results
mkdir -p "$out_dir"
results=$data/results.tsv
other=$data/other.tsv

command -v smtp-source >/dev/null || { echo "bench: smtp-source (postfix) is needed: packaging/install-peers.sh" >&2; exit 2; }

if [[ -n ${HOMTHU_BIN:-} ]]; then
  bin=$HOMTHU_BIN  # already built elsewhere (say so in the results)
else
  cmake -G Ninja -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$root/build" --target homthud homthuctl
  bin=$root/build/bin
fi

rm -rf "$data"
mkdir -p "$data/tls"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
  -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
  -keyout "$data/tls/key.pem" -out "$data/tls/cert.pem" 2>/dev/null
chmod 644 "$data/tls/key.pem"  # Dovecot reads it as its own user

bash "$root/packaging/slapd.sh" setup "$data/ldap"
printf '%s' "$password" | "$bin/homthuctl" demo ldif --users "$users" --seed 1 --password-stdin --out "$data/demo" >/dev/null
bash "$root/packaging/slapd.sh" load "$data/ldap" "$data/demo/demo.ldif"
eval "$(bash "$root/packaging/slapd.sh" env "$data/ldap")"
ldap_uri="ldap://127.0.0.1:$((base + 389))"
cat >"$data/homthu.toml" <<TOML
[server]
hostname = "localhost"
domains = ["thainguyen.gov.vn"]
data_dir = "$data"
[log]
level = "warn"
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
[ldap]
uri = "$ldap_uri"
bind_dn = "$HOMTHU_LDAP_BIND_DN"
bind_password_file = "$HOMTHU_LDAP_SECRET_FILE"
[limits]
max_connections = 30000
max_connections_per_ip = 30000
tls_handshakes_per_second = 100000
[smtp]
dns_servers = ["127.0.0.1:9"]      # SPF/DKIM lookups fail at once: loopback only
connections_per_ip_per_minute = 0  # one client address makes every connection (Postfix: anvil off by default)
TOML

homthud_pid=""
peers=0
cleanup() {
  trap - INT TERM EXIT
  if [[ -n $homthud_pid ]]; then
    kill -TERM "$homthud_pid" 2>/dev/null || true
    wait "$homthud_pid" 2>/dev/null || true
  fi
  ((peers)) && bash "$root/bench/peers/peers.sh" stop "$data/peers" || true
  bash "$root/packaging/slapd.sh" stop "$data/ldap" >/dev/null 2>&1 || true
}
trap cleanup INT TERM EXIT

ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
bash "$root/packaging/slapd.sh" start "$data/ldap" "$ldap_uri"
wait_port() {
  for _ in $(seq 1 300); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "bench: port $1 did not open" >&2
  return 1
}
start_homthud() {
  "$bin/homthud" --config "$data/homthu.toml" 2>>"$data/homthud.log" &
  homthud_pid=$!
  wait_port $((base + 25))
  wait_port $((base + 993))
}
stop_homthud() {
  kill -TERM "$homthud_pid" 2>/dev/null || true
  wait "$homthud_pid" 2>/dev/null || true
  homthud_pid=""
}
start_homthud

if command -v postfix >/dev/null && command -v dovecot >/dev/null; then
  hash=$(grep -m1 '^userPassword: {ARGON2}' "$data/demo/demo.ldif" | sed 's/^userPassword: {ARGON2}//')
  bash "$root/bench/peers/peers.sh" start "$data/peers" "$peer_base" "$data/demo/accounts.tsv" "$hash" \
    "$data/tls/cert.pem" "$data/tls/key.pem"
  peers=1
else
  echo "bench: Postfix/Dovecot not installed (packaging/install-peers.sh); homthu only" >&2
fi

mapfile -t rcpts < <(awk -F'\t' 'NR > 1 { print $1 }' "$data/demo/accounts.tsv" | head -n 60)

maildir_count() {
  find "$data/peers/mail" -path '*/new/*' -type f 2>/dev/null | wc -l
}

# run_case SYSTEM PORT SIZE CONNS: prints "system size conns messages accepted_s inbox_s"
run_case() {
  local system=$1 port=$2 size=$3 conns=$4
  # The previous case's tail (the other system's processes exiting, its
  # fsyncs and logs, our checkpoint) must not run into this one: a
  # one-connection case waits on every delay.
  sleep "$settle_s"
  local per=$(( (messages + conns - 1) / conns ))
  (( per >= 40 )) || per=40
  local total=$((per * conns))
  local before=0
  [[ $system == postfix ]] && before=$(maildir_count)
  local t0 t1 t2 pids=()
  t0=$(date +%s.%N)
  for ((i = 0; i < conns; i++)); do
    timeout "$timeout_s" smtp-source -d -s 1 -l "$size" -m "$per" -f bench@example.org \
      -t "${rcpts[$((i % ${#rcpts[@]}))]}" "127.0.0.1:$port" >/dev/null 2>&1 &
    pids+=($!)
  done
  local failed=0
  for p in "${pids[@]}"; do wait "$p" || failed=1; done
  t1=$(date +%s.%N)
  t2=$t1
  if [[ $system == postfix ]]; then
    local deadline=$(( $(date +%s) + timeout_s ))
    while (( $(maildir_count) - before < total )) && (( $(date +%s) < deadline )); do sleep 0.05; done
    t2=$(date +%s.%N)
    (( $(maildir_count) - before >= total )) || failed=1
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$system" "$size" "$conns" "$total" \
    "$(echo "$t1 - $t0" | bc -l)" "$(echo "$t2 - $t0" | bc -l)" "$failed"
}

printf 'system\tsize\tconns\tmessages\taccepted_s\tinbox_s\tfailed\n' >"$results"
[[ $phases == *,smtp,* ]] && for size in 4096 102400; do
  for conns in 1 10 50; do
    run_case homthu $((base + 25)) "$size" "$conns" | tee -a "$results"
    if ((peers)); then
      run_case postfix $((peer_base + 25)) "$size" "$conns" | tee -a "$results"
    fi
  done
done

# SMTP latency: the whole transaction (MAIL FROM to the 250 after the content)
# on 10 kept connections. homthu's 250 follows the mailbox commit, Postfix's
# the queueing: the rows say what each promise costs the sender.
latency_case() {  # latency_case SYSTEM PORT
  timeout 300 python3 "$root/bench/smtp/run.py" --latency "$1" --port "$2" --accounts "$data/demo/accounts.tsv" \
    --sizes 4096,102400 --conns 10 --messages "$messages" --seconds "$timeout_s" >>"$data/latency.tsv" ||
    echo "bench: SMTP latency for $1 failed" >&2
}
: >"$data/latency.tsv"
if [[ $phases == *,smtp,* ]]; then
  latency_case homthu $((base + 25))
  if ((peers)); then
    latency_case peer $((peer_base + 25))
  fi
fi

# --- the province-wide list ---------------------------------------------------
list_case() {  # list_case SYSTEM ARGS...: appends "metric system value unit" rows
  local system=$1
  shift
  timeout 900 python3 "$root/bench/list/run.py" "$system" --expect "$users" "$@" | tee -a "$other" ||
    echo "bench: list case for $system failed" >&2
}
printf 'metric\tsystem\tvalue\tunit\n' >"$other"
cat "$data/latency.tsv" >>"$other"
[[ $phases == *,list,* ]] && list_case homthu --smtp "127.0.0.1:$((base + 587))" --user admin@thainguyen.gov.vn --password "$password" \
  --store "$data/mail/mail.db"
if ((peers)) && [[ $phases == *,list,* ]]; then
  list_case peer --smtp "127.0.0.1:$((peer_base + 25))" --maildir "$data/peers/mail"
fi

# --- IMAP ----------------------------------------------------------------------
imap_case() {  # imap_case SYSTEM PLAIN_PORT TLS_PORT PID PHASES
  timeout 1800 python3 "$root/bench/imap/compare.py" --system "$1" --imap-port "$2" --imaps-port "$3" \
    --pid "$4" --only "$5" --accounts "$data/demo/accounts.tsv" --password "$password" \
    --connections "$idle_conns" --clients "$imap_clients" --seconds "$imap_seconds" | tee -a "$other" ||
    echo "bench: IMAP $5 for $1 failed" >&2
}
[[ $phases == *,imap,* ]] && for phase in memory-tls memory-plain logins,mixed; do
  stop_homthud
  start_homthud   # a fresh process: heap freed by the last phase would hide growth
  imap_case homthu $((base + 143)) $((base + 993)) "$homthud_pid" "$phase"
  if ((peers)); then
    imap_case peer $((peer_base + 143)) $((peer_base + 993)) "$(cat "$data/peers/dovecot/run/master.pid")" "$phase"
  fi
done

note="homthu binaries: $bin. Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
machine="$(nproc) cores, $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo), $(uname -sr)"
python3 "$root/bench/report/report.py" "$results" --other "$other" --date "$stamp" --machine "$machine" --note "$note" \
  --markdown "$out_dir/$stamp.md" --svg "$out_dir/$stamp.svg"
cat "$out_dir/$stamp.md"
