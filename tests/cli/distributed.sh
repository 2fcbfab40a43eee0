# Data-parallel training on c10d (Gloo on loopback), started by `dltrain train --nproc 2`, by hand with the env://
# variables torchrun sets, and by torchrun itself where Debian's python3-torch is installed:
#   2 workers with the global batch train the model 1 worker trains (per-epoch losses, accuracy, eval of the result);
#   Ctrl-C stops every worker at one step with one last.pt, and --resume continues it (with 2 workers exactly);
#   kill -9 of a worker ends the others with exit 10 naming it, with no process left and the port free;
#   different configs are refused before step 0; a NaN on one worker stops all at one step (exit 7);
#   an unreachable rendezvous or missing variables are exit 6 within the timeout.
# Every command runs under `timeout`, so a hang fails the test instead of the CI job.
source "$(dirname "$0")/lib.sh"
cd "$TMP"
# Real MNIST (the first 6,000 training images) where it is, so that losses and accuracies are not trivially
# perfect; else the learnable fixture.
root="${DLTRAIN_DATA_DIR:-}/mnist"
if [ -n "${DLTRAIN_DATA_DIR:-}" ] && [ -e "$root/train-images-idx3-ubyte.gz" ]; then
  data=(--data-dir "$root" --set data.limit_train=6000)
  test_images=10000
else
  echo "note: real MNIST not found (DLTRAIN_DATA_DIR); the fixture's easy data makes the equivalence checks weak"
  make_fixture fixture --train 2000 --test 300
  data=(--data-dir fixture)
  test_images=300
fi
cfg="$DLTRAIN_SOURCE_DIR/configs/tiny.json"
# lr 0.02: with tiny.json's 0.1 and momentum 0.9 the MLP trains chaotically on real MNIST, and the 1-worker and
# 2-worker runs' ~1e-7 step differences (tests/unit/test_dist.cpp) grow to percent within an epoch.
opts=("${data[@]}" --out runs --no-progress --threads 1 --set train.epochs=3 --set train.batch_size=16
      --set train.optimizer.lr=0.02 --set train.distributed.timeout=20)
# Debian 12's torchrun (PyTorch 1.13 on Python 3.11) fails on its default --redirects 0 (Python 3.11's IntFlag no
# longer iterates Std.NONE): redirect stdout to files and tee it back, which every version takes.
torchrun=(/usr/bin/python3 -m torch.distributed.run)
torchrun_options=(--no_python --nproc_per_node 2 --redirects 1 --tee 1 --log_dir torchrun-logs)
# Debian 13's PyTorch 2.6 is built without libuv, yet its torchrun creates its TCPStore with libuv and fails ("use_libuv
# was requested but PyTorch was build without libuv support"): there torchrun runs with the classic store server.
classic_store_torchrun='import runpy, sys, torch.distributed as d
class ClassicTCPStore(d.TCPStore):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("use_libuv", False)
        super().__init__(*args, **kwargs)
d.TCPStore = ClassicTCPStore
sys.argv[0] = "torchrun"
runpy.run_module("torch.distributed.run", run_name="__main__")'

T=(timeout -k 5 180)

running_with() {  # running_with TEXT: a process started in this test's folder has TEXT in its command line
  local d args  # (the folder matters: tests run in parallel and kill9.sh uses the same run names)
  for d in /proc/[0-9]*; do
    mapfile -d '' args 2>/dev/null <"$d/cmdline" || continue
    [[ "${args[*]} " == *"$1"* && "$(readlink "$d/cwd" 2>/dev/null)" == "$PWD" ]] && return 0
  done
  return 1
}
free_port() { "$PYTHON" -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"; }
metrics_close() {  # metrics_close A B: per-epoch train loss within 1e-4 relative, test accuracy within 0.1 points
  "$PYTHON" - "$1" "$2" <<'PY'
import csv, sys
a, b = (list(csv.DictReader(open(f"{d}/metrics.csv"))) for d in sys.argv[1:3])
assert len(a) == len(b) and a, (len(a), len(b))
for x, y in zip(a, b):
    la, lb = float(x["train_loss"]), float(y["train_loss"])
    print(f"epoch {x['epoch']}: train loss {la:.7f} vs {lb:.7f} (rel {abs(la - lb) / la:.2e}), "
          f"test acc {x['test_accuracy']} vs {y['test_accuracy']}")
    assert abs(la - lb) <= 1e-4 * la
    assert abs(float(x["test_accuracy"]) - float(y["test_accuracy"])) <= 0.001
PY
}
eval_accuracy() { "$DLTRAIN" eval --checkpoint "$1" "${data[@]::2}" --json 2>/dev/null | "$PYTHON" -c "import json,sys; print(json.load(sys.stdin)['accuracy'])"; }

# ---- 1 worker and --nproc 2 on the same problem ----
"${T[@]}" "$DLTRAIN" train --config "$cfg" "${opts[@]}" --set run.name=one -q >/dev/null 2>&1
expect 0 "data-parallel: 2 workers .*gloo, rendezvous 127.0.0.1:[0-9]+, started by dltrain --nproc; global batch 16 = 2 x 8" \
  "${T[@]}" "$DLTRAIN" train --config "$cfg" "${opts[@]}" --set run.name=two --nproc 2
check "--nproc 2: report.json says 2 workers on gloo" \
  test "$(json_get runs/two/report.json '(d["distributed"]["world_size"], d["distributed"]["backend"], len(d["distributed"]["ranks"]))')" = "(2, 'gloo', 2)"
check "--nproc 2: the same per-epoch losses and accuracy as 1 worker" metrics_close runs/one runs/two
check "--nproc 2: eval of last.pt reproduces the reported accuracy" \
  test "$(eval_accuracy runs/two/checkpoints/last.pt)" = "$(json_get runs/two/report.json 'd["final_test"]["accuracy"]')"
check "--nproc 2: eval of best.pt reproduces the headline" \
  test "$(eval_accuracy runs/two/checkpoints/best.pt)" = "$(json_get runs/two/report.json 'd["result"]["test_accuracy"]')"
check "--nproc 2: one run directory, one path on stdout" test "$(ls runs | grep -c '^two')" -eq 1
check "--nproc 2: the test split is evaluated whole" test "$(json_get runs/two/report.json 'd["final_test"]["examples"]')" -eq "$test_images"
expect 3 "cannot be split evenly over 2 workers" "${T[@]}" "$DLTRAIN" train --config "$cfg" "${opts[@]}" --nproc 2 \
  --set train.batch_size=15

# ---- Ctrl-C to the launcher: one step for all, one last.pt, exit 130; --resume with 2 workers ends where "two" did
"$DLTRAIN" train --config "$cfg" "${opts[@]}" --set run.name=stopped --set 'train.checkpoint_every="1 step"' \
  --nproc 2 >stop.txt 2>&1 &
pid=$!
for _ in $(seq 600); do grep -q '"status": "running"' runs/stopped/report.json 2>/dev/null && break; sleep 0.05; done
sleep 1
kill -INT "$pid"
"${T[@]}" tail --pid="$pid" -f /dev/null
wait "$pid"
rc=$?
check "Ctrl-C to --nproc: exit 130 (got $rc)" test "$rc" -eq 130
check "Ctrl-C to --nproc: report interrupted" test "$(json_get runs/stopped/report.json 'd["status"]')" = interrupted
check "Ctrl-C to --nproc: both workers stopped at the step last.pt holds" \
  test "$(grep -c "interrupted at epoch [0-9]*, step $(json_get runs/stopped/report.json 'd["steps"]');" stop.txt)" -eq 2
check "Ctrl-C to --nproc: no worker left" eval '! running_with "run.name=stopped "'
cp -r runs/stopped runs/stopped1
expect 0 "resuming" "${T[@]}" "$DLTRAIN" train --resume runs/stopped --nproc 2 --no-progress
expect 0 "resuming" "${T[@]}" "$DLTRAIN" train --resume runs/stopped1 --no-progress
check "resumed with 1 worker: the same problem as the 2-worker run (summed in another order, not bit for bit)" \
  metrics_close runs/two runs/stopped1
check "resumed with 2 workers: the same model as the run never stopped (eval JSON equal)" test \
  "$("$DLTRAIN" eval --checkpoint runs/stopped/checkpoints/last.pt "${data[@]::2}" --json 2>/dev/null | "$PYTHON" -c 'import json,sys; d=json.load(sys.stdin); print(d["loss"], d["accuracy"])')" = \
  "$("$DLTRAIN" eval --checkpoint runs/two/checkpoints/last.pt "${data[@]::2}" --json 2>/dev/null | "$PYTHON" -c 'import json,sys; d=json.load(sys.stdin); print(d["loss"], d["accuracy"])')"

# ---- kill -9 of rank 1: rank 0 ends with exit 10 naming it, nothing keeps running, the port is free ----
"$DLTRAIN" train --config "$cfg" "${opts[@]}" --set run.name=killed --set train.epochs=50 --nproc 2 >kill.txt 2>&1 &
pid=$!
for _ in $(seq 600); do grep -q '"status": "running"' runs/killed/report.json 2>/dev/null && break; sleep 0.05; done
sleep 1
victim=$(json_get runs/killed/report.json 'd["distributed"]["ranks"][1]["pid"]')
port=$(json_get runs/killed/report.json 'd["distributed"]["rendezvous"].split(":")[1]')
start=$SECONDS
kill -9 "$victim"
"${T[@]}" tail --pid="$pid" -f /dev/null
wait "$pid"
rc=$?
check "kill -9 rank 1: exit 10 (got $rc) within the timeout ($((SECONDS - start)) s)" test "$rc" -eq 10 -a $((SECONDS - start)) -le 25
check "kill -9 rank 1: rank 0 names the lost rank" grep -q "rank 0: lost rank 1 (pid $victim) during" kill.txt
check "kill -9 rank 1: report says failed" test "$(json_get runs/killed/report.json 'd["status"]')" = failed
check "kill -9 rank 1: no worker left" eval '! running_with "run.name=killed "'
check "kill -9 rank 1: nothing listens on the rendezvous port $port" \
  sh -c "! grep -qi ':$(printf %04X "$port") 00000000:0000 0A' /proc/net/tcp"
check "kill -9 rank 1: last.pt is intact" verify_run "${data[1]}" runs/killed

grep -E "error|killed by" kill.txt | sed 's/^/    /'

# ---- a worker that stops answering (SIGSTOP): rank 0 gives up after train.distributed.timeout, and --nproc ends
# the frozen worker timeout + 30 s after rank 0 failed (SIGTERM, then SIGKILL)
"$DLTRAIN" train --config "$cfg" "${opts[@]}" --set run.name=frozen --set train.epochs=50 \
  --set train.distributed.timeout=5 --nproc 2 >frozen.txt 2>&1 &
pid=$!
for _ in $(seq 600); do grep -q '"status": "running"' runs/frozen/report.json 2>/dev/null && break; sleep 0.05; done
sleep 1
victim=$(json_get runs/frozen/report.json 'd["distributed"]["ranks"][1]["pid"]')
start=$SECONDS
kill -STOP "$victim"
"${T[@]}" tail --pid="$pid" -f /dev/null
wait "$pid"
rc=$?
check "SIGSTOP rank 1: exit 10 (got $rc) after $((SECONDS - start)) s, the frozen worker ended" \
  sh -c "test $rc -eq 10 && ! kill -0 $victim 2>/dev/null"
check "SIGSTOP rank 1: rank 0 gave up on it" grep -q "rank 0: a worker stopped answering or went away during" frozen.txt
grep -E "error|still running" frozen.txt | sed 's/^/    /'

# ---- by hand, as torchrun starts workers: RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT ----
launch2() {  # launch2 NAME ENV_FOR_RANK_1 -- ARGS...: ranks 0 and 1; output in NAME.0 / NAME.1, codes in rc0 / rc1
  local name=$1 extra=$2 p
  shift 3
  p=$(free_port)
  env RANK=0 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT="$p" "${T[@]}" "$DLTRAIN" train "$@" >"$name.0" 2>&1 &
  local p0=$!
  env RANK=1 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT="$p" $extra "${T[@]}" "$DLTRAIN" train "$@" \
    ${R1_ARGS:-} >"$name.1" 2>&1
  rc1=$?
  wait "$p0"
  rc0=$?
}
R1_ARGS="--set train.optimizer.lr=0.2" launch2 mismatch "" -- --config "$cfg" "${opts[@]}" --set run.name=mismatch
check "different configs: both workers exit 3 (got $rc0, $rc1)" test "$rc0" -eq 3 -a "$rc1" -eq 3
check "different configs: rank 0 names the key" \
  grep -q "/config/train/optimizer/lr is 0.02 on rank 0 and 0.2 on rank 1" mismatch.0
check "different configs: rank 1's error carries [rank 1]" grep -q "^\[rank 1\] error: the workers were started differently" mismatch.1
check "different configs: refused before a run directory exists" test ! -e runs/mismatch

launch2 nan "DLTRAIN_INJECT_NAN_AT_STEP=7" -- --config "$cfg" "${opts[@]}" --set run.name=nan
check "NaN on rank 1 only: both workers exit 7 (got $rc0, $rc1)" test "$rc0" -eq 7 -a "$rc1" -eq 7
check "NaN on rank 1 only: rank 0 names step 7" grep -q "training loss became NaN or Inf at step 7 (epoch 1)" nan.0
check "NaN on rank 1 only: rank 1 names step 7" grep -q "^\[rank 1\] error: training loss became NaN or Inf at step 7" nan.1
check "NaN on rank 1 only: report diverged" test "$(json_get runs/nan/report.json 'd["status"]')" = diverged

start=$SECONDS
expect 6 "rank 1: the rendezvous at 127.0.0.1:[0-9]+ did not complete within 3 s" \
  env RANK=1 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT="$(free_port)" "${T[@]}" "$DLTRAIN" train --config "$cfg" \
  "${opts[@]}" --set train.distributed.timeout=3
check "unreachable rendezvous: failed within the timeout ($((SECONDS - start)) s)" test $((SECONDS - start)) -le 15
expect 6 "MASTER_ADDR is not set" env RANK=0 WORLD_SIZE=2 "${T[@]}" "$DLTRAIN" train --config "$cfg" "${opts[@]}"
expect 6 "RANK=5 is not a whole number in \[0, 1\]" env RANK=5 WORLD_SIZE=2 "${T[@]}" "$DLTRAIN" train --config "$cfg" "${opts[@]}"
expect 2 "--nproc 2 inside a launcher's worker" env RANK=0 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=1 "${T[@]}" \
  "$DLTRAIN" train --config "$cfg" "${opts[@]}" --nproc 2

# ---- torchrun (Debian's python3-torch) ----
if /usr/bin/python3 -c "import torch.distributed.run" 2>/dev/null; then
  probe=$(/usr/bin/python3 -c "import torch.distributed as d; d.TCPStore('127.0.0.1', 0, 1, True)" 2>&1)
  if grep -q "without libuv support" <<<"$probe"; then
    echo "note: this PyTorch has no libuv and its torchrun asks for it: torchrun runs with TCPStore(use_libuv=False)"
    torchrun=(/usr/bin/python3 -c "$classic_store_torchrun")
  fi
  torchrun+=("${torchrun_options[@]}")
  expect 0 "started by torchrun" "${T[@]}" "${torchrun[@]}" --master_port "$(free_port)" "$DLTRAIN" train --config "$cfg" "${opts[@]}" --set run.name=torchrun
  check "torchrun: the same model as --nproc 2 (eval JSON equal)" test \
    "$(eval_accuracy runs/torchrun/checkpoints/last.pt)" = "$(eval_accuracy runs/two/checkpoints/last.pt)"
  # Ctrl-C in a terminal: SIGINT to torchrun's whole process group (torchrun and its workers), then torchrun
  # forwards it to the workers once more.
  setsid "${torchrun[@]}" --master_port "$(free_port)" "$DLTRAIN" train --config "$cfg" "${opts[@]}" --set run.name=trstop --set 'train.checkpoint_every="1 step"' \
    >trstop.txt 2>&1 &
  pid=$!
  for _ in $(seq 600); do grep -q '"status": "running"' runs/trstop/report.json 2>/dev/null && break; sleep 0.05; done
  sleep 1
  kill -INT -- "-$pid"
  "${T[@]}" tail --pid="$pid" -f /dev/null
  wait "$pid"
  echo "torchrun itself exited with $? after Ctrl-C"
  steps=$(json_get runs/trstop/report.json 'd["steps"]')
  check "Ctrl-C to torchrun: report interrupted" test "$(json_get runs/trstop/report.json 'd["status"]')" = interrupted
  check "Ctrl-C to torchrun: both workers stopped at step $steps" \
    test "$(grep -c "interrupted at epoch [0-9]*, step $steps;" trstop.txt)" -eq 2
  expect 0 "resuming" "${T[@]}" "${torchrun[@]}" --master_port "$(free_port)" "$DLTRAIN" train --resume runs/trstop --no-progress
  check "Ctrl-C to torchrun, resumed: the same model as the run never stopped" test \
    "$(eval_accuracy runs/trstop/checkpoints/last.pt)" = "$(eval_accuracy runs/two/checkpoints/last.pt)"
else
  echo "skip: torchrun: Debian's python3-torch is not installed (apt-get install python3-torch)"
fi
finish
