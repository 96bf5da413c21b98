#!/usr/bin/env bash
# A private slapd for quickstart and the tests: its own cn=config (slapd.d),
# mdb database, pid file and secrets, all inside one directory. Needs no
# systemd and no root; run as root it stays root (no -u/-g), so the files it
# creates belong to whoever runs it.
#
#   slapd.sh setup DIR            create DIR/slapd.d, DIR/db, DIR/*.secret (idempotent)
#   slapd.sh load DIR FILE.ldif   add entries (slapadd -q offline; ldapadd if running)
#   slapd.sh start DIR URI        start in the background, wait until it answers
#   slapd.sh stop DIR             stop and wait
#   slapd.sh status DIR           exit 0 if running
#   slapd.sh env DIR              shell lines for homthud's [ldap] config
#
# Environment: HOMTHU_LDAP_BASE_DN (default dc=thainguyen,dc=gov,dc=vn), used by
# setup only; later commands read the base from DIR/base_dn.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ldap_dir="$here/ldap"
slapd_bin=${SLAPD:-$(command -v slapd || echo /usr/sbin/slapd)}
slapadd_bin=${SLAPADD:-$(command -v slapadd || echo /usr/sbin/slapadd)}
slappasswd_bin=${SLAPPASSWD:-$(command -v slappasswd || echo /usr/sbin/slappasswd)}
# Argon2 cost for the two secrets made here; the same floor homthu uses
# (OWASP: m >= 19 MiB, t >= 2).
argon2_args="argon2.so m=19456 t=2 p=1"

die() { echo "slapd.sh: $*" >&2; exit 1; }
usage() { sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }

abs_dir() {
  mkdir -p "$1"
  (cd "$1" && pwd)
}

random_secret() {
  # 32 URL-safe characters; no newline so `ldapsearch -y` and homthud read
  # exactly the secret.
  head -c 24 /dev/urandom | base64 | tr '+/' '-_' | tr -d '\n='
}

argon2_hash() {
  "$slappasswd_bin" -o module-path=/usr/lib/ldap -o module-load="$argon2_args" \
    -h '{ARGON2}' -T "$1"
}

base_of() { cat "$1/base_dn"; }
service_dn_of() { echo "cn=homthud,ou=services,$(base_of "$1")"; }

pid_of() {
  local dir=$1 pid
  [[ -f $dir/slapd.pid ]] || return 1
  pid=$(cat "$dir/slapd.pid" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  # A stale pid file may name an unrelated process after a reboot.
  if [[ -r /proc/$pid/cmdline ]] && ! tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q slapd; then
    return 1
  fi
  echo "$pid"
}

cmd_setup() {
  local dir
  dir=$(abs_dir "$1")
  if [[ -f $dir/slapd.d/cn=config.ldif && -f $dir/db/data.mdb && -s $dir/homthu.secret ]]; then
    return 0
  fi
  [[ -e $dir/slapd.d/cn=config.ldif ]] && die "$dir/slapd.d exists but set-up is incomplete; remove $dir and retry"
  local base=${HOMTHU_LDAP_BASE_DN:-dc=thainguyen,dc=gov,dc=vn}
  [[ $base =~ ^dc=([A-Za-z0-9-]+)(,dc=[A-Za-z0-9-]+)*$ ]] || die "HOMTHU_LDAP_BASE_DN must be dc=…,dc=…: $base"
  local dc=${BASH_REMATCH[1]}
  (
    umask 077
    mkdir -p "$dir/slapd.d" "$dir/db"
    echo "$base" >"$dir/base_dn"
    random_secret >"$dir/admin.secret"
    random_secret >"$dir/homthu.secret"
  )
  local service_dn rootpw servicepw
  service_dn=$(service_dn_of "$dir")
  rootpw=$(argon2_hash "$dir/admin.secret")
  servicepw=$(argon2_hash "$dir/homthu.secret")
  [[ $rootpw == '{ARGON2}'* && $servicepw == '{ARGON2}'* ]] || die "slappasswd did not produce {ARGON2} hashes"
  sed -e "s|@DIR@|$dir|g" -e "s|@BASE@|$base|g" -e "s|@ROOTPW@|$rootpw|g" \
      -e "s|@SERVICE_DN@|$service_dn|g" -e "s|@SCHEMA@|$ldap_dir/homthu-schema.ldif|g" \
      "$ldap_dir/slapd-config.ldif.in" >"$dir/config.ldif"
  sed -e "s|@BASE@|$base|g" -e "s|@DC@|$dc|g" -e "s|@SERVICE_DN@|$service_dn|g" \
      -e "s|@SERVICE_PW@|$servicepw|g" \
      "$ldap_dir/base.ldif.in" >"$dir/base.ldif"
  "$slapadd_bin" -n 0 -F "$dir/slapd.d" -l "$dir/config.ldif" >"$dir/setup.log" 2>&1 \
    || { cat "$dir/setup.log" >&2; die "slapadd of cn=config failed"; }
  "$slapadd_bin" -q -F "$dir/slapd.d" -b "$base" -l "$dir/base.ldif" >>"$dir/setup.log" 2>&1 \
    || { cat "$dir/setup.log" >&2; die "slapadd of the base tree failed"; }
}

cmd_load() {
  local dir file pid
  dir=$(abs_dir "$1")
  file=$2
  [[ -f $dir/base_dn ]] || die "$dir is not set up (run: slapd.sh setup $dir)"
  [[ -r $file ]] || die "cannot read $file"
  if pid=$(pid_of "$dir"); then
    # Running: go through the protocol so slapd's caches stay coherent.
    ldapadd -x -c -H "$(cat "$dir/uri")" -D "cn=admin,$(base_of "$dir")" -y "$dir/admin.secret" \
      -f "$file" >"$dir/load.log" 2>&1 || { tail -20 "$dir/load.log" >&2; die "ldapadd of $file failed"; }
  else
    "$slapadd_bin" -q -F "$dir/slapd.d" -b "$(base_of "$dir")" -l "$file" >"$dir/load.log" 2>&1 \
      || { tail -20 "$dir/load.log" >&2; die "slapadd of $file failed"; }
  fi
}

answers() {
  local dir=$1 uri=$2
  ldapsearch -x -LLL -o nettimeout=2 -H "$uri" -D "cn=admin,$(base_of "$dir")" -y "$dir/admin.secret" \
    -b "$(base_of "$dir")" -s base 1.1 >/dev/null 2>&1
}

cmd_start() {
  local dir uri pid
  dir=$(abs_dir "$1")
  uri=$2
  [[ -f $dir/base_dn ]] || die "$dir is not set up (run: slapd.sh setup $dir)"
  if pid=$(pid_of "$dir"); then
    if answers "$dir" "$uri"; then
      return 0
    fi
    die "slapd (pid $pid) is running for $dir but does not answer on $uri"
  fi
  rm -f "$dir/slapd.pid"
  echo "$uri" >"$dir/uri"
  # slapd forks; the parent returns once the child has opened its listeners
  # or failed to. -d 0 would keep it in the foreground, which we do not want.
  "$slapd_bin" -h "$uri" -F "$dir/slapd.d" -s 0 >"$dir/slapd.log" 2>&1 \
    || { cat "$dir/slapd.log" >&2; die "slapd failed to start on $uri"; }
  local i
  for ((i = 0; i < 150; i++)); do
    if answers "$dir" "$uri"; then
      return 0
    fi
    sleep 0.1
  done
  die "slapd did not answer on $uri within 15 s"
}

cmd_stop() {
  local dir pid i
  dir=$(abs_dir "$1")
  pid=$(pid_of "$dir") || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 150; i++)); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$dir/slapd.pid"; return 0; }
    sleep 0.1
  done
  # mdb is crash-safe; a slapd that ignores SIGTERM for 15 s is stuck.
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$dir/slapd.pid"
}

cmd_env() {
  local dir
  dir=$(abs_dir "$1")
  [[ -f $dir/base_dn ]] || die "$dir is not set up (run: slapd.sh setup $dir)"
  printf "HOMTHU_LDAP_BASE_DN='%s'\n" "$(base_of "$dir")"
  printf "HOMTHU_LDAP_BIND_DN='%s'\n" "$(service_dn_of "$dir")"
  printf "HOMTHU_LDAP_BIND_PASSWORD_FILE='%s'\n" "$dir/homthu.secret"
  printf "HOMTHU_LDAP_SECRET_FILE='%s'\n" "$dir/homthu.secret"
  printf "HOMTHU_LDAP_ADMIN_DN='%s'\n" "cn=admin,$(base_of "$dir")"
  printf "HOMTHU_LDAP_ADMIN_PASSWORD_FILE='%s'\n" "$dir/admin.secret"
  if [[ -f $dir/uri ]]; then
    printf "HOMTHU_LDAP_URI='%s'\n" "$(cat "$dir/uri")"
  fi
}

(($# >= 1)) || usage
sub=$1
shift
case $sub in
  setup) (($# == 1)) || usage; cmd_setup "$1" ;;
  load) (($# == 2)) || usage; cmd_load "$1" "$2" ;;
  start) (($# == 2)) || usage; cmd_start "$1" "$2" ;;
  stop) (($# == 1)) || usage; cmd_stop "$1" ;;
  status) (($# == 1)) || usage; pid_of "$(abs_dir "$1")" >/dev/null ;;
  env) (($# == 1)) || usage; cmd_env "$1" ;;
  -h | --help | help) usage ;;
  *) usage ;;
esac
