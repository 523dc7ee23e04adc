"""Roleplay benchmarks: one engine step, and loading + linting every shipped scenario.

* ``engine step``: the slowest of the per-scenario means of ``Session.choose`` over seeded random walks
  (goal: < 50 ms — a click must feel instant even before the widget redraws).
* ``load + lint all scenarios``: ``lint_paths(datasets/scenarios)`` from cold, i.e. YAML parsing with line
  numbers, building the model, exploring every reachable (node, state) pair, the --strict best-path search and
  the per-ending search of the gameability rules (goal: < 1 s). Baseline: a plain ``yaml.load`` of the same
  files with the same safe loader, in the same run.
* ``widget click``: pressing a real ipywidgets button (graded mode, per-learner order), including the atomic save
  and the redraw (no goal; shown for context).
"""
from __future__ import annotations

import random
import statistics
import tempfile
import time

import yaml

from cs_helpers.paths import scenarios_dir
from cs_helpers.roleplay.analysis import random_walk
from cs_helpers.roleplay.engine import Session
from cs_helpers.roleplay.lint import lint_paths
from cs_helpers.roleplay.schema import load_scenario


def _best_of(fn, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def run() -> list[dict]:
    files = sorted(scenarios_dir().glob("*.yaml"))
    scenarios = [load_scenario(f) for f in files]
    rows = []

    # engine step
    means = []
    steps = 0
    for sc in scenarios:
        paths = [random_walk(sc, random.Random(seed)).path for seed in range(40)]
        durations = []
        for path in paths:
            s = Session(sc, clock=lambda: "")
            for cid in path:
                t = time.perf_counter()
                s.choose(cid)
                durations.append(time.perf_counter() - t)
        steps += len(durations)
        means.append(statistics.mean(durations))
    rows.append({"name": "engine step (slowest scenario mean)", "seconds": max(means), "goal": "< 0.05 s",
                 "notes": f"{steps} steps over {len(scenarios)} scenarios; overall mean {statistics.mean(means):.2e} s"})

    # load + lint all
    lint_s = _best_of(lambda: lint_paths([scenarios_dir()], strict=True))
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    base_s = _best_of(lambda: [yaml.load(f.read_text(encoding="utf-8"), Loader=loader) for f in files])
    rows.append({"name": f"load + lint --strict all {len(files)} scenarios", "seconds": lint_s,
                 "baseline_seconds": base_s, "goal": "< 1 s",
                 "notes": "baseline = yaml.load with the same (C) safe loader, no line numbers, no checks"})

    # widget click (for context)
    from cs_helpers.roleplay.widget import RoleplayWidget

    sc = scenarios[0]
    with tempfile.TemporaryDirectory() as tmp:
        clicks = []
        for seed in range(5):
            path = random_walk(sc, random.Random(seed)).path
            w = RoleplayWidget(sc, base=tmp, learner="bench", resume=False, graded=True)
            for cid in path:
                t = time.perf_counter()
                w.buttons[cid].click()
                clicks.append(time.perf_counter() - t)
    rows.append({"name": "widget click (engine + atomic save + redraw)", "seconds": statistics.mean(clicks),
                 "notes": f"mean of {len(clicks)} clicks on {sc.id}"})
    return rows
