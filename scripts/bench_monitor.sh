#!/usr/bin/env bash
# What the training monitor costs: configs/mnist_fast.json with the monitor off, at its default 0.5 s
# interval and at 0.05 s (10x the samples), interleaved. Prints training time per run, the medians, the
# slowdown against "off", and the monitor's own measured cost per sample.
# Usage: scripts/bench_monitor.sh [ROUNDS] [CONFIG]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
config=${2:-configs/mnist_fast.json}
data=${DLTRAIN_DATA_DIR:-../shared/data}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

for r in $(seq "$rounds"); do
  for interval in 0 0.5 0.05; do
    name=m$interval-$r
    build/app/dltrain train --config "$config" --data-dir "$data/mnist" --out "$out" --no-progress -q \
      --set run.name="$name" --monitor-interval "$interval" 2>/dev/null
    /usr/bin/python3 -c "import json; d=json.load(open('$out/$name/report.json')); m=d['monitor']
print('round $r interval $interval train_s', d['timings']['train_s'], 'samples', m['samples'], 'cost_us', m.get('sample_cost_us', 0))"
  done
done | tee "$out/results.txt"
/usr/bin/python3 - "$out/results.txt" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    f = line.split()
    runs.setdefault(f[3], []).append((float(f[5]), int(f[7]), float(f[9])))
base = statistics.median(t for t, _, _ in runs["0"])
for interval, v in runs.items():
    t = statistics.median(x for x, _, _ in v)
    cost = statistics.mean(c for _, n, c in v if n) if interval != "0" else 0.0
    print(f"interval {interval:>4} s: median train {t:.3f} s ({100 * (t / base - 1):+.1f}% vs off), "
          f"{statistics.mean(n for _, n, _ in v):.0f} samples, {cost:.0f} us per sample "
          f"({100 * cost * 1e-6 / float(interval) if interval != '0' else 0:.3f}% of one core)")
PY
