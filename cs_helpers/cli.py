"""The ``cs-dojo`` command line.

Each group of subcommands lives in its own module exposing ``register(subparsers)``; this file
only wires them together so the Python API and the command line share one implementation.
"""
from __future__ import annotations

import argparse
import importlib
import sys

# Modules that add subcommands. Each exposes ``register(subparsers)`` where ``subparsers`` is the
# object returned by ``ArgumentParser.add_subparsers``; handlers are set with ``set_defaults(func=...)``
# and return an exit code.
COMMAND_MODULES = [
    "cs_helpers.course.cli",      # init, roster, personalise, release, collect, grade, feedback, export, report
    "cs_helpers.roleplay.cli",    # scenario lint
    "cs_helpers.session",         # session new / summary (study-session kit)
    "cs_helpers.synth",           # data regenerate
]

EPILOG = """\
例 (examples):
  cs-dojo data regenerate              datasets/ を再生成する (シード固定・毎回同一)
  cs-dojo init ~/cs-course             講座ワークスペースを作る
  cs-dojo scenario lint datasets/scenarios/*.yaml
  cs-dojo session new --group 東京CS勉強会 --module 05   勉強会用のノートブック一式を作る
詳しくは各サブコマンドの --help を参照してください。
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cs-dojo",
        description="CS Dojo — カスタマーサクセス研修の教材・採点ツール (trainer and learner CLI)",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # module not written yet
                continue
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("中断しました (interrupted)", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
