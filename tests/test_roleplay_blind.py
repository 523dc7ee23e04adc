"""Blind clicking fails: the real graded widget (ipywidgets buttons, in the order each learner sees them) is played
without reading, by fixed rules, for several learner ids over every shipped scenario.

Each rule (always the first button, the last, the longest, the shortest, a random one) must average at most half
marks and reach a success ending in at most 10 % of its runs (ASSESSMENT.md, "Roleplay").
"""
from __future__ import annotations

import random
import statistics

import pytest

from cs_helpers.roleplay import library
from cs_helpers.roleplay.widget import RoleplayWidget

LEARNERS = ("tanaka_h", "sato_k", "suzuki_m", "2026-cs-01")
RULES = {
    "first": lambda buttons, rng: buttons[0],
    "last": lambda buttons, rng: buttons[-1],
    "longest": lambda buttons, rng: max(buttons, key=lambda b: len(b.description)),
    "shortest": lambda buttons, rng: min(buttons, key=lambda b: len(b.description)),
    "random": lambda buttons, rng: rng.choice(buttons),
}
MAX_MEAN = 0.5
MAX_SUCCESS = 0.10


def play_blind(scenario, learner: str, rule: str, tmp_path) -> tuple[float, str]:
    """Press buttons by ``rule`` until the conversation ends; returns (total, outcome)."""
    w = RoleplayWidget(scenario, graded=True, base=tmp_path, learner=learner, autosave=False, resume=False)
    rng = random.Random(f"{learner}|{scenario.id}|{rule}")
    for _ in range(200):
        if w.finished:
            break
        buttons = list(w.choice_box.children)          # what the learner sees, in that order
        RULES[rule](buttons, rng).click()
    assert w.finished, (scenario.id, learner, rule, w.path)
    report = w.session.score()
    return report.total, report.outcome


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("blind")
    out = {rule: [] for rule in RULES}
    for sid in library.scenario_ids():
        sc = library.load(sid)
        for learner in LEARNERS:
            for rule in RULES:
                total, outcome = play_blind(sc, learner, rule, tmp)
                out[rule].append((sid, learner, total, outcome))
    return out


@pytest.mark.parametrize("rule", list(RULES))
def test_blind_rule_fails(results, rule):
    runs = results[rule]
    mean = statistics.mean(t for _s, _l, t, _o in runs)
    success = sum(o == "success" for *_x, o in runs) / len(runs)
    worst = sorted(((t, s, l) for s, l, t, _o in runs), reverse=True)[:3]
    assert mean <= MAX_MEAN and success <= MAX_SUCCESS, (
        f"always {rule}: mean {mean:.2f} (max {MAX_MEAN}), success {success:.0%} (max {MAX_SUCCESS:.0%}) over "
        f"{len(runs)} runs; best runs {worst}")


def test_order_really_differs_between_learners(results):
    """Guard against a shuffle that ignores the learner: "always first" must not give every learner the same path."""
    by_scenario = {}
    for sid, learner, total, outcome in results["first"]:
        by_scenario.setdefault(sid, set()).add((round(total, 6), outcome))
    assert sum(len(v) > 1 for v in by_scenario.values()) >= len(by_scenario) // 2, by_scenario
