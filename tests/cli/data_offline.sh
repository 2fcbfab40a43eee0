# `dltrain data fetch|verify` with no network and no real dataset: unreachable mirrors (closed ports on
# 127.0.0.1), the error and the --json output they give, the folders left behind, and the default folder.
source "$(dirname "$0")/lib.sh"
cd "$TMP"
# Closed ports: bound once by the kernel's choice, then released, nobody listening.
free_port() { "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
dead1="http://127.0.0.1:$(free_port)/"
dead2="http://127.0.0.1:$(free_port)/mnist/"
mkdir env

# Every mirror unreachable: exit 4, one short line per mirror with its reason, no empty folder left.
DLTRAIN_DATA_DIR=env "$DLTRAIN" data fetch mnist --mirror "$dead1" --mirror "$dead2" >offline.out 2>offline.err
check "offline fetch: exit 4" test $? -eq 4
check "offline fetch: the error says where it downloaded to" \
  grep -qE "^error: dataset 'mnist': could not download any of its 4 files into env/mnist; mirrors tried:$" offline.err
check "offline fetch: one line for the first mirror, with its reason" grep -qxF "  ${dead1}: cannot connect: connection refused" offline.err
check "offline fetch: one line for the second mirror, with its reason" grep -qxF "  ${dead2}: cannot connect: connection refused" offline.err
check "offline fetch: no line longer than 200 characters" awk 'length > 200 { bad = 1 } END { exit bad }' offline.err
check "offline fetch: no empty dataset folder left" test ! -e env/mnist
check "offline fetch: the existing parent folder stays" test -d env
"$DLTRAIN" data fetch mnist --root new/a/mnist --mirror "$dead1" >/dev/null 2>&1
check "offline fetch: none of the folders it created is left" test ! -e new

# --json: one JSON object on stdout with the per-file results, also when the fetch fails.
DLTRAIN_DATA_DIR=env "$DLTRAIN" data fetch mnist --json --mirror "$dead1" >fetch.json 2>fetch.err
check "offline fetch --json: exit 4" test $? -eq 4
check "offline fetch --json: per-file results on stdout" "$PYTHON" - fetch.json "$dead1" <<'EOF'
import json, sys
doc, dead = json.load(open(sys.argv[1])), sys.argv[2]
assert doc["dataset"] == "mnist" and doc["ok"] is False and doc["root"] == "env/mnist", doc
assert [f["name"] for f in doc["files"]] == ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                                             "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"], doc
for i, f in enumerate(doc["files"]):
    assert f["status"] == "failed" and f["ok"] is False and f["path"] == "env/mnist/" + f["name"], f
    (attempt,) = f["failures"]
    assert attempt["mirror"] == dead and attempt["url"] == dead + f["name"], attempt
    assert attempt["reason"] == "cannot connect: connection refused" and attempt["tried"] == (i == 0), attempt
EOF
check "offline fetch --json: the error still on stderr" grep -q "^error: dataset 'mnist'" fetch.err

# Without --root, fetch and verify use the folder training reads: the first place on the search path
# holding the files ($DLTRAIN_DATA_DIR/mnist is empty here, ./data/mnist holds them).
make_fixture data/mnist --train 20 --test 10
DLTRAIN_DATA_DIR=env "$DLTRAIN" data verify mnist --json >verify.json 2>/dev/null
check "verify without --root checks ./data/mnist, where train finds the files" \
  test "$(json_get verify.json 'd["root"]')" = data/mnist
DLTRAIN_DATA_DIR=env "$DLTRAIN" train --config "$DLTRAIN_SOURCE_DIR/configs/tiny.json" --set train.batch_size=8 \
  --set train.epochs=1 --out runs --no-progress -q
check "train reads the same folder (report.json records it as an absolute path)" \
  test "$(json_get runs/tiny/report.json 'd["dataset"]["root"]')" = "$(pwd -P)/data/mnist"
# The fixture's files fail the published checksums, so fetch tries to replace them there, not in env/mnist.
DLTRAIN_DATA_DIR=env "$DLTRAIN" data fetch mnist --json --mirror "$dead1" >fetch2.json 2>/dev/null
check "fetch without --root works on ./data/mnist too" test "$(json_get fetch2.json 'd["root"]')" = data/mnist
check "fetch keeps the existing folder" test -d data/mnist
finish
