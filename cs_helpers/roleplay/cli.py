"""``cs-dojo scenario ...``: check roleplay scenario files.

The command is a thin wrapper over :func:`lint_command`, which the tests and Python callers use directly.
"""
from __future__ import annotations

import argparse
import functools
import json
import sys
from pathlib import Path
from typing import Iterable, TextIO

from ..paths import scenarios_dir
from .lint import lint_paths

LINT_DESCRIPTION = """\
ロールプレイのシナリオ (YAML) を検査します。問題は「ファイル:行: ノードid: メッセージ」の形で表示し、
エラーが1つでもあれば終了コード 1 を返します。
検査内容: 存在しない行き先 / 到達できないノード・終わり方 / 行き止まり / 抜け出せないループ /
宣言されていない・範囲外の状態変数 / 選択肢idの重複 / 条件の文法・型の誤り / 未知のキー など。
出荷条件と「攻略されないか」の検査 (正解がいつも最長・最短 / 丁寧な言い回しが正解だけ / 失敗・部分的な成功の
終わり方なのに評価項目が合格点・満点に届く / 良し悪しを表す選択肢id) は警告として表示し、--strict ではエラーにします。
書き方と各検査の直し方は datasets/scenarios/README.md を参照してください。
(Lint roleplay scenarios: each problem is printed as file:line: node_id: message; exit code 1 on errors.)"""

LINT_EPILOG = """\
例 (examples):
  cs-dojo scenario lint                                  同梱シナリオすべて (datasets/scenarios/) を検査
  cs-dojo scenario lint datasets/scenarios/kickoff_hearing.yaml
  cs-dojo scenario lint --strict my_scenarios/           出荷条件と攻略されにくさもエラーとして検査
  cs-dojo scenario lint --format json a.yaml b.yaml      機械可読な JSON で出力

読むもの (reads): 指定した .yaml / .yml ファイル、またはフォルダ内のそれら。書くもの (writes): なし。
終了コード (exit code): 0 = 問題なし (警告のみを含む), 1 = エラーあり, 2 = 使い方の誤り。"""


def lint_command(paths: Iterable[str] = (), *, strict: bool = False, fmt: str = "text",
                 quiet: bool = False, out: TextIO | None = None) -> int:
    """Lint ``paths`` (default: the shipped scenarios) and print the report. Returns the exit code."""
    out = out or sys.stdout
    paths = list(paths) or [str(scenarios_dir())]
    missing = [p for p in paths if not Path(p).exists()]
    files, issues = lint_paths([p for p in paths if Path(p).exists()], strict=strict)
    errors = [i for i in issues if i.severity == "error"]
    warnings = [i for i in issues if i.severity != "error"]
    if fmt == "json":
        payload = {"files": [str(f) for f in files], "missing": missing,
                   "issues": [{"file": i.file, "line": i.line, "node": i.node, "severity": i.severity,
                               "code": i.code, "message": i.message} for i in issues]}
        out.write(json.dumps(payload, ensure_ascii=False, indent=2) + "\n")
    else:
        for p in missing:
            out.write(f"{p}:0: -: ファイルまたはフォルダが見つかりません\n")
        for issue in issues:
            if quiet and issue.severity != "error":
                continue
            out.write(f"{issue}\n")
        if not files and not missing:
            out.write("検査するシナリオ (.yaml) が見つかりませんでした\n")
        out.write(f"{len(files)} ファイルを検査: エラー {len(errors)} 件、警告 {len(warnings)} 件\n")
    return 1 if errors or missing or not files else 0


def _cmd_lint(args: argparse.Namespace) -> int:
    return lint_command(args.paths, strict=args.strict, fmt=args.format, quiet=args.quiet)


def register(subparsers) -> None:
    scenario = subparsers.add_parser("scenario", help="ロールプレイのシナリオを検査する (roleplay scenarios)",
                                     description="ロールプレイのシナリオに関するコマンドです。",
                                     epilog="例: cs-dojo scenario lint datasets/scenarios/",
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = scenario.add_subparsers(dest="scenario_command", metavar="SUBCOMMAND")
    lint = sub.add_parser("lint", help="シナリオの誤りを検出する (lint scenario YAML)",
                          description=LINT_DESCRIPTION, epilog=LINT_EPILOG,
                          formatter_class=argparse.RawDescriptionHelpFormatter)
    lint.add_argument("paths", nargs="*", metavar="PATH",
                      help="シナリオファイルまたはフォルダ (省略時: 同梱の datasets/scenarios/)")
    lint.add_argument("--strict", action="store_true",
                      help="出荷条件 (ノード10〜25・終わり方3つ以上・評価項目5〜7・満点の道筋) と攻略されにくさ"
                           " (長さ・丁寧さ・終わり方と配点・中立なid) の違反もエラーにする")
    lint.add_argument("--format", choices=("text", "json"), default="text", help="出力形式 (既定: text)")
    lint.add_argument("-q", "--quiet", action="store_true", help="警告を表示しない (エラーのみ)")
    lint.set_defaults(func=_cmd_lint)
    scenario.set_defaults(func=functools.partial(_help, scenario))


def _help(parser: argparse.ArgumentParser, _args: argparse.Namespace) -> int:
    """``cs-dojo scenario`` without a subcommand: this group's own help, exit code 2."""
    parser.print_help()
    return 2
