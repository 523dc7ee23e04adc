"""``exercises/03_roleplay`` end to end through ``cs-dojo grade``: roleplay questions are scored in the trainer's
process from ``responses/*.json`` and the trainer's scenarios, whatever the learner's kernel reported.

Learners (all answer 問1 correctly, worth 2 points, unless said otherwise):
* model     — both conversations clicked through the real graded widget along the full-marks path → 2 + 4 + 4
* capped    — 問2 ends in its best fail ending (capped below the pass mark), 問3 not played, 問1 wrong
* patched   — no conversation; the answer cell replaces ``grading.confirm_record`` with one that returns full points
* swapped   — no conversation; the answer cell puts a fake ``cs_helpers.roleplay.grading`` into ``sys.modules``
* envdir    — records made against a learner-written one-click scenario, and ``CS_DOJO_DATASETS`` pointed at it
* practice  — the full-marks paths, but played in practice mode (hints and undo)
* foreign   — the model learner's records handed in as their own
Plain ``nbgrader autograde`` would give the cheaters 4 + 4 (the hidden test runs after their code in their kernel);
``cs-dojo grade`` gives them 0 with a reason, and the model learner full marks.
"""
from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import nbformat
import pytest

from cs_helpers import roleplay as rp
from cs_helpers.roleplay.analysis import best_by_ending, best_path
from cs_helpers.roleplay.engine import Session
from cs_helpers.roleplay.responses import save_session
from cs_helpers.roleplay.schema import load_scenario
from cs_helpers.roleplay.widget import RoleplayWidget
from tests import nbgrader_roundtrip as rt

pytestmark = pytest.mark.slow
ASSIGNMENT = "03_roleplay"
SOURCE = rt.ROOT / "exercises" / ASSIGNMENT
FIXTURES = Path(__file__).parent / "fixtures" / "roleplay"
RIGHT = "q1_overcommit = {2, 3, 5}\n"
WRONG = "q1_overcommit = {2, 3}\n"


def _roleplay_cells() -> dict[str, str]:
    """{grade_id: scenario_id} from the source notebook's cell metadata (what cs-dojo grade reads)."""
    nb = nbformat.read(SOURCE / f"{ASSIGNMENT}.ipynb", as_version=4)
    return {c.metadata["nbgrader"]["grade_id"]: c.metadata["cs_dojo"]["roleplay"] for c in nb.cells
            if "roleplay" in c.get("metadata", {}).get("cs_dojo", {})}


CELLS = _roleplay_cells()
(Q2, A), (Q3, B) = sorted(CELLS.items())


def _click(dest: Path, learner: str, sid: str, path: list[str], *, graded: bool = True) -> None:
    w = RoleplayWidget(rp.load(sid), graded=graded, base=dest, learner=learner)
    for cid in path:
        w.buttons[cid].click()          # the real ipywidgets button
    assert w.finished, (learner, sid)


def _submission(course: Path, learner: str, answer: str) -> Path:
    dest = course / "submitted" / learner / ASSIGNMENT
    shutil.copytree(course / "release" / ASSIGNMENT, dest)
    nb_path = dest / f"{ASSIGNMENT}.ipynb"
    nb = nbformat.read(nb_path, as_version=4)
    for cell in nb.cells:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "q1_answer":
            cell.source = answer
    nbformat.write(nb, nb_path)
    (dest / "timestamp.txt").write_text("2026-11-23 10:00:00.000000 UTC", encoding="utf-8")
    return dest


PATCHED = RIGHT + textwrap.dedent("""\
    from cs_helpers.roleplay import grading
    grading.confirm_record = lambda *args, **kwargs: float(kwargs.get("points", 4))
    """)
SWAPPED = RIGHT + textwrap.dedent("""\
    import sys, types
    import cs_helpers.roleplay as _pkg
    fake = types.ModuleType("cs_helpers.roleplay.grading")
    fake.confirm_record = lambda scenario_id, points, **kwargs: float(points)
    sys.modules["cs_helpers.roleplay.grading"] = fake
    _pkg.grading = fake
    """)
ENVDIR = RIGHT + textwrap.dedent("""\
    import os
    from pathlib import Path
    os.environ["CS_DOJO_DATASETS"] = str(Path("mydata").resolve())
    """)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    from cs_helpers.course.grade import grade_assignment
    from cs_helpers.course.release import release_assignment
    from cs_helpers.course.workspace import init_course

    tmp = tmp_path_factory.mktemp("roleplay_grade")
    exercises = tmp / "exercises"
    shutil.copytree(SOURCE, exercises / ASSIGNMENT, ignore=shutil.ignore_patterns("responses", ".ipynb_checkpoints"))
    empty = tmp / "empty"
    empty.mkdir()
    course = tmp / "course"
    init_course(course, exercises=exercises, curriculum=empty)
    release_assignment(course_dir=course, assignment=ASSIGNMENT)
    best = {sid: best_path(rp.load(sid))[0] for sid in (A, B)}
    expected = {}

    dest = _submission(course, "model", RIGHT)
    for sid in (A, B):
        _click(dest, "model", sid, best[sid])
    expected["model"] = {"q1_check": 2.0, Q2: 4.0, Q3: 4.0}

    dest = _submission(course, "capped", WRONG)
    sc = rp.load(A)
    fails = {e: v for e, v in best_by_ending(sc).items() if sc.endings[e].outcome == "fail"}
    _ending, (fail_path, uncapped) = max(fails.items(), key=lambda kv: kv[1][1])
    _click(dest, "capped", A, fail_path)
    expected["capped"] = {"q1_check": 0.0, Q2: round(4 * min(uncapped, 0.5), 2), Q3: 0.0}

    _submission(course, "patched", PATCHED)
    _submission(course, "swapped", SWAPPED)
    expected["patched"] = expected["swapped"] = {"q1_check": 2.0, Q2: 0.0, Q3: 0.0}

    dest = _submission(course, "envdir", ENVDIR)
    fake = dest / "mydata" / "scenarios"
    fake.mkdir(parents=True)
    for sid in (A, B):            # a one-click "scenario" under the real ids, recorded as the widget would
        text = (FIXTURES / "minimal.yaml").read_text(encoding="utf-8").replace("id: minimal", f"id: {sid}")
        (fake / f"{sid}.yaml").write_text(text, encoding="utf-8")
        session = Session(load_scenario(fake / f"{sid}.yaml"))
        for cid in ("ask", "close_good"):
            session.choose(cid)
        save_session(session, base=dest, learner="envdir", mode="graded")
    expected["envdir"] = {"q1_check": 2.0, Q2: 0.0, Q3: 0.0}

    dest = _submission(course, "practice", RIGHT)
    for sid in (A, B):
        if rp.load(sid).graded_only:           # the widget refuses practice mode: the file is written by hand
            session = Session(rp.load(sid))
            for cid in best[sid]:
                session.choose(cid)
            save_session(session, base=dest, learner="practice", mode="practice")
        else:
            _click(dest, "practice", sid, best[sid], graded=False)
    expected["practice"] = {"q1_check": 2.0, Q2: 0.0, Q3: 0.0}

    dest = _submission(course, "foreign", RIGHT)
    shutil.copytree(course / "submitted" / "model" / ASSIGNMENT / "responses", dest / "responses")
    expected["foreign"] = {"q1_check": 2.0, Q2: 0.0, Q3: 0.0}

    report = grade_assignment(course_dir=course, assignment=ASSIGNMENT, workers=2, cell_timeout=60, timeout=300,
                              progress=False)
    return {"course": course, "report": report, "expected": expected}


def _scores(course: Path) -> dict[str, dict[str, float]]:
    from nbgrader.api import Gradebook

    out = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "cs-dojo") as gb:
        for sub in gb.find_assignment(ASSIGNMENT).submissions:
            out[sub.student.id] = {g.name: g.score for nb in sub.notebooks for g in nb.grades
                                   if g.name != "q4_reflection"}
    return out


def test_trusted_scores_in_the_gradebook(graded):
    assert _scores(graded["course"]) == graded["expected"]


def test_feedback_text_and_log_name_the_reason(graded):
    course = graded["course"]
    log = json.dumps(json.loads((course / "grading_log.json").read_text(encoding="utf-8")), ensure_ascii=False)
    for reason in ("practice", "learner", "hash", "missing"):
        assert reason in log, reason
    messages = {}
    for learner in graded["expected"]:
        nb = nbformat.read(course / "autograded" / learner / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
        for cell in nb.cells:
            gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            if gid in CELLS:
                messages[learner, gid] = "".join(o.get("text", "") for o in cell.outputs)
                assert all(o.get("name") != "stderr" and o.output_type != "error" for o in cell.outputs)
    assert "4 / 4 点" in messages["model", Q2] and "4 / 4 点" in messages["model", Q3]
    assert "練習モード" in messages["practice", Q2]
    assert "別の受講者ID" in messages["foreign", Q2]
    assert "見つかりません" in messages["patched", Q2] and "見つかりません" in messages["swapped", Q3]
    assert "0 点" in messages["envdir", Q2]


def test_cohort_report_takes_endings_from_the_trusted_scorer(graded):
    """The report's roleplay endings are the grader's replay, not what the learners' files say (they hold none)."""
    from cs_helpers.course.report import roleplay_endings

    endings = roleplay_endings(graded["course"])
    got = {(r.learner_id, r.scenario): r.ending for r in endings.itertuples()}
    assert got[("model", A)] == "success" and got[("model", B)] == "success"
    assert got[("capped", A)] == "fail"
    for cheat in ("patched", "swapped", "envdir", "practice", "foreign"):  # rejected records have no ending
        assert not any(learner == cheat for learner, _ in got), (cheat, got)
