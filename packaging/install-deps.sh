#!/usr/bin/env bash
# Installs every Debian 12 package homthu needs to build, test and run.
# Idempotent and non-interactive: packages already present are skipped,
# so a second run costs one dpkg query.
set -euo pipefail

# The one list. README's dependency table describes each entry.
packages=(
  # build
  build-essential cmake ninja-build ccache pkg-config
  # runtime libraries
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libboost-program-options1.81-dev
  libssl-dev libsqlite3-dev libsodium-dev libargon2-dev libldap-dev
  libtomlplusplus-dev libgmime-3.0-dev libc-ares-dev
  libopendkim-dev libspf2-dev zlib1g-dev publicsuffix
  # directory server for quickstart and tests
  slapd ldap-utils
  # tests: unit framework and clients nobody here wrote
  libgtest-dev libgmock-dev python3 python3-dkim python3-aiosmtpd python3-ldap3
  swaks isync curl openssl sqlite3 procps iproute2 sslscan faketime
  # fuzzing (libFuzzer)
  clang libclang-rt-14-dev
  # packaging
  dpkg-dev fakeroot lintian file
  # browser tests of the admin console (playwright-core drives it)
  chromium nodejs
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

# playwright-core for the console's browser tests, pinned by
# tests/browser/package-lock.json; skipped when npm is absent.
browser_test_deps() {
  local root
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  if command -v npm >/dev/null 2>&1 && [[ -f "$root/tests/browser/package-lock.json" ]] &&
     [[ ! -d "$root/tests/browser/node_modules/playwright-core" ]]; then
    npm ci --prefix "$root/tests/browser" --no-audit --no-fund >/dev/null
  fi
}

if ((${#missing[@]} == 0)); then
  browser_test_deps
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
# slapd's postinst would create its own system database; we run private
# instances only, so pre-answer debconf to skip that.
echo "slapd slapd/no_configuration boolean true" | $sudo debconf-set-selections
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
# The system slapd is not used; private instances are started by quickstart
# and the tests. Stop it if the package started one.
if command -v systemctl >/dev/null 2>&1; then
  $sudo systemctl disable --now slapd >/dev/null 2>&1 || true
fi
browser_test_deps
