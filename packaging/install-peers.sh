#!/usr/bin/env bash
# Installs the peers homthu is compared with in bench/run.sh: Postfix 3.7
# (delivering over LMTP) and Dovecot 2.3 (IMAP + LMTP), from Debian 12.
# Their system services are stopped and disabled: bench/peers/ runs private
# instances on loopback ports only, with their own configuration and data.
set -euo pipefail

packages=(postfix dovecot-imapd dovecot-lmtpd)
missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
if ((${#missing[@]} > 0)); then
  export DEBIAN_FRONTEND=noninteractive
  # "No configuration": no system-wide Postfix listening on port 25.
  echo "postfix postfix/main_mailer_type select No configuration" | $sudo debconf-set-selections
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
for svc in postfix dovecot; do
  if command -v systemctl >/dev/null 2>&1 && [[ -d /run/systemd/system ]]; then
    $sudo systemctl disable --now "$svc" >/dev/null 2>&1 || true
  else
    $sudo service "$svc" stop >/dev/null 2>&1 || true
  fi
done
echo "install-peers: postfix $(dpkg-query -W -f='${Version}' postfix), dovecot $(dpkg-query -W -f='${Version}' dovecot-imapd)"
