"""``cs-dojo answers``: group free-text answers of one question, list manually graded questions."""
from __future__ import annotations

import argparse
import functools

from ..cli import _guard
from ..common import course_root, say

_FMT = argparse.RawDescriptionHelpFormatter


def _help(parser: argparse.ArgumentParser, args) -> int:
    parser.print_help()
    return 2


def _short(text: str, width: int = 60) -> str:
    one = " ".join(text.split())
    return one if len(one) <= width else one[: width - 1] + "…"


def format_summary(state) -> str:
    data = state.to_json()
    graded, total = state.progress()
    n_blank = sum(g["size"] for g in data["groups"] if g["id"] == "blank")
    lines = [f"{data['assignment']} {data['question']}: 回答 {total} 件 → {len(data['groups'])} グループ"
             f" (未回答 {n_blank} 件、採点済み {graded}/{total} 件)"]
    for g in data["groups"]:
        lines.append(f"  {g['id']} ({g['size']}件) {_short(g['representative'])}")
        lines.append(f"      {', '.join(g['learners'])}")
    if data["not_gradable"]:
        lines.append(f"  自動採点できなかったため対象外: {', '.join(data['not_gradable'])}")
    lines.append(f"保存先: {state.path}")
    return "\n".join(lines)


def _group(args) -> int:
    from .store import group_question
    state = group_question(course_dir=args.course_dir, assignment=args.assignment, question=args.question,
                           threshold=args.threshold, json_path=args.json)
    say(format_summary(state))
    if args.json:
        say(f"JSON: {args.json}")
    return 0


def _list(args) -> int:
    from .extract import manual_questions
    from .store import store_path
    root = course_root(args.course_dir)
    questions = manual_questions(root, args.assignment)
    if not questions:
        say(f"課題「{args.assignment}」に手動採点の設問はありません。")
        return 0
    for q in questions:
        saved = "グループ保存済み" if store_path(root, q.assignment, q.grade_id).is_file() else "未グループ化"
        say(f"{q.grade_id}\t{q.max_score:g}点\t{q.notebook}.ipynb\t{saved}\t{_short(q.prompt, 40)}")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "answers", help="記述式の回答をグループに分けて、まとめて採点する", formatter_class=_FMT,
        description="手動採点の記述式の回答を、似た回答ごとのグループに分けます (オフライン)。"
                    "採点はワークスペースの grading_view.ipynb (JupyterLab) でグループ単位に行います。",
        epilog="""例:
  cs-dojo answers list 00_sample
  cs-dojo answers group 00_sample --question q4_reflection
  cs-dojo answers group 02_customer_understanding --question q8_quiet_signals --json ~/q8_groups.json
詳しくは各アクションの --help を参照してください。
""")
    sub = p.add_subparsers(dest="answers_command", metavar="ACTION")
    p.set_defaults(func=functools.partial(_help, p))

    g = sub.add_parser(
        "group", help="1つの設問の回答をグループに分ける", formatter_class=_FMT,
        description="autograded/ にある受講者の回答を、未回答・同じ回答 (全角半角・空白・句読点の違いは無視)・"
                    "意味の近い回答の順にまとめます。全員がちょうど1つのグループに入ります。"
                    "採点済み・手で直したグループはそのまま残し、残りだけを分け直します。",
        epilog="""例:
  cs-dojo answers group 00_sample --question q4_reflection
  cs-dojo answers group 00_sample --question q4_reflection --json groups.json --threshold 0.1
      --threshold を上げるとグループが細かく、下げると大きくなります (既定: 0.05)。
読むもの: source/<課題>/, release/<課題>/, autograded/<受講者>/<課題>/, rubrics/<課題>.yaml
書くもの: answers/<課題>/<設問>.json (グループと採点の記録), --json 指定時はそのファイル
  JSON の形: {"assignment", "question", "groups": [{"id", "learners", "representative", "size"}], "not_gradable"}
""")
    g.add_argument("assignment", help="課題名 (例: 00_sample)")
    g.add_argument("--question", "-q", required=True, metavar="GRADE_ID", help="手動採点のセルの grade_id")
    g.add_argument("--json", metavar="FILE", help="グループを JSON でこのファイルに書き出す")
    g.add_argument("--threshold", type=float, default=None, metavar="X",
                   help="同じグループにする近さの下限 (中心化したコサイン類似度、既定: 0.05)")
    g.add_argument("--course-dir", "-C", default=".", metavar="DIR", help="講座ワークスペース (既定: カレントフォルダ)")
    g.set_defaults(func=_guard(_group))

    ls = sub.add_parser(
        "list", help="課題の手動採点の設問を一覧する", formatter_class=_FMT,
        epilog="例:\n  cs-dojo answers list 00_sample\n読むもの: source/<課題>/, answers/<課題>/\n")
    ls.add_argument("assignment", help="課題名")
    ls.add_argument("--course-dir", "-C", default=".", metavar="DIR", help="講座ワークスペース (既定: カレントフォルダ)")
    ls.set_defaults(func=_guard(_list))
