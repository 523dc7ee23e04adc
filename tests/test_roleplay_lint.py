"""The scenario linter finds each kind of fault, at the right file, line and node, and the CLI exits 1.

Every ``tests/fixtures/roleplay/broken_*.yaml`` is ``minimal.yaml`` with one fault, and ends with comments
``# expect: <code> <line> <node>`` naming the errors it must produce.
"""
from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cs_helpers.cli import main as cli_main
from cs_helpers.roleplay.cli import lint_command
from cs_helpers.roleplay.lint import lint_file, lint_paths
from cs_helpers.roleplay.schema import ScenarioError, load_scenario

FIXTURES = Path(__file__).parent / "fixtures" / "roleplay"
BROKEN = sorted(FIXTURES.glob("broken_*.yaml"))
EXPECT = re.compile(r"^# expect: (\S+) (\d+) (\S+)$", re.M)
LINE_FORMAT = re.compile(r"^(?P<file>[^:]+\.yaml):(?P<line>\d+): (?P<node>[^:]+): (?P<msg>.+)$")

# Faults the issue asks for, by linter code; every one must have a broken fixture.
REQUIRED_CODES = {"unknown-target", "unreachable-node", "dead-end", "undeclared-state", "out-of-range",
                  "duplicate-choice", "unreachable-ending", "bad-condition", "endless-loop"}


def expectations(path: Path) -> set[tuple[str, int, str]]:
    return {(code, int(line), node) for code, line, node in EXPECT.findall(path.read_text(encoding="utf-8"))}


def test_every_required_fault_has_a_fixture():
    covered = {code for p in BROKEN for code, _line, _node in expectations(p)}
    assert REQUIRED_CODES <= covered, f"no broken fixture for: {REQUIRED_CODES - covered}"


@pytest.mark.parametrize("path", BROKEN, ids=[p.stem for p in BROKEN])
def test_broken_fixture_reports_expected_errors(path: Path):
    expected = expectations(path)
    assert expected, f"{path.name} has no '# expect:' lines"
    issues = lint_file(path)
    errors = {(i.code, i.line, i.node) for i in issues if i.severity == "error"}
    assert expected <= errors, f"missing {expected - errors}; got {sorted(errors)}"
    # nothing unrelated: every error is of a kind the fixture is about
    assert {code for code, _l, _n in errors} <= {code for code, _l, _n in expected}, sorted(errors)
    assert all(i.file == str(path) for i in issues)


@pytest.mark.parametrize("path", BROKEN, ids=[p.stem for p in BROKEN])
def test_cli_prints_file_line_node_and_exits_1(path: Path):
    out = io.StringIO()
    assert lint_command([str(path)], out=out) == 1
    lines = out.getvalue().splitlines()
    problems = [m for m in (LINE_FORMAT.match(line) for line in lines[:-1]) if m]
    assert len(problems) == len(lines) - 1, f"lines not in file:line: node: message form:\n{out.getvalue()}"
    reported = {(int(m["line"]), m["node"]) for m in problems}
    assert {(line, node) for _c, line, node in expectations(path)} <= reported
    assert lines[-1].startswith("1 ファイルを検査: エラー ")


def test_broken_fixtures_do_not_load():
    for path in BROKEN:
        if any(code in {"unreachable-node", "unreachable-ending", "dead-end", "endless-loop"}
               for code, _l, _n in expectations(path)) and "broken_no_choices" not in path.name:
            continue  # graph faults: the file loads, only the linter objects
        with pytest.raises(ScenarioError) as err:
            load_scenario(path)
        assert err.value.issues and str(path) in str(err.value)


def test_minimal_fixture_is_clean_but_not_shippable():
    path = FIXTURES / "minimal.yaml"
    assert [i for i in lint_file(path) if i.severity == "error"] == []
    assert lint_command([str(path)], out=io.StringIO()) == 0
    strict = [i.code for i in lint_file(path, strict=True) if i.severity == "error"]
    assert strict == ["size", "size"], strict  # too few nodes and criteria for a shipped scenario
    assert lint_command([str(path)], strict=True, out=io.StringIO()) == 1


def test_folder_argument_and_missing_path(tmp_path: Path):
    files, issues = lint_paths([FIXTURES])
    assert len(files) == len(BROKEN) + 1
    out = io.StringIO()
    assert lint_command([str(tmp_path / "nope.yaml")], out=out) == 1
    assert "見つかりません" in out.getvalue()
    empty = tmp_path / "empty"
    empty.mkdir()
    out = io.StringIO()
    assert lint_command([str(empty)], out=out) == 1
    assert "見つかりませんでした" in out.getvalue()


def test_json_format_lists_codes():
    out = io.StringIO()
    assert lint_command([str(FIXTURES / "broken_unknown_target.yaml")], fmt="json", out=out) == 1
    payload = json.loads(out.getvalue())
    assert any(i["code"] == "unknown-target" and i["line"] == 47 and i["node"] == "middle"
               for i in payload["issues"])


def test_wired_into_cs_dojo_cli(capsys):
    assert cli_main(["scenario", "lint", str(FIXTURES / "broken_duplicate_choice.yaml")]) == 1
    assert "duplicate" not in capsys.readouterr().err
    assert cli_main(["scenario", "lint", str(FIXTURES / "minimal.yaml")]) == 0


def test_help_is_japanese_with_examples():
    proc = subprocess.run([sys.executable, "-m", "cs_helpers.cli", "scenario", "lint", "--help"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0
    assert "例 (examples)" in proc.stdout and "cs-dojo scenario lint datasets/scenarios/" in proc.stdout
    assert "ファイル:行: ノードid: メッセージ" in proc.stdout


def test_condition_errors_name_the_column():
    issue = next(i for i in lint_file(FIXTURES / "broken_bad_condition.yaml") if i.line == 40)
    assert "19文字目" in issue.message  # the first '>' of '>>'
