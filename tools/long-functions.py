#!/usr/bin/env python3
"""Lists functions longer than a limit (default 60 lines) in C++ sources.

How it counts: comments, string and character literals are blanked first. A '{' opens a
function body when no function is open yet and the text since the previous ';', '{' or '}'
contains a ')' and does not start with a control keyword (if/for/while/switch/catch/do/else)
or a type keyword (namespace/class/struct/enum/union). The function's length is the number of
lines from the first line of its signature to the line of its closing brace, both included.
Lambdas and local blocks inside a function count toward that function.

  tools/long-functions.py [--limit N] DIR_OR_FILE...   (e.g. coordinator agent common)
"""
import argparse
import os
import re
import sys

CONTROL = re.compile(r"^\s*(if|for|while|switch|catch|do|else|try|namespace|class|struct|enum|union|extern)\b")


def blank(text):
    """Replaces comments and literals by spaces, keeping newlines (and so line numbers)."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i)); i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j])); i = j
        elif text.startswith('R"', i):
            m = re.match(r'R"([^(\s]*)\(', text[i:])
            end = text.find(")" + m.group(1) + '"', i) if m else -1
            j = n if end < 0 else end + len(m.group(1)) + 2
            out.append('""' + re.sub(r"[^\n]", " ", text[i + 2:j])); i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            out.append(c + " " * (j - i - 1) + c); i = j + 1
        else:
            out.append(c); i += 1
    return "".join(out)


def functions(path):
    text = blank(open(path, encoding="utf-8", errors="replace").read())
    depth, func_depth, start, head_start = 0, None, None, 0
    for i, c in enumerate(text):
        if c == "{":
            head = text[head_start:i]
            if func_depth is None and ")" in head and not CONTROL.match(head) and "=" not in head.split("(")[0]:
                func_depth = depth
                first = head_start + (len(head) - len(head.lstrip()))
                start = (text.count("\n", 0, first) + 1, re.sub(r"\s+", " ", head.strip())[:90])
            depth += 1
            head_start = i + 1
        elif c == "}":
            depth -= 1
            head_start = i + 1
            if func_depth is not None and depth == func_depth:
                end_line = text.count("\n", 0, i) + 1
                yield start[0], end_line - start[0] + 1, start[1]
                func_depth = None
        elif c == ";":
            head_start = i + 1
        elif c == "#" and (i == 0 or text[i - 1] == "\n"):
            j = text.find("\n", i)
            head_start = len(text) if j < 0 else j + 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int, default=60)
    ap.add_argument("paths", nargs="+")
    args = ap.parse_args()
    files = []
    for p in args.paths:
        if os.path.isdir(p):
            for root, _, names in os.walk(p):
                files += [os.path.join(root, f) for f in sorted(names) if f.endswith((".cc", ".h"))]
        else:
            files.append(p)
    count = 0
    for f in sorted(files):
        for line, length, head in functions(f):
            if length > args.limit:
                count += 1
                print(f"{f}:{line}: {length} lines: {head}")
    print(f"{count} functions over {args.limit} lines")


if __name__ == "__main__":
    sys.exit(main())
