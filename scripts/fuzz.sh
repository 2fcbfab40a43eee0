#!/usr/bin/env bash
# Builds the libFuzzer targets (ASan + UBSan, clang) in build-fuzz/ and runs each one for SECONDS.
# Usage: scripts/fuzz.sh [SECONDS per target, default 60] [TARGET ...]   (targets: config idx)
# Each run starts from a copy of tests/fuzz/corpus/<target> in a temporary folder, so the repository
# is never written to. Exits 1 if any target found something; the inputs are kept in build-fuzz/findings/.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(config idx)

source scripts/apt_missing.sh
apt_install_missing fuzz clang libclang-rt-dev

cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j"$(( $(nproc) < 2 ? $(nproc) : 2 ))"

work=$(mktemp -d /tmp/dltrain-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
findings_dir=build-fuzz/findings
export TMPDIR=$work  # the targets' temporary input files land here and go with it
export ASAN_OPTIONS=detect_leaks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

failed=()
summary=()
for t in "${targets[@]}"; do
  corpus=$work/corpus-$t
  artifacts=$work/artifacts-$t
  mkdir -p "$artifacts"
  rm -rf "${findings_dir:?}/$t" "$findings_dir/fuzz_$t.log"
  cp -r "tests/fuzz/corpus/$t" "$corpus"
  echo "fuzz: fuzz_$t for ${seconds}s (log: $findings_dir/fuzz_$t.log on failure)"
  rc=0
  start=$(date +%s)
  build-fuzz/tests/fuzz/fuzz_"$t" "$corpus" -max_total_time="$seconds" -max_len=4096 -timeout=10 \
    -use_value_profile=1 -dict="tests/fuzz/$t.dict" -print_final_stats=1 -artifact_prefix="$artifacts/" \
    >"$work/$t.log" 2>&1 || rc=$?
  elapsed=$(( $(date +%s) - start ))

  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$t.log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/$t.log" | tail -1)
  edges=$(grep -oE 'cov: [0-9]+' "$work/$t.log" | tail -1 | cut -d' ' -f2)
  found=$(find "$artifacts" -type f | wc -l)
  summary+=("$(printf '%-12s %6ss %10s execs %6s exec/s %5s edges %5s corpus files %2s findings' \
    "fuzz_$t" "$elapsed" "${runs:-?}" "${rate:-?}" "${edges:-?}" "$(find "$corpus" -type f | wc -l)" "$found")")
  if [ "$rc" -ne 0 ] || [ "$found" -gt 0 ]; then
    mkdir -p "$findings_dir/$t"
    cp "$work/$t.log" "$findings_dir/fuzz_$t.log"
    [ "$found" -eq 0 ] || cp "$artifacts"/* "$findings_dir/$t/"
    grep -m3 -E 'ERROR: |runtime error|==ERROR|deadly signal|uncaught' "$work/$t.log" || true
    echo "fuzz: fuzz_$t failed (exit $rc); inputs in $findings_dir/$t/, reproduce with" \
         "build-fuzz/tests/fuzz/fuzz_$t $findings_dir/$t/<file>"
    failed+=("$t")
  fi
done

echo
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: FINDINGS in ${failed[*]}"
  exit 1
fi
echo "fuzz: no findings"
