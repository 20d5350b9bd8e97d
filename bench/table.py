"""Renders bench/run.py's JSON as the Markdown table kept in the README.

    python bench/table.py bench/results.json
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from run import fmt_time  # noqa: E402


def fmt(s):
    return fmt_time(s).strip()


def main(path):
    r = json.load(open(path))
    rows = {}
    for x in r["results"]:
        rows.setdefault((x["suite"], x["case"]), {})[x["threads"]] = x
    threads = sorted({x["threads"] for x in r["results"]})
    head = "| suite | case | " + " | ".join(f"ember {t}T | torch {t}T | ratio {t}T" for t in threads) + " |"
    print(head)
    print("|" + "---|" * (2 + 3 * len(threads)))
    for (suite, case), by in rows.items():
        cells = []
        for t in threads:
            x = by.get(t)
            cells += [fmt(x["ember_s"]), fmt(x["torch_s"]), f"**{x['ratio']:.2f}**"] if x else ["", "", ""]
        print(f"| {suite} | {case} | " + " | ".join(cells) + " |")
    if "import" in r:
        i = r["import"]
        print(f"\n`import ember` {fmt(i['ember'])}, `import torch` {fmt(i['torch'])}: ratio "
              f"**{i['ember'] / i['torch']:.2f}**.")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "bench/results.json")
