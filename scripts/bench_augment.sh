#!/usr/bin/env bash
# What data.augment and train.ema cost per training step, interleaved on one machine:
#   1. `dltrain bench` (the training step on device-resident synthetic batches) of CONFIG with no augmentation,
#      translation only (exact integer shifts) and the full set (translate, rotate, scale, shear, elastic, erase);
#   2. one short training epoch of CONFIG with train.ema off and on (the average is updated after every step).
# Prints each round, then the medians and, per round, the step time against "none" / "ema off" of the same round
# (shared machines drift between rounds), with the median of those ratios.
# Usage: scripts/bench_augment.sh [ROUNDS] [CONFIG] [THREADS]      (default: 5 configs/mnist_cnn.json 0 = all cores)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
config=${2:-configs/mnist_cnn.json}
threads=${3:-0}
data=${DLTRAIN_DATA_DIR:-../shared/data}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
declare -A augment=(
  [none]='{}'
  [translate]='{"translate": 2}'
  [full]='{"translate": 2, "rotate": 10, "scale": 0.1, "shear": 5, "elastic": 1, "erase": 0.5}'
)

for r in $(seq "$rounds"); do
  for name in none translate full; do
    build/app/dltrain bench --config "$config" --device cpu --steps 100 --warmup 5 --threads "$threads" \
      --set "data.augment=${augment[$name]}" --json "$out/b.json" >/dev/null 2>&1
    /usr/bin/python3 -c "import json; r=json.load(open('$out/b.json'))['rows'][0]
print('round $r augment $name images_per_s', r['images_per_s'], 'step_ms', r['step_ms_median'])"
  done
  for decay in 0 0.999; do
    build/app/dltrain train --config "$config" --data-dir "$data/mnist" --out "$out" --no-progress -q --threads "$threads" \
      --set run.name="ema$decay-$r" --set train.ema.decay="$decay" --set train.epochs=1 --set data.limit_train=15000 \
      --set data.val_split=0 >/dev/null 2>&1
    /usr/bin/python3 -c "import json; d=json.load(open('$out/ema$decay-$r/report.json'))
print('round $r ema $decay images_per_s', d['epochs'][-1]['images_per_second'], 'step_ms', d['timings']['step_time']['median_ms'])"
  done
done | tee "$out/results.txt"
/usr/bin/python3 - "$out/results.txt" <<'PY'
import statistics, sys
# kind -> name -> {round: (images/s, ms/step)}
runs = {}
for line in open(sys.argv[1]):
    if not line.startswith("round "):
        continue
    _, r, kind, name, _, ips, _, ms = line.split()
    runs.setdefault(kind, {}).setdefault(name, {})[r] = (float(ips), float(ms))
# Shared machines drift: each round's ratio to the baseline of the same round, then the median of those ratios.
for kind, base_name in (("augment", "none"), ("ema", "0")):
    base = runs[kind][base_name]
    for name, v in runs[kind].items():
        ratios = [v[r][1] / base[r][1] for r in v if r in base]
        print(f"{kind} {name:>9}: median {statistics.median(i for i, _ in v.values()):6.0f} img/s, "
              f"{statistics.median(m for _, m in v.values()):6.2f} ms/step; step time vs {base_name} in the same "
              f"round: median {100 * (statistics.median(ratios) - 1):+.1f}% (rounds: "
              + " ".join(f"{100 * (x - 1):+.0f}%" for x in ratios) + ")")
PY
