# kill -9 at random moments, checkpoint writes included, never leaves a corrupt last.pt, best.pt,
# report.json or metrics.csv; resuming after every kill ends with exactly the uninterrupted result.
# KILLS (default 25) sets how many times the run is killed.
source "$(dirname "$0")/lib.sh"
cd "$TMP"
make_fixture data --train 3000 --test 300
kills=${KILLS:-25}
cfg="$DLTRAIN_SOURCE_DIR/configs/tiny.json"
opts=(--data-dir data --out runs --no-progress -q --threads 1 --set train.epochs=4 --set train.batch_size=8 --set 'train.checkpoint_every="2 steps"'
      --set 'model.dropout=0.2')

expect 0 "" "$DLTRAIN" train --config "$cfg" "${opts[@]}" --set run.name=straight
"$DLTRAIN" eval --checkpoint runs/straight/checkpoints/last.pt --data-dir data --json >straight.json

status_of() { json_get runs/killed/report.json 'd["status"]' 2>/dev/null || echo none; }
corrupt=0 resumed=0 mid_write=0
for i in $(seq "$kills"); do
  if [ -e runs/killed/checkpoints/last.pt ] && [ "$(status_of)" != completed ]; then
    "$DLTRAIN" train --resume runs/killed --no-progress -q >/dev/null 2>&1 &
    resumed=$((resumed + 1))
  else
    rm -rf runs/killed  # killed before its first checkpoint, or finished: start again
    "$DLTRAIN" train --config "$cfg" "${opts[@]}" --set run.name=killed >/dev/null 2>&1 &
  fi
  pid=$!
  sleep "$("$PYTHON" -c "import random; print(random.uniform(1.0, 4.0))")"
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  if find runs/killed -name '.*tmp*' 2>/dev/null | grep -q .; then mid_write=$((mid_write + 1)); fi
  verify_run data runs/killed || { echo "corrupt files after kill $i"; corrupt=$((corrupt + 1)); }
done
echo "kills: $kills, resumed: $resumed, killed during a file write (temporary file left): $mid_write"
check "$kills kills ($resumed resumed), no corrupt file" test "$corrupt" -eq 0

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
