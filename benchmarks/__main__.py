"""Run benchmarks: ``python -m benchmarks [NAME ...]`` (``make bench`` runs them all).

Each ``benchmarks/bench_<name>.py`` exposes ``run() -> list[dict]``; every dict is one measurement with at
least ``name`` and ``seconds``, and optionally ``baseline_seconds`` (the plain tool timed in the same run),
``goal`` and ``notes``. Results are printed as a table and written to ``benchmarks/results/latest.json``.
"""
from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def available() -> list[str]:
    return sorted(m.name[len("bench_"):] for m in pkgutil.iter_modules([str(HERE)]) if m.name.startswith("bench_"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help=f"which benchmarks (default: all of {', '.join(available())})")
    args = parser.parse_args(argv)
    names = args.names or available()
    unknown = [n for n in names if n not in available()]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(available())}")
    rows = []
    for name in names:
        module = importlib.import_module(f"benchmarks.bench_{name}")
        started = time.perf_counter()
        for row in module.run():
            row.setdefault("benchmark", name)
            rows.append(row)
            base = row.get("baseline_seconds")
            ratio = f"  ratio baseline/ours = {base / row['seconds']:.2f}x" if base else ""
            print(f"[{name}] {row['name']}: {row['seconds']:.3f} s{ratio}"
                  + (f"  (baseline {base:.3f} s)" if base else "")
                  + (f"  goal: {row['goal']}" if row.get("goal") else "")
                  + (f"  {row['notes']}" if row.get("notes") else ""), flush=True)
        print(f"[{name}] done in {time.perf_counter() - started:.1f} s", flush=True)
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    meta = {"python": sys.version.split()[0], "machine": platform.machine(), "time": time.strftime("%Y-%m-%dT%H:%M:%S")}
    (out / "latest.json").write_text(json.dumps({"meta": meta, "results": rows}, ensure_ascii=False, indent=2),
                                     encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
