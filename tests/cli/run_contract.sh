# What a run promises scripts and users: the run directory on stdout, honest model selection (validation split
# only), early stopping, the resume contract (which keys --resume may change), and finding the data again.
source "$(dirname "$0")/lib.sh"
cd "$TMP"
make_fixture data/mnist --train 400 --test 100
cfg="$DLTRAIN_SOURCE_DIR/configs/tiny.json"
opts=(--out runs --no-progress --threads 1)
export DLTRAIN_DATA_DIR="$TMP/data"

# The run directory on stdout (one line), or one JSON object with --json; the log stays on stderr.
out=$("$DLTRAIN" train --config "$cfg" "${opts[@]}" --set train.epochs=2 --set 'train.checkpoint_every="5 steps"' 2>err.txt)
check "train prints its run directory on stdout ('$out')" test "$out" = runs/tiny
out=$("$DLTRAIN" train --config "$cfg" "${opts[@]}" --set train.epochs=1 --json 2>/dev/null)
check "a second run is runs/tiny-2, and --json says so with its status and result" "$PYTHON" -c "
import json, sys; d = json.loads(sys.argv[1])
assert d['run_dir'] == 'runs/tiny-2' and d['status'] == 'completed' and d['result']['model'] == 'best.pt', d" "$out"
check "the settings dump is in train.log, not on the console" bash -c \
  "grep -q 'train.optimizer.momentum = 0.9' runs/tiny/train.log && ! grep -q 'train.optimizer.momentum = ' err.txt"
check "the console names the changed settings" grep -q "settings changed from the defaults: .*train.epochs=2" err.txt

# Honest selection: with a validation split, best.pt is chosen on it and the headline is best.pt's test accuracy.
check "report.json names the model its headline belongs to" "$PYTHON" - runs/tiny/report.json <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
r, b = d["result"], d["best"]
assert r["model"] == "best.pt" and r["chosen_by"] == "val_accuracy" and r["epoch"] == b["epoch"], (r, b)
assert r["test_accuracy"] == b["test_accuracy"], (r, b)
assert d["segments"][0]["how"] == "completed" and d["started_utc"].endswith("Z") and d["ended_utc"].endswith("Z")
assert d["host"] and " train --config " in d["command_line"], d["command_line"]
assert len(d["config_sha256"]) == 64 and d["dltrain_version"]
assert d["final_test"]["classes"][3] == "3" and len(d["final_test"]["per_class_accuracy"]) == 10
PY
best=$(json_get runs/tiny/report.json 'd["result"]["test_accuracy"]')
"$DLTRAIN" eval --checkpoint runs/tiny/checkpoints/best.pt --json >best.json
check "eval of best.pt reproduces the headline ($best)" "$PYTHON" -c "
import json; assert json.load(open('best.json'))['accuracy'] == $best"
expect 0 "done: test accuracy .* of best.pt, epoch [12], chosen by val accuracy" cat runs/tiny/train.log
# Without a validation split there is nothing to select: the final model is the result and no best.pt is written.
expect 0 "of the final model, epoch 2; no validation split" "$DLTRAIN" train --config "$cfg" "${opts[@]}" \
  --set run.name=noval --set train.epochs=2 --set data.val_split=0
check "no validation split: no best.pt" test ! -e runs/noval/checkpoints/best.pt
check "no validation split: the result is the final model" test "$(json_get runs/noval/report.json 'd["result"]["model"]')" = final
expect 3 "/train/early_stopping/patience: early stopping needs a validation split" "$DLTRAIN" train --config "$cfg" \
  "${opts[@]}" --set data.val_split=0 --set train.early_stopping.patience=2
expect 3 "/data/val_split: must be a fraction in \[0, 0.9\] or a whole number of images" "$DLTRAIN" train --config "$cfg" \
  "${opts[@]}" --set data.val_split=1.5
expect 3 "/train/optimizer/nesterov: Nesterov momentum needs" "$DLTRAIN" train --config "$cfg" "${opts[@]}" \
  --set train.optimizer.momentum=0 --set train.optimizer.nesterov=true

# eval --split: val is the hold-out (the last 40 of 400 images), train the 360 the run trained on.
"$DLTRAIN" eval --checkpoint runs/tiny/checkpoints/last.pt --split val --json >val.json
"$DLTRAIN" eval --checkpoint runs/tiny/checkpoints/last.pt --split train --json >train.json
check "eval --split val and --split train cover the hold-out and the trained images" "$PYTHON" -c "
import json; v, t = json.load(open('val.json')), json.load(open('train.json'))
assert (v['examples'], t['examples']) == (40, 360), (v['examples'], t['examples'])
r = json.load(open('runs/tiny/report.json'))['epochs'][-1]
assert abs(v['accuracy'] - r['val_accuracy']) < 1e-12, (v['accuracy'], r['val_accuracy'])"
expect 2 "the run had no validation split" "$DLTRAIN" eval --checkpoint runs/noval/checkpoints/last.pt --split val

# Early stopping: min_delta 1.0 makes every pass after the first one "no improvement"; patience 1 stops at epoch 2.
expect 0 "early stopping: no val_accuracy improvement in 1 validation pass" "$DLTRAIN" train --config "$cfg" "${opts[@]}" \
  --set run.name=early --set train.epochs=6 --set train.early_stopping.patience=1 --set train.early_stopping.min_delta=1.0
check "early stopped after epoch 2 with epoch 1 selected" "$PYTHON" -c "
import json; d = json.load(open('runs/early/report.json'))
assert d['status'] == 'early_stopped' and len(d['epochs']) == 2 and d['best']['epoch'] == 1, (d['status'], len(d['epochs']))
assert d['result']['model'] == 'best.pt' and d['result']['epoch'] == 1"
expect 2 "stopped early" "$DLTRAIN" train --resume runs/early --no-progress
# Killed after its last last.pt but before its reports: resuming completes them, early_stopped with the same numbers.
as_if_killed_before_reports runs/early runs/early-late
expect 0 "completing its reports" "$DLTRAIN" train --resume runs/early-late --no-progress
check "the completed reports equal the uninterrupted early-stopped run's" "$PYTHON" -c "
import json; a, b = (json.load(open(f'runs/{r}/report.json')) for r in ('early', 'early-late'))
assert b['status'] == 'early_stopped' and a['result'] == b['result'] and len(b['epochs']) == 2, (b['status'], b['result'])
assert [s['how'] for s in b['segments']] == ['killed', 'early_stopped'], b['segments']"

# The resume contract. A slow run (a checkpoint every step) killed mid-epoch leaves a mid-epoch last.pt.
make_fixture big --train 3000 --test 300
"$DLTRAIN" train --config "$cfg" "${opts[@]}" --data-dir big --set run.name=cut --set train.epochs=2 \
  --set train.batch_size=8 --set 'train.checkpoint_every="1 step"' >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1000); do [ -e runs/cut/checkpoints/last.pt ] && break; sleep 0.01; done
sleep 0.1  # well inside the first epoch (337 steps) even on a fast machine
kill -9 $pid; wait $pid 2>/dev/null
check "the cut run stopped mid-epoch" test "$(json_get runs/cut/report.json 'd["epochs"]')" = "[]"
for change in data.limit_train=100 train.batch_size=30 data.val_split=0.5 run.seed=5 train.optimizer.lr=0.5 \
              train.precision='"fp64"' 'model.hidden=[64]'; do
  key=${change%%=*}
  expect 2 "cannot change $key[.0-9]* \(" "$DLTRAIN" train --resume runs/cut --set "$change" --no-progress
done
expect 2 "cannot change data.limit_train .*, run.seed " "$DLTRAIN" train --resume runs/cut --set data.limit_train=100 \
  --set run.seed=5 --no-progress
expect 3 "^error: --set train.epochs=abc: /train/epochs: expected an integer" "$DLTRAIN" train --resume runs/cut \
  --set train.epochs=abc --no-progress
check "refused resumes left the run as it was (no segment added)" test "$(json_get runs/cut/report.json 'len(d["segments"])')" = 1
expect 0 "resume: train.threads \(1 -> 2\)" "$DLTRAIN" train --resume runs/cut --threads 2 --set train.log_interval=50 \
  --set train.epochs=3 --set 'train.checkpoint_every="1 epoch"' --no-progress
check "the resumed run has two segments, the first one killed, and counts both in total_s" "$PYTHON" -c "
import json; d = json.load(open('runs/cut/report.json'))
s = d['segments']
assert [x['how'] for x in s] == ['killed', 'completed'] and s[1]['first_step'] == s[0]['last_step'] > 0, s
assert abs(d['timings']['total_s'] - s[0]['seconds'] - s[1]['seconds']) < 1e-6 and len(d['epochs']) == 3"

# A cosine schedule re-planned over more epochs: the log says the learning rate jumps and how to keep it.
expect 0 "re-plans the cosine schedule over 4 epochs: the learning rate jumps .*scheduler.horizon_epochs=3" \
  "$DLTRAIN" train --resume runs/cut --set train.epochs=4 --no-progress
expect 0 "epoch 5/5" "$DLTRAIN" train --resume runs/cut --set train.epochs=5 --set train.scheduler.horizon_epochs=4 \
  --no-progress
check "with horizon_epochs=4, epoch 5 keeps the schedule's final learning rate (no jump)" "$PYTHON" -c "
import json; e = json.load(open('runs/cut/report.json'))['epochs']
assert e[4]['lr'] == 0.0 and e[3]['lr'] < 1e-6, [x['lr'] for x in e]"

# eval and --resume find the data where the run found it when DLTRAIN_DATA_DIR is not set.
mkdir elsewhere && cd elsewhere
expect 0 "accuracy" env -u DLTRAIN_DATA_DIR "$DLTRAIN" eval --checkpoint ../runs/tiny/checkpoints/last.pt
expect 0 "data: mnist from $TMP/data/mnist" env -u DLTRAIN_DATA_DIR "$DLTRAIN" train --resume ../runs/tiny \
  --set train.epochs=3 --no-progress
cd ..
finish
