#!/usr/bin/env python3
"""Checks that every line in a run's report.html is exactly the numbers in steps.csv, metrics.csv and report.json's
monitor.series (each point within 0.011 px of its mapped value; no unchecked line). Standard library only.
Usage: check_report_charts.py RUN_DIR | --self-test"""
import csv, html.parser, json, math, os, re, sys, tempfile

SECTIONS = ["headline", "curves", "confusion", "mistakes", "time", "environment", "config"]
TOLERANCE = 0.011
# chart -> series -> (file, x column, y column); the monitor's charts are added from report.json.
SOURCES = {
    "loss": {"train_loss": ("steps.csv", "step", "loss"), "epoch_train_loss": ("metrics.csv", "step", "train_loss"),
             "val_loss": ("metrics.csv", "step", "val_loss"), "test_loss": ("metrics.csv", "step", "test_loss")},
    "accuracy": {"train_accuracy": ("steps.csv", "step", "accuracy"),
                 "epoch_train_accuracy": ("metrics.csv", "step", "train_accuracy"),
                 "val_accuracy": ("metrics.csv", "step", "val_accuracy"),
                 "test_accuracy": ("metrics.csv", "step", "test_accuracy")},
    "lr": {"lr": ("steps.csv", "step", "lr")},
    "throughput": {"images_per_second": ("metrics.csv", "epoch", "images_per_second")},
}


def number(v):
    """A finite float, or None for an empty field, null, NaN or Inf."""
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


class Page(html.parser.HTMLParser):
    """Collects the ids in document order and each chart's attributes and polylines."""

    def __init__(self):
        super().__init__()
        self.ids, self.charts, self.stray, self.svg_depth, self.chart = [], [], [], 0, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.append(a["id"])
        if tag == "svg":
            self.svg_depth += 1
            if "chart" in (a.get("class") or "").split() and self.chart is None:
                self.chart = {"attrs": a, "depth": self.svg_depth, "polylines": []}
                self.charts.append(self.chart)
        elif tag == "polyline" and "data-series" in a:
            (self.chart["polylines"] if self.chart else self.stray).append(a)

    def handle_endtag(self, tag):
        if tag == "svg":
            if self.chart and self.chart["depth"] == self.svg_depth:
                self.chart = None
            self.svg_depth -= 1


def floats(text, n, what):
    """The n (any number when n is 0) finite numbers in an attribute; ValueError otherwise."""
    vals = [float(v) for v in re.split(r"[\s,]+", (text or "").strip()) if v]
    if (n and len(vals) != n) or not all(map(math.isfinite, vals)):
        raise ValueError(f"{what}: want {n or 'finite'} numbers, got {text!r}")
    return vals


def load_sources(run):
    tables = {}
    for name in ("steps.csv", "metrics.csv"):
        with open(os.path.join(run, name), newline="") as f:
            reader = csv.DictReader(f)
            tables[name] = list(reader)
        cols = {c for series in SOURCES.values() for n, x, y in series.values() if n == name for c in (x, y)}
        if not cols <= set(reader.fieldnames or []):
            raise ValueError(f"{name}: header {reader.fieldnames} lacks {sorted(cols - set(reader.fieldnames or []))}")
    sources = {chart: dict(series) for chart, series in SOURCES.items()}
    monitor = json.load(open(os.path.join(run, "report.json"))).get("monitor") or {}
    mseries = monitor.get("series") or {}
    t = mseries.get("t_s") or []
    for key, values in mseries.items():
        if key != "t_s" and isinstance(values, list):
            if len(values) != len(t):
                raise ValueError(f"report.json: monitor.series.{key} has {len(values)} values, t_s {len(t)}")
            sources[key] = {key: list(zip(t, values))}
    for chart in SOURCES:
        for series, (name, xcol, ycol) in SOURCES[chart].items():
            sources[chart][series] = [(r.get(xcol), r.get(ycol)) for r in tables[name]]
    required = ["loss", "accuracy", "lr", "throughput"] if tables["steps.csv"] and tables["metrics.csv"] else []
    required += ["cpu_percent", "rss_mib"] if t else []
    return sources, required


def check_chart(chart, sources, errors, lines):
    a = chart["attrs"]
    name, log = a.get("data-chart"), a.get("data-yscale") == "log"
    if name not in sources:
        errors.append(f"chart {name!r}: no source for this chart (unchecked data)")
        return
    try:
        (ax, bx), (cy, dy) = floats(a.get("data-xmap"), 2, "data-xmap"), floats(a.get("data-ymap"), 2, "data-ymap")
        box = floats(a["viewBox"], 4, "viewBox") if "viewBox" in a else None
    except ValueError as e:
        errors.append(f"chart {name}: {e}")
        return
    if ax == 0 or cy == 0:
        errors.append(f"chart {name}: degenerate map x {ax} y {cy}")
    drawn = {}
    for p in chart["polylines"]:
        try:
            pts = floats(p.get("points"), 0, f"series {p['data-series']} points")
        except ValueError as e:
            errors.append(f"chart {name}: {e}")
            continue
        if len(pts) % 2:
            errors.append(f"chart {name} series {p['data-series']}: odd number of coordinates")
        drawn.setdefault(p["data-series"], []).extend(zip(pts[0::2], pts[1::2]))
    for series, points in drawn.items():
        if series not in sources[name]:
            errors.append(f"chart {name}: series {series!r} has no source (unchecked line)")
            continue
        want = [(x, y) for x, y in ((number(x), number(y)) for x, y in sources[name][series])
                if x is not None and y is not None and (y > 0 or not log)]
        if len(points) != len(want):
            errors.append(f"chart {name} series {series}: {len(points)} points drawn, "
                          f"{len(want)} finite values in the file")
        dx = dy_ = 0.0
        for i, ((px, py), (x, y)) in enumerate(zip(points, want)):
            ex, ey = ax * x + bx, cy * (math.log10(y) if log else y) + dy
            if abs(px - ex) > TOLERANCE or abs(py - ey) > TOLERANCE:
                errors.append(f"chart {name} series {series} point {i} (x={x}, y={y}): drawn at ({px}, {py}), "
                              f"want ({ex:.3f}, {ey:.3f})")
            if box and not (box[0] <= px <= box[0] + box[2] and box[1] <= py <= box[1] + box[3]):
                errors.append(f"chart {name} series {series} point {i}: ({px}, {py}) outside the viewBox {box}")
            dx, dy_ = max(dx, abs(px - ex)), max(dy_, abs(py - ey))
        lines.append(f"chart {name:<18} series {series:<22} {len(points):5d} points  "
                     f"max|dpx| {dx:.4f}  max|dpy| {dy_:.4f}")
    for series, src in sources[name].items():
        if series not in drawn and any(number(x) is not None and number(y) is not None for x, y in src):
            lines.append(f"note: chart {name}: series {series} has values in the file but is not drawn")
    return drawn


def check(run):
    """Returns (errors, lines)."""
    errors, lines = [], []
    page = Page()
    page.feed(open(os.path.join(run, "report.html"), encoding="utf-8").read())
    sources, required = load_sources(run)
    missing = [s for s in SECTIONS if s not in page.ids]
    order = [i for i in page.ids if i in SECTIONS]
    if missing:
        errors.append(f"sections missing: {', '.join(missing)}")
    elif order != SECTIONS:
        errors.append(f"sections out of order or repeated: {' '.join(order)} (want {' '.join(SECTIONS)})")
    errors += [f"polyline data-series={p['data-series']!r} outside any chart (unchecked line)" for p in page.stray]
    seen = {}
    for chart in page.charts:
        name = chart["attrs"].get("data-chart")
        if name in seen:
            errors.append(f"chart {name!r} appears twice")
        seen[name] = check_chart(chart, sources, errors, lines) or {}
    errors += [f"chart {c!r} should exist but has no series" for c in required if not seen.get(c)]
    return errors, lines


def self_test():
    """A tiny RUN_DIR with HTML written here by the contract: passes; a point moved by 1 px or a stray line fails."""
    run = tempfile.mkdtemp()
    steps = [[s, 1, [2.3, 1.5, "", 0.9, 0.5, 0.4][s - 1], [0.1, "", 0.5, 0.6, 0.8, 0.9][s - 1], 0.1 / s, 100, s]
             for s in range(1, 7)]
    metrics = [[1, 1.2, 0.5, 1.1, 0.55, "", "", 0.1, 1, 1, 950.5, 3],
               [2, 0.6, 0.8, "nan", 0.85, 0.5, 0.9, 0.05, 1, 1, 990, 6]]
    with open(f"{run}/steps.csv", "w", newline="") as f:
        csv.writer(f).writerows([["step", "epoch", "loss", "accuracy", "lr", "images_per_second", "elapsed_s"]] + steps)
    with open(f"{run}/metrics.csv", "w", newline="") as f:
        csv.writer(f).writerows([["epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "test_loss",
                                  "test_accuracy", "lr", "train_seconds", "eval_seconds", "images_per_second", "step"]]
                                + metrics)
    monitor = {"t_s": [0, 0.5, 1.0], "cpu_percent": [50, None, 75], "rss_mib": [100, 120, 121]}
    json.dump({"monitor": {"series": monitor}}, open(f"{run}/report.json", "w"))

    def chart(name, series, cy=-50.0, dy=300.0, log=False):  # series: {name: [(x, y), or None: a gap]}
        out = [f'<svg class="chart" data-chart="{name}" data-xmap="20 40" data-ymap="{cy} {dy}" '
               f'viewBox="0 0 400 400"{" data-yscale=log" if log else ""}>']
        for s, points in series.items():
            runs, cur = [], []
            for p in points + [None]:
                if p is None:
                    runs, cur = runs + [cur] * bool(cur), []
                else:
                    cur.append(f"{20 * p[0] + 40:.2f},{cy * (math.log10(p[1]) if log else p[1]) + dy:.2f}")
            out += [f'<polyline data-series="{s}" points="{" ".join(r)}"/>' for r in runs]
        return "".join(out) + "</svg>"

    def pts(rows, xi, yi):
        return [(float(r[xi]), float(r[yi])) if number(r[yi]) is not None else None for r in rows]

    cpu, rss = (list(zip(monitor["t_s"], monitor[k])) for k in ("cpu_percent", "rss_mib"))
    charts = [chart("loss", {"train_loss": pts(steps, 0, 2), "val_loss": pts(metrics, 11, 3)}),
              chart("accuracy", {"train_accuracy": pts(steps, 0, 3), "test_accuracy": pts(metrics, 11, 6)}),
              chart("lr", {"lr": pts(steps, 0, 4)}, -100, 0, log=True),
              chart("throughput", {"images_per_second": pts(metrics, 0, 10)}, -0.1),
              chart("cpu_percent", {"cpu_percent": pts(cpu, 0, 1)}, -2, 350),
              chart("rss_mib", {"rss_mib": pts(rss, 0, 1)}, -2, 400)]
    body = "".join(f'<section id="{s}"><h2>{s}</h2>{"".join(charts) if s == "curves" else ""}</section>'
                   for s in SECTIONS)
    good = f"<!DOCTYPE html><html><head><title>t</title></head><body>{body}</body></html>"
    cases = {"good": (good, None),
             "moved 1 px": (good.replace('points="60.00,185.00', 'points="60.00,186.00'), "drawn at (60.0, 186.0)"),
             "NaN pixel": (good.replace('points="60.00,185.00', 'points="NaN,185.00'), "want finite numbers"),
             "stray series": (good.replace("</svg>", '<polyline data-series="extra" points="1,1 2,2"/></svg>', 1),
                              "'extra' has no source"),
             "point dropped": (good.replace('data-series="lr" points="60.00,100.00 ', 'data-series="lr" points="'),
                               "5 points drawn, 6 finite"),
             "sections swapped": (good.replace('id="time"', 'id="tmp"').replace('id="mistakes"', 'id="time"')
                                  .replace('id="tmp"', 'id="mistakes"'), "out of order")}
    for what, (text, want) in cases.items():
        open(f"{run}/report.html", "w").write(text)
        errors, lines = check(run)
        if what == "good":
            print("\n".join(lines))
            assert not errors and sum(not l.startswith("note") for l in lines) == 8, (errors, lines)
        else:
            assert any(want in e for e in errors), (what, errors)
        print(f"ok: {what}: " + ("passes" if want is None else f"fails: {errors[0]}"))
    for f in os.listdir(run):
        os.remove(f"{run}/{f}")
    os.rmdir(run)
    print("self-test passed")


def main(argv):
    if argv == ["--self-test"]:
        return self_test()
    if len(argv) != 1:
        sys.exit("usage: check_report_charts.py RUN_DIR | --self-test")
    try:
        errors, lines = check(argv[0])
    except (OSError, ValueError, KeyError) as e:
        sys.exit(f"FAIL: {argv[0]}: {type(e).__name__}: {e}")
    print("\n".join(lines))
    if errors:
        print(f"FAIL: {argv[0]}/report.html: {len(errors)} problems:\n  " + "\n  ".join(errors[:50]), file=sys.stderr)
        sys.exit(1)
    print(f"ok: {argv[0]}/report.html: every chart matches the files")


if __name__ == "__main__":
    main(sys.argv[1:])
