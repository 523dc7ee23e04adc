"""A real nbgrader round trip of exercises/03_roleplay: four learners' submissions graded in one autograde run.

* good      — both conversations played (by clicking the widget) along the best paths → full marks
* poor      — both played along weaker paths → partial credit equal to the engine's score
* tampered  — one file hand-edited (checksum broken), the other recorded against another scenario version → 0
* missing   — the unchanged release, no responses/ folder → 0
Test cells must never show an error or write to stderr; each prints a Japanese line explaining the score.
"""
from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from cs_helpers import roleplay as rp
from cs_helpers.roleplay.responses import checksum
from cs_helpers.roleplay.widget import RoleplayWidget
from tests import nbgrader_roundtrip as rt

ASSIGNMENT = "03_roleplay"
POINTS = {"q1_test": 4.0, "q2_test": 4.0}
PATHS = {
    "good": {"kickoff_hearing": ["op_a", "pw_a", "pg_b", "wu_a", "fi_a",
                                 "gv_a", "gd_a", "cl_e"],
             "overdemanding_request": ["op_a", "mn_b", "st_c", "ic_a", "al_a",
                                       "fd_b", "cp_a"]},
    "poor": {"kickoff_hearing": ["op_c", "ft_b", "rp_b", "pw_b", "ia_b",
                                 "wu_b", "sp_b", "cl_b", "lg_a"],
             "overdemanding_request": ["op_d", "tr_a", "st_b", "vf_b", "ic_a",
                                       "al_b", "cp_a"]},
}
TEST_CELL = {"kickoff_hearing": "q1_test", "overdemanding_request": "q2_test"}
ANSWER_CELL = {"q1_answer": 'rp.check_response("kickoff_hearing")',
               "q2_answer": 'rp.check_response("overdemanding_request")'}


def _play(dest: Path, student: str, paths: dict[str, list[str]]) -> None:
    """Click through the real widget with the submission folder as the notebook's folder."""
    for sid, path in paths.items():
        w = RoleplayWidget(rp.load(sid), graded=True, base=dest, learner=student)
        for cid in path:
            w.buttons[cid].click()
        assert w.finished, (student, sid)


def _answer_like_a_learner(dest: Path) -> None:
    nb_path = dest / f"{ASSIGNMENT}.ipynb"
    nb = nbformat.read(nb_path, as_version=4)
    for cell in nb.cells:
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if gid in ANSWER_CELL:
            cell.source = ANSWER_CELL[gid]
    nbformat.write(nb, nb_path)


def _submission(course: Path, student: str) -> Path:
    dest = course / "submitted" / student / ASSIGNMENT
    dest.parent.mkdir(parents=True)
    import shutil

    shutil.copytree(course / "release" / ASSIGNMENT, dest)
    (dest / "timestamp.txt").write_text("2026-11-23 10:00:00.000000 UTC", encoding="utf-8")
    return dest


def _edit(path: Path, change, *, fix_checksum: bool) -> None:
    record = json.loads(path.read_text(encoding="utf-8"))
    change(record)
    if fix_checksum:
        record["checksum"] = checksum(record)
    path.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")


def _expected(paths: dict[str, list[str]]) -> dict[str, float]:
    return {TEST_CELL[sid]: round(POINTS[TEST_CELL[sid]] * rp.replay(rp.load(sid), p).score().total, 2)
            for sid, p in paths.items()}


@pytest.mark.slow
def test_roleplay_round_trip(tmp_path: Path):
    course = rt.make_course(tmp_path, rt.ROOT / "exercises" / ASSIGNMENT)
    release = rt.generate(course, ASSIGNMENT)
    assert not (release / "responses").exists()

    for student in ("good", "poor", "tampered"):
        dest = _submission(course, student)
        _answer_like_a_learner(dest)
        _play(dest, student, PATHS["poor" if student == "poor" else "good"])
    tampered = course / "submitted" / "tampered" / ASSIGNMENT / "responses"
    _edit(tampered / "kickoff_hearing.json", lambda r: r["path"].pop(4), fix_checksum=False)
    _edit(tampered / "overdemanding_request.json", lambda r: r.update(scenario_hash="f" * 64), fix_checksum=True)
    _submission(course, "missing")

    rt.run(course, "autograde", ASSIGNMENT, "--force")

    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course}/gradebook.db") as gb:
        scores = {student: {g.name: g.score for nb in gb.find_submission(ASSIGNMENT, student).notebooks
                            for g in nb.grades if g.name in POINTS}
                  for student in ("good", "poor", "tampered", "missing")}

    assert scores["good"] == POINTS
    poor = _expected(PATHS["poor"])
    assert scores["poor"] == pytest.approx(poor)
    assert all(0 < v < POINTS[k] for k, v in scores["poor"].items()), scores["poor"]
    assert scores["tampered"] == {"q1_test": 0.0, "q2_test": 0.0}
    assert scores["missing"] == {"q1_test": 0.0, "q2_test": 0.0}

    messages = {}
    for student in scores:
        nb = nbformat.read(course / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
        for cell in nb.cells:
            gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            if gid in POINTS:
                kinds = [(o.output_type, o.get("name")) for o in cell.outputs]
                assert ("stream", "stderr") not in kinds and not any(k == "error" for k, _ in kinds), (student, kinds)
                messages[student, gid] = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
    assert "4 / 4 点" in messages["good", "q1_test"]
    assert "書き換えられています" in messages["tampered", "q1_test"]
    assert "ハッシュ" in messages["tampered", "q2_test"]
    assert "見つかりません" in messages["missing", "q1_test"] and "見つかりません" in messages["missing", "q2_test"]
