# Seeds and sweeps: `train --seeds` (the summary's statistics are the runs' report.json headlines), a 2x2 grid with 2
# seeds run 2 at a time (4 rows sorted by the mean), a sweep stopped by SIGINT and resumed (finished runs untouched,
# the stopped ones continued in place, all 8 in the end), and bad --grid values refused before any run starts.
source "$(dirname "$0")/lib.sh"
cd "$TMP"
make_fixture data/mnist
cfg="$DLTRAIN_SOURCE_DIR/configs/tiny.json"
# One epoch at a small learning rate: accuracies that differ from seed to seed.
quick=(--data-dir data/mnist --set train.epochs=1 --set train.optimizer.lr=0.003)

expect 0 "s/tiny-seeds/summary.json" "$DLTRAIN" train --config "$cfg" "${quick[@]}" --out s --seeds 1,2 --threads 1
check "train --seeds: the summary's mean, std, min, max are those of the runs' report.json headlines" \
  "$PYTHON" - s/tiny-seeds <<'PY'
import json, statistics, sys
d = sys.argv[1]
summary = json.load(open(f"{d}/summary.json"))
row, = summary["rows"]
accs = [json.load(open(f"{d}/runs/tiny-seed{k}/report.json"))["result"]["test_accuracy"] for k in (1, 2)]
assert row["seeds"] == [1, 2] and row["completed"] == 2 and summary["complete"] and summary["exit_code"] == 0, row
assert abs(row["mean"] - sum(accs) / 2) < 1e-12, (row["mean"], accs)
assert abs(row["std"] - statistics.stdev(accs)) < 1e-12, (row["std"], accs)
assert row["min"] == min(accs) and row["max"] == max(accs), row
assert [json.load(open(f"{d}/runs/tiny-seed{k}/config.json"))["run"]["seed"] for k in (1, 2)] == [1, 2]
assert "| 1 | 1,2 | 2/2 |" in open(f"{d}/summary.md").read()
print("mean", row["mean"], "of", accs)
PY
expect 0 "tiny-seed7" "$DLTRAIN" train --config "$cfg" "${quick[@]}" --out s --repeat 1 --set run.seed=7
expect 2 "excludes" "$DLTRAIN" train --config "$cfg" --seeds 1,2 --nproc 2

# A 2x2 grid, 2 seeds, 2 runs at a time.
grid=(--grid train.optimizer.lr=0.003,0.1 --grid train.batch_size=32,64 --seeds 1,2)
"$DLTRAIN" sweep --config "$cfg" "${quick[@]}" --out g "${grid[@]}" --jobs 2 --json >g.json 2>g.err
check "sweep: exit 0" test $? -eq 0
check "sweep: 8 runs, 4 rows sorted by the mean, each the mean of its runs' headlines" "$PYTHON" - g.json <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
runs, rows = s["runs"], s["rows"]
assert len(runs) == 8 and all(r["status"] == "completed" and r["exit_code"] == 0 for r in runs), runs
assert len(rows) == 4 and all(r["completed"] == 2 and r["seeds"] == [1, 2] for r in rows), rows
means = [r["mean"] for r in rows]
assert means == sorted(means, reverse=True), means
for row in rows:
    accs = [json.load(open(f"{d}/report.json"))["result"]["test_accuracy"] for d in row["run_dirs"]]
    assert len(accs) == 2 and abs(row["mean"] - sum(accs) / 2) < 1e-12, (row, accs)
    for d in row["run_dirs"]:
        config = json.load(open(f"{d}/config.json"))
        assert str(config["train"]["batch_size"]) == row["values"]["train.batch_size"], (d, row["values"])
        assert "--threads" in json.load(open(f"{d}/report.json"))["command_line"], d
assert {tuple(r["overrides"]) for r in rows} == {(f"train.optimizer.lr={a}", f"train.batch_size={b}")
                                                 for a in ("0.003", "0.1") for b in ("32", "64")}
md = open(f"{s['sweep_dir']}/summary.md").read().splitlines()
assert sum(line.startswith("| ") and line[2].isdigit() for line in md) == 4, md
plan = json.load(open(f"{s['sweep_dir']}/sweep.json"))
assert plan["grid"][0]["values"] == ["0.003", "0.1"] and len(plan["runs"]) == 8 and plan["jobs"] == 2, plan
print("means", means)
PY
check "sweep: the table on stderr has a header and 4 rows" bash -c "grep -Ec '^[1-4]  (0.003|0.1) ' g.err | grep -qx 4"

# Stopped by SIGINT once two runs have finished and a running one has saved a checkpoint; then resumed.
long=(--data-dir data/mnist --set train.epochs=60)
"$DLTRAIN" sweep --config "$cfg" "${long[@]}" --out i "${grid[@]}" --jobs 2 --no-progress >i.out 2>i.err &
pid=$!
ready=1
for _ in $(seq 600); do
  "$PYTHON" - i/tiny-sweep 2>/dev/null <<'PY' && { ready=0; break; }
import json, os, sys
d = sys.argv[1]
runs = json.load(open(f"{d}/sweep.json"))["runs"]
done = sum(r["status"] == "completed" for r in runs)
saved = any(r["status"] == "running" and r["run_dir"] and os.path.exists(f"{d}/{r['run_dir']}/checkpoints/last.pt")
            for r in runs)
sys.exit(0 if done >= 2 and saved else 1)
PY
  sleep 0.05
done
check "sweep: two runs finished and one saved a checkpoint before the SIGINT" test $ready -eq 0
for f in i/tiny-sweep/runs/*/report.json; do
  [ "$(json_get "$f" 'd["status"]')" = completed ] && md5sum "$f"
done >finished.md5
kill -INT $pid
wait $pid
rc=$?
check "stopped sweep: exit 130 (got $rc)" test $rc -eq 130
check "stopped sweep: the hint names the resume command" grep -q "dltrain sweep --resume i/tiny-sweep" i.err
cp i/tiny-sweep/sweep.json stopped.json
# A run the SIGINT reached while it was still setting up has no checkpoint: the resume starts it afresh.
(cd i/tiny-sweep && ls -d runs/*/checkpoints/last.pt 2>/dev/null | sed 's|/checkpoints/last.pt||') >saved.txt
check "stopped sweep: sweep.json records completed, interrupted and pending runs" "$PYTHON" - stopped.json <<'PY'
import json, sys
runs = json.load(open(sys.argv[1]))["runs"]
status = [r["status"] for r in runs]
assert status.count("completed") >= 2 and "interrupted" in status and "pending" in status, status
assert all(r["exit_code"] == 130 for r in runs if r["status"] == "interrupted"), runs
PY
expect 0 "i/tiny-sweep/summary.json" "$DLTRAIN" sweep --resume i/tiny-sweep --jobs 2
check "resumed sweep: the runs finished before the stop are unchanged" md5sum --quiet -c finished.md5
check "resumed sweep: all 8 runs completed, stopped ones continued in their own directory" \
  "$PYTHON" - i/tiny-sweep stopped.json saved.txt <<'PY'
import json, os, sys
d, stopped = sys.argv[1], json.load(open(sys.argv[2]))["runs"]
saved = open(sys.argv[3]).read().split()
s = json.load(open(f"{d}/summary.json"))
assert s["complete"] and s["exit_code"] == 0 and len(s["rows"]) == 4, s
assert len(s["runs"]) == 8 and all(r["status"] == "completed" for r in s["runs"]), s["runs"]
assert sum(r["completed"] for r in s["rows"]) == 8
assert sorted(os.listdir(f"{d}/runs")) == sorted(r["name"] for r in s["runs"]), os.listdir(f"{d}/runs")
continued = 0
for before, after in zip(stopped, s["runs"]):
    if before["status"] == "interrupted" and before["run_dir"] in saved:
        report = json.load(open(f"{d}/{before['run_dir']}/report.json"))
        assert len(report["segments"]) == 2 and report["segments"][0]["how"] == "interrupted", report["segments"]
        assert len(report["epochs"]) == 60, len(report["epochs"])
        continued += 1
assert continued >= 1, stopped
print(continued, "run(s) continued with train --resume")
PY
expect 0 "summary.json" "$DLTRAIN" sweep --resume i/tiny-sweep
expect 2 "excludes" "$DLTRAIN" sweep --resume i/tiny-sweep --seeds 3

# A bad --grid: refused before any run directory exists.
expect 2 "--grid train.optimizer.lr: expected key.path=value" "$DLTRAIN" sweep --config "$cfg" --out bad \
  --grid train.optimizer.lr
expect 2 "value 2 is empty" "$DLTRAIN" sweep --config "$cfg" --out bad --grid train.optimizer.lr=0.1,,0.2
expect 2 "sets run.seed itself" "$DLTRAIN" sweep --config "$cfg" --out bad --grid run.seed=1,2
expect 3 "--set train.optimizer.lr=abc: /train/optimizer/lr" "$DLTRAIN" sweep --config "$cfg" --out bad \
  --grid train.optimizer.lr=0.1,abc
expect 3 "unknown key 'nope'" "$DLTRAIN" sweep --config "$cfg" --out bad --grid train.nope=1,2
expect 2 "each value must be an integer" "$DLTRAIN" sweep --config "$cfg" --out bad --seeds 1,x
check "bad --grid: nothing created" test ! -e bad
expect 2 "not a sweep directory" "$DLTRAIN" sweep --resume s
finish
