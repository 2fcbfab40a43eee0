# Helpers for CLI tests: a temporary directory per test and exit-code/output assertions.
set -uo pipefail
: "${DLTRAIN:?set DLTRAIN to the dltrain binary}" "${DLTRAIN_SOURCE_DIR:?}" "${PYTHON:=python3}"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
FAILED=0
PASSED=0

# expect CODE REGEX CMD... : runs CMD, checks its exit code and that its output matches REGEX.
expect() {
  local code=$1 regex=$2
  shift 2
  local out rc
  out=$("$@" 2>&1)
  rc=$?
  if [ "$rc" -ne "$code" ] || ! grep -Eq -- "$regex" <<<"$out"; then
    echo "FAIL: $* -> exit $rc (want $code), output must match /$regex/:"
    sed 's/^/    /' <<<"$out" | tail -"${EXPECT_TAIL:-15}"
    FAILED=$((FAILED + 1))
  else
    echo "ok: exit $rc: $*"
    PASSED=$((PASSED + 1))
  fi
}

check() {  # check DESCRIPTION CMD... : CMD must succeed
  local what=$1
  shift
  if "$@"; then echo "ok: $what"; PASSED=$((PASSED + 1)); else echo "FAIL: $what"; FAILED=$((FAILED + 1)); fi
}

finish() {
  echo "$PASSED passed, $FAILED failed"
  [ "$FAILED" -eq 0 ]
}

make_fixture() {  # make_fixture DIR [args]
  "$PYTHON" "$DLTRAIN_SOURCE_DIR/tests/fixtures/make_idx.py" "$@"
}

json_get() {  # json_get FILE EXPR  (EXPR in Python, the document is d)
  "$PYTHON" -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"
}

# Every file present must be complete: checkpoints load and evaluate, JSON parses, CSV rows are whole.
verify_run() {  # verify_run DATA_DIR RUN_DIR
  local data=$1 run=$2 f
  for f in "$run"/checkpoints/last.pt "$run"/checkpoints/best.pt; do
    [ -e "$f" ] || continue
    "$DLTRAIN" eval --checkpoint "$f" --data-dir "$data" --json >/dev/null 2>$TMP/eval.err || { cat $TMP/eval.err; return 1; }
  done
  "$PYTHON" - "$run" <<'PY' || return 1
import csv, json, os, sys
run = sys.argv[1]
if os.path.exists(f"{run}/report.json"):
    json.load(open(f"{run}/report.json"))
if os.path.exists(f"{run}/metrics.csv"):
    rows = list(csv.reader(open(f"{run}/metrics.csv")))
    assert rows and all(len(r) == len(rows[0]) for r in rows), "ragged metrics.csv"
PY
}

# as_if_killed_before_reports RUN COPY: copies a finished run to COPY as a kill -9 between the last last.pt and the
# reports leaves it: report.json still says running, metrics.csv lacks the last epoch.
as_if_killed_before_reports() {
  cp -r "$1" "$2"
  "$PYTHON" - "$2" <<'PY'
import json, sys
run = sys.argv[1]
report = json.load(open(f"{run}/report.json"))
report["status"] = "running"
json.dump(report, open(f"{run}/report.json", "w"))
lines = open(f"{run}/metrics.csv").read().splitlines(True)
open(f"{run}/metrics.csv", "w").writelines(lines[:-1])
PY
}
