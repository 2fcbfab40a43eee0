# `dltrain bench` (table, JSON, skipped combinations, exit codes) and train.precision: fp64 and bf16 runs
# train, and eval of their checkpoints reproduces the accuracy train reported; tf32 is refused on a CPU.
source "$(dirname "$0")/lib.sh"
cd "$TMP"
make_fixture data/mnist
cfg="$DLTRAIN_SOURCE_DIR/configs/tiny.json"

expect 0 "cpu +fp32 +16 +[0-9]+ " "$DLTRAIN" bench --config "$cfg" --device cpu --precision fp32,fp64,bf16 \
  --batch-size 16,64 --steps 5 --json bench.json
check "bench --json has a measured row per combination" "$PYTHON" - bench.json <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
rows = d["rows"]
assert [(r["precision"], r["batch_size"]) for r in rows] == [(p, b) for p in ("fp32", "fp64", "bf16") for b in (16, 64)], rows
for r in rows:
    assert "skipped" not in r, r
    assert r["images_per_s"] > 0 and r["step_ms_p95"] >= r["step_ms_median"] > 0, r
    n = d["train_images_per_epoch"]  # tiny.json holds out a tenth of MNIST's 60000 training images
    assert abs(r["epoch_s"] - n // r["batch_size"] * r["batch_size"] / r["images_per_s"]) < 0.05 * r["epoch_s"], r
    assert r["eval_images_per_s"] > 0 and r["peak_memory_mib"] > 0 and r["device_matmul_tflops"] > 0, r
    assert abs(r["achieved_tflops"] - r["train_flops_per_image"] * r["images_per_s"] / 1e12) < 1e-9, r
    assert abs(r["floor_share"] - r["achieved_tflops"] / r["device_matmul_tflops"]) < 1e-9, r
    assert r["cuda_graph"] is False, r
assert d["model"]["parameters"] > 0 and "synthetic" in d["note"] and d["train_images_per_epoch"] == 54000, d
PY
expect 0 "cuda +fp32 +32 +skipped: .*(no CUDA support|no CUDA device)" "$DLTRAIN" bench --config "$cfg" --device cpu,cuda --steps 2
expect 0 "cpu +tf32 +32 +skipped: .*CUDA mode" "$DLTRAIN" bench --config "$cfg" --device cpu --precision fp32,tf32 --steps 2
if ! "$DLTRAIN" doctor --json 2>/dev/null | grep -q '"cuda_devices": [1-9]'; then
  expect 6 "no benchmark combination could run" "$DLTRAIN" bench --config "$cfg" --device cuda --steps 2
fi
expect 2 "precision" "$DLTRAIN" bench --config "$cfg" --precision fp8
expect 3 "/train/batch_size" "$DLTRAIN" bench --config "$cfg" --set train.batch_size=0

# Precision in training: the checkpoint remembers it, and eval reproduces train's accuracy bit for bit.
for p in fp32 fp64 bf16; do
  expect 0 "done: test accuracy" "$DLTRAIN" train --config "$cfg" --data-dir data/mnist --out runs --no-progress \
    --set run.name=$p --set train.precision=$p --set train.epochs=2
  acc=$(json_get runs/$p/report.json 'd["final_test"]["accuracy"]')
  check "$p: the tiny model learns ($acc > 0.9)" "$PYTHON" -c "assert $acc > 0.9"
  "$DLTRAIN" eval --checkpoint runs/$p/checkpoints/last.pt --data-dir data/mnist --json >eval_$p.json
  check "$p: eval reproduces the reported accuracy ($acc)" \
    "$PYTHON" -c "import json; assert json.load(open('eval_$p.json'))['accuracy'] == $acc"
done
check "fp64 and bf16 runs each differ from fp32 (the precision took effect)" "$PYTHON" -c "
import json
loss = {p: json.load(open(f'eval_{p}.json'))['loss'] for p in ('fp32', 'fp64', 'bf16')}
assert loss['fp64'] != loss['fp32'] and loss['bf16'] != loss['fp32'], loss"
expect 2 "cannot change train.precision" "$DLTRAIN" train --resume runs/bf16 --set train.precision=fp32 --set train.epochs=3
expect 6 "tf32 is a CUDA mode" "$DLTRAIN" train --config "$cfg" --data-dir data/mnist --out runs --set train.precision=tf32
expect 6 "fp16 .*is a CUDA mode" "$DLTRAIN" train --config "$cfg" --data-dir data/mnist --out runs --set train.precision=fp16
expect 3 "/train/precision: .*fp8" "$DLTRAIN" train --config "$cfg" --data-dir data/mnist --out runs --set train.precision=fp8
expect 3 "/train/cuda_graphs: on, but CUDA graphs need a CUDA device" "$DLTRAIN" train --config "$cfg" \
  --data-dir data/mnist --out runs --set train.cuda_graphs=on
expect 0 "cpu +fp32 +16 .* no$" "$DLTRAIN" bench --config "$cfg" --device cpu --batch-size 16 --steps 2
finish
