#!/usr/bin/env bash
# configs/mnist_fast.json (fp32 and bf16) against the fastest published PyTorch recipe
# (../shared/anchors/pytorch_mnist.py --recipe fast: tuned allocator, same threads), interleaved, one seed
# per round. Prints test accuracy and seconds per run, then the medians and ratios.
# Usage: scripts/bench_fast.sh [ROUNDS] [THREADS]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
threads=${2:-$(nproc)}
data=${DLTRAIN_DATA_DIR:-../shared/data}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
tuned="glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=1073741824:glibc.malloc.top_pad=67108864"

dltrain_run() {  # dltrain_run NAME SEED [--set ...]: prints "accuracy train_s train+eval_s process_s"
  local name=$1 seed=$2
  shift 2
  local start end
  start=$(date +%s.%N)
  build/app/dltrain train --config configs/mnist_fast.json --data-dir "$data/mnist" --threads "$threads" --out "$out" \
    --no-progress -q --set run.name="$name" --set run.seed="$seed" "$@" 2>/dev/null
  end=$(date +%s.%N)
  /usr/bin/python3 -c "import json; d=json.load(open('$out/$name/report.json')); t=d['timings']
print(d['final_test']['accuracy'], t['train_s'], t['train_s'] + t['eval_s'], $end - $start)"
}
python_run() {  # python_run SEED: prints "accuracy train+test_s process_s" (one warm-up run, then the timed one)
  local start end line
  start=$(date +%s.%N)
  line=$(GLIBC_TUNABLES=$tuned /usr/bin/python3 ../shared/anchors/pytorch_mnist.py --data "$data/mnist" --recipe fast \
    --seeds 1 --seed "$(($1 - 1))" --threads "$threads" 2>/dev/null | tail -1)
  end=$(date +%s.%N)
  /usr/bin/python3 -c "import json; d=json.loads('$line'); print(d['test_accuracy'], d['train_and_test_seconds'], $end - $start)"
}

results=$out/results.txt
for r in $(seq "$rounds"); do
  read -r a t te p <<<"$(dltrain_run fp32-$r "$r")"
  echo "round $r  dltrain fp32: accuracy $a  train $t s  train+eval $te s  process $p s" | tee -a "$results"
  read -r a t te p <<<"$(dltrain_run bf16-$r "$r" --set train.precision=bf16)"
  echo "round $r  dltrain bf16: accuracy $a  train $t s  train+eval $te s  process $p s" | tee -a "$results"
  read -r a te p <<<"$(python_run "$r")"
  echo "round $r  pytorch fast: accuracy $a  train+test $te s  process $p s (incl. a warm-up run)" | tee -a "$results"
done
/usr/bin/python3 - "$results" <<'PY'
import re, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    m = re.match(r"round \d+  (.+?): accuracy ([\d.]+)  (?:train ([\d.]+) s  )?train\+(?:eval|test) ([\d.]+) s", line)
    rows.setdefault(m[1], []).append((float(m[2]), float(m[3] or "nan"), float(m[4])))
med = {k: (statistics.mean(a for a, _, _ in v), statistics.median(t for _, t, _ in v), statistics.median(e for _, _, e in v))
       for k, v in rows.items()}
for k, (acc, t, te) in med.items():
    print(f"{k:14s} mean accuracy {100 * acc:.2f}%  median train {t:.2f} s  median train+eval {te:.2f} s")
ref = med["pytorch fast"][2]
for k in ("dltrain fp32", "dltrain bf16"):
    print(f"{k} train+eval vs pytorch fast train+test: {ref / med[k][2]:.2f}x faster")
PY
