"""The ``cs-dojo`` command line.

Each group of subcommands lives in its own module exposing ``register(subparsers)``; this file
only wires them together so the Python API and the command line share one implementation.
"""
from __future__ import annotations

import argparse
import importlib
import sys

# Modules that add subcommands, with the commands each one adds. Each exposes ``register(subparsers)`` where
# ``subparsers`` is the object returned by ``ArgumentParser.add_subparsers``; handlers are set with
# ``set_defaults(func=...)`` and return an exit code. ``cs-dojo COMMAND`` imports only the module that serves COMMAND:
# the others import pandas and SciPy (~0.9 s before anything happens); tests/test_cli_contract.py keeps this table
# equal to what the modules register.
COMMAND_MODULES = {
    # init, roster, personalise, release, collect, grade, feedback, export, report
    "cs_helpers.course.cli": ("init", "roster", "personalise", "personalize", "release", "collect", "grade",
                              "feedback", "export", "report"),
    "cs_helpers.course.answers.cli": ("answers",),  # answers group / list (grade free text a group at a time)
    "cs_helpers.roleplay.cli": ("scenario",),        # scenario lint
    "cs_helpers.session": ("session",),              # session new / summary (study-session kit)
    "cs_helpers.maint.synth": ("data",),             # data regenerate
    "cs_helpers.health.cli": ("health",),            # health check (learned, validated health score for your CSV)
}
_GLOBAL_WITH_VALUE = ("-C", "--course-dir")


EPILOG = """\
講師の採点の流れ (trainer pipeline, in order):
  cs-dojo init ~/cs-course                     1. 講座ワークスペースを作る
  cs-dojo -C ~/cs-course roster import 名簿.csv  2. 受講者名簿を取り込む
  cs-dojo -C ~/cs-course personalise           3. レッスンを受講者ごとに個別化する (papermill)
  cs-dojo -C ~/cs-course release 01_mindset    4. 課題を配布用に生成する (nbgrader generate_assignment)
  cs-dojo -C ~/cs-course collect 01_mindset 提出.zip   5. 提出物を回収する
  cs-dojo -C ~/cs-course grade 01_mindset      6. サンドボックスの中で並列に自動採点する
  cs-dojo -C ~/cs-course feedback 01_mindset   7. 受講者ごとのフィードバック HTML
  cs-dojo -C ~/cs-course export                8. 問ごとの得点 (CSV / Excel)
  cs-dojo -C ~/cs-course report                9. コホートレポート (HTML)
そのほか:
  cs-dojo scenario lint --strict datasets/scenarios/*.yaml   ロールプレイのシナリオを検査する
  cs-dojo session new --group 東京CS勉強会 --module 05         勉強会用のノートブック一式を作る
  cs-dojo data regenerate                                    datasets/ を再生成する (シード固定・毎回同一)
  cs-dojo health check 顧客.csv --mapping map.yaml --out 結果/  自社のデータでヘルススコアを学習・検証する
詳しくは各サブコマンドの --help を参照してください。-C/--course-dir はコマンドの前でも後でも指定できます。
"""


def package_version() -> str:
    """The installed distribution's version (one source: pyproject.toml)."""
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("cs-dojo")
    except PackageNotFoundError:  # running from a checkout that was never installed
        import tomllib
        from pathlib import Path
        pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
        return tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["version"]


def command_of(argv: list[str]) -> str | None:
    """The subcommand word of ``argv`` (the first word that is not an option or an option's value), if any."""
    words = iter(argv)
    for word in words:
        if word in _GLOBAL_WITH_VALUE:
            next(words, None)
        elif not word.startswith("-"):
            return word
    return None


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The whole ``cs-dojo`` parser, or, for a known ``command``, one holding only the module that serves it."""
    parser = argparse.ArgumentParser(
        prog="cs-dojo",
        description="CS Dojo — カスタマーサクセス研修の教材・採点ツール (trainer CLI)",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"cs-dojo {package_version()}")
    parser.add_argument("-C", "--course-dir", dest="global_course_dir", metavar="DIR", default=None,
                        help="講座ワークスペース (コマンドの後の -C と同じ)")
    parser.add_argument("--debug", action="store_true", help="エラーのときにトレースバックも表示する")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    modules = [name for name, commands in COMMAND_MODULES.items() if command in commands] or list(COMMAND_MODULES)
    for name in modules:
        importlib.import_module(name).register(sub)
    return parser


def print_help_of(parser: argparse.ArgumentParser, args=None) -> int:
    """Handler for a command group called without an action: print that group's own help, exit code 2."""
    parser.print_help()
    return 2


def _is_user_error(exc: BaseException) -> bool:
    """Errors a user can fix (bad input, missing file): one line, no traceback."""
    from .course.common import CourseError
    if isinstance(exc, (CourseError, OSError)):
        return True
    return isinstance(exc, (ValueError, KeyError)) and type(exc).__module__.startswith("cs_helpers")


def _describe(exc: BaseException) -> str:
    if isinstance(exc, OSError) and getattr(exc, "filename", None):
        return f"{exc.strerror or type(exc).__name__}: {exc.filename}"
    if isinstance(exc, KeyError) and exc.args:
        return str(exc.args[0])
    return str(exc) or type(exc).__name__


def main(argv: list[str] | None = None) -> int:
    parser = build_parser(command_of(sys.argv[1:] if argv is None else argv))
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    if args.global_course_dir is not None:
        if not hasattr(args, "course_dir"):
            print(f"エラー: cs-dojo {args.command} は -C/--course-dir を使いません。", file=sys.stderr)
            return 2
        if args.course_dir in (None, "."):
            args.course_dir = args.global_course_dir
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("中断しました (interrupted)", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - user errors become one line; everything else keeps its traceback
        if args.debug or not _is_user_error(exc):
            raise
        print(f"エラー: {_describe(exc)}", file=sys.stderr)
        print("(詳しくは cs-dojo --debug ... で再実行してください)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
