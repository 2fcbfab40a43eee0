# `dltrain predict`: PNG (gray, RGB, dark-on-light, 2x larger), PGM/PPM and IDX inputs and stdin, top-k, JSON and
# CSV, a corrupt file reported after the others (exit 4), and on the test IDX file the accuracy eval reports.
source "$(dirname "$0")/lib.sh"
cd "$TMP"
make_fixture data/mnist
"$DLTRAIN" train --config "$DLTRAIN_SOURCE_DIR/configs/tiny.json" --data-dir data/mnist --out runs --threads 2 \
  --no-progress >/dev/null 2>&1 || { echo "FAIL: training the fixture model"; exit 1; }
ckpt=runs/tiny/checkpoints/best.pt
predict() { "$DLTRAIN" predict --checkpoint "$ckpt" --threads 2 "$@"; }

# Test images 0-2 written by this test's own encoders (zlib + struct for PNG, netpbm's plain and raw formats).
"$PYTHON" - data/mnist <<'PY'
import gzip, struct, sys, zlib
raw = gzip.open(f"{sys.argv[1]}/t10k-images-idx3-ubyte.gz").read()[16:]
labels = gzip.open(f"{sys.argv[1]}/t10k-labels-idx1-ubyte.gz").read()[8:]
img = lambda i: [list(raw[(i * 28 + r) * 28:(i * 28 + r + 1) * 28]) for r in range(28)]
def png(path, rows, color=False):
    chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    body = b"".join(b"\0" + bytes(v for p in row for v in ((p, p, p) if color else (p,))) for row in rows)
    head = struct.pack(">IIBBBBB", len(rows[0]), len(rows), 8, 2 if color else 0, 0, 0, 0)
    open(path, "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", head) + chunk(b"IDAT", zlib.compress(body)) + chunk(b"IEND", b""))
double = lambda rows: [[p for p in row for _ in (0, 1)] for row in rows for _ in (0, 1)]
invert = lambda rows: [[255 - p for p in row] for row in rows]
png("gray28.png", img(0))
png("dark_on_light56.png", invert(double(img(1))))      # 2x larger, dark digit on a light background
png("rgb_dark_on_light.png", invert(double(img(2))), color=True)
open("gray.pgm", "wb").write(b"P5\n# a comment\n28 28\n255\n" + bytes(p for row in img(0) for p in row))
open("plain.ppm", "w").write("P3\n28 28\n255\n" + "\n".join(" ".join(f"{p} {p} {p}" for p in row) for row in img(1)) + "\n")
open("corrupt.png", "wb").write(open("gray28.png", "rb").read()[:60])
open("labels.txt", "w").write(" ".join(str(labels[i]) for i in range(3)))
PY
read -r l0 l1 l2 <labels.txt
expect 4 "corrupt.png: PNG decoding failed|corrupt.png: not a readable PNG" predict gray28.png dark_on_light56.png \
  rgb_dark_on_light.png gray.pgm plain.ppm corrupt.png --top-k 2
predict gray28.png dark_on_light56.png rgb_dark_on_light.png gray.pgm plain.ppm corrupt.png --json >out.jsonl 2>err.txt
check "the five good images are classified as their labels ($l0 $l1 $l2 $l0 $l1), the dark-on-light ones inverted" \
  "$PYTHON" - out.jsonl "$l0 $l1 $l2 $l0 $l1" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert [r["input"] for r in rows] == ["gray28.png", "dark_on_light56.png", "rgb_dark_on_light.png", "gray.pgm", "plain.ppm"], rows
assert [r["top"][0]["name"] for r in rows] == sys.argv[2].split(), [r["top"][0] for r in rows]
assert [r["inverted"] for r in rows] == [False, True, True, False, False], [r["inverted"] for r in rows]
assert all(len(r["top"]) == 3 and abs(sum(t["probability"] for t in r["top"]) - 1) < 0.5 for r in rows)
PY
check "the corrupt file is named on stderr" grep -q "corrupt.png" err.txt
expect 0 "^- +[0-9] [0-9.]+%" bash -c "'$DLTRAIN' predict --checkpoint $ckpt - <gray28.png"
expect 0 "^input,index,inverted,rank,class,name,probability" predict gray28.png --csv --top-k 2
check "--csv: one row per rank" test "$(predict gray28.png --csv --top-k 4 | wc -l)" -eq 5
expect 4 "not a PNG, PGM/PPM or IDX image file" predict labels.txt
expect 4 "missing.png: cannot open" predict missing.png

# The whole test IDX file: the accuracy equals eval's, and large inputs print their throughput.
"$DLTRAIN" eval --checkpoint "$ckpt" --data-dir data/mnist --json >eval.json
want=$(json_get eval.json "'%.4f' % d['accuracy']")
expect 0 "accuracy $want \(.*\) against" predict data/mnist/t10k-images-idx3-ubyte.gz \
  --labels data/mnist/t10k-labels-idx1-ubyte.gz --top-k 1
finish
