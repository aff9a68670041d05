#!/usr/bin/python3
"""Checks that the README's code blocks marked as lines of a test's file are those lines, so the
README and the tests that build what it shows cannot drift apart:

    readme_snippets.py README.md FILE...

A block is marked by the line `<!-- the lines of FILE -->` right before its opening fence. Every
marked block must appear in FILE as consecutive lines (trailing spaces ignored), and every FILE
named on the command line must have at least one marked block.
"""
import os
import re
import sys

MARK = re.compile(r"^<!-- the lines of (\S+) -->$")


def marked_blocks(readme_lines):
    """(file, first line number, block lines) for each marked block."""
    blocks = []
    for number, line in enumerate(readme_lines):
        mark = MARK.match(line.strip())
        if not mark:
            continue
        fence = number + 1
        if fence >= len(readme_lines) or not readme_lines[fence].startswith("```"):
            sys.exit(f"README line {number + 1}: the mark is not followed by a code block")
        end = fence + 1
        while end < len(readme_lines) and not readme_lines[end].startswith("```"):
            end += 1
        if end == len(readme_lines):
            sys.exit(f"README line {fence + 1}: the code block is not closed")
        blocks.append((mark.group(1), fence + 2, readme_lines[fence + 1:end]))
    return blocks


def contains(lines, block):
    return any(lines[start:start + len(block)] == block for start in range(len(lines) - len(block) + 1))


def main(readme, files):
    root = os.path.dirname(os.path.abspath(readme))
    with open(readme, encoding="utf-8") as f:
        readme_lines = [line.rstrip() for line in f]
    failures = 0
    blocks = marked_blocks(readme_lines)
    for path, first, block in blocks:
        with open(os.path.join(root, path), encoding="utf-8") as f:
            lines = [line.rstrip() for line in f]
        if contains(lines, block):
            print(f"README line {first}: {len(block)} lines, as in {path}")
        else:
            print(f"README line {first}: this block is not a run of lines of {path}; make them agree")
            failures += 1
    for path in files:
        if not any(marked == path for marked, _, _ in blocks):
            print(f"README: no block is marked as the lines of {path}")
            failures += 1
    return 1 if failures else 0


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2:]))
