#!/usr/bin/env python3
"""Fails when a function defined in src/ is longer than a limit (default 80 lines, signature to closing brace).

The code is formatted so that a definition at namespace scope starts in column 0 and ends with a "}" in column 0;
that is what this counts. Usage: check_function_length.py [ROOT] [--limit N]
"""
import argparse
import pathlib
import re
import sys

NOT_A_FUNCTION = re.compile(r"(namespace|struct|class|enum|union|extern|#|//)")


def long_functions(path, limit):
    lines = path.read_text().split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        starts = line and not line[0].isspace() and line.rstrip().endswith("{")
        if starts and not NOT_A_FUNCTION.match(line) and "=" not in line.split("(")[0]:
            end = i + 1
            while end < len(lines) and not (lines[end].startswith("}") and not lines[end].startswith("}  // namespace")):
                end += 1
            if end - i + 1 > limit:
                yield i + 1, end - i + 1, line.strip()
            i = end
        i += 1


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("root", nargs="?", default=".")
    parser.add_argument("--limit", type=int, default=80)
    args = parser.parse_args()
    found = 0
    for path in sorted(pathlib.Path(args.root, "src").rglob("*.[ch]pp")):
        for line, length, signature in long_functions(path, args.limit):
            print(f"{path}:{line}: {length} lines (limit {args.limit}): {signature[:90]}")
            found += 1
    print(f"{found} function(s) in src/ longer than {args.limit} lines")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
