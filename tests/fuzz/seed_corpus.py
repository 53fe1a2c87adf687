#!/usr/bin/env python3
"""Writes seed inputs for the fuzzers from the conformance suite.

Usage: seed_corpus.py CONFORMANCE_DIR OUT_DIR
OUT_DIR/pattern_parser_fuzz gets each pattern's text; OUT_DIR/matcher_fuzz gets each valid
case as the pattern, a newline, and the event.
"""
import json
import os
import sys


def main():
    src, out = sys.argv[1], sys.argv[2]
    parser_dir = os.path.join(out, "pattern_parser_fuzz")
    matcher_dir = os.path.join(out, "matcher_fuzz")
    os.makedirs(parser_dir, exist_ok=True)
    os.makedirs(matcher_dir, exist_ok=True)
    n = 0
    for name in sorted(os.listdir(src)):
        if not name.endswith(".json"):
            continue
        with open(os.path.join(src, name)) as f:
            cases = json.load(f)
        for case in cases:
            pattern = json.dumps(case["pattern"], separators=(",", ":"))
            with open(os.path.join(parser_dir, f"seed-{n}"), "w") as f:
                f.write(pattern)
            if case.get("valid", True):
                event = json.dumps(case["event"], separators=(",", ":"))
                with open(os.path.join(matcher_dir, f"seed-{n}"), "w") as f:
                    f.write(pattern + "\n" + event)
            n += 1


if __name__ == "__main__":
    main()
