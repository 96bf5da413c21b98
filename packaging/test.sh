#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test through ctest.
# Exits non-zero on any failure.
#   HOMTHU_TEST_LABEL=unit   run only one label (unit, integration)
#   HOMTHU_SANITIZE=1        build and test with ASan+UBSan in build-asan/
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# ccache: hits across checkouts in other folders (CI clones anew) and with
# the precompiled headers.
export CCACHE_BASEDIR="$root"
export CCACHE_SLOPPINESS="pch_defines,time_macros,include_file_mtime,include_file_ctime"
bash "$root/packaging/install-deps.sh"

jobs=$(nproc)
build="$root/build"
extra=()
if [[ ${HOMTHU_SANITIZE:-0} == 1 ]]; then
  build="$root/build-asan"
  extra=(-DHOMTHU_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo)
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
else
  extra=(-DCMAKE_BUILD_TYPE=Release)
fi
cmake -G Ninja -S "$root" -B "$build" "${extra[@]}"
cmake --build "$build" -j "$jobs"

label=()
if [[ -n ${HOMTHU_TEST_LABEL:-} ]]; then
  label=(-L "$HOMTHU_TEST_LABEL")
fi
ctest --test-dir "$build" --output-on-failure -j "$jobs" --timeout 900 "${label[@]}"
