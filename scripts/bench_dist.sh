#!/usr/bin/env bash
# Data-parallel overhead on one machine: one epoch of a config with 1 worker x T threads against N workers x T/N
# threads (`dltrain train --nproc N`, Gloo on loopback), interleaved, same machine, same global batch. Prints each
# round's images/s, the mean ratio N-worker / 1-worker, and the share of rank 0's training time spent waiting for
# the gradient all-reduce outside backward (report.json distributed.allreduce), with the all-reduce overlapped with
# backward (the default) and after backward (train.distributed.overlap=false). On one machine with T cores data parallelism cannot beat
# T threads in one process; what this measures is its cost.
# Usage: scripts/bench_dist.sh [ROUNDS] [CONFIG] [WORKERS]     (default: 3 configs/mnist_cnn.json 2)
# Environment: DLTRAIN_DATA_DIR (default ../shared/data), BENCH_SET (extra --set options, e.g. data.limit_train=20000)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
config=${2:-configs/mnist_cnn.json}
workers=${3:-2}
cores=$(nproc)
export DLTRAIN_DATA_DIR=${DLTRAIN_DATA_DIR:-$PWD/../shared/data}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
extra=()
for s in ${BENCH_SET:-}; do extra+=(--set "$s"); done

run() {  # run NAME ARGS...: one epoch; prints "images/s allreduce_share"
  local name=$1
  shift
  build/app/dltrain train --config "$config" --set train.epochs=1 --set run.name="$name" \
    --set data.val_split=0 --set eval.test_during_training=false --out "$out" --no-progress -q "${extra[@]}" "$@" >/dev/null
  python3 - "$out/$name/report.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
share = 0.0
if d.get("distributed"):
    share = d["distributed"]["allreduce"]["seconds"] / d["epochs"][0]["train_seconds"]
print(d["epochs"][0]["images_per_second"], share)
PY
}

echo "config $config, $cores cores: 1 worker x $cores threads vs $workers workers x $((cores / workers)) thread(s),"
echo "with the all-reduce overlapped with backward (the default) and after backward (overlap=false)"
ratios=() ratios_after=()
for r in $(seq "$rounds"); do
  read -r one _ <<<"$(run "one-$r" --threads "$cores")"
  read -r many share <<<"$(run "many-$r" --threads $((cores / workers)) --nproc "$workers")"
  read -r after share_after <<<"$(run "after-$r" --threads $((cores / workers)) --nproc "$workers" \
    --set train.distributed.overlap=false)"
  ratio=$(python3 -c "print(f'{$many / $one:.3f}')")
  ratio_after=$(python3 -c "print(f'{$after / $one:.3f}')")
  ratios+=("$ratio")
  ratios_after+=("$ratio_after")
  printf 'round %d: 1 worker %.0f img/s | %d workers, overlapped: %.0f img/s (ratio %s), waiting for the all-reduce %.1f%%\n' \
    "$r" "$one" "$workers" "$many" "$ratio" "$(python3 -c "print(100 * $share)")"
  printf '         %d workers, after backward: %.0f img/s (ratio %s), all-reduce %.1f%% of rank 0'"'"'s training time\n' \
    "$workers" "$after" "$ratio_after" "$(python3 -c "print(100 * $share_after)")"
done
mean() { python3 -c "import sys, statistics; print(f'{statistics.mean(float(x) for x in sys.argv[1:]):.3f}')" "$@"; }
echo "mean ratio, overlapped: $(mean "${ratios[@]}"); after backward: $(mean "${ratios_after[@]}") (goal >= 0.85)"
