"""Small pieces of the trainer pipeline: cell restoring, hidden-test hiding, leak checks, personalise."""
from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from cs_helpers.course.common import CourseError, find_leaks, hidden_test_snippets
from cs_helpers.course.grade import restore_missing_cells
from cs_helpers.course.preprocessors import HideHiddenTests, LimitOutputChars

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "grading" / "workspace_template" / "source" / "00_sample" / "sample.ipynb"
FIX = ROOT / "tests" / "fixtures" / "course"


def _released():
    return nbformat.read(str(FIX / "submissions" / "blank_sample.ipynb"), as_version=4)


def test_restore_missing_cells_puts_deleted_cells_back_in_place():
    release = _released()
    sub = nbformat.read(str(FIX / "submissions" / "deleted_sample.ipynb"), as_version=4)
    ids = lambda nb: [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]  # noqa: E731
    assert "q1_test" not in ids(sub)
    restored = restore_missing_cells(sub, release)
    assert sorted(restored) == ["q1_test", "q2_answer"]
    assert [i for i in ids(sub) if i] == [i for i in ids(release) if i]
    # nothing to do the second time
    assert restore_missing_cells(sub, release) == []


def test_hide_hidden_tests_removes_source_and_failing_output():
    nb = nbformat.read(str(SOURCE), as_version=4)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "q2_test")
    cell.outputs = [nbformat.v4.new_output("error", ename="AssertionError", evalue="",
                                           traceback=["----> 5 assert [health_band(s) for s in (70, 69.5)]"])]
    HideHiddenTests().preprocess_cell(cell, {}, 0)
    text = json.dumps(cell, ensure_ascii=False)
    for needle in hidden_test_snippets([SOURCE]):
        assert needle not in text
    assert "health_band(85)" in cell.source and "非公開テスト" in cell.source
    assert "AssertionError" in cell.outputs[0].text and "69.5" not in cell.outputs[0].text


def test_limit_output_chars_caps_long_streams():
    cell = nbformat.v4.new_code_cell("print('x' * 10)")
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="x" * 500_000)]
    pp = LimitOutputChars(max_chars=1000)
    pp.preprocess_cell(cell, {}, 0)
    assert len(cell.outputs[0].text) < 1200 and "省略" in cell.outputs[0].text


def test_find_leaks_sees_escaped_html_and_notebook_json(tmp_path):
    snippet = 'assert renewal_rate(0, 0) == 0.0, "対象0社のときの扱いを見直しましょう"'
    (tmp_path / "a.html").write_text("<pre>" + snippet.replace('"', "&quot;") + "</pre>", encoding="utf-8")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(snippet)])
    (tmp_path / "b.ipynb").write_text(json.dumps(nb, ensure_ascii=True), encoding="utf-8")
    (tmp_path / "c.html").write_text("<p>clean</p>", encoding="utf-8")
    leaks = find_leaks(sorted(tmp_path.iterdir()), [snippet], markers=())
    assert [Path(x.split(": ")[0]).name for x in leaks] == ["a.html", "b.ipynb"]


@pytest.fixture(scope="module")
def lesson_course(tmp_path_factory):
    from cs_helpers.course.roster import import_roster
    from cs_helpers.course.workspace import init_course
    tmp = tmp_path_factory.mktemp("personalise")
    empty = tmp / "empty"
    empty.mkdir()
    course = tmp / "course"
    init_course(course, exercises=empty, curriculum=empty)
    (tmp / "r.csv").write_text("learner_id,name,email,cohort,company_profile\n"
                               "a1,甲 一,,c1,enterprise\na2,乙 二,,c1,\nb1,丙 三,,c2,\n", encoding="utf-8")
    import_roster(course_dir=course, csv_path=tmp / "r.csv")
    # a lesson whose nbgrader cell carries the parameters tag must be refused
    bad = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    bad.cells[0].metadata["tags"] = ["parameters"]
    bad.cells[0].metadata["nbgrader"] = {"grade_id": "x", "grade": False, "solution": True, "locked": False}
    nbformat.write(bad, str(course / "lessons" / "zz_bad.ipynb"))
    (course / "lessons" / "sub").mkdir()
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("読み物")]),
                   str(course / "lessons" / "sub" / "plain.ipynb"))
    return course


def test_personalise_prepare_only(lesson_course):
    from cs_helpers.course.personalise import personalise
    from cs_helpers.learner import learner_seed
    r = personalise(course_dir=lesson_course, prepare_only=True, progress=False)
    assert r.refused and r.refused[0][0] == "zz_bad.ipynb"
    assert r.copied == ["sub/plain.ipynb"] and r.written == 3 * 2
    nb = json.loads((lesson_course / "personalised" / "a1" / "00_sample_lesson.ipynb").read_text(encoding="utf-8"))
    tags = [c["metadata"].get("tags", []) for c in nb["cells"]]
    injected = tags.index(["injected-parameters"])
    assert tags[injected - 1] == ["parameters"]
    src = "".join(nb["cells"][injected]["source"])
    assert 'learner_id = "a1"' in src and 'company_profile = "enterprise"' in src
    assert f"data_seed = {learner_seed('data', 'a1')}" in src
    assert not any(c.get("outputs") for c in nb["cells"] if c["cell_type"] == "code")
    assert not (lesson_course / "personalised" / "a1" / "zz_bad.ipynb").exists()
    cohort = personalise(course_dir=lesson_course, per="cohort", prepare_only=True, progress=False)
    assert sorted(cohort.targets) == ["cohort-c1", "cohort-c2"]


@pytest.mark.slow
def test_personalise_executes_with_papermill(lesson_course):
    from cs_helpers.course.personalise import personalise
    r = personalise(course_dir=lesson_course, learners=["b1"], progress=False, out=lesson_course / "executed")
    assert not r.failures
    nb = json.loads((lesson_course / "executed" / "b1" / "00_sample_lesson.ipynb").read_text(encoding="utf-8"))
    printed = "".join("".join(o.get("text", "")) for c in nb["cells"] for o in c.get("outputs", []))
    assert "b1 さん (c2)" in printed


def test_unknown_learner_is_a_clear_error(lesson_course):
    from cs_helpers.course.personalise import personalise
    with pytest.raises(CourseError, match="nobody"):
        personalise(course_dir=lesson_course, learners=["nobody"], prepare_only=True, progress=False)


def test_cli_help_shows_examples_and_paths(capsys):
    from cs_helpers.cli import main
    for cmd in ("init", "personalise", "release", "collect", "grade", "feedback", "export", "report"):
        with pytest.raises(SystemExit):
            main([cmd, "--help"])
        out = capsys.readouterr().out
        assert "例:" in out, cmd
        assert "書くもの" in out or "読むもの" in out, cmd


def test_cli_reports_course_errors_without_traceback(tmp_path, capsys):
    from cs_helpers.cli import main
    assert main(["grade", "00_sample", "--course-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "講座ワークスペースではありません" in err and "Traceback" not in err


def test_failure_reason_comes_from_the_exception_not_the_log_text():
    """A failed worker run is explained by the exception that stopped it (nbgrader only logs it); a log that merely
    mentions an error name, e.g. a learner printing "DeadKernelError", does not change the verdict."""
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from nbgrader.preprocessors.execute import UnresponsiveKernelError
    from sqlalchemy.exc import OperationalError

    from cs_helpers.course.grading.worker import failure_reason
    noisy_log = "print('DeadKernelError MemoryError CellTimeoutError')\nValueError: boom"
    assert failure_reason(DeadKernelError("Kernel died"), noisy_log)[0] == "kernel"
    assert failure_reason(UnresponsiveKernelError(), noisy_log)[0] == "timeout"
    assert failure_reason(CellTimeoutError("slow"), noisy_log)[0] == "timeout"
    assert failure_reason(MemoryError(), noisy_log)[0] == "memory"
    assert failure_reason(OperationalError("SELECT 1", {}, Exception("locked")), noisy_log)[0] == "nbgrader"
    kind, reason = failure_reason(KeyError("q1_test"), noisy_log)
    assert kind == "nbgrader" and "KeyError" in reason and "q1_test" in reason
    assert failure_reason(None, noisy_log) == ("nbgrader", "nbgrader could not grade the submission: ValueError: boom")


def test_gradebook_engines_are_shared_inside_the_block_and_restored_after(tmp_path):
    import nbgrader.api as api
    from nbgrader.api import Gradebook

    from cs_helpers.course.grading.store import reused_gradebook_engines
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    original = api.create_engine
    with reused_gradebook_engines(throwaway=True):
        with Gradebook(url, "c") as first:
            first.add_student("s1")
        with Gradebook(url, "c") as second:
            assert second.engine is first.engine
            assert [s.id for s in second.students] == ["s1"]
            with second.engine.connect() as conn:
                assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 0  # OFF: a throwaway copy
    assert api.create_engine is original
    with reused_gradebook_engines():
        with Gradebook(url, "c") as third, third.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() != 0  # the real gradebook keeps its default
            assert [s.id for s in third.students] == ["s1"]


def test_grade_settings_are_checked_with_file_line_and_fix(tmp_path, monkeypatch):
    """c.CsDojoGrade is a traitlets Configurable: a misspelt name or a bad value stops the run naming the file and
    line and what to write instead; good values and the defaults come through."""
    from cs_helpers.course.grading.settings import grade_settings
    monkeypatch.setenv("JUPYTER_CONFIG_PATH", str(tmp_path / "nothing-here"))
    config = tmp_path / "nbgrader_config.py"
    config.write_text("c = get_config()  # noqa\n", encoding="utf-8")
    assert grade_settings(tmp_path) == {"timeout": 900, "memory_mb": 4096, "cell_timeout": 60, "sandbox": "auto"}
    config.write_text("c = get_config()  # noqa\nc.Execute.timeout = 30\nc.CsDojoGrade.timeout = 120\n"
                      "c.CsDojoGrade.sandbox = 'required'\n", encoding="utf-8")
    assert grade_settings(tmp_path) == {"timeout": 120, "memory_mb": 4096, "cell_timeout": 30, "sandbox": "required"}
    config.write_text("c = get_config()  # noqa\n\nc.CsDojoGrade.sandbx = 'required'\n", encoding="utf-8")
    with pytest.raises(CourseError) as err:
        grade_settings(tmp_path)
    assert f"{config}:3" in str(err.value) and "c.CsDojoGrade.sandbox のことですか" in str(err.value)
    config.write_text("c = get_config()  # noqa\nc.CsDojoGrade.sandbox = 'always'\n", encoding="utf-8")
    with pytest.raises(CourseError) as err:
        grade_settings(tmp_path)
    assert f"{config}:2" in str(err.value) and "auto / required / off" in str(err.value)
    config.write_text("c = get_config()  # noqa\nc.CsDojoGrade.memory_mb = 100\n", encoding="utf-8")
    with pytest.raises(CourseError, match="256 以上"):
        grade_settings(tmp_path)


def test_skipping_the_slow_iri_checker_does_not_outlive_the_jsonschema_import():
    """The speed fix keeps jsonschema from compiling rfc3987_syntax's grammar, but leaves the package importable for
    the rest of the process (a trainer may call grade_assignment from a notebook)."""
    import subprocess
    import sys
    code = ("import sys; from cs_helpers.course.grading.worker import skip_slow_iri_checker; skip_slow_iri_checker(); "
            "import jsonschema, nbformat; from jsonschema import FormatChecker; "
            "print('iri' in FormatChecker.checkers, 'rfc3987_syntax' in sys.modules); import rfc3987_syntax")
    import importlib.util
    if importlib.util.find_spec("rfc3987_syntax") is None:
        pytest.skip("rfc3987_syntax is not installed here: nothing to skip")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr  # importable again afterwards
    assert proc.stdout.split() == ["False", "False"]
