#!/usr/bin/env bash
# CLI test of `dltrain data fetch|verify` against mirrors served on 127.0.0.1: mirror fallback, checksum
# rejection without partial files, all-mirrors-dead errors, skipping verified files, and verify verdicts.
# Needs the real MNIST files in $DLTRAIN_SOURCE_DIR/../shared/data/mnist (else exit 77: skipped).
set -u

: "${DLTRAIN:?set DLTRAIN to the dltrain binary}"
: "${DLTRAIN_SOURCE_DIR:?set DLTRAIN_SOURCE_DIR to the source tree}"
PYTHON=${PYTHON:-python3}

mnist_src="$DLTRAIN_SOURCE_DIR/../shared/data/mnist"
files=(train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz)
for f in "${files[@]}"; do
  if [[ ! -f "$mnist_src/$f" ]]; then
    echo "SKIP: $mnist_src/$f not found; this test serves the real MNIST files from there"
    exit 77
  fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/dltrain-fetch-loopback.XXXXXX")
server_pid=""
cleanup() {
  if [[ -n "$server_pid" ]]; then kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

failures=0
pass() { echo "  ok: $*"; }
fail() { echo "  FAIL: $*"; failures=$((failures + 1)); }
# run NAME ARGS...: runs dltrain, keeping its exit code in $rc and stdout+stderr in $tmp/NAME.out.
run() {
  local name=$1; shift
  "$DLTRAIN" "$@" >"$tmp/$name.out" 2>&1
  rc=$?
}
expect_rc() {  # expect_rc NAME WANT
  if [[ $rc -eq $2 ]]; then pass "exit code $2"; else fail "exit code $rc, expected $2; output:"; sed 's/^/    | /' "$tmp/$1.out"; fi
}
expect_text() {  # expect_text NAME PATTERN (extended regex, case-insensitive)
  if grep -qiE -- "$2" "$tmp/$1.out"; then pass "output mentions '$2'"; else fail "output lacks '$2'; output:"; sed 's/^/    | /' "$tmp/$1.out"; fi
}
no_temp_files() {  # no_temp_files DIR
  local leftovers
  leftovers=$(ls -A "$1" 2>/dev/null | grep -E '\.tmp|^\.' || true)
  if [[ -z "$leftovers" ]]; then pass "no temporary files in $(basename "$1")"; else fail "temporary files left: $leftovers"; fi
}

# --- mirrors -------------------------------------------------------------------------------------------
mirrors="$tmp/mirrors"
mkdir -p "$mirrors/good" "$mirrors/bad" "$mirrors/tiny"
for f in "${files[@]}"; do
  ln -s "$mnist_src/$f" "$mirrors/good/$f"
  ln -s "$mnist_src/$f" "$mirrors/bad/$f"
done
# The bad mirror serves a train-labels file with its last bytes changed, under the right name.
rm "$mirrors/bad/train-labels-idx1-ubyte.gz"
cp "$mnist_src/train-labels-idx1-ubyte.gz" "$mirrors/bad/train-labels-idx1-ubyte.gz"
chmod u+w "$mirrors/bad/train-labels-idx1-ubyte.gz"
printf 'CORRUPT!' | dd of="$mirrors/bad/train-labels-idx1-ubyte.gz" bs=1 seek=1000 conv=notrunc status=none

# The tiny mirror serves valid gzip'd IDX files (20 images 28x28, 20 labels) that are not MNIST's:
# a mirror with a different version of the data must be rejected just like a corrupt one.
"$PYTHON" - "$mirrors/tiny" <<'EOF' || { echo "FAIL: cannot generate fixtures"; exit 1; }
import gzip, os, struct, sys
out = sys.argv[1]
n = 20
images = struct.pack(">IIII", 2051, n, 28, 28) + bytes((i * 7) % 256 for i in range(n * 28 * 28))
labels = struct.pack(">II", 2049, n) + bytes(i % 10 for i in range(n))
for prefix in ("train", "t10k"):
    with gzip.open(os.path.join(out, prefix + "-images-idx3-ubyte.gz"), "wb") as f:
        f.write(images)
    with gzip.open(os.path.join(out, prefix + "-labels-idx1-ubyte.gz"), "wb") as f:
        f.write(labels)
EOF

# Closed ports for dead mirrors: bound once by the kernel's choice, then released, nobody listening.
free_port() { "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
dead1="http://127.0.0.1:$(free_port)/"
dead2="http://127.0.0.1:$(free_port)/mnist/"

# Port 0 lets the kernel pick a free port; http.server prints it on its first line.
"$PYTHON" -u -m http.server 0 --bind 127.0.0.1 --directory "$mirrors" >"$tmp/server.log" 2>&1 &
server_pid=$!
port=""
for _ in $(seq 1 100); do
  port=$(sed -nE 's/.*port ([0-9]+).*/\1/p' "$tmp/server.log" | head -n1)
  if [[ -n "$port" ]] && "$PYTHON" -c "import urllib.request as u; u.urlopen('http://127.0.0.1:$port/good/', timeout=2)" 2>/dev/null; then
    break
  fi
  port=""
  sleep 0.1
done
if [[ -z "$port" ]]; then
  echo "FAIL: the loopback HTTP server did not start; its log:"; cat "$tmp/server.log"; exit 1
fi
base="http://127.0.0.1:$port"
echo "serving mirrors on $base (dead mirrors: $dead1 $dead2)"

# --- (a) a dead mirror first, then a good one ------------------------------------------------------------
echo "(a) fetch falls back from a dead mirror to a good one; verify accepts the result"
root_a="$tmp/a/mnist"
run a data fetch mnist --root "$root_a" --mirror "$dead1" --mirror "$base/good/" --timeout 60
expect_rc a 0
expect_text a "refused|connect"
for f in "${files[@]}"; do
  if cmp -s "$mnist_src/$f" "$root_a/$f"; then pass "$f downloaded intact"; else fail "$f missing or different"; fi
done
no_temp_files "$root_a"
run a_verify data verify mnist --root "$root_a"
expect_rc a_verify 0
expect_text a_verify "^OK"

echo "(a2) fetch --json prints one JSON object with where each file came from"
root_a2="$tmp/a2/mnist"
"$DLTRAIN" data fetch mnist --root "$root_a2" --mirror "$dead1" --mirror "$base/good/" --json >"$tmp/a2.out" 2>"$tmp/a2.err"
rc=$?
expect_rc a2 0
if "$PYTHON" - "$tmp/a2.out" "$dead1" "$base/good/" <<'EOF'; then pass "--json: per-file results"; else fail "--json output wrong:"; sed 's/^/    | /' "$tmp/a2.out"; fi
import json, sys
doc, dead, good = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
assert doc["dataset"] == "mnist" and doc["ok"] is True and len(doc["files"]) == 4, doc
for i, f in enumerate(doc["files"]):
    assert f["status"] == "downloaded" and f["ok"] is True and f["url"] == good + f["name"] and f["bytes"] > 0, f
    assert [(a["mirror"], a["tried"]) for a in f["failures"]] == [(dead, i == 0)], f
EOF

# --- (b) a mirror serving one corrupted file ---------------------------------------------------------------
echo "(b) fetch rejects a corrupted train-labels file and leaves no partial file"
root_b="$tmp/b/mnist"
run b data fetch mnist --root "$root_b" --mirror "$base/bad"
expect_rc b 4
expect_text b "checksum mismatch"
expect_text b "train-labels-idx1-ubyte.gz"
expect_text b "^  $base/bad: checksum mismatch$"
no_temp_files "$root_b"
if [[ -e "$root_b/train-labels-idx1-ubyte.gz" ]]; then fail "corrupted train-labels kept under its final name"; else pass "corrupted file not kept"; fi
if [[ -f "$root_b/t10k-labels-idx1-ubyte.gz" ]]; then pass "the good files were still fetched"; else fail "good files not fetched"; fi

echo "(b2) fetch rejects valid IDX files that are not MNIST's"
root_b2="$tmp/b2/mnist"
run b2 data fetch mnist --root "$root_b2" --mirror "$base/tiny/"
expect_rc b2 4
expect_text b2 "checksum mismatch"
if [[ -z "$(ls -A "$root_b2" 2>/dev/null)" ]]; then pass "target folder left empty"; else fail "files left: $(ls -A "$root_b2")"; fi

# --- (c) every mirror dead -------------------------------------------------------------------------------
echo "(c) fetch with every mirror dead or missing the file names each one"
root_c="$tmp/c/mnist"
run c data fetch mnist --root "$root_c" --mirror "$dead1" --mirror "$dead2" --mirror "$base/nowhere/"
expect_rc c 4
expect_text c "${dead1}train-images-idx3-ubyte.gz"
expect_text c "${dead2}train-images-idx3-ubyte.gz"
expect_text c "${dead1}train-images-idx3-ubyte.gz: cannot connect: connection refused"
expect_text c "$base/nowhere/train-images-idx3-ubyte.gz: HTTP 404"
expect_text c "$base/nowhere/t10k-labels-idx1-ubyte.gz: HTTP 404"
# The error itself: one short line per mirror with its reason.
expect_text c "^error: dataset 'mnist': could not download any of its 4 files into .*; mirrors tried:$"
expect_text c "^  ${dead1}: cannot connect: connection refused$"
expect_text c "^  ${dead2}: cannot connect: connection refused$"
expect_text c "^  $base/nowhere/: HTTP 404$"
expect_text c "^hint: .*--mirror"
no_temp_files "$root_c"
if [[ -e "$root_c" ]]; then fail "$root_c left behind"; else pass "no empty dataset folder left"; fi

# --- (d) re-running on a complete folder -----------------------------------------------------------------
echo "(d) fetch on a complete folder downloads nothing (only a dead mirror is given)"
run d data fetch mnist --root "$root_a" --mirror "$dead1"
expect_rc d 0
expect_text d "already present"
expect_text d "$root_a"
"$DLTRAIN" data fetch mnist --root "$root_a" --mirror "$dead1" --json >"$tmp/d_json.out" 2>/dev/null
rc=$?
expect_rc d_json 0
if "$PYTHON" -c 'import json, sys; d = json.load(open(sys.argv[1])); assert d["ok"] and [f["status"] for f in d["files"]] == ["present"] * 4, d' \
  "$tmp/d_json.out"; then pass "--json: every file present"; else fail "--json output wrong:"; sed 's/^/    | /' "$tmp/d_json.out"; fi

# --- (e) verify on a damaged folder ----------------------------------------------------------------------
echo "(e) verify names a truncated file and a missing one"
root_e="$tmp/e/mnist"
mkdir -p "$root_e"
cp "$root_a"/*.gz "$root_e/"
truncate -s 1000 "$root_e/t10k-images-idx3-ubyte.gz"
rm "$root_e/t10k-labels-idx1-ubyte.gz"
run e data verify mnist --root "$root_e"
expect_rc e 4
expect_text e "^MISMATCH +.*t10k-images-idx3-ubyte.gz"
expect_text e "^MISSING +.*t10k-labels-idx1-ubyte.gz"
expect_text e "^OK +.*train-images-idx3-ubyte.gz"
run e_json data verify mnist --root "$root_e" --json
expect_rc e_json 4
if "$PYTHON" - "$tmp/e_json.out" <<'EOF'; then pass "--json reports the per-file verdicts"; else fail "--json output wrong:"; sed 's/^/    | /' "$tmp/e_json.out"; fi
import json, sys
doc = json.load(open(sys.argv[1]))
by_name = {f["name"]: f for f in doc["files"]}
assert doc["dataset"] == "mnist" and doc["ok"] is False, doc
assert by_name["train-images-idx3-ubyte.gz"]["ok"] is True
assert by_name["t10k-images-idx3-ubyte.gz"]["present"] is True and by_name["t10k-images-idx3-ubyte.gz"]["ok"] is False
assert by_name["t10k-images-idx3-ubyte.gz"]["actual"] != by_name["t10k-images-idx3-ubyte.gz"]["expected"]
assert by_name["t10k-labels-idx1-ubyte.gz"]["present"] is False
EOF

# --- default root -----------------------------------------------------------------------------------------
echo "(f) without --root, verify looks in \$DLTRAIN_DATA_DIR/<dataset>"
mkdir -p "$tmp/envdir"
ln -s "$root_a" "$tmp/envdir/mnist"
DLTRAIN_DATA_DIR="$tmp/envdir" "$DLTRAIN" data verify mnist >"$tmp/f.out" 2>&1
rc=$?
expect_rc f 0
expect_text f "$tmp/envdir/mnist"

echo "(g) an unknown dataset is a config error with a suggestion"
run g data verify mnsit --root "$root_a"
expect_rc g 3
expect_text g "did you mean 'mnist'"

if [[ $failures -ne 0 ]]; then
  echo "fetch_loopback: $failures check(s) failed"
  exit 1
fi
echo "fetch_loopback: all checks passed"
