# The files a person or a script looks at: steps.csv (a row per log interval), the TensorBoard events (every CRC and
# value read back by an independent reader), report.html's charts against the files, a resumed run's consistent
# steps, `dltrain report` / `dltrain runs`, --fail-under on both sides of the bound, and the Markdown summary.
source "$(dirname "$0")/lib.sh"
cd "$TMP"
make_fixture data/mnist
cfg="$DLTRAIN_SOURCE_DIR/configs/tiny.json"
# Debian's python3 has python3-crc32c and python3-protobuf (test.sh installs them); PYTHON may be another.
DEBIAN_PYTHON=/usr/bin/python3
tools="$DLTRAIN_SOURCE_DIR/tests/cli"
train() { "$DLTRAIN" train --config "$cfg" --data-dir data/mnist --out runs --threads 2 --no-progress "$@"; }

expect 0 "done: test accuracy" train --set run.name=a --set train.log_interval=7 --monitor-interval 0.02
run=runs/a
for f in steps.csv report.html tb; do check "run dir has $f" test -s "$run/$f" -o -d "$run/$f"; done
check "steps.csv: one row per log interval (steps // 7), steps 7, 14, ..." "$PYTHON" - "$run" <<'PY'
import csv, json, sys
run = sys.argv[1]
rows = list(csv.DictReader(open(f"{run}/steps.csv")))
steps = json.load(open(f"{run}/report.json"))["steps"]
assert [int(r["step"]) for r in rows] == list(range(7, steps + 1, 7)), ([r["step"] for r in rows], steps)
assert all(0 < float(r["loss"]) < 10 and 0 <= float(r["accuracy"]) <= 1 and float(r["images_per_second"]) > 0 for r in rows)
elapsed = [float(r["elapsed_s"]) for r in rows]
assert elapsed == sorted(elapsed), elapsed
print(f"{len(rows)} rows for {steps} steps")
PY
if [ -x "$DEBIAN_PYTHON" ] && "$DEBIAN_PYTHON" -c "import crc32c, google.protobuf" 2>/dev/null; then
  check "TensorBoard events: every CRC valid, every value decoded, equal to steps.csv and metrics.csv" bash -c "
    '$DEBIAN_PYTHON' '$tools/read_tfevents.py' '$run/tb' --json > tb.json && '$PYTHON' - '$run' tb.json" <<'PY'
import csv, json, math, sys
run, tb = sys.argv[1], json.load(open(sys.argv[2]))
rows = list(csv.DictReader(open(f"{run}/steps.csv")))
epochs = list(csv.DictReader(open(f"{run}/metrics.csv")))
s = tb["scalars"]
def same(tag, table, column, x="step"):
    got = [(int(p[0]), p[1]) for p in s[tag]]
    want = [(int(r[x]), float(r[column])) for r in table if r[column] != ""]
    assert [g[0] for g in got] == [w[0] for w in want], (tag, got, want)
    for (_, g), (_, w) in zip(got, want):
        assert math.isclose(g, w, rel_tol=1e-6, abs_tol=1e-7), (tag, g, w)  # float32 in the event file
same("train/loss", rows, "loss"); same("train/accuracy", rows, "accuracy"); same("train/lr", rows, "lr")
same("val/accuracy", epochs, "val_accuracy"); same("test/loss", epochs, "test_loss")
same("epoch/train_loss", epochs, "train_loss")
assert "system/rss_mib" in s and tb["file_version"] == "brain.Event:2", sorted(s)
print(tb["records"], "records,", len(s), "tags")
PY
else
  echo "skip: the TensorBoard reader needs Debian's python3-crc32c and python3-protobuf (scripts/test.sh installs them)"
fi
check "report.html: every chart's points are the files' numbers" "$PYTHON" "$tools/check_report_charts.py" "$run"
check "report.html is self-contained (no script, nothing fetched)" bash -c "! grep -Eiq '<script|src=\"(https?:)?//|href=\"https?:' $run/report.html"
check "report.json's timings say what the report files cost" "$PYTHON" -c "
import json; t = json.load(open('$run/report.json'))['timings']; assert 0 < t['report_s'] < t['total_s'], t"

# A row's loss is the mean over its interval's steps, across epoch ends: log_interval = 2 epochs of 16 steps.
expect 0 "done: test accuracy" train --set run.name=i --set train.log_interval=32 --set train.epochs=4
check "steps.csv rows average their interval: row loss = mean of the two epochs' train loss" "$PYTHON" - runs/i <<'PY'
import csv, math, sys
rows = list(csv.DictReader(open(f"{sys.argv[1]}/steps.csv")))
epochs = list(csv.DictReader(open(f"{sys.argv[1]}/metrics.csv")))
assert [int(e["step"]) for e in epochs] == [16, 32, 48, 64], [e["step"] for e in epochs]
assert [int(r["step"]) for r in rows] == [32, 64], rows
for r, (a, b) in zip(rows, [(0, 1), (2, 3)]):
    for col, ecol in (("loss", "train_loss"), ("accuracy", "train_accuracy")):
        want = (float(epochs[a][ecol]) + float(epochs[b][ecol])) / 2
        assert math.isclose(float(r[col]), want, rel_tol=1e-6, abs_tol=1e-9), (col, r[col], want)
PY

# A run killed -9 between checkpoints and resumed: the rows and events it wrote past its checkpoint are cut, the
# resumed process appends, and every step appears once, in order.
"$DLTRAIN" train --config "$cfg" --data-dir data/mnist --out runs --threads 2 --no-progress --set run.name=k \
  --set train.epochs=30 --set 'train.checkpoint_every="25 steps"' >/dev/null 2>&1 &
pid=$!
"$PYTHON" - runs/k/steps.csv "$pid" <<'PY'
import os, signal, sys, time
deadline = time.time() + 60
while time.time() < deadline:
    try:
        if sum(1 for _ in open(sys.argv[1])) > 12: break
    except FileNotFoundError:
        pass
    time.sleep(0.01)
os.kill(int(sys.argv[2]), signal.SIGKILL)
PY
wait "$pid" 2>/dev/null
killed_rows=$(($(wc -l <runs/k/steps.csv) - 1))
expect 0 "done: test accuracy" "$DLTRAIN" train --resume runs/k --threads 2 --no-progress
check "resumed after kill -9 at row $killed_rows: steps.csv has each step once, in order" "$PYTHON" - runs/k <<'PY'
import csv, json, sys
rows = list(csv.DictReader(open(f"{sys.argv[1]}/steps.csv")))
steps = json.load(open(f"{sys.argv[1]}/report.json"))["steps"]
assert [int(r["step"]) for r in rows] == list(range(10, steps + 1, 10)), [r["step"] for r in rows]
PY
if [ -x "$DEBIAN_PYTHON" ] && "$DEBIAN_PYTHON" -c "import crc32c, google.protobuf" 2>/dev/null; then
  check "resumed events: one file, valid CRCs, train/loss steps equal steps.csv's" bash -c "
    '$DEBIAN_PYTHON' '$tools/read_tfevents.py' runs/k/tb --json > tbk.json && '$PYTHON' - runs/k tbk.json" <<'PY'
import csv, json, sys
tb = json.load(open(sys.argv[2]))
rows = [int(r["step"]) for r in csv.DictReader(open(f"{sys.argv[1]}/steps.csv"))]
assert len(tb["files"]) == 1, tb["files"]
assert [int(p[0]) for p in tb["scalars"]["train/loss"]] == rows
PY
fi
check "the resumed run's report.html charts match its files" "$PYTHON" "$tools/check_report_charts.py" runs/k

# Looking across runs.
expect 0 "done: test accuracy" train --set run.name=b --set train.optimizer.lr=0.05
expect 0 "^runs/a/report.html$" "$DLTRAIN" report runs/a
expect 0 "^cmp.html$" "$DLTRAIN" report runs/a runs/b runs/k --html cmp.html
check "the comparison names the three runs and the differing keys" bash -c "
  grep -q 'id=\"comparison\"' cmp.html && grep -c '<tr class=\"run\"' cmp.html | grep -qx 3 &&
  grep -q 'train.optimizer.lr' cmp.html && grep -q 'train.epochs' cmp.html && ! grep -q '>run.name<' cmp.html"
expect 0 "\| run \| status .*train.optimizer.lr" "$DLTRAIN" report runs/a runs/b --markdown
expect 0 "^## dltrain run .a.: completed" "$DLTRAIN" report runs/a/ --markdown
expect 0 '"test_accuracy"' "$DLTRAIN" report runs/a runs/b --json
expect 0 "^RUN .*STATUS.*\bb +completed .*\bk +completed .*\ba +completed" bash -c "'$DLTRAIN' runs runs | tr '\n' ' '"
check "dltrain runs --json: newest first" "$PYTHON" -c "
import json, subprocess
rows = json.loads(subprocess.run(['$DLTRAIN', 'runs', 'runs', '--json'], capture_output=True, text=True).stdout)
assert [r['run_dir'].split('/')[-1] for r in rows] == ['b', 'k', 'i', 'a'], rows
assert all(r['status'] == 'completed' and r['test_accuracy'] > 0.5 for r in rows), rows"
expect 2 "not a run directory" "$DLTRAIN" report data
expect 2 "no such folder" "$DLTRAIN" runs nowhere

# CI gates: below the bound is exit 11 after every file is written; at or above it, 0. A run that barely trains
# (lr 1e-5, one epoch) stays far below 90% on the fixture.
export GITHUB_STEP_SUMMARY=$TMP/gh_summary.md
expect 11 "headline test accuracy 0\.[0-8].* is below --fail-under 0.9000" train --set run.name=gate \
  --set train.optimizer.lr=1e-5 --set train.epochs=1 --fail-under 0.9 --summary-md gate.md
acc=$(json_get runs/gate/report.json 'd["result"]["test_accuracy"]')
expect 11 "accuracy on test .* is below --fail-under 0.9000" "$DLTRAIN" eval --checkpoint runs/gate/checkpoints/best.pt \
  --data-dir data/mnist --fail-under 0.9
expect 0 "accuracy" "$DLTRAIN" eval --checkpoint runs/gate/checkpoints/best.pt --data-dir data/mnist --fail-under "$acc"
check "a gated run is complete (status completed, report.html, best.pt)" bash -c "
  grep -q '\"status\": \"completed\"' runs/gate/report.json && test -s runs/gate/report.html && test -s runs/gate/checkpoints/best.pt"
expect 0 "done: test accuracy" train --set run.name=pass --fail-under 0.5
check "Markdown summary: headline, epoch table, timings, environment" bash -c "
  grep -q '^## dltrain run .gate.: completed' gate.md && grep -q '^| epoch | train loss' gate.md &&
  grep -q '^| 1 |' gate.md && grep -q '^\*\*Timings:\*\*' gate.md && grep -q '^\*\*Environment:\*\*' gate.md"
check "\$GITHUB_STEP_SUMMARY got both runs' summaries appended" test "$(grep -c '^## dltrain run' "$GITHUB_STEP_SUMMARY")" -eq 2
unset GITHUB_STEP_SUMMARY
expect 2 "fail-under" "$DLTRAIN" eval --checkpoint runs/a/checkpoints/best.pt --fail-under 99
finish
