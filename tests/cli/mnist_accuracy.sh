# Accuracy on the real MNIST: configs/mnist_mlp.json must reach >= 98.0% and eval must reproduce it.
source "$(dirname "$0")/lib.sh"
root="${DLTRAIN_DATA_DIR:-}/mnist"
if [ -z "${DLTRAIN_DATA_DIR:-}" ] || [ ! -e "$root/train-images-idx3-ubyte.gz" ]; then
  echo "SKIP: real MNIST not found (set DLTRAIN_DATA_DIR to a folder holding mnist/, e.g. ../shared/data)"
  exit 77
fi
cd "$TMP"
expect 0 "done: test accuracy" "$DLTRAIN" train --config "$DLTRAIN_SOURCE_DIR/configs/mnist_mlp.json" --out runs --no-progress
acc=$(json_get runs/mnist_mlp/report.json 'd["result"]["test_accuracy"]')
echo "mnist_mlp best test accuracy: $acc"
check "mnist_mlp reaches >= 98.0% ($acc)" "$PYTHON" -c "assert $acc >= 0.98"
"$DLTRAIN" eval --checkpoint runs/mnist_mlp/checkpoints/best.pt --json >eval.json
check "eval reproduces it" "$PYTHON" -c "import json; assert json.load(open('eval.json'))['accuracy'] == $acc"
finish
