"""The scenario linter finds each kind of fault, at the right file, line and node, and the CLI exits 1.

Every ``tests/fixtures/roleplay/broken_*.yaml`` is ``minimal.yaml`` with one fault, and ends with comments
``# expect: <code> <line> <node>`` naming the errors it must produce. ``gameable.yaml`` is shippable by size but
can be passed blind; ``fair.yaml`` is the same conversation made fair: ``--strict`` flags every gameability rule in
the first and nothing in the second.
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
from cs_helpers.roleplay.analysis import best_by_ending, best_path
from cs_helpers.roleplay.engine import apply_effects, offered, resolve_target, score_from_sums, rubric_sums
from cs_helpers.roleplay.lint import lint_file, lint_paths, verdict_words
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
    strict = sorted(i.code for i in lint_file(path, strict=True) if i.severity == "error")
    # too few nodes and criteria for a shipped scenario; and it is gameable (polite = right, ids with verdicts,
    # the model answer is the shortest at both decisions, a fail ending whose criteria alone would pass)
    assert strict == ["fail-can-pass", "gameable-length", "gameable-politeness", "size", "size", "verdict-id",
                      "verdict-id", "verdict-id"], strict
    assert lint_command([str(path)], strict=True, out=io.StringIO()) == 1


def test_folder_argument_and_missing_path(tmp_path: Path):
    files, issues = lint_paths([FIXTURES])
    assert len(files) == len(BROKEN) + 3      # + minimal, gameable, fair
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


# --- gameability (--strict) ------------------------------------------------------------------------------------

def test_gameable_fixture_is_flagged_by_every_rule():
    path = FIXTURES / "gameable.yaml"
    assert lint_command([str(path)], out=io.StringIO()) == 0          # warnings only without --strict
    issues = lint_file(path, strict=True)
    assert {i.severity for i in issues} == {"error"}
    by_code = {}
    for i in issues:
        by_code.setdefault(i.code, []).append(i)
    assert set(by_code) == {"verdict-id", "gameable-politeness", "gameable-length", "fail-can-pass",
                            "partial-full-marks"}, sorted(by_code)
    assert len(by_code["verdict-id"]) == 20 and by_code["verdict-id"][0].line == 16
    assert by_code["verdict-id"][0].node == "s01" and "s01_good" in by_code["verdict-id"][0].message
    assert "10 場面のうち 10 場面" in by_code["gameable-length"][0].message and "最も長い" in by_code["gameable-length"][0].message
    assert "10 個すべて" in by_code["gameable-politeness"][0].message
    assert [(i.node, i.line) for i in by_code["fail-can-pass"]] == [("lose", 81)]
    assert "1.00" in by_code["fail-can-pass"][0].message
    assert [(i.node, i.line) for i in by_code["partial-full-marks"]] == [("half", 80)]
    out = io.StringIO()
    assert lint_command([str(path)], strict=True, out=out) == 1
    assert out.getvalue().splitlines()[-1] == "1 ファイルを検査: エラー 24 件、警告 0 件"


def test_fair_fixture_passes_strict():
    path = FIXTURES / "fair.yaml"
    assert lint_file(path, strict=True) == []
    assert lint_command([str(path)], strict=True, out=io.StringIO()) == 0


@pytest.mark.parametrize("cid, words", [
    ("op_a", []), ("ng_d", []), ("prep_e", []), ("s01_b", []), ("cl_promise", ["promise"]),
    ("op_quick_yes", ["quick_yes"]), ("ph_discount", ["discount"]), ("close_good", ["good"]),
    ("rp_we_do_it", ["we_do_it", "do_it"]), ("ask_why", ["ask_why"]), ("best", ["best"]), ("gr_excuse", ["excuse"]),
    ("wrong_turn", ["wrong"]), ("goodwill", []), ("badge_a", []),
])
def test_verdict_words_match_whole_id_parts(cid, words):
    assert verdict_words(cid) == words


def _all_paths(sc):
    """Every complete (path, ending, uncapped total) by brute force (the fixtures are loop-free and small)."""
    out = []
    stack = [(sc.start, sc.initial_state(), [])]
    while stack:
        node, state, path = stack.pop()
        for ch in offered(sc.nodes[node], state):
            new = apply_effects(sc, state, ch)
            target = resolve_target(ch, new)
            if target in sc.endings:
                chosen = [sc.choices[c] for c in path + [ch.id]]
                report = score_from_sums(sc, rubric_sums(sc, chosen, sc.endings[target]), sc.endings[target])
                out.append((path + [ch.id], target, report.uncapped))
            else:
                stack.append((target, new, path + [ch.id]))
    return out


@pytest.mark.parametrize("name", ["gameable", "fair", "minimal"])
def test_best_by_ending_matches_brute_force(name):
    sc = load_scenario(FIXTURES / f"{name}.yaml")
    paths = _all_paths(sc)
    expected = {}
    for _p, end, total in paths:
        expected[end] = max(expected.get(end, -1.0), total)
    got = best_by_ending(sc)
    assert {e: round(v, 9) for e, (_p, v) in got.items()} == {e: round(v, 9) for e, v in expected.items()}
    for end, (path, value) in got.items():
        assert (path, end) in [(p, e) for p, e, _t in paths]
    # best_path takes the ending's cap into account (a capped fail path never beats a lower success path)
    capped = max(min(t, {"fail": 0.5, "partial": 0.8}.get(sc.endings[e].outcome, 1.0)) for _p, e, t in paths)
    assert best_path(sc)[1] == pytest.approx(capped)


def test_invalid_id_is_reported_once_and_the_skip_note_comes_last(tmp_path):
    text = (FIXTURES / "minimal.yaml").read_text(encoding="utf-8")
    path = tmp_path / "bad.yaml"
    path.write_text(text.replace("id: minimal", "id: Bad-Id"), encoding="utf-8")
    issues = lint_file(path)
    errors = [i for i in issues if i.severity == "error"]
    assert len(errors) == 1 and "Bad-Id" in errors[0].message and "invalid" not in errors[0].message
    assert issues[-1].code == "graph-skipped" and issues[-1].severity == "warning"


def test_fix_hints_for_targets_and_unreachable_nodes():
    target = next(i for i in lint_file(FIXTURES / "broken_unknown_target.yaml") if i.code == "unknown-target")
    assert "もしかして: lose" in target.message
    orphan = next(i for i in lint_file(FIXTURES / "broken_unreachable_node.yaml") if i.code == "unreachable-node")
    assert "next に" in orphan.message and "削除" in orphan.message


def test_scenario_group_without_action_prints_its_own_help(capsys):
    assert cli_main(["scenario"]) == 2
    out = capsys.readouterr().out
    assert "ロールプレイのシナリオに関するコマンドです" in out and "cs-dojo scenario" in out
