"""`cs-dojo grade` the hard way: one run of hostile submissions that sort before honest canaries, in the bubblewrap
sandbox, then the same cohort with ``--sandbox off`` to document what process isolation alone does not stop.

Fixtures: tests/fixtures/course/hostile.py (built at test time from the released sample notebook) and the classic
submissions in tests/fixtures/course/submissions/. The sandbox tests skip only where bubblewrap cannot start (and
say why); under ``CI=true`` as root they fail instead.
"""
from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import io
import json
import os
import shutil
import socket
import sqlite3
import sysconfig
import threading
import uuid
from pathlib import Path

import pytest

from cs_helpers.course.collect import collect_submissions
from cs_helpers.course.common import CourseError, hidden_test_snippets, iter_files, solution_snippets
from cs_helpers.course.feedback import generate_feedback
from cs_helpers.course.grade import format_report, grade_assignment
from cs_helpers.course.grading import sandbox as sb
from cs_helpers.course.grading.store import gradebook_problem
from cs_helpers.course.release import release_assignment
from cs_helpers.course.roster import import_roster
from cs_helpers.course.workspace import init_course

A = "00_sample"
FIX = Path(__file__).parent / "fixtures" / "course"
_spec = importlib.util.spec_from_file_location("course_hostile", FIX / "hostile.py")
hostile = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(hostile)


def require_sandbox() -> None:
    """Skip (saying why) where bubblewrap cannot start; under CI=true as root that is a failure."""
    bwrap = sb.find_bwrap()
    try:
        if bwrap is None:
            raise sb.SandboxUnavailable("bubblewrap (bwrap) is not installed", sb.INSTALL_HINT)
        sb.probe(bwrap)
    except sb.SandboxUnavailable as exc:
        if os.environ.get("CI") == "true" and os.geteuid() == 0:
            pytest.fail(f"the grading sandbox must run under CI as root: {exc.reason} (fix: {exc.fix})")
        pytest.skip(f"bubblewrap cannot start a sandbox here: {exc.reason} (fix: {exc.fix})")


class Listener:
    """A loopback TCP listener started by the test; it records every connection it accepts."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections: list[bytes] = []
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(2)
                try:
                    self.connections.append(conn.recv(100))
                except OSError:
                    self.connections.append(b"")

    def close(self):
        self._stop.set()
        self.thread.join(5)
        self.sock.close()


def _hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in iter_files(folder)}


def _outputs(course: Path, learner: str) -> str:
    nb = json.loads((course / "autograded" / learner / A / "sample.ipynb").read_text(encoding="utf-8"))
    return "\n".join("".join(o.get("text", "")) for c in nb["cells"] for o in c.get("outputs", []))


def _gradebook_totals(course: Path) -> dict[str, float]:
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "cs-dojo") as gb:
        return {s.student.id: sum(g.auto_score or 0 for nb in s.notebooks for g in nb.grades
                                  if g.name != "q4_reflection")
                for s in gb.find_assignment(A).submissions}


def _make_course(base: Path, token: str, port: int) -> tuple[Path, list[str]]:
    empty = base / "empty"
    empty.mkdir()
    course = base / "course"
    init_course(course, exercises=empty, curriculum=empty)
    # like a workspace made before stderr noise was filtered in the config: the grader's own rule must hold anyway
    with (course / "nbgrader_config.py").open("a", encoding="utf-8") as fh:
        fh.write("\nc.IgnorePattern.enabled = False\n")
    release_assignment(course_dir=course, assignment=A, make_zip=False)
    released = json.loads((course / "release" / A / "sample.ipynb").read_text(encoding="utf-8"))
    box = base / "box"
    learners = hostile.write_cohort(box, released, FIX / "submissions", token, port)
    (base / "roster.csv").write_text("learner_id,name,email,cohort\n"
                                     + "".join(f"{lid},受講 {i},,c1\n" for i, lid in enumerate(learners)),
                                     encoding="utf-8")
    assert import_roster(course_dir=course, csv_path=base / "roster.csv").ok
    collected = collect_submissions(course_dir=course, assignment=A, path=box)
    assert sorted(collected.placed) == sorted(learners)
    return course, learners


@pytest.fixture(scope="module")
def listener():
    lst = Listener()
    yield lst
    lst.close()


@pytest.fixture(scope="module")
def sandboxed(tmp_path_factory, listener):
    require_sandbox()
    token = uuid.uuid4().hex[:12]
    course, learners = _make_course(tmp_path_factory.mktemp(f"grade_{token}_"), token, listener.port)
    before = _hashes(course / "submitted")
    report = grade_assignment(course_dir=course, assignment=A, workers=2, cell_timeout=5, timeout=90,
                              progress=False, sandbox="required")
    return {"course": course, "learners": learners, "report": report, "before": before, "token": token,
            "connections": list(listener.connections)}


@pytest.mark.slow
def test_every_submission_gets_its_exact_score_in_the_sandbox(sandboxed):
    course, report = sandboxed["course"], sandboxed["report"]
    outcomes = {o.learner: o for o in report.outcomes}
    assert sorted(outcomes) == sorted(hostile.EXPECTED_SANDBOX) == sandboxed["learners"]
    totals = _gradebook_totals(course)
    for learner, (score, state) in hostile.EXPECTED_SANDBOX.items():
        got = outcomes[learner]
        assert got.status == state, (learner, got)
        assert got.isolation == "sandbox"
        if state == "failed":
            assert got.score == 0 and totals[learner] == 0 and got.reason, (learner, got)
            assert got.regrade.startswith(f"cs-dojo grade {A} --learner {learner} --force")
        else:
            assert got.score == score and totals[learner] == score, (learner, got, totals[learner])
    assert "kernel" in outcomes["crash"].reason and "ノートブックとして読めません" in outcomes["corrupt"].reason
    assert report.isolation == "sandbox" and not report.warning
    log = json.loads((course / "grading_log.json").read_text(encoding="utf-8"))[A]
    assert {entry["isolation"] for entry in log.values()} == {"sandbox"}
    csv_text = (course / "logs" / f"grading_{A}.csv").read_text(encoding="utf-8")
    assert csv_text.splitlines()[0].split(",")[:6] == ["learner", "status", "score", "auto_max", "manual_pending",
                                                       "isolation"]
    assert "z01_canary,graded,7.0,7.0,1,sandbox" in csv_text
    text = format_report(report)
    assert "状態: 採点済み (graded) 13 / 注記つき (graded with notes) 2 / 0点記録 (failed) 2 / 変更なし (skipped) 0" in text
    assert f"cs-dojo grade {A} --learner crash --force" in text


@pytest.mark.slow
def test_hostile_code_found_nothing_and_changed_nothing(sandboxed):
    course, token = sandboxed["course"], sandboxed["token"]
    assert "wiped: 0" in _outputs(course, "a01_dbwiper")
    walker = _outputs(course, "a02_procwalker")
    assert "courses wiped: 0" in walker
    seen = int(walker.split("processes seen:")[1].split()[0])
    assert seen <= 3, walker  # its own PID namespace: the sandbox's init, the kernel and maybe a child
    assert "source notebooks read: 0" in _outputs(course, "a03_reader")
    assert "network: no connection" in _outputs(course, "a04_netprobe")
    assert "own loopback: ok" in _outputs(course, "a04_netprobe")
    assert sandboxed["connections"] == []  # the test's listener saw nothing
    writer = _outputs(course, "a05_writer")
    assert f"denied cs_dojo_escape_{token}.txt OSError" in writer and "wrote" not in writer
    assert not (Path(sysconfig.get_paths()["purelib"]) / f"cs_dojo_escape_{token}.txt").exists()
    assert not list(course.rglob(f"escape_{token}.txt"))
    assert _hashes(course / "submitted") == sandboxed["before"]
    assert gradebook_problem(course, A) == ""
    con = sqlite3.connect(course / "gradebook.db")
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert con.execute("SELECT COUNT(*) FROM student").fetchone()[0] == len(sandboxed["learners"])
    con.close()


@pytest.mark.slow
def test_accidents_are_graded_as_meant_and_named(sandboxed):
    course = sandboxed["course"]
    outcomes = {o.learner: o for o in sandboxed["report"].outcomes}
    assert outcomes["dup"].notes == [
        "sample: duplicated cell q1_answer: 2 copies, graded copy no. 2 (last changed copy)",
        "sample: duplicated cell q3_test: 2 copies, graded copy no. 1 (first copy, none changed)"]
    dup = json.loads((course / "autograded" / "dup" / A / "sample.ipynb").read_text(encoding="utf-8"))
    notes = [c for c in dup["cells"] if "採点メモ" in "".join(c["source"])]
    assert len(notes) == 2 and "`q1_answer` が提出物に 2 個ありました" in "".join(notes[0]["source"])
    # the stderr warnings are still in the test cell's output, and the cell still counts as passed
    noisy = json.loads((course / "autograded" / "noisywarn" / A / "sample.ipynb").read_text(encoding="utf-8"))
    q2 = next(c for c in noisy["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == "q2_test")
    assert any(o.get("name") == "stderr" for o in q2["outputs"]) and outcomes["noisywarn"].questions["q2_test"] == 3
    assert outcomes["a04_netprobe"].questions == {"q1_test": 2.0, "q2_test": 3.0, "q3_test": 2.0,
                                                  "q4_reflection": None}


@pytest.mark.slow
def test_feedback_holds_no_solution_or_hidden_test(sandboxed):
    course = sandboxed["course"]
    sources = sorted((course / "source" / A).glob("*.ipynb"))
    hidden, solutions = hidden_test_snippets(sources), solution_snippets(sources)
    assert hidden and solutions
    fb = generate_feedback(course_dir=course, assignment=A)
    assert sorted(fb.failed_pages) == ["corrupt", "crash"]
    pages = list((course / "feedback").rglob("*.html"))
    assert len(pages) == len(sandboxed["learners"])
    for page in pages:
        learner = page.relative_to(course / "feedback").parts[0]
        html = page.read_text(encoding="utf-8")
        own = "".join(p.read_text(encoding="utf-8") for p in iter_files(course / "submitted" / learner))
        for needle in hidden + ["BEGIN HIDDEN TESTS", "BEGIN SOLUTION"] + [s for s in solutions if s not in own]:
            assert needle not in html and needle.replace('"', "&quot;") not in html, (page, needle)
    assert "採点メモ" in (course / "feedback" / "dup" / A / "sample.html").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def unsandboxed(tmp_path_factory, listener):
    token = uuid.uuid4().hex[:12]
    course, learners = _make_course(tmp_path_factory.mktemp(f"grade_off_{token}_"), token, listener.port)
    start = len(listener.connections)
    escape = Path(sysconfig.get_paths()["purelib"]) / f"cs_dojo_escape_{token}.txt"
    try:
        report = grade_assignment(course_dir=course, assignment=A, workers=2, cell_timeout=5, timeout=90,
                                  progress=False, sandbox="off",
                                  learners=["a01_dbwiper", "a03_reader", "a04_netprobe", "a05_writer", "z01_canary"])
        escaped = escape.exists()
    finally:
        escape.unlink(missing_ok=True)
    return {"course": course, "report": report, "token": token, "escaped": escaped,
            "connections": listener.connections[start:]}


@pytest.mark.slow
def test_process_isolation_alone_stops_the_shared_database_bug_but_not_reading_writing_or_network(unsandboxed):
    course, token = unsandboxed["course"], unsandboxed["token"]
    outcomes = {o.learner: o for o in unsandboxed["report"].outcomes}
    assert {o.isolation for o in outcomes.values()} == {"process"} and not unsandboxed["report"].warning
    # stopped: the wiper only finds its own private gradebook copy, so only its own grading fails
    assert outcomes["a01_dbwiper"].status == "failed" and outcomes["a01_dbwiper"].score == 0
    assert outcomes["z01_canary"].status == "graded" and outcomes["z01_canary"].score == 7
    # not stopped: it reads the source notebooks (hidden tests) into its output...
    assert outcomes["a03_reader"].score == 7 and "BEGIN HIDDEN TESTS" in _outputs(course, "a03_reader")
    # ...reaches the network (the listener saw the probe)...
    assert outcomes["a04_netprobe"].score == 7 and "network: connected" in _outputs(course, "a04_netprobe")
    assert unsandboxed["connections"] == [b"cs-dojo network probe"]
    # ...and writes outside its folder: into the interpreter's site-packages and into the course itself
    assert unsandboxed["escaped"] and (course / f"escape_{token}.txt").exists()


@pytest.mark.slow
def test_without_the_sandbox_a_proc_walker_damages_the_gradebook_and_grading_stops(unsandboxed, monkeypatch):
    course = unsandboxed["course"]
    monkeypatch.setattr(sb, "find_bwrap", lambda: None)  # as on a machine without bubblewrap: auto falls back
    err = io.StringIO()
    with contextlib.redirect_stderr(err), pytest.raises(CourseError, match="gradebook.db が採点中に壊されました") as exc:
        grade_assignment(course_dir=course, assignment=A, workers=1, cell_timeout=5, timeout=90, progress=False,
                         sandbox="auto", learners=["a02_procwalker"])
    warnings = [line for line in err.getvalue().splitlines() if line.startswith("警告")]
    assert len(warnings) == 1 and "bubblewrap (bwrap) is not installed" in warnings[0]
    assert gradebook_problem(course, A)  # the walker found the course through /proc and emptied the gradebook
    backup = str(exc.value).split("cp ")[1].split()[0]
    shutil.copyfile(backup, course / "gradebook.db")  # the command the message gives restores it
    assert gradebook_problem(course, A) == ""
    assert _gradebook_totals(course)["z01_canary"] == 7


def test_required_refuses_and_auto_falls_back_with_the_reason(monkeypatch):
    monkeypatch.setattr(sb, "find_bwrap", lambda: None)
    with pytest.raises(sb.SandboxUnavailable) as exc:
        sb.resolve_isolation("required")
    assert "not installed" in exc.value.reason and "apt-get install bubblewrap" in exc.value.fix
    iso = sb.resolve_isolation("auto")
    assert iso.level == "process" and "sudo apt-get install bubblewrap" in iso.warning
    assert sb.resolve_isolation("off") == sb.Isolation("process")


def test_sandbox_command_hides_the_course_and_binds_only_what_grading_needs(tmp_path):
    box, sub = tmp_path / "box", tmp_path / "course" / "submitted" / "x" / A
    argv = sb.bwrap_argv("bwrap", writable=[box, sub], cwd=sub, command=["python", "-m", "ipykernel_launcher"])
    for flag in ("--unshare-all", "--die-with-parent", "--new-session"):
        assert flag in argv
    assert argv[argv.index("--proc") + 1] == "/proc" and argv[argv.index("--tmpfs") + 1] == "/tmp"
    writable = [argv[i + 1] for i, a in enumerate(argv) if a == "--bind"]
    assert writable == [str(box), str(sub)]
    readonly = [argv[i + 1] for i, a in enumerate(argv) if a == "--ro-bind"]
    repo = Path(__file__).resolve().parents[1]
    assert not any(Path(p) == repo or Path(p) == Path.home() for p in readonly)
    assert not any(Path(p).is_relative_to(repo / "exercises") for p in readonly)
    assert argv[-3:] == ["python", "-m", "ipykernel_launcher"]


def test_the_hub_requires_the_sandbox_even_over_a_course_file_that_says_auto(tmp_path, monkeypatch):
    from cs_helpers.course.grading.settings import configured_sandbox
    repo = Path(__file__).resolve().parents[1]
    shutil.copyfile(repo / "grading" / "nbgrader_config.py", tmp_path / "nbgrader_config.py")
    monkeypatch.setenv("JUPYTER_CONFIG_PATH", str(tmp_path / "nothing-here"))
    assert configured_sandbox(tmp_path) == "auto"
    hub = repo / "deploy" / "jupyterhub" / "jupyter"
    monkeypatch.setenv("JUPYTER_CONFIG_PATH", os.pathsep.join([str(hub / "trainer"), str(hub / "common")]))
    assert configured_sandbox(tmp_path) == "required"


@pytest.mark.slow
def test_roleplay_cells_are_scored_by_the_trusted_scorer_in_the_parent(tmp_path, monkeypatch):
    """The contract with cs_helpers.roleplay.trusted: a test cell whose *source* metadata names a scenario gets the
    trusted scorer's points and message instead of what the kernel computed (a double stands in for the scorer)."""
    import sys
    import types

    from nbgrader.api import Gradebook
    empty = tmp_path / "empty"
    empty.mkdir()
    course = tmp_path / "course"
    init_course(course, exercises=empty, curriculum=empty)
    release_assignment(course_dir=course, assignment=A, make_zip=False)
    source = course / "source" / A / "sample.ipynb"
    nb = json.loads(source.read_text(encoding="utf-8"))
    cell = next(c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == "q3_test")
    cell["metadata"]["cs_dojo"] = {"roleplay": "renewal_call"}
    source.write_text(json.dumps(nb, ensure_ascii=False), encoding="utf-8")
    (tmp_path / "roster.csv").write_text("learner_id,name,email,cohort\nfull,満点 太郎,,c1\n", encoding="utf-8")
    import_roster(course_dir=course, csv_path=tmp_path / "roster.csv")
    collect_submissions(course_dir=course, assignment=A, path=FIX / "submissions")
    calls = []

    def score_submission(scenario_id, *, submission_dir, learner, points):
        calls.append((scenario_id, Path(submission_dir), learner, points))
        return types.SimpleNamespace(points=1.5, message="「更新の電話」: 1.5 / 2 点", reason="", restarts=2)

    monkeypatch.setattr("cs_helpers.roleplay.trusted.score_submission", score_submission)
    report = grade_assignment(course_dir=course, assignment=A, workers=1, cell_timeout=5, progress=False)
    got = report.outcomes[0]
    assert calls == [("renewal_call", course / "submitted" / "full" / A, "full", 2.0)]
    assert got.questions["q3_test"] == 1.5 and got.score == 6.5 and got.status == "graded with notes"
    assert got.notes == ["roleplay q3_test: restarts: 2"]
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "cs-dojo") as gb:
        assert gb.find_grade("q3_test", "sample", A, "full").auto_score == 1.5
    graded = json.loads((course / "autograded" / "full" / A / "sample.ipynb").read_text(encoding="utf-8"))
    q3 = next(c for c in graded["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == "q3_test")
    assert ["".join(o["text"]) for o in q3["outputs"]] == ["「更新の電話」: 1.5 / 2 点\n"]
    # without the scorer module the roleplay cell scores 0 and the log says why
    monkeypatch.setitem(sys.modules, "cs_helpers.roleplay.trusted", None)
    again = grade_assignment(course_dir=course, assignment=A, workers=1, cell_timeout=5, progress=False, force=True)
    assert again.outcomes[0].questions["q3_test"] == 0 and again.outcomes[0].score == 5
    assert "roleplay scorer unavailable" in again.outcomes[0].notes[0]
