#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test. Exits non-zero on
# any failure. Three stages, all run by default (and so in CI):
#   release  Release build in build/, the whole suite through ctest
#   fuzz     every libFuzzer target briefly (tests/fuzz/run.sh, clang, build-fuzz/)
#   asan     ASan+UBSan build in build-asan/, the whole suite again
# Environment:
#   HOMTHU_TEST_STAGES="release fuzz asan"   which stages to run
#   HOMTHU_TEST_LABEL=unit                   ctest label only (unit, integration)
#   HOMTHU_FUZZ_SECONDS=20                   seconds per fuzz target
#   HOMTHU_SANITIZE=1                        shorthand for HOMTHU_TEST_STAGES=asan
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$root/packaging/install-deps.sh"

stages=${HOMTHU_TEST_STAGES:-release fuzz asan}
if [[ ${HOMTHU_SANITIZE:-0} == 1 ]]; then
  stages=asan
fi
jobs=$(nproc)
label=()
if [[ -n ${HOMTHU_TEST_LABEL:-} ]]; then
  label=(-L "$HOMTHU_TEST_LABEL")
fi

stage_start=0
begin() { stage_start=$SECONDS; echo "==== homthu test stage: $1"; }
end() { echo "==== $1 passed in $((SECONDS - stage_start)) s"; }

suite() {  # suite BUILD_DIR CMAKE_ARGS... : configure, build, run ctest
  local build=$1
  shift
  cmake -G Ninja -S "$root" -B "$build" "$@"
  cmake --build "$build" -j "$jobs"
  ctest --test-dir "$build" --output-on-failure -j "$jobs" --timeout 900 "${label[@]}" \
    "${exclude[@]}"
}

for stage in $stages; do
  case $stage in
    release)
      begin release
      exclude=()
      suite "$root/build" -DCMAKE_BUILD_TYPE=Release
      end release
      ;;
    fuzz)
      begin fuzz
      bash "$root/tests/fuzz/run.sh" "${HOMTHU_FUZZ_SECONDS:-20}"
      end fuzz
      ;;
    asan)
      begin asan
      # -O1 -g1: what ASan's authors recommend for speed with usable stack
      # traces (file:line), and a cheaper compile than -O2 -g on 2 cores.
      # The package test checks CPack and lintian, not our code: once is enough.
      exclude=(-E '^integration\.test_package$')
      # Full stacks on malloc so that packaging/lsan.supp can name the
      # library function that leaks.
      ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:fast_unwind_on_malloc=0 \
      LSAN_OPTIONS=suppressions=$root/packaging/lsan.supp \
      UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        suite "$root/build-asan" -DHOMTHU_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
          "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG" "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG" \
          -DHOMTHU_BUILD_BENCH=OFF
      end asan
      ;;
    *)
      echo "test.sh: unknown stage '$stage' in HOMTHU_TEST_STAGES (release, fuzz, asan)" >&2
      exit 2
      ;;
  esac
done
