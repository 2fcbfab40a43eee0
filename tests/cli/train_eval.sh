# Trains the tiny config on generated data, checks the run directory, and that eval reproduces it.
source "$(dirname "$0")/lib.sh"
cd "$TMP"
make_fixture data/mnist
cfg="$DLTRAIN_SOURCE_DIR/configs/tiny.json"

expect 0 "done: test accuracy" "$DLTRAIN" train --config "$cfg" --data-dir data/mnist --out runs --threads 2
run=runs/tiny
for f in config.json metrics.csv report.json train.log checkpoints/last.pt checkpoints/best.pt; do
  check "run dir has $f" test -s "$run/$f"
done
check "no temporary files left" bash -c "! ls -A $run $run/checkpoints | grep -q tmp"
check "metrics.csv has a header and 3 epochs" test "$(wc -l <"$run/metrics.csv")" -eq 4
check "report status completed" test "$(json_get $run/report.json 'd["status"]')" = completed
acc=$(json_get $run/report.json 'd["final_test"]["accuracy"]')
check "tiny model learns the fixture (test accuracy $acc > 0.9)" "$PYTHON" -c "assert $acc > 0.9"
check "report has per-class accuracy and a 10x10 confusion matrix" \
  "$PYTHON" -c "import json; d=json.load(open('$run/report.json')); assert len(d['final_test']['per_class_accuracy'])==10; assert len(d['final_test']['confusion_matrix'])==10; assert d['timings']['train_s']>0; assert d['peak_rss_mib']>0; assert d['environment']['threads']==2"
check "report has the timing breakdown and the monitor's samples" "$PYTHON" - "$run/report.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
t, m = d["timings"], d["monitor"]
steps = d["dataset"]["train"] // d["config"]["train"]["batch_size"] * len(d["epochs"])
assert t["step_time"]["steps"] == steps - 1, (t, steps)  # the first (warm-up) step is kept apart
assert t["data_load_s"] > 0 and t["first_step_s"] > 0 and t["eval_s"] > 0 and t["checkpoint_s"] > 0, t
assert t["step_time"]["median_ms"] > 0 and t["step_time"]["p95_ms"] >= t["step_time"]["median_ms"], t
assert m["enabled"] and m["interval_s"] == 0.5 and m["samples"] >= 1, m
assert m["summary"]["rss_mib"]["max"] > 10 and "gpu" not in m["summary"], m["summary"]
assert len(m["series"]["t_s"]) == len(m["series"]["rss_mib"]) == len(m["series"]["cpu_percent"]) >= 1
PY
check "the summary prints timings and the monitor line" grep -Eq "timings: data load .* first step .* steps .* ms median" "$run/train.log"
check "resolved config saved" test "$(json_get $run/config.json 'd["train"]["optimizer"]["name"]')" = sgd

best=$(json_get $run/report.json 'd["best"]["test_accuracy"]')
"$DLTRAIN" eval --checkpoint $run/checkpoints/best.pt --data-dir data/mnist --json >eval.json
check "eval of best.pt reproduces the reported accuracy ($best)" \
  "$PYTHON" -c "import json; assert json.load(open('eval.json'))['accuracy'] == $best"
"$DLTRAIN" eval --checkpoint $run/checkpoints/last.pt --data-dir data/mnist --json >eval_last.json
check "eval of last.pt reproduces the final accuracy ($acc)" \
  "$PYTHON" -c "import json; assert json.load(open('eval_last.json'))['accuracy'] == $acc"
expect 0 "confusion matrix" "$DLTRAIN" eval --checkpoint $run/checkpoints/best.pt --data-dir data/mnist --split train

expect 0 "runs/tiny-2" "$DLTRAIN" train --config "$cfg" --data-dir data/mnist --out runs --set train.epochs=1 --no-progress \
  --monitor-interval 0
check "--monitor-interval 0 turns the monitor off" test "$(json_get runs/tiny-2/report.json 'd["monitor"]["enabled"]')" = False
expect 0 "monitor: [0-9]+ samples every 0.05 s; CPU [0-9]+% mean" "$DLTRAIN" train --config "$cfg" --data-dir data/mnist \
  --out runs --set train.epochs=1 --no-progress --monitor-interval 0.05
expect 2 "monitor-interval" "$DLTRAIN" train --config "$cfg" --monitor-interval -1
check "first run untouched" test "$(wc -l <"$run/metrics.csv")" -eq 4
expect 0 "auto -> cpu" "$DLTRAIN" train --config "$cfg" --data-dir data/mnist --out runs --set train.epochs=1 --device auto
expect 0 "epoch 1/1" "$DLTRAIN" train --config "$cfg" --data-dir data/mnist --out runs \
  --set train.epochs=1 --set 'model={"layers":[{"type":"conv2d","out_channels":4,"kernel_size":3},{"type":"relu"},{"type":"maxpool2d","kernel_size":2},{"type":"batchnorm2d"},{"type":"dropout","p":0.1},{"type":"linear","out_features":10}]}' \
  --set 'train.optimizer={"name":"adadelta"}' --set 'train.scheduler={"name":"onecycle"}' --set train.grad_clip=1.0 --set train.label_smoothing=0.1
DLTRAIN_DATA_DIR="$TMP/data" expect 0 "data: mnist from $TMP/data/mnist" "$DLTRAIN" train --config "$cfg" --out runs --set train.epochs=1
finish
