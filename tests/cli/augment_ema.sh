# data.augment, train.ema and eval.tta in real runs: an augmented run with a moving average of its weights, stopped by
# SIGINT twice at random steps and resumed, ends bit for bit like the run never stopped (every metric, the average's
# too, and both checkpoints); best.pt holds whichever weights won on validation and evaluates to the headline;
# augmentation changes training; eval.tta is reported beside the result; a flipped digit is refused.
source "$(dirname "$0")/lib.sh"
cd "$TMP"
make_fixture data --train 3000 --test 300
cfg="$DLTRAIN_SOURCE_DIR/configs/tiny.json"
cnn='{"layers":[{"type":"conv2d","out_channels":8,"kernel_size":3,"padding":1},{"type":"batchnorm2d"},{"type":"relu"},
  {"type":"maxpool2d","kernel_size":2},{"type":"dropout","p":0.2},{"type":"linear","out_features":10}]}'
full='{"translate":2,"rotate":10,"scale":0.1,"shear":5,"elastic":1.0,"erase":0.5}'
opts=(--data-dir data --out runs --no-progress --threads 1 --set train.epochs=4 --set train.batch_size=16
      --set "model=$cnn" --set "data.augment=$full" --set train.ema.decay=0.95 --set data.val_split=500
      --set eval.tta=true)
metrics() {  # metrics RUN: metrics.csv without its timing columns
  "$PYTHON" -c "import csv, sys; print([{k: v for k, v in r.items() if not k.endswith(('seconds', 'per_second'))}
                                         for r in csv.DictReader(open(sys.argv[1] + '/metrics.csv'))])" "$1"
}
eval_of() {  # eval_of CHECKPOINT: loss, accuracy and confusion matrix
  "$DLTRAIN" eval --checkpoint "$1" --data-dir data --json 2>/dev/null |
    "$PYTHON" -c "import json, sys; d = json.load(sys.stdin); print(d['loss'], d['accuracy'], d['confusion_matrix'])"
}

expect 0 "ema val" "$DLTRAIN" train --config "$cfg" "${opts[@]}" --set run.name=straight
check "metrics.csv has the moving average's columns, and they differ from the trained weights'" "$PYTHON" -c "
import csv, math; rows = list(csv.DictReader(open('runs/straight/metrics.csv')))
assert len(rows) == 4 and all(math.isfinite(float(r['ema_val_accuracy'])) for r in rows), rows[0].keys()
assert any(r['ema_val_loss'] != r['val_loss'] for r in rows)"
check "best.pt evaluates to the headline, whichever weights won" \
  test "$(eval_of runs/straight/checkpoints/best.pt | cut -d' ' -f2)" = "$(json_get runs/straight/report.json 'd["result"]["test_accuracy"]')"
check "report.json says which weights best.pt holds" \
  "$PYTHON" -c "import json; d = json.load(open('runs/straight/report.json')); assert d['best']['weights'] in ('trained', 'ema'), d['best']"
check "eval.tta: measured on the whole test split for the result's model, reported beside it" "$PYTHON" -c "
import json; d = json.load(open('runs/straight/report.json')); t = d['tta_test']
assert t['examples'] == 300 and t['model'] == d['selected_test']['model'] and 0 < t['accuracy'] <= 1, t"

# ---- stopped twice at random steps, resumed: the same run ----
for round in 1 2; do
  if [ -e runs/stopped/checkpoints/last.pt ]; then
    "$DLTRAIN" train --resume runs/stopped --no-progress >out.txt 2>&1 &
  else
    "$DLTRAIN" train --config "$cfg" "${opts[@]}" --set run.name=stopped --set 'train.checkpoint_every="1 step"' >out.txt 2>&1 &
  fi
  pid=$!
  for _ in $(seq 600); do grep -q '"status": "running"' runs/stopped/report.json 2>/dev/null && break; sleep 0.05; done
  sleep "$("$PYTHON" -c "import random; print(random.uniform(0.2, 1.5))")"
  kill -INT "$pid"
  wait "$pid"
  rc=$?
  check "stop $round: exit 130 (got $rc)" test "$rc" -eq 130
done
expect 0 "resuming" "$DLTRAIN" train --resume runs/stopped --no-progress
check "stopped twice and resumed: metrics.csv equal, the moving average's columns too" \
  test "$(metrics runs/straight)" = "$(metrics runs/stopped)"
check "stopped twice and resumed: last.pt equal (loss, accuracy, confusion matrix)" \
  test "$(eval_of runs/straight/checkpoints/last.pt)" = "$(eval_of runs/stopped/checkpoints/last.pt)"
check "stopped twice and resumed: best.pt equal" \
  test "$(eval_of runs/straight/checkpoints/best.pt)" = "$(eval_of runs/stopped/checkpoints/best.pt)"
check "stopped twice and resumed: the same selection and test-time augmentation" test \
  "$(json_get runs/straight/report.json '(d["best"]["epoch"], d["best"]["weights"], d["tta_test"]["accuracy"])')" = \
  "$(json_get runs/stopped/report.json '(d["best"]["epoch"], d["best"]["weights"], d["tta_test"]["accuracy"])')"
check "the stopped run really was stopped: three segments" \
  test "$(json_get runs/stopped/report.json 'len(d["segments"])')" -eq 3

# ---- one epoch of real MNIST at a constant learning rate: the average beats the still-moving weights on validation
root="${DLTRAIN_DATA_DIR:-}/mnist"
if [ -n "${DLTRAIN_DATA_DIR:-}" ] && [ -e "$root/train-images-idx3-ubyte.gz" ]; then
  expect 0 "moving average" "$DLTRAIN" train --config "$cfg" --data-dir "$root" --out runs --no-progress --threads 1 \
    --set "model=$cnn" --set data.limit_train=6000 --set data.val_split=1000 --set train.epochs=1 \
    --set train.batch_size=16 --set train.optimizer.lr=0.03 --set 'train.scheduler={"name":"constant"}' \
    --set train.ema.decay=0.99 --set run.name=one
  check "one epoch: best.pt holds the moving average, which won on validation" "$PYTHON" -c "
import csv, json; d = json.load(open('runs/one/report.json')); r, = csv.DictReader(open('runs/one/metrics.csv'))
assert float(r['ema_val_accuracy']) > float(r['val_accuracy']), r
assert d['best']['weights'] == 'ema' and d['result']['weights'] == 'ema', d['best']"
  got=$("$DLTRAIN" eval --checkpoint runs/one/checkpoints/best.pt --data-dir "$root" --json 2>/dev/null |
    "$PYTHON" -c "import json, sys; print(json.load(sys.stdin)['accuracy'])")
  check "one epoch: best.pt (the average) evaluates to the headline and to metrics.csv's ema_test_accuracy" "$PYTHON" -c "
import csv, json; d = json.load(open('runs/one/report.json')); r, = csv.DictReader(open('runs/one/metrics.csv'))
assert $got == d['result']['test_accuracy'] == float(r['ema_test_accuracy']), ($got, d['result'], r)"
else
  echo "note: real MNIST not found (DLTRAIN_DATA_DIR): the check that best.pt can hold the moving average is skipped"
fi

# ---- augmentation changes training; without it the same seed trains as before ----
plain=(--data-dir data --out runs --no-progress --threads 1 --set train.epochs=1 --set train.batch_size=16 --set "model=$cnn")
"$DLTRAIN" train --config "$cfg" "${plain[@]}" --set run.name=plain -q >/dev/null 2>&1
"$DLTRAIN" train --config "$cfg" "${plain[@]}" --set run.name=plain2 -q >/dev/null 2>&1
"$DLTRAIN" train --config "$cfg" "${plain[@]}" --set run.name=shifted --set 'data.augment={"translate":2}' -q >/dev/null 2>&1
check "no augmentation: two runs of one seed are equal" test "$(metrics runs/plain)" = "$(metrics runs/plain2)"
check "translate 2: another training loss" test "$(metrics runs/plain)" != "$(metrics runs/shifted)"

# ---- the config's rules ----
expect 3 "a flipped 2 is not a 2.*force_hflip" "$DLTRAIN" train --config "$cfg" "${plain[@]}" --set data.augment.hflip=0.5
expect 0 '"hflip": 0.5' "$DLTRAIN" config show --config "$cfg" --set data.augment.hflip=0.5 --set data.augment.force_hflip=true
expect 3 "erase_area: must be \[min, max\]" "$DLTRAIN" config show --config "$cfg" --set 'data.augment.erase_area=[0.5,0.1]'
expect 3 "ema/decay: must be in \[0(\.0)?, 1(\.0)?\)" "$DLTRAIN" config show --config "$cfg" --set train.ema.decay=1
expect 2 "cannot change train.ema.decay" "$DLTRAIN" train --resume runs/straight --set train.epochs=5 --set train.ema.decay=0.9
finish
