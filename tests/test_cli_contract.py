"""One CLI contract for every command: `--help` works and shows an example, a group without an action prints its
own help, options name their values (no argparse default metavars), and user errors are one line."""
from __future__ import annotations

import argparse
import contextlib
import io
import subprocess
import sys

import pytest

from cs_helpers import cli


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _walk(parser, path=()):
    yield path, parser
    seen = set()
    for name, sub in _subparsers(parser).items():
        if id(sub) in seen:  # aliases (personalise / personalize) share one parser
            continue
        seen.add(id(sub))
        yield from _walk(sub, (*path, name))


COMMANDS = [path for path, _ in _walk(cli.build_parser()) if path]
GROUPS = [path for path, parser in _walk(cli.build_parser()) if path and _subparsers(parser)]


def _run(argv) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main(list(argv))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    return code, out.getvalue(), err.getvalue()


def test_the_walk_finds_the_trainer_pipeline():
    names = {" ".join(p) for p in COMMANDS}
    for expected in ("init", "roster import", "release", "collect", "grade", "feedback", "export", "report",
                     "scenario lint", "session new", "data regenerate"):
        assert expected in names, names


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_help_works_and_shows_an_example(path):
    code, out, _ = _run([*path, "--help"])
    assert code == 0 and f"usage: cs-dojo {' '.join(path)}" in out
    if not _subparsers(dict(_walk(cli.build_parser()))[path]):
        assert "例" in out, f"`cs-dojo {' '.join(path)} --help` has no example (例)"


@pytest.mark.parametrize("path", GROUPS, ids=" ".join)
def test_a_group_without_an_action_prints_its_own_help(path):
    code, out, _ = _run(path)
    assert code == 2 and out.startswith(f"usage: cs-dojo {' '.join(path)} "), out[:200]


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_options_name_their_values(path):
    parser = dict(_walk(cli.build_parser()))[path]
    defaults = [a.option_strings[-1] for a in parser._actions
                if a.option_strings and a.nargs != 0 and a.metavar is None and not a.choices]
    assert not defaults, f"`cs-dojo {' '.join(path)}`: give these options a metavar (N, SECONDS, DIR…): {defaults}"


def test_version_and_global_course_dir(tmp_path):
    code, out, _ = _run(["--version"])
    assert code == 0 and out.startswith("cs-dojo ")
    code, _, err = _run(["-C", str(tmp_path), "roster", "show"])
    assert code == 1 and str(tmp_path) in err and "Traceback" not in err
    code, _, err = _run(["-C", str(tmp_path), "scenario", "lint", "x.yaml"])
    assert code == 2 and "-C" in err


def test_user_errors_are_one_line_without_a_traceback(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    proc = subprocess.run([sys.executable, "-m", "cs_helpers.cli", "data", "regenerate", "--out",
                           str(blocker / "sub")], capture_output=True, text=True)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr and "エラー" in proc.stderr, proc.stderr


def test_each_command_is_served_by_the_module_the_table_names():
    """`cs-dojo COMMAND` imports only the module that `cli.COMMAND_MODULES` names for it: the table must say exactly
    what each module registers, or a command would be missing from its own parser."""
    import importlib
    for name, commands in cli.COMMAND_MODULES.items():
        sub = argparse.ArgumentParser().add_subparsers()
        importlib.import_module(name).register(sub)
        assert tuple(sub.choices) == commands, name
    whole = set(_subparsers(cli.build_parser()))
    assert whole == {c for commands in cli.COMMAND_MODULES.values() for c in commands}
    for command in whole:
        assert command in _subparsers(cli.build_parser(command))


@pytest.mark.parametrize("argv, expected", [(["grade", "01"], "grade"), (["-C", "grade", "report"], "report"),
                                            (["--course-dir", "x", "health", "check"], "health"),
                                            (["--debug", "answers"], "answers"), (["--help"], None), ([], None)])
def test_the_command_word_is_found_after_global_options(argv, expected):
    assert cli.command_of(argv) == expected


def test_grade_does_not_import_the_analysis_stack():
    """`cs-dojo grade` starts in a fraction of a second: pandas and SciPy stay unimported until a command needs them."""
    code = ("import sys; from cs_helpers import cli; cli.build_parser('grade'); "
            "print(sorted(m for m in ('pandas', 'scipy', 'numpy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
