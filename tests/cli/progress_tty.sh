# On a terminal the live progress line fits 80 columns (even on a wider one) and redraws in place; -q silences it.
source "$(dirname "$0")/lib.sh"
command -v script >/dev/null || { echo "SKIP: script(1) (util-linux) is not installed"; exit 77; }
cd "$TMP"
make_fixture data/mnist --train 3000 --test 100
run() {  # run OUT ARGS...: dltrain train in a 200-column pseudo-terminal (script(1)), all output to OUT
  local out=$1
  shift
  script -qfec "stty cols 200; $(printf '%q ' "$DLTRAIN" train --config "$DLTRAIN_SOURCE_DIR/configs/tiny.json" \
    --data-dir data/mnist --out runs --threads 1 --set train.epochs=2 --set train.batch_size=8 "$@")" /dev/null >"$out"
}
run tty.txt
check "progress lines were drawn" grep -q "ETA" tty.txt
check "each redraw is one line of at most 79 columns, drawn over the last with a carriage return" "$PYTHON" - tty.txt <<'PY'
import re, sys
text = open(sys.argv[1], encoding="utf-8", errors="replace", newline="").read()
draws = [re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", part) for part in re.split(r"[\r\n]", text)]
bars = [d for d in draws if "ETA" in d]
assert bars, "no progress line"
long = [d for d in bars if len(d) > 79]
assert not long, f"{len(long)} of {len(bars)} progress lines are wider than 79 columns: {long[0]!r} ({len(long[0])})"
assert "\r\x1b[K" in text, "not redrawn in place"
PY
run quiet.txt -q
check "-q: no progress line" bash -c "! grep -q ETA quiet.txt"
check "-q: the run still completed" test "$(json_get runs/tiny-2/report.json 'd["status"]')" = completed
finish
