# The bad-input catalogue: each case gets its documented exit code and a message naming what is wrong.
source "$(dirname "$0")/lib.sh"
cd "$TMP"
make_fixture good --train 100 --test 50
cfg="$DLTRAIN_SOURCE_DIR/configs/tiny.json"
train() { "$DLTRAIN" train --config "$@" --out runs --no-progress; }

# Usage (2)
expect 2 "" "$DLTRAIN"
expect 2 "frobnicate|subcommand is required" "$DLTRAIN" frobnicate
expect 2 "^error: unknown command 'trian' \(did you mean 'train'\?\)" "$DLTRAIN" trian
expect 2 "^error: unknown command 'fecth' \(did you mean 'fetch'\?\)" "$DLTRAIN" data fecth mnist
expect 2 "train needs --config FILE or --resume RUN_DIR" "$DLTRAIN" train
expect 2 "--config excludes --resume" train "$cfg" --resume runs
expect 2 "invalid --set 'train.epochs': expected key.path=value" train "$cfg" --data-dir good --set train.epochs
expect 2 "empty key part" train "$cfg" --data-dir good --set train..epochs=1
# A malformed or out-of-range number: one short line naming the option and the value as typed (CLI11 would
# quote its bounds: 0 to 179769...000, 309 digits), and an integer beyond 64 bits is refused, not clamped.
short() {  # short REGEX CMD...: exit 2, the output matches REGEX and has no line over 100 characters
  local regex=$1
  shift
  expect 2 "$regex" "$@"
  check "short message: $*" bash -c '"$@" 2>&1 | awk "length > 100 { bad = 1 } END { exit bad }"' _ "$@"
}
short "^error: --batch-size 64,abc: must be an integer" "$DLTRAIN" eval --checkpoint x.pt --batch-size 64,abc
short "^error: --batch-size 99999999999999999999: out of range" "$DLTRAIN" eval --checkpoint x.pt --batch-size 99999999999999999999
short "^error: --batch-size 64,abc: each value must be an integer > 0" "$DLTRAIN" bench --config "$cfg" --batch-size 64,abc
short "^error: --steps 0: must be an integer from 1 to 100000" "$DLTRAIN" bench --config "$cfg" --steps 0
short "^error: --monitor-interval 1e999: out of range; must be a number from 0 to 3600" train "$cfg" --monitor-interval 1e999
short "^error: --timeout 1e20: must be an integer from 1 to 86400" "$DLTRAIN" data fetch mnist --timeout 1e20
# --threads: 0 is all cores, a negative count is an error (as --set train.threads=-1 is).
short "^error: --threads -1: must be an integer >= 0" train "$cfg" --data-dir good --threads -1
short "^error: --threads -1: must be an integer >= 0" "$DLTRAIN" eval --checkpoint x.pt --threads -1
short "^error: --threads -1: must be an integer >= 0" "$DLTRAIN" bench --config "$cfg" --threads -1
short "^error: --threads 99999999999999999999: out of range" train "$cfg" --data-dir good --threads 99999999999999999999
expect 0 "" "$DLTRAIN" train --config "$cfg" --data-dir good --out threads0 --threads 0 --set train.epochs=1 --no-progress

# Config (3)
expect 3 "absent.json: config file not found" train absent.json
printf '{"train": {"epochs": 3,}}' >malformed.json
expect 3 "malformed.json:1:.*malformed JSON" train malformed.json
expect 3 "/train/epochs: expected an integer" train "$cfg" --data-dir good --set train.epochs='"x"'
# A problem that --set causes names that --set, not the config file.
expect 3 "^error: --set train.epochs=abc: /train/epochs: expected an integer" train "$cfg" --data-dir good --set train.epochs=abc
check "a --set problem does not blame the file" bash -c '! "$0" config validate --config "$1" --set train.epochs=abc 2>&1 | grep -q "tiny.json"' \
  "$DLTRAIN" "$cfg"
# The file's scheduler has gamma and step_size, which cosine does not take: replace the whole object.
expect 3 "^error: --set train.scheduler.name=cosine: /train/scheduler/gamma: unknown key 'gamma'" \
  "$DLTRAIN" config validate --config "$DLTRAIN_SOURCE_DIR/configs/mnist_cnn.json" --set train.scheduler.name=cosine
expect 3 "^hint: .*--set 'train.scheduler=\{\"name\":\"cosine\"\}'" \
  "$DLTRAIN" config validate --config "$DLTRAIN_SOURCE_DIR/configs/mnist_cnn.json" --set train.scheduler.name=cosine
expect 3 "unknown key 'lrr' \(did you mean 'lr'\?\)" train "$cfg" --data-dir good --set train.optimizer.lrr=1
expect 3 "unknown name 'adamm' \(did you mean 'adam'\?\)" train "$cfg" --data-dir good --set train.optimizer.name=adamm
expect 3 "unknown name 'cosin'" train "$cfg" --data-dir good --set train.scheduler.name=cosin
expect 3 "unknown name 'fashion'" train "$cfg" --data-dir good --set data.dataset=fashion
expect 3 "/model/layers/0/type: unknown name 'conv'" train "$cfg" --data-dir good --set 'model={"layers":[{"type":"conv"}]}'
expect 3 "/model/layers/0: kernel_size 40 is larger than its 28x28 input" train "$cfg" --data-dir good \
  --set 'model={"layers":[{"type":"conv2d","out_channels":4,"kernel_size":40},{"type":"linear","out_features":10}]}'
expect 3 "/train/batch_size: 5000 is larger than the 90 training images" train "$cfg" --data-dir good --set train.batch_size=5000
expect 3 "/train/optimizer/lr: must be > 0" train "$cfg" --data-dir good --set train.optimizer.lr=-0.01
expect 3 "/train/checkpoint_every: 'often' is not an interval" train "$cfg" --data-dir good --set 'train.checkpoint_every="often"'
expect 3 "/train/checkpoint_every: '0 steps' is not an interval" train "$cfg" --data-dir good --set 'train.checkpoint_every="0 steps"'
check "no run directory left by failed runs" test ! -e runs

# Data (4)
expect 4 "dataset 'mnist' not found; looked in: nowhere" train "$cfg" --data-dir nowhere
mkdir -p none && DLTRAIN_DATA_DIR=none expect 4 "looked in: none/mnist, data/mnist, /usr/share/datasets/mnist" train "$cfg"
cp -r good truncated && "$PYTHON" -c "
import sys; p='truncated/train-images-idx3-ubyte.gz'; b=open(p,'rb').read(); open(p,'wb').write(b[:len(b)//2])"
expect 4 "train-images-idx3-ubyte.gz: corrupt or truncated gzip" train "$cfg" --data-dir truncated
cp -r good corrupt && "$PYTHON" -c "
p='corrupt/t10k-images-idx3-ubyte.gz'; b=bytearray(open(p,'rb').read()); b[len(b)//2:len(b)//2+8]=b'\xff'*8; open(p,'wb').write(bytes(b))"
expect 4 "t10k-images-idx3-ubyte.gz: corrupt" train "$cfg" --data-dir corrupt
cp -r good swapped && cp good/train-labels-idx1-ubyte.gz swapped/train-images-idx3-ubyte.gz
expect 4 "expected an IDX image file \(magic 2051\), found an IDX label file" train "$cfg" --data-dir swapped
cp -r good mismatch && make_fixture other --train 80 --test 50 && cp other/train-labels-idx1-ubyte.gz mismatch/
expect 4 "100 images but 80 labels" train "$cfg" --data-dir mismatch
cp -r good badlabel && "$PYTHON" -c "
import gzip; p='badlabel/t10k-labels-idx1-ubyte.gz'; b=bytearray(gzip.open(p).read()); b[8+3]=11; gzip.open(p,'wb').write(bytes(b))"
expect 4 "label 11 of item 3 is out of range 0..9" train "$cfg" --data-dir badlabel
# Test images of another shape (20x20): refused when the data is loaded, not after an epoch of training.
cp -r good small && "$PYTHON" -c "
import gzip, struct; n = 50
gzip.open('small/t10k-images-idx3-ubyte.gz', 'wb').write(struct.pack('>IIII', 2051, n, 20, 20) + bytes(n * 400))"
expect 4 "t10k-images-idx3-ubyte.gz: images of shape \[1, 20, 20\], but mnist's are \[1, 28, 28\]" train "$cfg" --data-dir small
# A gzip bomb (256 MiB of zeros behind a header for 50 images): inflating stops one 1 MiB chunk past the header's size.
cp -r good bomb && "$PYTHON" -c "
import gzip, struct
with gzip.open('bomb/t10k-images-idx3-ubyte.gz', 'wb', compresslevel=1) as f:
    f.write(struct.pack('>IIII', 2051, 50, 28, 28))
    for _ in range(256): f.write(bytes(1 << 20))"
expect 4 "t10k-images-idx3-ubyte.gz: corrupt gzip data or a gzip bomb: it inflates past 1048576 bytes, more than the 39216" \
  train "$cfg" --data-dir bomb
check "data errors leave no run directory" test ! -e runs

# Checkpoint (5)
expect 5 "absent.pt: checkpoint not found" "$DLTRAIN" eval --checkpoint absent.pt
echo "garbage" >garbage.pt
expect 5 "garbage.pt: not a readable checkpoint" "$DLTRAIN" eval --checkpoint garbage.pt

"$DLTRAIN" train --config "$cfg" --data-dir good --out ck --set train.epochs=1 --no-progress -q
head -c 3000 ck/tiny/checkpoints/last.pt >truncated.pt
expect 5 "truncated.pt: not a readable checkpoint" "$DLTRAIN" eval --checkpoint truncated.pt
expect 5 "no such run directory or checkpoint" "$DLTRAIN" train --resume no-such-run
expect 2 "cannot change model.hidden.0 \(32 -> 64\)" "$DLTRAIN" train --resume ck/tiny --set train.epochs=2 --set 'model.hidden=[64]'
expect 2 "not a run directory nor a checkpoint" "$DLTRAIN" train --resume truncated.pt
expect 2 "already completed 1 of train.epochs=1" "$DLTRAIN" train --resume ck/tiny

# Device (6)
expect 6 "device 'cuda' requested" train "$cfg" --data-dir good --device cuda
expect 6 "cuda:7" train "$cfg" --data-dir good --device cuda:7
expect 6 "unknown device 'tpu'" train "$cfg" --data-dir good --device tpu
# A model too large for memory (a 784 x 10^9 layer: 3 TB) is a device error with a hint, not an internal error.
expect 6 "error: out of memory: " train "$cfg" --data-dir good --set 'model.hidden=[1000000000]'

# Training diverged (7): the step is named; the report says so.
expect 7 "training loss became NaN or Inf at step 2 \(epoch 1\)" "$DLTRAIN" train --config "$cfg" --data-dir good --out div \
  --set train.optimizer.lr=1e30
check "diverged run: report marked diverged" test "$(json_get div/tiny/report.json 'd["status"]')" = diverged
# The same without progress lines and with a checkpoint after every step: the loss is checked on the device every
# step and read before each checkpoint write (as on a GPU, where nothing syncs per step), so the step is still
# exact and no checkpoint holds the weights that the bad step produced.
expect 7 "training loss became NaN or Inf at step 2 \(epoch 1\)" "$DLTRAIN" train --config "$cfg" --data-dir good \
  --out div-quiet --no-progress --set train.optimizer.lr=1e30 --set train.batch_size=8 \
  --set 'train.checkpoint_every="1 steps"' --set train.log_interval=1000
check "diverged quietly: report names step 2" grep -q "at step 2 (epoch 1)" div-quiet/tiny/report.json
"$DLTRAIN" eval --checkpoint div-quiet/tiny/checkpoints/last.pt --data-dir good --json >div-quiet/eval.json 2>/dev/null
check "diverged quietly: last.pt is the checkpoint of step 1, the last one before the bad step" \
  test "$(json_get div-quiet/eval.json 'd["step"]')" = 1

# Output errors (8): before step 0, or at the failing write with nothing half-written.
touch a-file
expect 8 "a-file/runs: cannot create output directory: Not a directory" "$DLTRAIN" train --config "$cfg" --data-dir good --out a-file/runs
# A file-size limit stands in for a full disk: the first checkpoint write fails.
expect 8 "checkpoints/(best|last).pt: write failed: File too large" \
  bash -c 'ulimit -f 40 && exec "$0" "$@"' "$DLTRAIN" train --config "$cfg" --data-dir good --out full
check "full disk: no temporary file left, report marked failed" \
  bash -c "! find full -name '.*tmp*' | grep -q . && test \"\$(cd full/tiny && $PYTHON -c 'import json; print(json.load(open(\"report.json\"))[\"status\"])')\" = failed"
# A disk that does not take a write (fsync fails for last.pt): exit 8, the previous last.pt stays, the report says why.
"$DLTRAIN" train --config "$cfg" --data-dir good --out sync --set train.epochs=1 --no-progress -q >/dev/null
expect 8 "checkpoints/last.pt: cannot write: Input/output error \(fsync\)" \
  env LD_PRELOAD="$FAIL_FSYNC_LIB" DLTRAIN_FAIL_FSYNC=last.pt "$DLTRAIN" train --resume sync/tiny --set train.epochs=2 --no-progress
"$DLTRAIN" eval --checkpoint sync/tiny/checkpoints/last.pt --data-dir good --json >sync/eval.json
check "failed fsync: last.pt is still the epoch-1 checkpoint" test "$(json_get sync/eval.json 'd["epoch"]')" = 1
check "failed fsync: no temporary file left, report marked failed" bash -c \
  "! find sync -name '.*tmp*' | grep -q . && grep -q '\"status\": \"failed\"' sync/tiny/report.json"
finish
