"""Every shipped scenario: lints clean under --strict, survives random walks, has a full-marks path, and
over-promising always loses."""
from __future__ import annotations

import random
import re

import pytest

from cs_helpers.paths import scenarios_dir
from cs_helpers.roleplay import library
from cs_helpers.roleplay.analysis import best_path, explore, random_walk
from cs_helpers.roleplay.engine import apply_effects, offered, resolve_target
from cs_helpers.roleplay.lint import lint_file

SCENARIOS = sorted(p.stem for p in scenarios_dir().glob("*.yaml"))
SEEDS = range(300)
CORE = {"kickoff_hearing", "overdemanding_request"}


def test_core_scenarios_are_shipped():
    assert CORE <= set(SCENARIOS), SCENARIOS


@pytest.mark.parametrize("sid", SCENARIOS)
def test_lints_clean_strict(sid):
    issues = lint_file(scenarios_dir() / f"{sid}.yaml", strict=True)
    assert not issues, "\n".join(map(str, issues))


@pytest.mark.parametrize("sid", SCENARIOS)
def test_shape(sid):
    sc = library.load(sid)
    assert 10 <= len(sc.nodes) <= 25
    assert len(sc.endings) >= 3 and {e.outcome for e in sc.endings.values()} == {"success", "partial", "fail"}
    assert 5 <= len(sc.criteria) <= 7
    for cid in sc.choices:
        assert re.fullmatch(r"[a-z][a-z0-9_]*", cid)   # usable as a CSS class suffix
    assert re.search(r"[ぁ-んァ-ヶ一-龯]", sc.learner_brief) and sc.persona.hidden_expectation


@pytest.mark.parametrize("sid", SCENARIOS)
def test_random_walks_always_end(sid):
    sc = library.load(sid)
    endings = set()
    for seed in SEEDS:
        s = random_walk(sc, random.Random(seed))
        assert s.finished, f"{sid} seed {seed}: stuck at {s.current} after {s.path}"
        report = s.score()
        assert 0.0 <= report.total <= 1.0
        endings.add(s.ending.outcome)
    assert "fail" in endings and len(endings) >= 2, endings


@pytest.mark.parametrize("sid", SCENARIOS)
def test_full_marks_path_exists(sid):
    path, total = best_path(library.load(sid))
    assert total == pytest.approx(1.0), (path, total)
    assert library.load(sid).endings[_ending_of(sid, path)].outcome == "success"


def _ending_of(sid, path):
    from cs_helpers.roleplay.engine import replay

    return replay(library.load(sid), path).ending.id


def _complete_paths(sc, limit=200_000):
    """Every (path, final state, ending) from the start (scenarios are loop-free, checked by the linter)."""
    order = list(sc.state)
    stack = [(sc.start, sc.initial_state(), [])]
    n = 0
    while stack:
        node, state, path = stack.pop()
        for ch in offered(sc.nodes[node], state):
            new = apply_effects(sc, state, ch)
            target = resolve_target(ch, new)
            if target in sc.endings:
                n += 1
                assert n < limit, "too many paths to enumerate"
                yield path + [ch.id], new, sc.endings[target]
            else:
                stack.append((target, new, path + [ch.id]))
    del order


@pytest.mark.parametrize("sid", SCENARIOS)
def test_overpromising_loses(sid):
    """Scenarios that track promises in a `promised` state variable: a path that ends with a promise still
    standing always ends in failure, and no success path ever made an uncorrected promise."""
    sc = library.load(sid)
    if "promised" not in sc.state:
        pytest.skip(f"{sid} does not track promises")
    seen_fail = False
    for path, state, ending in _complete_paths(sc):
        if state["promised"]:
            assert ending.outcome == "fail", f"{sid}: {path} ends '{ending.id}' with a promise standing"
            seen_fail = True
        if ending.outcome == "success":
            assert not state["promised"]
    assert seen_fail, f"{sid}: no path over-promises, so the rule is never exercised"


def test_expectation_calibration_scenarios_track_promises():
    for sid in CORE:
        assert "promised" in library.load(sid).state


@pytest.mark.parametrize("sid", SCENARIOS)
def test_every_node_and_ending_reachable(sid):
    sc = library.load(sid)
    ex = explore(sc)
    assert set(sc.nodes) == ex.nodes_reached and set(sc.endings) == ex.endings_reached
    assert not ex.dead_ends and not ex.loop_choices


# --- graded is not practice ------------------------------------------------------------------------------------

def _code_cells(path):
    import nbformat

    return [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]


def test_the_assignment_uses_graded_only_scenarios_the_lesson_does_not():
    from cs_helpers.paths import project_root

    root = project_root()
    played = re.compile(r'rp\.play\("([a-z0-9_]+)"(, graded=True)?\)')
    exercise = _code_cells(root / "exercises" / "03_roleplay" / "03_roleplay.ipynb")
    graded = [m.groups() for c in exercise for m in played.finditer(c.source)]
    assert len(graded) >= 2 and all(flag for _sid, flag in graded), graded
    assert all(library.load(sid).graded_only for sid, _f in graded), graded
    # every graded play has a test cell that cs-dojo grade rescores from the record
    marked = {c.metadata["cs_dojo"]["roleplay"] for c in exercise if "roleplay" in c.metadata.get("cs_dojo", {})
              and c.metadata.get("nbgrader", {}).get("grade")}
    assert marked == {sid for sid, _f in graded}
    lesson = "\n".join(c.source for c in _code_cells(root / "curriculum" / "03.1_roleplay.ipynb"))
    assert not any(sid in lesson for sid, _f in graded)
    assert "from cs_helpers.roleplay import trainer" not in lesson and "record_path" not in lesson
    assert set(library.practice_ids()).isdisjoint(sid for sid, _f in graded)
