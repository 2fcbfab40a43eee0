#!/usr/bin/env bash
# An example CI job: train a small config, print the run's Markdown summary (also appended to $GITHUB_STEP_SUMMARY
# when that is set), and fail the job when the headline test accuracy is below a bound (dltrain exits 11).
#   scripts/ci_gate.sh [CONFIG] [BOUND] [dltrain train flags...]
#   e.g. DLTRAIN_DATA_DIR=../shared/data scripts/ci_gate.sh configs/mnist_fast.json 0.98
set -euo pipefail
cd "$(dirname "$0")/.."
config=${1:-configs/mnist_fast.json}
bound=${2:-0.98}
shift $(($# > 2 ? 2 : $#))
dltrain=${DLTRAIN:-build/app/dltrain}
out=$(mktemp -d)
rc=0
"$dltrain" train --config "$config" --out "$out" --no-progress --summary-md "$out/summary.md" --fail-under "$bound" "$@" \
  || rc=$?
[ -s "$out/summary.md" ] && cat "$out/summary.md"
case $rc in
  0) echo "ci_gate: passed: headline test accuracy >= $bound (run in $out)" ;;
  11) echo "ci_gate: FAILED: headline test accuracy below $bound (run in $out)" ;;
  *) echo "ci_gate: the run failed with exit $rc (dltrain --help lists the codes; run in $out)" ;;
esac
exit "$rc"
