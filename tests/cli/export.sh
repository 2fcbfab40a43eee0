# `dltrain export --format state_dict`: Python's torch.load reads the file into the names a Python nn.Sequential of
# the same layers has; the generated model.py builds that Sequential, and its logits equal dltrain's (every layer
# kind dltrain has). Skipped (77) without Debian's python3-torch.
source "$(dirname "$0")/lib.sh"
TORCH_PYTHON=/usr/bin/python3
if ! "$TORCH_PYTHON" -c "import torch" 2>/dev/null; then
  echo "skip: Debian's python3-torch is not installed (apt-get install python3-torch)"
  exit 77
fi
cd "$TMP"
make_fixture data/mnist
layers='[{"type":"conv2d","out_channels":6,"kernel_size":3,"padding":1},{"type":"batchnorm2d"},{"type":"relu"},
  {"type":"maxpool2d","kernel_size":2},{"type":"conv2d","out_channels":8,"kernel_size":3,"stride":2,"bias":false},
  {"type":"leaky_relu","negative_slope":0.05},{"type":"avgpool2d","kernel_size":2},{"type":"dropout","p":0.2},
  {"type":"flatten"},{"type":"linear","out_features":24},{"type":"batchnorm1d"},{"type":"gelu"},
  {"type":"linear","out_features":16},{"type":"tanh"},{"type":"linear","out_features":12},{"type":"sigmoid"},
  {"type":"linear","out_features":10}]'
train() {
  "$DLTRAIN" train --config "$DLTRAIN_SOURCE_DIR/configs/tiny.json" --data-dir data/mnist --out runs --threads 2 \
    --no-progress "$@" >/dev/null 2>&1
}
train --set run.name=all --set "model={\"type\":\"layers\",\"layers\":$(tr -d '\n ' <<<"$layers")}" --set train.epochs=2 ||
  echo "FAIL: training the every-layer model"
train --set run.name=mlp || echo "FAIL: training the MLP"

for run in all mlp; do
  expect 0 "model.py" "$DLTRAIN" export --checkpoint runs/$run/checkpoints/best.pt --format state_dict --out $run/model.pt
  "$DLTRAIN" predict --checkpoint runs/$run/checkpoints/best.pt data/mnist/t10k-images-idx3-ubyte.gz --json --logits \
    --top-k 1 >$run/dltrain.jsonl 2>/dev/null
  check "$run: model.py + torch.load give dltrain's logits (|diff| < 1e-4, same argmax on every image)" \
    "$TORCH_PYTHON" - $run data/mnist/t10k-images-idx3-ubyte.gz <<'PY'
import gzip, json, sys
import torch
sys.path.insert(0, sys.argv[1])
from model import model, preprocess, CLASSES, INPUT_SHAPE
state = torch.load(f"{sys.argv[1]}/model.pt")
assert isinstance(state, dict) and all(isinstance(t, torch.Tensor) for t in state.values()), type(state)
assert list(model.state_dict().keys()) == list(state.keys()), (list(model.state_dict()), list(state))
model.load_state_dict(state)
model.eval()
raw = gzip.open(sys.argv[2]).read()
images = torch.frombuffer(bytearray(raw[16:]), dtype=torch.uint8).reshape(-1, *INPUT_SHAPE)
with torch.no_grad():
    logits = model(preprocess(images))
ours = torch.tensor([json.loads(l)["logits"] for l in open(f"{sys.argv[1]}/dltrain.jsonl")])
diff = (logits - ours).abs().max().item()
same = (logits.argmax(1) == ours.argmax(1)).float().mean().item()
print(f"{sys.argv[1]}: {len(ours)} images, {len(state)} tensors, max |logit diff| {diff:.2e}, argmax agreement {same:.4f}")
assert len(CLASSES) == 10 and diff < 1e-4 and same == 1.0
PY
done
# ONNX: ONNX's own full checker, and OpenCV's DNN module (an independent runtime) computes dltrain's logits.
if "$TORCH_PYTHON" -c "import onnx, cv2" 2>/dev/null; then
  for run in all mlp; do
    expect 0 "model.onnx" "$DLTRAIN" export --checkpoint runs/$run/checkpoints/best.pt --format onnx --out $run/model.onnx
    check "$run: onnx.checker (full) passes and OpenCV DNN gives dltrain's logits (|diff| < 1e-4, same argmax)" \
      "$TORCH_PYTHON" - $run data/mnist/t10k-images-idx3-ubyte.gz <<'PY'
import gzip, json, sys
import numpy as np, onnx, cv2
d = sys.argv[1]
model = onnx.load(f"{d}/model.onnx")
onnx.checker.check_model(model, full_check=True)
assert json.loads({p.key: p.value for p in model.metadata_props}["classes"]) == [str(i) for i in range(10)]
assert model.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "N"
net = cv2.dnn.readNetFromONNX(f"{d}/model.onnx")
pixels = np.frombuffer(gzip.open(sys.argv[2]).read()[16:], dtype=np.uint8).reshape(-1, 1, 28, 28).astype(np.float32)
net.setInput(pixels)
logits = net.forward()
ours = np.array([json.loads(l)["logits"] for l in open(f"{d}/dltrain.jsonl")], dtype=np.float32)
diff = float(np.abs(logits - ours).max())
print(f"{d}: {len(ours)} images through OpenCV {cv2.__version__}: max |logit diff| {diff:.2e}, "
      f"argmax agreement {(logits.argmax(1) == ours.argmax(1)).mean():.4f}")
assert diff < 1e-4 and (logits.argmax(1) == ours.argmax(1)).all()
PY
  done
else
  echo "skip: the ONNX checks need Debian's python3-onnx and python3-opencv (scripts/test.sh installs them)"
fi
expect 0 "nn.BatchNorm2d\(6" cat all/model.py
expect 5 "missing.pt: checkpoint not found" "$DLTRAIN" export --checkpoint missing.pt --out x.pt
expect 2 "format" "$DLTRAIN" export --checkpoint runs/mlp/checkpoints/best.pt --format torchscript --out x.pt
finish
