# SIGINT, SIGTERM and SIGHUP (a closed terminal) stop a real run after the current step with last.pt and a report
# marked interrupted (exit 130); --resume continues it to exactly the result of a run never stopped. A second SIGINT
# quits at once and leaves every file complete. Ctrl-C during the final evaluation is an interruption too.
source "$(dirname "$0")/lib.sh"
cd "$TMP"
make_fixture data --train 3000 --test 300
cfg="$DLTRAIN_SOURCE_DIR/configs/tiny.json"
opts=(--data-dir data --out runs --no-progress --threads 1 --set train.epochs=8 --set train.batch_size=8
      --set model.dropout=0.2)
"$DLTRAIN" train --config "$cfg" "${opts[@]}" --set run.name=straight -q >/dev/null 2>&1
"$DLTRAIN" eval --checkpoint runs/straight/checkpoints/last.pt --data-dir data --json >straight.json

# wait_for_training RUN_DIR: until the run has set up and started training (its report says running).
wait_for_training() {
  for _ in $(seq 600); do grep -q '"status": "running"' "$1/report.json" 2>/dev/null && return; sleep 0.05; done
}

stops=0
for sig in INT TERM HUP INT; do
  if [ -e runs/stopped/checkpoints/last.pt ]; then
    "$DLTRAIN" train --resume runs/stopped --no-progress >out.txt 2>&1 &
  else
    # a checkpoint every step (with its fsync) slows the run down enough to stop it at a random step
    "$DLTRAIN" train --config "$cfg" "${opts[@]}" --set run.name=stopped --set 'train.checkpoint_every="1 step"' >out.txt 2>&1 &
  fi
  pid=$!
  sleep 0.3
  wait_for_training runs/stopped
  sleep "$("$PYTHON" -c "import random; print(random.uniform(0.1, 1.5))")"
  kill -s "$sig" "$pid"
  wait "$pid"
  rc=$?
  check "SIG$sig: exit 130 (got $rc)" test "$rc" -eq 130
  check "SIG$sig: report marked interrupted" test "$(json_get runs/stopped/report.json 'd["status"]')" = interrupted
  check "SIG$sig: the message says how to continue" grep -q "hint: continue with: dltrain train --resume" out.txt
  check "SIG$sig: train.log says how the run ended" grep -q "run ended (interrupted): interrupted at epoch" runs/stopped/train.log
  stops=$((stops + 1))
done
expect 0 "resuming runs/stopped/checkpoints/last.pt" "$DLTRAIN" train --resume runs/stopped --no-progress
"$DLTRAIN" eval --checkpoint runs/stopped/checkpoints/last.pt --data-dir data --json >stopped.json
check "stopped $stops times and resumed: same loss, accuracy and confusion matrix as the straight run" "$PYTHON" -c "
import json; a, b = json.load(open('straight.json')), json.load(open('stopped.json'))
assert (a['loss'], a['accuracy'], a['confusion_matrix']) == (b['loss'], b['accuracy'], b['confusion_matrix']), (a['loss'], b['loss'])"
check "same metrics.csv apart from timings" "$PYTHON" -c "
import csv; rows = lambda p: [r[:8] for r in csv.reader(open(p))]
assert rows('runs/straight/metrics.csv') == rows('runs/stopped/metrics.csv')"

# A second SIGINT exits at once; whatever was already written stays complete.
"$DLTRAIN" train --config "$cfg" "${opts[@]}" --set run.name=twice --set 'train.checkpoint_every="1 step"' >/dev/null 2>&1 &
pid=$!
sleep 0.3
wait_for_training runs/twice
sleep 0.5
kill -INT "$pid"
kill -INT "$pid"
wait "$pid"
rc=$?
check "second SIGINT: exit 130 (got $rc)" test "$rc" -eq 130
check "second SIGINT: every file complete" verify_run data runs/twice

# Killed after the last epoch's last.pt but before its reports (as kill -9 can): resuming completes them.
as_if_killed_before_reports runs/straight runs/late
expect 0 "completing its reports" "$DLTRAIN" train --resume runs/late --no-progress
check "late kill: metrics.csv has every epoch again" "$PYTHON" -c "
import csv; rows = lambda p: [r[:8] for r in csv.reader(open(p))]
assert rows('runs/straight/metrics.csv') == rows('runs/late/metrics.csv')"
check "late kill: report completed with the straight run's test accuracy" "$PYTHON" -c "
import json; a, b = json.load(open('runs/straight/report.json')), json.load(open('runs/late/report.json'))
assert b['status'] == 'completed' and a['final_test']['accuracy'] == b['final_test']['accuracy'], b['status']"
expect 2 "already completed 8 of train.epochs=8" "$DLTRAIN" train --resume runs/late --no-progress

# Ctrl-C while the final evaluation runs (train.log says when it starts; 1000 test images one by one through a small
# CNN take a second or more): exit 130 and "interrupted", not exit 0 and "completed"; resuming completes it.
make_fixture slow-eval --train 200 --test 1000
"$DLTRAIN" train --config "$cfg" --data-dir slow-eval --out runs --no-progress --threads 1 --set run.name=final-eval \
  --set train.epochs=1 --set train.batch_size=8 --set eval.batch_size=1 --set 'model={"layers":[
    {"type":"conv2d","out_channels":32,"kernel_size":3},{"type":"relu"},{"type":"conv2d","out_channels":64,"kernel_size":3},
    {"type":"relu"},{"type":"maxpool2d","kernel_size":2},{"type":"linear","out_features":10}]}' >out.txt 2>&1 &
pid=$!
for _ in $(seq 2000); do grep -q 'evaluating test' runs/final-eval/train.log 2>/dev/null && break; sleep 0.01; done
kill -INT "$pid"
wait "$pid"
rc=$?
check "Ctrl-C in the final evaluation: exit 130 (got $rc)" test "$rc" -eq 130
check "Ctrl-C in the final evaluation: report marked interrupted" \
  test "$(json_get runs/final-eval/report.json 'd["status"]')" = interrupted
check "Ctrl-C in the final evaluation: the message says so" grep -q "interrupted while evaluating epoch 1" out.txt
expect 0 "done: test accuracy" "$DLTRAIN" train --resume runs/final-eval --no-progress
check "resumed: completed, one epoch, evaluated in full" "$PYTHON" -c "
import json; d = json.load(open('runs/final-eval/report.json'))
assert d['status'] == 'completed' and len(d['epochs']) == 1 and d['final_test']['examples'] == 1000, d['status']"
finish
