#!/usr/bin/env bash
# The one-command GPU check: on a machine with an NVIDIA GPU and a CUDA LibTorch 2.x, builds dltrain's CUDA
# configuration and measures what the CPU machines cannot, writing summary.md and the JSON files into one folder.
# Needs no network and no apt: the header libraries dltrain needs besides LibTorch come as Debian .deb files
# fetched beforehand (--fetch-debs on a Debian 12 machine) and are unpacked with dpkg -x.
#
# Usage:
#   scripts/gpu_check.sh --fetch-debs DIR     on a Debian machine with apt: downloads the .debs into DIR
#   scripts/gpu_check.sh [options]            on the GPU machine
# Options:
#   --libtorch DIR   a LibTorch 2.x CMake prefix (default: $LIBTORCH_PREFIX, else the installed PyTorch's
#                    torch.utils.cmake_prefix_path)
#   --debs DIR       .deb files to unpack into <build dir>/deps and put on CMAKE_PREFIX_PATH (CLI11, spdlog, fmt,
#                    nlohmann-json, Catch2)
#   --no-build       use build-cuda/ as it is (the build step configures the `cuda` preset into build-cuda/)
#   --out DIR        results folder (default gpu-check-<UTC time>)
#   --data DIR       folder holding mnist/ (default $DLTRAIN_DATA_DIR, else ../shared/data, else data)
#   --no-ctest       skip CTest (the CPU test suite, about a third of the time)
# Steps, in order (each is timed; a failing step is marked FAIL in summary.md and the rest still run):
#   build; dltrain doctor --require cuda --json (no usable GPU: stops here, exit 6); CTest with cuda.tests;
#   bench fp32/tf32/bf16/fp16 x batch 64/512 with CUDA graphs auto and off; one epoch of configs/mnist_cnn.json
#   at batch 64 and 512; configs/mnist_fast.json for seeds 1-10 with process wall time; a CUDA run stopped with
#   SIGINT and resumed, compared bit for bit with an uninterrupted one (graphs off, train.deterministic).
# Exit: 0 all steps passed, 1 a step failed, 2 usage, 6 no usable CUDA GPU. Budget: about 10 minutes on an H100/H200.
set -euo pipefail
cd "$(dirname "$0")/.."

deb_packages=(libcli11-dev libspdlog-dev libspdlog1.10 libfmt-dev libfmt9 nlohmann-json3-dev catch2)
libtorch="${LIBTORCH_PREFIX:-}" debs="" build_dir=build-cuda out="" data="" build=1 ctest=1
usage() { sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
value() { [ -n "${2:-}" ] || { echo "gpu_check: $1 needs a value" >&2; exit 2; }; }
while [ $# -gt 0 ]; do
  case "$1" in
    --fetch-debs)
      value "$@"
      mkdir -p "$2" && cd "$2" && apt-get download "${deb_packages[@]}" && ls -l ./*.deb
      exit 0 ;;
    --libtorch) value "$@"; libtorch=$2; shift ;;
    --debs) value "$@"; debs=$(cd "$2" && pwd); shift ;;
    --out) value "$@"; out=$2; shift ;;
    --data) value "$@"; data=$2; shift ;;
    --no-build) build=0 ;;
    --no-ctest) ctest=0 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "gpu_check: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
  shift
done

out="${out:-gpu-check-$(date -u +%Y%m%dT%H%M%SZ)}"
mkdir -p "$out"
out=$(cd "$out" && pwd)
summary="$out/summary.md"
failed=0
start_all=$SECONDS
if [ -z "$data" ]; then
  for d in "${DLTRAIN_DATA_DIR:-}" ../shared/data data; do [ -n "$d" ] && [ -d "$d/mnist" ] && { data=$d; break; }; done
fi
[ -n "$data" ] && [ -d "$data/mnist" ] || { echo "gpu_check: no MNIST: pass --data DIR (holding mnist/)" >&2; exit 2; }
export DLTRAIN_DATA_DIR
DLTRAIN_DATA_DIR=$(cd "$data" && pwd)

log() { printf '[gpu_check %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
note() { printf '%s\n' "$*" >>"$summary"; }
# step NAME CMD...: runs CMD with its output in $out/NAME.log, notes PASS/FAIL and the time in summary.md.
step() {
  local name=$1 t=$SECONDS rc=0
  shift
  log "$name"
  "$@" >"$out/$name.log" 2>&1 || rc=$?
  if [ "$rc" -eq 0 ]; then
    note "- PASS \`$name\` ($((SECONDS - t)) s)"
  else
    note "- **FAIL** \`$name\` (exit $rc, $((SECONDS - t)) s): see $name.log"
    tail -5 "$out/$name.log" | sed 's/^/      /'
    failed=1
  fi
  return "$rc"
}

note "# dltrain GPU check, $(date -u '+%Y-%m-%d %H:%M UTC')"
note ""
note "commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'); host $(uname -n); data $DLTRAIN_DATA_DIR"
note ""
note "## Steps"

# 1. Build.
deps="$PWD/$build_dir/deps"
configure_and_build() {
  export LIBTORCH_PREFIX="$libtorch" DLTRAIN_DEPS_PREFIX=""
  if [ -n "$debs" ]; then
    rm -rf "$deps" && mkdir -p "$deps"
    for f in "$debs"/*.deb; do dpkg -x "$f" "$deps"; done
    DLTRAIN_DEPS_PREFIX="$deps/usr;$deps/usr/lib/x86_64-linux-gnu"
    export LD_LIBRARY_PATH="$deps/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"  # test discovery
  fi
  # shellcheck disable=SC2086  # DLTRAIN_CMAKE_ARGS is a list of arguments
  cmake --preset cuda ${DLTRAIN_CMAKE_ARGS:-}
  cmake --build --preset cuda -j"$(nproc)"
}
if [ "$build" -eq 1 ]; then
  if [ -z "$libtorch" ]; then
    libtorch=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)' 2>/dev/null || true)
  fi
  [ -n "$libtorch" ] || { echo "gpu_check: no LibTorch: pass --libtorch DIR or install PyTorch" >&2; exit 2; }
  note "- LibTorch: $libtorch"
  step build configure_and_build || { note ""; note "Build failed: nothing else can run."; exit 1; }
fi
if [ "$build" -eq 0 ] && [ -d "$deps" ]; then
  export LD_LIBRARY_PATH="$deps/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
bin="$PWD/$build_dir/app/dltrain"
[ -x "$bin" ] || { echo "gpu_check: $bin not built" >&2; exit 2; }

# 2. The first step that needs a GPU.
set +e
"$bin" doctor --require cuda --json >"$out/doctor.json" 2>"$out/doctor.err"
rc=$?
set -e
"$bin" doctor >"$out/doctor.txt" 2>&1 || true
if [ "$rc" -eq 6 ]; then
  note "- **STOP** \`doctor --require cuda\`: no usable CUDA GPU (exit 6); the GPU steps did not run"
  log "no usable CUDA GPU: dltrain doctor --require cuda says"
  grep -E "FAIL|WARN|SKIP" "$out/doctor.txt" | sed 's/^/    /' || true
  log "stopping before the GPU steps; results so far in $out"
  exit 6
fi
note "- $([ "$rc" -eq 0 ] && echo PASS || echo "**FAIL** (exit $rc)") \`doctor --require cuda\`"
[ "$rc" -eq 0 ] || failed=1

# 3. CTest, including cuda.tests (the CLI tests train on the GPU too: their device is auto).
[ "$ctest" -eq 0 ] || step ctest bash -c "cd '$build_dir' && ctest --output-on-failure -j8 --timeout 600" || true

# 4. bench: precisions x batch sizes, CUDA graphs auto and off.
bench() {  # bench NAME [--set ...]
  local name=$1
  shift
  "$bin" bench --config configs/mnist_cnn.json --device cuda --precision fp32,tf32,bf16,fp16 --batch-size 64,512 \
    --steps 50 --json "$out/$name.json" "$@"
}
step bench_graphs bench bench_graphs || true
step bench_eager bench bench_eager --set train.cuda_graphs=off || true

# 5. One epoch of the classic CNN at batch 64 and 512 (fp32; bf16 at 512 too).
epoch_run() {  # epoch_run NAME BATCH PRECISION
  "$bin" train --config configs/mnist_cnn.json --device cuda --out "$out/runs" --no-progress \
    --set run.name="$1" --set train.epochs=1 --set train.batch_size="$2" --set train.precision="$3"
}
for spec in "cnn_b64_fp32 64 fp32" "cnn_b64_tf32 64 tf32" "cnn_b512_fp32 512 fp32" "cnn_b512_bf16 512 bf16"; do
  read -r name batch precision <<<"$spec"
  step "$name" epoch_run "$name" "$batch" "$precision" || true
done

# 6. mnist_fast, seeds 1-10, with the wall time of each process.
fast_runs() {
  local seed t0
  for seed in $(seq 1 10); do
    t0=$EPOCHREALTIME
    "$bin" train --config configs/mnist_fast.json --device cuda --out "$out/runs" --no-progress -q \
      --set run.name="fast_seed$seed" --set run.seed="$seed" >/dev/null
    awk -v s="$seed" -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN {printf "%d %.3f\n", s, b - a}' >>"$out/fast_wall.txt"
  done
}
rm -f "$out/fast_wall.txt"
step mnist_fast fast_runs || true

# 7. A CUDA run stopped with SIGINT (checkpoints every step, so it stops mid-epoch) and resumed, against the same
#    run never stopped: graphs off and deterministic algorithms, so that both repeat bit for bit.
resume_check() {
  local opts=(--config configs/mnist_fast.json --device cuda --out "$out/runs" --no-progress -q
    --set train.epochs=3 --set train.cuda_graphs=off --set train.deterministic=true --set 'train.checkpoint_every="1 step"')
  "$bin" train "${opts[@]}" --set run.name=resume_straight
  "$bin" train "${opts[@]}" --set run.name=resume_stopped &
  local pid=$! rc=0
  for _ in $(seq 600); do grep -q '"status": "running"' "$out/runs/resume_stopped/report.json" 2>/dev/null && break; sleep 0.05; done
  sleep 1.5
  kill -INT "$pid"
  wait "$pid" || rc=$?
  echo "stopped: exit $rc"
  [ "$rc" -eq 130 ] || { echo "the run was not interrupted (exit $rc): it finished before the signal"; return 1; }
  "$bin" train --resume "$out/runs/resume_stopped" --no-progress -q
  for run in resume_straight resume_stopped; do
    "$bin" eval --checkpoint "$out/runs/$run/checkpoints/last.pt" --json >"$out/$run.eval.json"
  done
  python3 - "$out" <<'PY'
import csv, json, sys
out = sys.argv[1]
a, b = (json.load(open(f"{out}/resume_{r}.eval.json")) for r in ("straight", "stopped"))
rows = lambda r: [row[:8] for row in csv.reader(open(f"{out}/runs/resume_{r}/metrics.csv"))]
same_eval = (a["loss"], a["accuracy"], a["confusion_matrix"]) == (b["loss"], b["accuracy"], b["confusion_matrix"])
print(f"straight loss {a['loss']!r}, stopped+resumed loss {b['loss']!r}; metrics.csv equal: {rows('straight') == rows('stopped')}")
sys.exit(0 if same_eval and rows("straight") == rows("stopped") else 1)
PY
}
step resume resume_check || true

# The summary: bench tables, epoch times, mnist_fast, resume, and the targets.
python3 - "$out" "$failed" "$((SECONDS - start_all))" >>"$summary" <<'PY'
import json, os, statistics, sys
out, failed, elapsed = sys.argv[1], sys.argv[2] == "1", int(sys.argv[3])
def load(path):
    try:
        return json.load(open(os.path.join(out, path)))
    except (OSError, ValueError):
        return None
doctor = load("doctor.json") or {}
print("\n## Machine\n")
print("```")
print(open(os.path.join(out, "doctor.txt")).read().strip())
print("```")
for name in ("bench_graphs", "bench_eager"):
    b = load(f"{name}.json")
    if not b:
        continue
    print(f"\n## {name} (configs/mnist_cnn.json, {b.get('train_images_per_epoch')} images per epoch)\n")
    print("| precision | batch | graph | img/s | step ms median | p95 | epoch s | peak MiB | TFLOP/s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in b["rows"]:
        if "images_per_s" not in r:
            print(f"| {r['precision']} | {r['batch_size']} | | {r.get('skipped', 'failed')} | | | | | |")
            continue
        print(f"| {r['precision']} | {r['batch_size']} | {r.get('cuda_graph')} | {r['images_per_s']:.0f} | "
              f"{r['step_ms_median']:.3f} | {r['step_ms_p95']:.3f} | {r['epoch_s']:.3f} | {r['peak_memory_mib']:.0f} | "
              f"{r['achieved_tflops']:.2f} |")
print("\n## One epoch of configs/mnist_cnn.json\n")
print("| run | train s | test accuracy |")
print("|---|---|---|")
epoch = {}
for name in ("cnn_b64_fp32", "cnn_b64_tf32", "cnn_b512_fp32", "cnn_b512_bf16"):
    r = load(f"runs/{name}/report.json")
    if r:
        epoch[name] = r["timings"]["train_s"]
        print(f"| {name} | {epoch[name]:.3f} | {100 * r['final_test']['accuracy']:.2f}% |")
print("\n## configs/mnist_fast.json, seeds 1-10\n")
print("| seed | test accuracy | train s | process wall s |")
print("|---|---|---|---|")
walls = {}
if os.path.exists(os.path.join(out, "fast_wall.txt")):
    walls = {int(s): float(w) for s, w in (l.split() for l in open(os.path.join(out, "fast_wall.txt")))}
fast = []
for seed in range(1, 11):
    r = load(f"runs/fast_seed{seed}/report.json")
    if r:
        fast.append((r["final_test"]["accuracy"], r["timings"]["train_s"], walls.get(seed, float("nan"))))
        print(f"| {seed} | {100 * fast[-1][0]:.2f}% | {fast[-1][1]:.3f} | {fast[-1][2]:.2f} |")
print("\n## Targets (H100/H200)\n")
def target(text, ok):
    print(f"- {'met' if ok else '**not met**'}: {text}")
if "cnn_b64_fp32" in epoch and "cnn_b64_tf32" in epoch:
    target(f"batch 64 fp32/tf32 <= 0.25 s per epoch: {epoch['cnn_b64_fp32']:.3f} / {epoch['cnn_b64_tf32']:.3f} s",
           max(epoch["cnn_b64_fp32"], epoch["cnn_b64_tf32"]) <= 0.25)
if "cnn_b512_bf16" in epoch:
    target(f"batch 512 bf16 <= 0.06 s per epoch: {epoch['cnn_b512_bf16']:.3f} s", epoch["cnn_b512_bf16"] <= 0.06)
if fast:
    acc, train, wall = min(f[0] for f in fast), max(f[1] for f in fast), max(f[2] for f in fast)
    target(f"mnist_fast >= 99.0% on every seed (min {100 * acc:.2f}%, mean {100 * statistics.mean(f[0] for f in fast):.2f}%)",
           acc >= 0.99)
    target(f"mnist_fast <= 0.1 s of training (max {train:.3f} s)", train <= 0.1)
    target(f"mnist_fast <= 2 s of process wall time (max {wall:.2f} s)", wall <= 2.0)
print(f"\nTotal {elapsed} s; {'some steps FAILED' if failed else 'every step passed'}.")
PY
log "done in $((SECONDS - start_all)) s: $summary"
cat "$summary"
exit "$failed"
