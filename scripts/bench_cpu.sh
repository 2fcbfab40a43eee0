#!/usr/bin/env bash
# One epoch of configs/mnist_cnn.json with dltrain vs. the Python reference trainer
# (../shared/anchors/pytorch_mnist.py, Debian's python3-torch), interleaved, same threads, same machine.
# Prints images/s per mode and dltrain's (fp32) ratio to each; dltrain_bf16 is the same run with
# train.precision=bf16 (autocast), for CPUs with native bfloat16. Usage: scripts/bench_cpu.sh [ROUNDS] [THREADS]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-1}
threads=${2:-$(nproc)}
data=${DLTRAIN_DATA_DIR:-../shared/data}
anchor=../shared/anchors/pytorch_mnist.py
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
tuned="glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=1073741824:glibc.malloc.top_pad=67108864"

dltrain_ips() {  # dltrain_ips [--set ...]
  build/app/dltrain train --config configs/mnist_cnn.json --data-dir "$data/mnist" --threads "$threads" \
    --set train.epochs=1 --out "$out" --no-progress -q "$@"
  /usr/bin/python3 -c "import json,glob,os; f=max(glob.glob('$out/*/report.json'), key=os.path.getmtime); print(json.load(open(f))['epochs'][0]['images_per_second'])"
}
python_ips() {  # python_ips GLIBC_TUNABLES_VALUE [ARGS...]
  local tunables=$1
  shift
  GLIBC_TUNABLES=$tunables /usr/bin/python3 "$anchor" --data "$data/mnist" --threads "$threads" --epochs 1 "$@" 2>/dev/null |
    /usr/bin/python3 -c "import json,sys; print(json.loads(sys.stdin.readlines()[-1])['images_per_second'])"
}

declare -A sum
modes=(dltrain dltrain_bf16 python_dataloader python_resident python_dataloader_tuned python_resident_tuned)
for m in "${modes[@]}"; do sum[$m]=0; done
for r in $(seq "$rounds"); do
  for m in "${modes[@]}"; do
    case $m in
      dltrain) v=$(dltrain_ips) ;;
      dltrain_bf16) v=$(dltrain_ips --set train.precision=bf16) ;;
      python_dataloader) v=$(python_ips "") ;;
      python_resident) v=$(python_ips "" --resident) ;;
      python_dataloader_tuned) v=$(python_ips "$tuned") ;;
      python_resident_tuned) v=$(python_ips "$tuned" --resident) ;;
    esac
    echo "round $r  $m: $v img/s"
    sum[$m]=$(/usr/bin/python3 -c "print(${sum[$m]} + $v)")
  done
done
echo
echo "mean over $rounds round(s), $threads thread(s):"
d=$(/usr/bin/python3 -c "print(${sum[dltrain]} / $rounds)")
for m in "${modes[@]}"; do
  /usr/bin/python3 -c "v=${sum[$m]}/$rounds; print(f'  {\"$m\":26s} {v:8.0f} img/s   dltrain / this = {$d / v:5.2f}x')"
done
