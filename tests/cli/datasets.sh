# Datasets beyond the IDX files: image_folder read exactly as IDX (the first 2,000 MNIST test images as PNGs: eval
# equal to eval on the IDX file, predict's logits equal image by image), image_folder training with a seeded split
# and its own statistics, a corrupt PNG (exit 4), image_folder's config errors (exit 3); cifar10 from a generated
# archive in the published layout: `data fetch` through a loopback mirror (checksum overridden for the test file),
# `data verify`, training, eval, predict of an RGB PNG, and export's per-channel normalisation (model.py, ONNX).
# Uses the real MNIST in $DLTRAIN_SOURCE_DIR/../shared/data/mnist when it is there, else the generated fixture.
source "$(dirname "$0")/lib.sh"
cd "$TMP"
TORCH_PYTHON=/usr/bin/python3
images="$DLTRAIN_SOURCE_DIR/tests/fixtures/make_images.py"
mnist="$DLTRAIN_SOURCE_DIR/../shared/data/mnist"
if [ ! -f "$mnist/t10k-images-idx3-ubyte.gz" ]; then
  echo "note: no real MNIST in $mnist: the generated fixture stands in"
  make_fixture data/mnist --train 2000 --test 2000
  mnist=$PWD/data/mnist
fi
dl() { "$DLTRAIN" "$@" --threads 2; }
# same_accuracy RUN EVAL_JSON: eval's accuracy is the run's headline test accuracy.
same_accuracy() {
  "$PYTHON" -c "import json,sys; r = json.load(open(sys.argv[1]))['result']['test_accuracy']
e = json.load(open(sys.argv[2]))['accuracy']; print(f'  run {r}, eval {e}'); assert r == e" "$1/report.json" "$2"
}
train() { "$DLTRAIN" train --config "$DLTRAIN_SOURCE_DIR/configs/tiny.json" --out runs --threads 2 --no-progress "$@"; }

# --- image_folder reads PNGs as IDX holds the same pixels ------------------------------------------------------------
"$PYTHON" "$images" folder "$mnist/t10k-images-idx3-ubyte.gz" "$mnist/t10k-labels-idx1-ubyte.gz" png --count 2000 \
  --idx idx2000 >/dev/null || { echo "FAIL: writing the PNG folder"; exit 1; }
ln -s "$mnist/train-images-idx3-ubyte.gz" "$mnist/train-labels-idx1-ubyte.gz" idx2000/
train --data-dir "$mnist" --set run.name=mnist --set train.epochs=1 --set data.limit_train=20000 >/dev/null 2>&1 ||
  echo "FAIL: training on MNIST"
ckpt=runs/mnist/checkpoints/best.pt
dl eval --checkpoint $ckpt --data-dir idx2000 --json >eval_idx.json
dl eval --checkpoint $ckpt --image-folder png --json >eval_png.json
check "eval on the 2,000 PNGs equals eval on the same 2,000 IDX images (accuracy, confusion matrix, loss)" \
  "$PYTHON" - eval_idx.json eval_png.json <<'PY'
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:])
print(f"  IDX: accuracy {a['accuracy']:.4f} ({a['correct']}/{a['examples']}), loss {a['loss']:.9f}; "
      f"PNG folder: accuracy {b['accuracy']:.4f} ({b['correct']}/{b['examples']}), loss {b['loss']:.9f}")
assert a["examples"] == b["examples"] == 2000 and a["split"] == "test" and b["split"] == "image_folder"
for k in ("accuracy", "correct", "confusion_matrix", "per_class_accuracy", "classes"):
    assert a[k] == b[k], k
assert abs(a["loss"] - b["loss"]) <= 1e-6 * a["loss"]  # summed in another order: the folder groups by class
PY
find png -name '*.png' | sort >pngs.txt
# One image per forward pass: a matrix product's rows may round differently with the batch around them.
xargs "$DLTRAIN" predict --checkpoint $ckpt --threads 2 --invert no --json --logits --top-k 1 --batch-size 1 <pngs.txt \
  >png.jsonl 2>/dev/null
dl predict --checkpoint $ckpt idx2000/t10k-images-idx3-ubyte.gz --json --logits --top-k 1 --batch-size 1 >idx.jsonl 2>/dev/null
check "every PNG's logits equal its IDX image's, bit for bit" "$PYTHON" - png.jsonl idx.jsonl <<'PY'
import json, os, sys
png = [json.loads(l) for l in open(sys.argv[1])]
idx = [json.loads(l) for l in open(sys.argv[2])]
assert len(png) == len(idx) == 2000
for p in png:
    i = int(os.path.basename(p["input"])[:-4])
    assert p["logits"] == idx[i]["logits"], p["input"]
PY

# --- training on an image_folder: a seeded split, statistics from the training split -------------------------------
folder_cfg=(--set data.dataset=image_folder --set data.root=png --set 'data.image_size=[1,28,28]' --set data.test_split=0.2
  --set data.val_split=0.1 --set train.epochs=2)
for name in f1 f2; do
  expect 0 "done: test accuracy" train "${folder_cfg[@]}" --set run.name=$name --set data.split_seed=11
done
check "image_folder: 1440/160/400 images, classes 0-9, statistics of its own training split, not the table's" \
  "$PYTHON" - runs/f1/report.json <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))["dataset"]
assert (d["name"], d["train"], d["val"], d["test"]) == ("image_folder", 1440, 160, 400), d
assert d["classes"] == [str(i) for i in range(10)] and d["image_shape"] == [1, 28, 28], d
assert len(d["mean"]) == len(d["std"]) == 1 and 0 < d["mean"][0] < 1 and d["mean"][0] != 0.1307, d
PY
check "the same split_seed tests on the same images: two runs' results are identical" "$PYTHON" -c "
import json; a, b = (json.load(open(f'runs/{r}/report.json'))['final_test'] for r in ('f1', 'f2'))
assert a['confusion_matrix'] == b['confusion_matrix'] and a['loss'] == b['loss']"
dl eval --checkpoint runs/f1/checkpoints/best.pt --json >e_f1.json
check "eval reproduces the image_folder run's test accuracy" same_accuracy runs/f1 e_f1.json
(cd / && "$DLTRAIN" eval --checkpoint "$TMP/runs/f1/checkpoints/best.pt" --json --threads 2) >e_f1_elsewhere.json
check "... also from another folder (data.root is relative: the folder the run found is remembered)" \
  same_accuracy runs/f1 e_f1_elsewhere.json
first=$(cd png && ls -d */*.png | head -n1)
cp -r png bad && head -c 60 "png/$first" >"bad/$first"
expect 4 "bad/$first" train "${folder_cfg[@]}" --set run.name=bad --set data.root=bad
expect 3 "/data/image_size: image_folder needs" train --set data.dataset=image_folder --set data.root=png \
  --set data.test_split=0.2
expect 3 "/data/test_root: only data.dataset image_folder reads it" train --data-dir "$mnist" --set data.test_root=png
expect 2 "no files to download" "$DLTRAIN" data fetch image_folder

# --- cifar10: fetch and verify through a loopback mirror, train, eval, predict, export ------------------------------
sha=$("$PYTHON" "$images" cifar mirror/cifar-10-binary.tar.gz --per-batch 40)
"$PYTHON" -u -m http.server 0 --bind 127.0.0.1 --directory mirror >server.log 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$TMP"' EXIT
port=""
for _ in $(seq 1 100); do
  port=$(sed -nE 's/.*port ([0-9]+).*/\1/p' server.log | head -n1)
  [ -n "$port" ] && "$PYTHON" -c "import urllib.request as u; u.urlopen('http://127.0.0.1:$port/', timeout=2)" 2>/dev/null && break
  port=""
  sleep 0.1
done
[ -n "$port" ] || { echo "FAIL: the loopback HTTP server did not start"; cat server.log; exit 1; }
mirror="http://127.0.0.1:$port/"
expect 4 "checksum mismatch" "$DLTRAIN" data fetch cifar10 --root c0 --mirror "$mirror"
check "a rejected archive leaves no file and no folder" test ! -e c0
export DLTRAIN_TEST_SHA256="cifar-10-binary.tar.gz=$sha"
expect 0 "\"status\": \"downloaded\"" "$DLTRAIN" data fetch cifar10 --root cifar --mirror "$mirror" --json
check "the archive arrived intact" cmp mirror/cifar-10-binary.tar.gz cifar/cifar-10-binary.tar.gz
expect 0 "^OK .*cifar-10-binary.tar.gz" "$DLTRAIN" data verify cifar10 --root cifar
unset DLTRAIN_TEST_SHA256
expect 4 "MISMATCH" "$DLTRAIN" data verify cifar10 --root cifar
expect 0 "data: cifar10 from .*: train 180, val 20, test 40" train --data-dir cifar --set data.dataset=cifar10 \
  --set run.name=c --set train.epochs=1 --set data.val_split=20 --set train.batch_size=20
dl eval --checkpoint runs/c/checkpoints/best.pt --json >e_c.json
check "eval reproduces the cifar10 run's test accuracy" same_accuracy runs/c e_c.json
check "report.json: cifar10's classes and the table's per-channel mean and std" "$PYTHON" -c "
import json; d = json.load(open('runs/c/report.json'))['dataset']
assert d['classes'][0] == 'airplane' and d['image_shape'] == [3, 32, 32] and d['mean'] == [0.4914, 0.4822, 0.4465], d"
"$PYTHON" - <<'PY'
import struct, zlib
chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
rows = b"".join(b"\0" + bytes(v for x in range(64) for v in (255, 4 * x, 255 - 4 * y)) for y in range(64))
open("light.png", "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 64, 64, 8, 2, 0, 0, 0)) +
                              chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
PY
expect 0 "\"inverted\":false" dl predict --checkpoint runs/c/checkpoints/best.pt light.png --json
if "$TORCH_PYTHON" -c "import torch, onnx, cv2" 2>/dev/null; then
  tar xzf cifar/cifar-10-binary.tar.gz cifar-10-batches-bin/test_batch.bin
  expect 0 "model.py" "$DLTRAIN" export --checkpoint runs/c/checkpoints/best.pt --format state_dict --out exp/model.pt
  expect 0 "model.onnx" "$DLTRAIN" export --checkpoint runs/c/checkpoints/best.pt --format onnx --out exp/model.onnx
  "$PYTHON" - <<'PY'
import struct, zlib
raw = open("cifar-10-batches-bin/test_batch.bin", "rb").read()
chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
for i in range(8):
    r = raw[i * 3073 + 1:(i + 1) * 3073]
    rows = b"".join(b"\0" + bytes(r[c * 1024 + y * 32 + x] for x in range(32) for c in range(3)) for y in range(32))
    open(f"t{i}.png", "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 32, 32, 8, 2, 0, 0, 0)) +
                                  chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
PY
  dl predict --checkpoint runs/c/checkpoints/best.pt t?.png --json --logits --invert no >c.jsonl 2>/dev/null
  check "model.py and ONNX (OpenCV) normalise per channel: dltrain's logits on 8 test images, |diff| < 1e-4" \
    "$TORCH_PYTHON" - <<'PY'
import json, sys
import numpy as np, torch, cv2
sys.path.insert(0, "exp")
from model import model, preprocess, MEAN, STD
assert MEAN == (0.4914, 0.4822, 0.4465) and STD == (0.247, 0.2435, 0.2616), (MEAN, STD)
model.load_state_dict(torch.load("exp/model.pt"))
model.eval()
raw = open("cifar-10-batches-bin/test_batch.bin", "rb").read()[:8 * 3073]
pixels = np.frombuffer(raw, dtype=np.uint8).reshape(8, 3073)[:, 1:].reshape(8, 3, 32, 32)
ours = np.array([json.loads(l)["logits"] for l in open("c.jsonl")], dtype=np.float32)
with torch.no_grad():
    py = model(preprocess(torch.from_numpy(pixels.copy()))).numpy()
net = cv2.dnn.readNetFromONNX("exp/model.onnx")
net.setInput(pixels.astype(np.float32))
onnx_logits = net.forward()
print(f"  model.py max |diff| {np.abs(py - ours).max():.2e}, ONNX max |diff| {np.abs(onnx_logits - ours).max():.2e}")
assert np.abs(py - ours).max() < 1e-4 and np.abs(onnx_logits - ours).max() < 1e-4
PY
else
  echo "skip: the export checks need Debian's python3-torch, python3-onnx and python3-opencv"
fi
finish
