#!/usr/bin/env python3
"""Regenerates the grid tables in docs/RESULTS.md from the rows in results/.

Every block between `<!-- grid: NAME -->` and `<!-- /grid -->` is replaced by the output of
`mclmr grid grids/NAME.toml --report`. Run from the repository root after `cargo build --release`:

    python3 scripts/update_results.py
"""
import re
import subprocess
import sys

PATH = "docs/RESULTS.md"
BIN = "target/release/mclmr"


def report(name: str) -> str:
    out = subprocess.run([BIN, "grid", f"grids/{name}.toml", "--report"],
                         capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"mclmr grid grids/{name}.toml --report failed:\n{out.stderr}")
    return out.stdout.strip()


def main() -> None:
    text = open(PATH, encoding="utf-8").read()
    pattern = re.compile(r"(<!-- grid: ([\w-]+) -->\n)(.*?)(<!-- /grid -->)", re.S)
    text = pattern.sub(lambda m: m.group(1) + report(m.group(2)) + "\n" + m.group(4), text)
    tmp = PATH + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    import os
    os.replace(tmp, PATH)


if __name__ == "__main__":
    main()
