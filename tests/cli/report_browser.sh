# report.html as a person sees it: each run's page (completed, diverged, interrupted) and the comparison page open in
# headless Chromium with the network cut off, load nothing from outside, show their sections and status, and render
# to a screenshot (kept in DLTRAIN_SCREENSHOT_DIR when set). Skipped (77) without /usr/bin/chromium.
source "$DLTRAIN_SOURCE_DIR/tests/cli/lib.sh"
CHROMIUM=/usr/bin/chromium
if [ ! -x "$CHROMIUM" ]; then echo "skip: $CHROMIUM not installed (apt-get install chromium)"; exit 77; fi
shots=${DLTRAIN_SCREENSHOT_DIR:+$(realpath -m "$DLTRAIN_SCREENSHOT_DIR")}
cd "$TMP"
make_fixture data
opts=(--config "$DLTRAIN_SOURCE_DIR/configs/tiny.json" --data-dir data --out runs --no-progress --threads 1)

declare -A status=([steady]=completed [blowup]=diverged [halted]=interrupted)
expect 0 "done: test accuracy" "$DLTRAIN" train "${opts[@]}" --set run.name=steady --set train.epochs=2
expect 7 "training loss became NaN or Inf" "$DLTRAIN" train "${opts[@]}" --set run.name=blowup \
  --set train.optimizer.lr=1e30
"$DLTRAIN" train "${opts[@]}" --set run.name=halted --set train.epochs=200 >halted.out 2>&1 &
pid=$!
for _ in $(seq 600); do grep -q '"status": "running"' runs/halted/report.json 2>/dev/null && break; sleep 0.05; done
sleep 0.5
kill -INT "$pid"
wait "$pid"
rc=$?
check "halted run: SIGINT: exit 130 (got $rc)" test "$rc" -eq 130
expect 0 "" "$DLTRAIN" report runs/steady runs/blowup runs/halted --html compare.html

# Offline: a network namespace of its own where that works, a resolver that finds no host, and Chromium's own
# background requests (network time, the on-device model manifest) turned off, so that the net log stays empty.
if unshare --net true 2>/dev/null; then netns=(unshare --net)
elif unshare -r --net true 2>/dev/null; then netns=(unshare -r --net)
else netns=(); echo "note: no network namespace here; relying on the resolver rules and the net log"; fi
export HOME="$TMP/home" XDG_CONFIG_HOME="$TMP/home/.config" XDG_CACHE_HOME="$TMP/home/.cache"

browse() {  # browse NAME ARGS... : headless Chromium, fresh profile, net log in NAME.netlog.json
  local name=$1 start rc
  shift
  rm -rf "profile-$name"
  start=$(date +%s%N)
  timeout -k 5 60 "${netns[@]}" "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync --user-data-dir="$TMP/profile-$name" \
    --window-size=1280,4000 --host-resolver-rules="MAP * ~NOTFOUND" --disable-features=NetworkTimeServiceQuerying \
    --optimization-guide-manifest-override=/nonexistent --log-net-log="$TMP/$name.netlog.json" \
    --net-log-capture-mode=Default "$@" 2>"$name.chromium.err"
  rc=$?
  echo "chromium $name: exit $rc in $(( ($(date +%s%N) - start) / 1000000 )) ms" >&2
  [ "$rc" -eq 0 ] || tail -5 "$name.chromium.err" >&2
  return $rc
}

no_requests() {  # no_requests NETLOG : no URL with a network scheme anywhere in the log's events
  "$PYTHON" - "$1" <<'PY'
import json, re, sys
text = open(sys.argv[1]).read().rstrip()
try:
    log = json.loads(text)
except ValueError:  # Chromium killed: the events list is unterminated, its last line perhaps cut
    try:
        log = json.loads(text.rstrip(",") + "]}")
    except ValueError:
        log = json.loads(text[:text.rindex("\n")].rstrip().rstrip(",") + "]}")
urls = set()
def walk(v):
    if isinstance(v, dict):
        for x in v.values(): walk(x)
    elif isinstance(v, list):
        for x in v: walk(x)
    elif isinstance(v, str) and re.match(r"(https?|wss?|ftp)://", v, re.I):
        urls.add(v)
walk(log["events"])
for u in sorted(urls): print(f"  request to {u}")
sys.exit(1 if urls else 0)
PY
}

check_page() {  # check_page DOM SOURCE run STATUS | check_page DOM SOURCE compare RUN_NAME...
  "$PYTHON" - "$@" <<'PY'
import html.parser, re, sys
dom_path, src_path, kind, *want = sys.argv[1:]
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
class Page(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids, self.stack, self.text, self.rows, self.scripts = [], [], {}, [], 0
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get("id"): self.ids.append(a["id"])
        self.scripts += tag == "script"
        if tag == "tr": self.rows.append({"comparison": "comparison" in self.open_ids(), "td": False})
        if tag == "td" and self.rows: self.rows[-1]["td"] = True
        if tag not in VOID: self.stack.append((tag, a.get("id")))
    def handle_endtag(self, tag):
        while tag in (t for t, _ in self.stack) and self.stack.pop()[0] != tag: pass
    def handle_data(self, data):
        for i in self.open_ids(): self.text[i] = self.text.get(i, "") + " " + data
    def open_ids(self): return {i for _, i in self.stack if i}
dom = open(dom_path, encoding="utf-8").read()
p = Page(); p.feed(dom)
errors = []
if kind == "run":
    errors += [f"no element with id {i!r}" for i in
               ["headline", "curves", "confusion", "mistakes", "time", "environment", "config"] if i not in p.ids]
    if not re.search(rf"\b{want[0]}\b", p.text.get("headline", ""), re.I):
        errors.append(f"headline does not say {want[0]!r}: {' '.join(p.text.get('headline', '').split())[:200]!r}")
else:
    rows = sum(r["comparison"] and r["td"] for r in p.rows)
    if "comparison" not in p.ids or rows != len(want):
        errors.append(f"want an element with id 'comparison' and {len(want)} rows; ids {p.ids[:20]}, {rows} rows")
    errors += [f"run {n!r} not in the comparison" for n in want if n not in p.text.get("comparison", "")]
if p.scripts: errors.append(f"{p.scripts} <script> elements in the DOM")
external = r"""<script|\b(src|href)\s*=\s*["']?\s*(https?:|//)|url\(\s*["']?\s*(https?:|//)|@import"""
for name, text in (("DOM", dom), ("page source", open(src_path, encoding="utf-8").read())):
    errors += [f"{name}: {m.group(0)!r} (scripts and external resources are not allowed)"
               for m in re.finditer(external, text, re.I)][:5]
for e in errors: print("  " + e)
sys.exit(1 if errors else 0)
PY
}

png_ok() {  # png_ok FILE : a PNG over 10 KB
  "$PYTHON" -c "import sys; d = open(sys.argv[1], 'rb').read()
sys.exit(not (len(d) > 10240 and d[:8] == b'\x89PNG\r\n\x1a\n'))" "$1"
}

for name in steady blowup halted compare; do
  if [ "$name" = compare ]; then
    page="$TMP/compare.html"
    kind=(compare steady blowup halted)
  else
    page="$TMP/runs/$name/report.html"
    kind=(run "${status[$name]}")
  fi
  check "$name: page written" test -s "$page"
  [ -s "$page" ] || continue
  check "$name: screenshot (exit 0 within 60 s)" browse "$name-shot" --screenshot="$TMP/$name.png" "file://$page"
  check "$name: screenshot is a PNG over 10 KB" png_ok "$name.png"
  browse "$name-dom" --dump-dom "file://$page" >"$name.dom.html"
  rc=$?
  check "$name: DOM dumped (exit $rc)" test "$rc" -eq 0 -a -s "$name.dom.html"
  check "$name: sections, status, no scripts nor external resources" check_page "$name.dom.html" "$page" "${kind[@]}"
  for log in "$name-shot" "$name-dom"; do
    check "$log: the net log has no request to the network" no_requests "$log.netlog.json"
  done
  if [ -n "$shots" ] && [ -e "$name.png" ]; then
    mkdir -p "$shots" && cp "$name.png" "$shots/report-$name.png"
  fi
done
finish
