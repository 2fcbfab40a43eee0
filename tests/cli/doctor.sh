# `dltrain doctor` on this machine, and with the fake libnvidia-ml.so.1 the tests build: facts, checks,
# JSON keys, exit codes (0, 9 on a FAIL, 6 for --require cuda without a usable GPU).
source "$(dirname "$0")/lib.sh"
: "${FAKE_NVML_DIR:?set FAKE_NVML_DIR to the folder of the fake libnvidia-ml.so.1}"
cd "$TMP"
none="$TMP/no-data"

# This machine as it is (no GPU driver expected in CI; the data search may or may not find MNIST).
expect 0 "summary: [0-9]+ passed" "$DLTRAIN" doctor --data-dir "$none"
expect 0 "PASS  allocator" "$DLTRAIN" doctor --data-dir "$none"
expect 0 "WARN  data .*fix: dltrain data fetch mnist" bash -c "'$DLTRAIN' doctor --data-dir '$none' | tr '\n' ' '"
"$DLTRAIN" doctor --json --data-dir "$none" >doctor.json
check "doctor --json has the documented keys and agrees with its exit code" "$PYTHON" - doctor.json <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert set(d) >= {"versions", "hardware", "settings", "data", "checks", "summary"}, d.keys()
assert set(d["versions"]) >= {"dltrain", "build_type", "compiler", "libtorch", "libtorch_cuda", "cuda_runtime",
                              "cudnn", "driver", "driver_cuda"}
cpu = d["hardware"]["cpu"]
assert cpu["logical_cores"] >= cpu["available_cores"] >= 1 and cpu["physical_cores"] >= 1, cpu
assert d["hardware"]["memory"]["total_mib"] > 0
names = [c["name"] for c in d["checks"]]
for n in ["build", "blas", "threads", "allocator", "memory", "driver", "driver_cuda", "cuda", "cudnn", "gpu_arch", "data"]:
    assert n in names, (n, names)
for c in d["checks"]:
    assert c["status"] in ("PASS", "WARN", "FAIL", "SKIP") and c["message"], c
    assert c["status"] in ("PASS", "SKIP") or c["fix"], c
assert d["summary"]["exit_code"] == 0 and d["summary"]["fail"] == 0
PY
# A CPU-only build, or a CUDA build on a machine without a usable GPU (as in CI).
cpu_only=false
"$DLTRAIN" doctor --json --data-dir "$none" | grep -q '"libtorch_cuda": null' && cpu_only=true
usable_gpu=false
"$DLTRAIN" doctor --json --data-dir "$none" | grep -q '"cuda_devices": [1-9]' && usable_gpu=true
if ! $usable_gpu; then
  expect 6 "FAIL  require_cuda" "$DLTRAIN" doctor --require cuda --data-dir "$none"
fi
expect 2 "require" "$DLTRAIN" doctor --require tpu
DLTRAIN_ALLOCATOR=system expect 0 "WARN  allocator .*DLTRAIN_ALLOCATOR=system" "$DLTRAIN" doctor --data-dir "$none"

# Corrupt data files: the data check fails and the exit code says so.
mkdir -p bad
for f in train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz; do
  echo "not the real file" >bad/$f
done
expect 9 "FAIL  data .*fails its SHA-256" "$DLTRAIN" doctor --data-dir bad
# The real MNIST when this machine has it.
if [ -n "${DLTRAIN_DATA_DIR:-}" ] && [ -e "$DLTRAIN_DATA_DIR/mnist/train-images-idx3-ubyte.gz" ]; then
  expect 0 "PASS  data +mnist at .*all 4 files match" "$DLTRAIN" doctor
fi

# The NVML path, through the fake driver library (found by the usual search, like the real one). Only on a
# CPU-only build: on a CUDA build the fake GPUs would meet LibTorch's real (or missing) CUDA devices.
if ! $cpu_only; then
  echo "skipping the fake-NVML checks: this is a CUDA build"
  finish
  exit
fi
export LD_LIBRARY_PATH="$FAKE_NVML_DIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
expect 0 "GPU 0 +Fake GPU 0: 80.0 GiB \(78.0 GiB free\), sm_90" "$DLTRAIN" doctor --data-dir "$none"
expect 0 "PASS  driver +NVIDIA driver 535.104.05 \(supports CUDA up to 12.2\), 1 GPU" "$DLTRAIN" doctor --data-dir "$none"
expect 0 "WARN  cuda +1 NVIDIA GPU\(s\) present, but this dltrain is built on a CPU-only LibTorch" \
  "$DLTRAIN" doctor --data-dir "$none"
expect 6 "this dltrain build is CPU-only" "$DLTRAIN" doctor --require cuda --data-dir "$none"
FAKE_NVML_GPUS=2 "$DLTRAIN" doctor --json --data-dir "$none" >fake.json
check "doctor --json lists both fake GPUs with their facts" "$PYTHON" - fake.json <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
g = d["hardware"]["gpus"]
assert [x["name"] for x in g] == ["Fake GPU 0", "Fake GPU 1"], g
assert g[1]["compute_capability"] == "9.0" and g[1]["power_limit_w"] == 700 and g[1]["pcie"]["generation"] == 5, g[1]
assert g[0]["temperature_c"] == 47 and g[0]["sm_clock_max_mhz"] == 1980 and g[0]["memory_total_mib"] == 81920, g[0]
assert d["versions"]["driver"] == "535.104.05" and d["versions"]["driver_cuda"] == "12.2"
PY
FAKE_NVML_FAIL=nvmlInit_v2 expect 0 "WARN  driver +nvmlInit failed: Driver Not Loaded" "$DLTRAIN" doctor --data-dir "$none"
FAKE_NVML_FAIL=nvmlDeviceGetMemoryInfo,nvmlDeviceGetName expect 0 "GPU 0 +, sm_90" "$DLTRAIN" doctor --data-dir "$none"
DLTRAIN_NVML_LIBRARY="$TMP/missing.so" expect 0 "driver library not found" "$DLTRAIN" doctor --data-dir "$none"
finish
