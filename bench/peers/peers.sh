#!/usr/bin/env bash
# Private Postfix + Dovecot instances on loopback for side-by-side benchmarks
# (installed by packaging/install-peers.sh). Same accounts and the same
# Argon2id password hash as the homthu demo province, so logins cost the same.
#
#   peers.sh start DIR PORT_BASE ACCOUNTS_TSV PASSWORD_HASH CERT KEY
#       Postfix smtpd on PORT_BASE+25 → LMTP on PORT_BASE+24 → Dovecot maildir;
#       Dovecot IMAP on PORT_BASE+143, IMAPS on PORT_BASE+993.
#   peers.sh stop DIR
set -euo pipefail

cmd=${1:?usage: peers.sh start|stop DIR ...}
dir=${2:?DIR}

stop() {
  if [[ -f $dir/postfix/main.cf ]]; then
    postfix -c "$dir/postfix" stop >/dev/null 2>&1 || true
  fi
  if [[ -f $dir/dovecot/dovecot.conf ]]; then
    doveadm -c "$dir/dovecot/dovecot.conf" stop >/dev/null 2>&1 || true
  fi
  for _ in $(seq 1 50); do
    pgrep -f "$dir/(postfix|dovecot)" >/dev/null || break
    sleep 0.1
  done
}

if [[ $cmd == stop ]]; then
  stop
  exit 0
fi
[[ $cmd == start ]] || { echo "peers.sh: unknown command $cmd" >&2; exit 2; }

base=${3:?PORT_BASE}
accounts=${4:?ACCOUNTS_TSV}
hash=${5:?PASSWORD_HASH}
cert=${6:?CERT}
key=${7:?KEY}
stop
rm -rf "$dir"
mkdir -p "$dir/dovecot/run" "$dir/dovecot/state" "$dir/mail" "$dir/postfix"
dir=$(cd "$dir" && pwd)
chown mail:mail "$dir/mail"

# --- Dovecot -------------------------------------------------------------
awk -F'\t' -v h="$hash" 'NR > 1 { print $1 ":{ARGON2ID}" h }' "$accounts" >"$dir/dovecot/users"
cat >"$dir/dovecot/dovecot.conf" <<CONF
base_dir = $dir/dovecot/run
state_dir = $dir/dovecot/state
instance_name = homthu-bench-dovecot
protocols = imap lmtp
listen = 127.0.0.1
log_path = $dir/dovecot/dovecot.log
ssl = yes
ssl_cert = <$cert
ssl_key = <$key
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:$dir/mail/%d/%n
mail_uid = mail
mail_gid = mail
first_valid_uid = 1
first_valid_gid = 1
default_client_limit = 25000
default_vsz_limit = 1G
passdb {
  driver = passwd-file
  args = scheme=ARGON2ID username_format=%u $dir/dovecot/users
}
userdb {
  driver = static
  args = uid=mail gid=mail home=$dir/mail/%d/%n
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $((base + 143))
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $((base + 993))
    ssl = yes
  }
  process_limit = 20000
}
service imap {
  process_limit = 20000
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = $((base + 24))
  }
  process_limit = 100
}
protocol lmtp {
  postmaster_address = postmaster@thainguyen.gov.vn
}
CONF
dovecot -c "$dir/dovecot/dovecot.conf" </dev/null >/dev/null 2>>"$dir/dovecot/start.log"

# --- Postfix -------------------------------------------------------------
awk -F'\t' 'NR > 1 { print $1 " ok" }' "$accounts" >"$dir/postfix/vmailbox"
# The province-wide list, as homthu's demo has it: every account.
awk -F'\t' 'NR > 1 { printf "%s%s", (NR > 2 ? ", " : "toantinh@thainguyen.gov.vn "), $1 } END { print "" }' \
  "$accounts" >"$dir/postfix/virtual"
cat >"$dir/postfix/main.cf" <<CONF
compatibility_level = 3.6
queue_directory = $dir/postfix/queue
data_directory = $dir/postfix/data
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = peer.localhost
mydestination =
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
local_recipient_maps =
virtual_mailbox_domains = thainguyen.gov.vn
virtual_mailbox_maps = hash:$dir/postfix/vmailbox
virtual_transport = lmtp:inet:127.0.0.1:$((base + 24))
virtual_alias_maps = hash:$dir/postfix/virtual
virtual_alias_expansion_limit = 20000
smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination
maillog_file = $dir/postfix/maillog
maillog_file_prefixes = $dir
default_process_limit = 200
lmtp_destination_concurrency_limit = 20
message_size_limit = 52428800
CONF
# Debian's master.cf, with the port-25 smtpd replaced by one on our port.
sed -e 's/^smtp      inet.*$/127.0.0.1:'$((base + 25))' inet n - n - - smtpd/' \
  /usr/share/postfix/master.cf.dist >"$dir/postfix/master.cf"
postconf -c "$dir/postfix" -F "*/*/chroot = n"
postmap -c "$dir/postfix" "$dir/postfix/vmailbox"
postmap -c "$dir/postfix" "$dir/postfix/virtual"
mkdir -p "$dir/postfix/queue" "$dir/postfix/data"
postfix -c "$dir/postfix" set-permissions create-missing >/dev/null 2>&1
postfix -c "$dir/postfix" start >/dev/null

for port in $((base + 25)) $((base + 143)) $((base + 993)); do
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
  done
done
echo "peers: postfix smtp=127.0.0.1:$((base + 25)) dovecot imap=127.0.0.1:$((base + 143)) imaps=127.0.0.1:$((base + 993))"
