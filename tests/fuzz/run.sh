#!/bin/bash
# Builds the libFuzzer targets in build-fuzz (clang, ASan+UBSan, coverage on
# the libraries too) and runs each on its seed corpus for SECONDS (default
# 20). Exits non-zero when any target finds a crash, a leak, a timeout or a
# broken invariant; the reproducer is left in build-fuzz/fuzz-artifacts/.
#
#   tests/fuzz/run.sh [SECONDS] [TARGET...]
#   HOMTHU_FUZZ_JOBS=2 tests/fuzz/run.sh 3600 fuzz_smtp_data   # long run
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${HOMTHU_FUZZ_BUILD:-$root/build-fuzz}
seconds=${1:-20}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(fuzz_smtp_command fuzz_smtp_data fuzz_imap_reader fuzz_imap_args fuzz_imap_mime
           fuzz_mime_parse fuzz_ldap_escape fuzz_config fuzz_admin_http)
fi

if [ ! -f "$build/build.ninja" ]; then
  CC=clang CXX=clang++ cmake -G Ninja -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Debug \
    -DHOMTHU_FUZZ=ON -DHOMTHU_BUILD_TESTS=OFF -DHOMTHU_BUILD_BENCH=OFF \
    -DCMAKE_C_FLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize=function -fno-omit-frame-pointer" \
    -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize=function -fno-omit-frame-pointer" \
    >/dev/null
fi
ninja -C "$build" -j"${HOMTHU_FUZZ_BUILD_JOBS:-2}" "${targets[@]}"

artifacts=$build/fuzz-artifacts
mkdir -p "$artifacts"
status=0
for t in "${targets[@]}"; do
  corpus=$build/fuzz-corpus/$t        # grows while fuzzing; the seeds stay untouched
  mkdir -p "$corpus"
  log=$artifacts/$t.log
  dict=()
  jobs=()
  if [ "${HOMTHU_FUZZ_JOBS:-1}" -gt 1 ]; then
    jobs=(-jobs="$HOMTHU_FUZZ_JOBS" -workers="$HOMTHU_FUZZ_JOBS")
  fi
  [ -f "$here/dict/$t.dict" ] && dict=(-dict="$here/dict/$t.dict")
  echo "== $t ($seconds s)"
  if UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ASAN_OPTIONS=detect_leaks=1 \
     "$build/bin/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
       "${jobs[@]}" \
       -print_final_stats=1 -artifact_prefix="$artifacts/$t-" "${dict[@]}" \
       "$corpus" "$here/corpus/$t" >"$log" 2>&1; then
    grep -E "^stat::number_of_executed_units|^stat::new_units_added|cov:" "$log" | tail -3 || true
  else
    status=1
    echo "!! $t failed; log: $log"
    grep -E "ERROR: |runtime error|invariant violated|Test unit written" "$log" | head -5 || true
  fi
done
exit $status
