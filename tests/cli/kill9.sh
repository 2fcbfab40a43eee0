# kill -9 at random moments, checkpoint writes included, never leaves a corrupt last.pt, best.pt,
# report.json or metrics.csv, nor an empty train.log; resuming after every kill ends with exactly the uninterrupted
# result. Every other kill waits for a checkpoint write to begin, and at least a quarter of the kills must land inside
# one (a temporary file left behind). KILLS (default 24) sets how many times the run is killed.
source "$(dirname "$0")/lib.sh"
cd "$TMP"
make_fixture data --train 3000 --test 300
kills=${KILLS:-24}
cfg="$DLTRAIN_SOURCE_DIR/configs/tiny.json"
opts=(--data-dir data --out runs --no-progress -q --threads 1 --set train.epochs=4 --set train.batch_size=8 --set 'train.checkpoint_every="2 steps"'
      --set 'model.dropout=0.2')

expect 0 "" "$DLTRAIN" train --config "$cfg" "${opts[@]}" --set run.name=straight
"$DLTRAIN" eval --checkpoint runs/straight/checkpoints/last.pt --data-dir data --json >straight.json

status_of() { json_get runs/killed/report.json 'd["status"]' 2>/dev/null || echo none; }
kill_during_write() {  # kill_during_write PID: SIGKILL as soon as a checkpoint's temporary file appears (or after 8 s)
  "$PYTHON" - "$1" runs/killed/checkpoints <<'PY'
import os, signal, sys, time
pid, folder = int(sys.argv[1]), sys.argv[2]
end = time.time() + 8
while time.time() < end:
    try:
        if any(name.startswith(".") and ".tmp" in name for name in os.listdir(folder)):
            break
    except FileNotFoundError:
        pass
    time.sleep(0.0002)
os.kill(pid, signal.SIGKILL)
PY
}
corrupt=0 resumed=0 mid_write=0 empty_log=0
for i in $(seq "$kills"); do
  if [ -e runs/killed/checkpoints/last.pt ] && [ "$(status_of)" != completed ]; then
    "$DLTRAIN" train --resume runs/killed --no-progress -q >/dev/null 2>&1 &
    resumed=$((resumed + 1))
  else
    rm -rf runs/killed  # killed before its first checkpoint, or finished: start again
    "$DLTRAIN" train --config "$cfg" "${opts[@]}" --set run.name=killed >/dev/null 2>&1 &
  fi
  pid=$!
  if [ $((i % 2)) -eq 0 ]; then
    sleep 0.5
    kill_during_write "$pid"
  else
    sleep "$("$PYTHON" -c "import random; print(random.uniform(1.0, 4.0))")"
    kill -9 "$pid" 2>/dev/null
  fi
  wait "$pid" 2>/dev/null
  if find runs/killed -name '.*tmp*' 2>/dev/null | grep -q .; then mid_write=$((mid_write + 1)); fi
  verify_run data runs/killed || { echo "corrupt files after kill $i"; corrupt=$((corrupt + 1)); }
  if [ -e runs/killed/train.log ] && ! grep -q "run directory: runs/killed" runs/killed/train.log; then
    echo "train.log lost its lines after kill $i"
    empty_log=$((empty_log + 1))
  fi
done
echo "kills: $kills, resumed: $resumed, killed during a file write (temporary file left): $mid_write"
check "$kills kills ($resumed resumed), no corrupt file" test "$corrupt" -eq 0
check "train.log kept its lines through every kill -9" test "$empty_log" -eq 0
check "at least $((kills / 4)) of $kills kills landed during a checkpoint write ($mid_write)" test "$mid_write" -ge $((kills / 4))

# Finish the run; resumed from whatever the kills left, it must equal the uninterrupted run exactly.
if [ "$(status_of)" != completed ]; then
  if [ -e runs/killed/checkpoints/last.pt ]; then
    expect 0 "resuming" "$DLTRAIN" train --resume runs/killed --no-progress
  else
    rm -rf runs/killed
    expect 0 "" "$DLTRAIN" train --config "$cfg" "${opts[@]}" --set run.name=killed
  fi
fi
check "no temporary files left" bash -c "! find runs/killed -name '.*tmp*' | grep -q ."
"$DLTRAIN" eval --checkpoint runs/killed/checkpoints/last.pt --data-dir data --json >killed.json
check "killed and resumed run equals the uninterrupted one (loss, accuracy, confusion matrix)" "$PYTHON" -c "
import json; a, b = json.load(open('straight.json')), json.load(open('killed.json'))
assert (a['loss'], a['accuracy'], a['confusion_matrix']) == (b['loss'], b['accuracy'], b['confusion_matrix']), (a['loss'], b['loss'])"
check "same metrics.csv apart from timings" "$PYTHON" -c "
import csv; rows = lambda p: [r[:8] for r in csv.reader(open(p))]
assert rows('runs/straight/metrics.csv') == rows('runs/killed/metrics.csv')"
expect 2 "already completed 4 of train.epochs=4" "$DLTRAIN" train --resume runs/killed --no-progress
finish
