"""Trainer subcommands of ``cs-dojo``: init, roster, personalise, release, collect, grade, feedback, export, report.

Each handler parses nothing itself: it calls the keyword-only function of its module (same defaults as the Python
API), prints a short Japanese summary and returns an exit code. ``CourseError`` becomes a one-paragraph message on
stderr and exit code 1 — no traceback for problems a trainer can fix.
"""
from __future__ import annotations

import argparse
import functools
import sys

from ..cli import print_help_of
from .common import CourseError, say

_FMT = argparse.RawDescriptionHelpFormatter


def _course_opt(p: argparse.ArgumentParser) -> None:
    p.add_argument("--course-dir", "-C", default=".", metavar="DIR",
                   help="講座ワークスペース (nbgrader_config.py があるフォルダ)。既定: カレントフォルダ")


def _guard(func):
    def handler(args) -> int:
        try:
            return int(func(args) or 0)
        except CourseError as exc:
            say(f"エラー: {exc}", err=True)
            return 1
    return handler


# --- handlers ------------------------------------------------------------------------------------------------------

def _init(args) -> int:
    from .workspace import init_course
    r = init_course(args.dir, exercises=args.exercises, curriculum=args.curriculum, sample=not args.no_sample,
                    force=args.force)
    say(f"{'作成しました' if r.created else '更新しました'}: {r.root}")
    say(f"  課題 (source/): 追加 {', '.join(r.assignments_added) or 'なし'}"
        + (f" / 既存のまま {', '.join(r.assignments_kept)}" if r.assignments_kept else ""))
    say(f"  ルーブリック (rubrics/): {len(r.rubrics)} 件 / 教材 (lessons/): {len(r.lessons)} 冊")
    say(f"次は: cd {r.root} && cs-dojo roster import 名簿.csv")
    return 0


def _roster_import(args) -> int:
    from .roster import import_roster
    r = import_roster(course_dir=args.course_dir, csv_path=args.csv)
    say(f"名簿を取り込みました: 追加 {len(r.added)} 人、更新 {len(r.updated)} 人 → {r.roster_path}")
    for line, problem in r.bad_rows:
        say(f"  {args.csv}:{line}: {problem} (この行は取り込んでいません)", err=True)
    if r.bad_rows:
        say(f"{len(r.bad_rows)} 行を取り込めませんでした。直して同じコマンドをもう一度実行してください (正しい行はそのまま更新されます)。",
            err=True)
    return 0 if r.ok else 1


def _roster_show(args) -> int:
    from .roster import show_roster
    learners = show_roster(course_dir=args.course_dir)
    for lr in learners:
        say(f"{lr.learner_id}\t{lr.name}\t{lr.email}\t{lr.cohort}")
    say(f"{len(learners)} 人")
    return 0


def _personalise(args) -> int:
    from .personalise import personalise
    r = personalise(course_dir=args.course_dir, lessons=args.lessons, out=args.out, per=args.per,
                    learners=args.learner, prepare_only=args.prepare_only,
                    default_company_profile=args.company_profile, kernel=args.kernel, cell_timeout=args.cell_timeout,
                    workers=args.workers, progress=not args.quiet)
    mode = "パラメータ注入のみ" if args.prepare_only else "実行済み"
    say(f"{len(r.targets)} 件 × 教材 {len(r.parameterised) + len(r.copied)} 冊 = {r.written} 冊を書き出しました ({mode}) → {r.out_dir}")
    if r.copied:
        say(f"  parameters セルがないためそのままコピー: {', '.join(r.copied)}")
    for rel, why in r.refused:
        say(f"  対象外: {rel}: {why}", err=True)
    for target, rel, error in r.failures:
        say(f"  実行エラー: {target}/{rel}: {error}", err=True)
    return 1 if (r.refused or r.failures) else 0


def _release(args) -> int:
    from .release import release_assignment
    r = release_assignment(course_dir=args.course_dir, assignment=args.assignment, to=args.to,
                           make_zip=not args.no_zip)
    say(f"配布版を作りました: {r.release_dir} ({len(r.files)} ファイル、解答・非公開テストが含まれていないことを確認済み)")
    if r.zip_path:
        say(f"  配布用 zip: {r.zip_path}")
    if r.copied_to:
        say(f"  コピー先: {r.copied_to}")
    return 0


def _collect(args) -> int:
    from .collect import collect_submissions
    r = collect_submissions(course_dir=args.course_dir, assignment=args.assignment, path=args.path)
    say(f"提出物を取り込みました: {len(r.placed)} 人 → submitted/<受講者>/{args.assignment}/")
    for learner, files in sorted(r.placed.items()):
        say(f"  {learner}: {', '.join(files)}")
    for learner, kept, dropped in r.duplicates:
        say(f"  重複: {learner} は最新の {kept} を採用 (無視: {', '.join(dropped)})")
    for learner, why in r.kept_existing:
        say(f"  既存を維持: {learner}: {why}")
    for learner, file in r.invalid:
        say(f"  注意: {learner} の {file} はノートブックとして読めません (採点で0点と理由が記録されます)", err=True)
    for name in r.unsafe:
        say(f"  zip 内の危険なパスを無視: {name}", err=True)
    for file, why in r.unmatched:
        say(f"  対応する受講者なし: {file} ({why})", err=True)
    if r.missing:
        say(f"  未提出: {', '.join(r.missing)}")
    return 0


def _grade(args) -> int:
    from .grading import format_report, grade_assignment
    r = grade_assignment(course_dir=args.course_dir, assignment=args.assignment, workers=args.workers,
                         timeout=args.timeout, memory_mb=args.memory_mb, cell_timeout=args.cell_timeout,
                         learners=args.learner, force=args.force, progress=not args.quiet, sandbox=args.sandbox)
    say(format_report(r))
    return 0


def _feedback(args) -> int:
    from .feedback import generate_feedback
    r = generate_feedback(course_dir=args.course_dir, assignment=args.assignment, to=args.to)
    say(f"フィードバックを作りました: {len(r.pages)} 人 → feedback/<受講者>/{args.assignment}/*.html "
        "(非公開テストが含まれていないことを確認済み)")
    if r.failed_pages:
        say(f"  採点できなかった受講者には理由を説明するページを作りました: {', '.join(r.failed_pages)}")
    if r.copied_to:
        say(f"  メール添付用のコピー: {r.copied_to}")
    return 0


def _export(args) -> int:
    from .export import export_scores
    r = export_scores(course_dir=args.course_dir, assignments=args.assignment, out_dir=args.out)
    say(f"設問別の成績を書き出しました ({r.rows} 行):\n  {r.long_csv}\n  {r.wide_csv}\n  {r.xlsx}")
    return 0


def _report(args) -> int:
    from .report import build_report
    r = build_report(course_dir=args.course_dir, out=args.out, assignments=args.assignment,
                     threshold=args.threshold / 100)
    say(f"コホートレポートを作りました ({r.learners} 人): {r.path}")
    if r.one_on_one:
        say(f"  1on1 をおすすめする受講者: {', '.join(x['learner_id'] for x in r.one_on_one)}")
    return 0


# --- parsers -------------------------------------------------------------------------------------------------------

def register(subparsers) -> None:
    p = subparsers.add_parser(
        "init", help="講座ワークスペースを作る (nbgrader のコースフォルダ)", formatter_class=_FMT,
        description="講座ワークスペース (nbgrader のコースフォルダ) を作ります。既存のワークスペースなら足りないものだけ追加します。",
        epilog="""例:
  cs-dojo init ~/cs-course
      ~/cs-course/ に nbgrader_config.py, source/ (exercises/ の全課題とお試し課題 00_sample),
      rubrics/ (grading/rubrics/), lessons/ (curriculum/), sample/ (クイックスタート用の名簿と提出物),
      空の roster.csv と gradebook.db を作ります。
  cs-dojo init ~/cs-course --force      課題・ルーブリック・教材を最新の内容で上書きします
読むもの: grading/nbgrader_config.py, exercises/, grading/rubrics/, curriculum/, grading/workspace_template/
""")
    p.add_argument("dir", help="作るフォルダ (空か、存在しないフォルダ。既存のワークスペースも可)")
    p.add_argument("--exercises", metavar="DIR", help="課題フォルダ (既定: リポジトリの exercises/)")
    p.add_argument("--curriculum", metavar="DIR", help="教材フォルダ (既定: リポジトリの curriculum/)")
    p.add_argument("--no-sample", action="store_true", help="お試し課題 00_sample と sample/ を入れない")
    p.add_argument("--force", action="store_true", help="既存の課題・ルーブリック・教材を上書きする")
    p.set_defaults(func=_guard(_init))

    p = subparsers.add_parser("roster", help="受講者名簿 (import / show)", formatter_class=_FMT,
                              description="受講者名簿を管理します。")
    rsub = p.add_subparsers(dest="roster_command", metavar="ACTION")
    p.set_defaults(func=functools.partial(print_help_of, p))
    ri = rsub.add_parser(
        "import", help="CSV の名簿を取り込む", formatter_class=_FMT,
        description="CSV の名簿を roster.csv と gradebook の受講者表に取り込みます (同じIDは上書き)。",
        epilog="""例:
  cs-dojo roster import sample/roster.csv
  cs-dojo roster import ~/Downloads/4月入社.csv --course-dir ~/cs-course
CSV の形式 (1行目は見出し。UTF-8 / Excel の Shift_JIS どちらでも可):
  learner_id,name,email,cohort[,company_profile]
  sato_a,佐藤 彩,sato.a@example.com,2026-04
learner_id は半角英数字と _ . - (64文字以内)。日本語の見出し (受講者ID,氏名,メール,コホート) も使えます。
おかしな行は行番号つきで表示して飛ばし、正しい行は取り込みます (その場合の終了コードは 1)。
書くもの: roster.csv, gradebook.db (student 表)
""")
    ri.add_argument("csv", help="名簿の CSV ファイル")
    _course_opt(ri)
    ri.set_defaults(func=_guard(_roster_import))
    rs = rsub.add_parser("show", help="取り込み済みの名簿を表示する", formatter_class=_FMT,
                         epilog="例:\n  cs-dojo roster show\n読むもの: roster.csv\n")
    _course_opt(rs)
    rs.set_defaults(func=_guard(_roster_show))

    p = subparsers.add_parser(
        "personalise", aliases=["personalize"], help="教材ノートブックを受講者ごとに個別化する (papermill)",
        formatter_class=_FMT,
        description="lessons/ の教材の parameters セルの直後に、受講者ごとの値 (learner_id, cohort, company_profile, "
                    "data_seed) を papermill で注入します。",
        epilog="""例:
  cs-dojo personalise --prepare-only
      全員分を注入だけして personalised/<受講者ID>/ に書き出します (実行しないので速い)。
  cs-dojo personalise --learner sato_a --learner suzuki_k
      2人分を注入して実行します (出力つきのノートブックになります)。
  cs-dojo personalise --per cohort --prepare-only
      コホートごとに personalised/cohort-<コホート>/ に書き出します。
読むもの: lessons/*.ipynb (parameters タグのセル), roster.csv
書くもの: personalised/<受講者ID または cohort-コホート>/<教材>.ipynb
nbgrader のセルに parameters タグが付いた教材は個別化しません (採点が壊れるため)。
""")
    _course_opt(p)
    p.add_argument("--prepare-only", action="store_true", help="注入だけして実行しない (速い)")
    p.add_argument("--per", choices=["learner", "cohort"], default="learner", help="受講者ごと (既定) かコホートごと")
    p.add_argument("--learner", action="append", metavar="ID", help="この受講者だけ (複数指定可)")
    p.add_argument("--lessons", metavar="DIR", help="教材フォルダ (既定: <ワークスペース>/lessons)")
    p.add_argument("--out", metavar="DIR", help="出力フォルダ (既定: <ワークスペース>/personalised)")
    p.add_argument("--company-profile", default="saas_smb", metavar="PROFILE", help="名簿に company_profile がないときの値 (既定: saas_smb)")
    p.add_argument("--kernel", default="python3", metavar="NAME", help="実行するカーネル (既定: python3)")
    p.add_argument("--cell-timeout", type=int, default=300, metavar="SECONDS", help="実行時の1セルあたりの制限秒数 (既定: 300)")
    p.add_argument("--workers", type=int, default=1, metavar="N", help="実行時の並列数 (既定: 1)")
    p.add_argument("--quiet", "-q", action="store_true", help="進捗バーを出さない")
    p.set_defaults(func=_guard(_personalise))

    p = subparsers.add_parser(
        "release", help="課題の配布版を作る (nbgrader generate_assignment + 漏えい検査)", formatter_class=_FMT,
        description="source/<課題>/ から解答と非公開テストを除いた配布版を作り、漏れがないことを確かめます。",
        epilog="""例:
  cs-dojo release 00_sample
  cs-dojo release 01_mindset --to /srv/shared/cs-course
読むもの: source/<課題>/
書くもの: release/<課題>/, handout/<課題>.zip (メール・LMS 用), gradebook.db (課題と配点), --to 指定時は <TO>/<課題>/
配布版に BEGIN SOLUTION / BEGIN HIDDEN TESTS や解答・非公開テストの行が残っていたら、配布版を消してエラーにします。
""")
    p.add_argument("assignment", help="課題名 (source/ の下のフォルダ名、例: 00_sample)")
    _course_opt(p)
    p.add_argument("--to", metavar="DIR", help="配布版をこのフォルダにもコピーする (共有ドライブなど)")
    p.add_argument("--no-zip", action="store_true", help="handout/<課題>.zip を作らない")
    p.set_defaults(func=_guard(_release))

    p = subparsers.add_parser(
        "collect", help="返ってきたノートブックを取り込む (フォルダか zip)", formatter_class=_FMT,
        description="メールや LMS で集めた提出物 (フォルダか zip) を名簿と突き合わせて submitted/ に置きます。",
        epilog="""例:
  cs-dojo collect 00_sample sample/returned/
  cs-dojo collect 01_mindset ~/Downloads/submissions.zip
受講者の見分け方 (上から順に):
  1. 受講者IDのフォルダ        sato_a/sample.ipynb (同じフォルダの responses/ も一緒に取り込みます)
  2. 受講者IDで始まるファイル名  sato_a_sample.ipynb, sato_a-課題.ipynb
  3. ノートブックのメタデータ    metadata.cs_dojo.learner_id
同じ受講者の提出が複数あれば更新日時が最新のものを採用し、名簿にないファイル・未提出者と一緒に表示します。
読むもの: PATH, roster.csv, source/<課題>/
書くもの: submitted/<受講者>/<課題>/ (ノートブック, responses/, timestamp.txt), logs/collect_<課題>.json
""")
    p.add_argument("assignment", help="課題名")
    p.add_argument("path", help="提出物のフォルダか .zip")
    _course_opt(p)
    p.set_defaults(func=_guard(_collect))

    p = subparsers.add_parser(
        "grade", help="並列・隔離して自動採点する (nbgrader autograde)", formatter_class=_FMT,
        description="提出物を1人ずつ別プロセス・一時フォルダ・サンドボックスで自動採点し、結果だけを gradebook に書き込みます。",
        epilog="""例:
  cs-dojo grade 00_sample --workers 2
  cs-dojo grade 01_mindset --timeout 600 --memory-mb 2048
  cs-dojo grade 00_sample --learner sato_a --force       1人だけ採点し直す
  cs-dojo grade 00_sample --sandbox required             サンドボックスが使えなければ採点しない
1人ぶんの提出物は、専用の一時フォルダにコピーしてから別プロセスで実行します。受講者のコードを動かすカーネルは
bubblewrap のサンドボックスの中で動き、講座フォルダ・gradebook・他の受講者・ネットワークには届きません
(--sandbox auto: 使えなければ警告してプロセス分離だけで採点 / required: 使えなければ止める / off: 使わない)。
無限ループ・カーネルの停止・sys.exit・大量の出力があっても、他の受講者には影響しません。
状態: 採点済み / 注記つき (消えたセルの復元や重複セルの整理をした) / 0点記録 (理由と採点し直すコマンドを表示)。
提出物が前回から変わっていない受講者は飛ばします (--force で採点し直し。手動採点の点数は残ります)。
既定値は nbgrader_config.py の c.CsDojoGrade.timeout / memory_mb / sandbox と c.Execute.timeout です。
読むもの: submitted/<受講者>/<課題>/, source/<課題>/, release/<課題>/, gradebook.db
書くもの: gradebook.db, autograded/<受講者>/<課題>/, grading_log.json, logs/grading_<課題>.csv,
          logs/grading/<課題>/<受講者>.log, .cs_dojo/backups/ (採点前の gradebook)
""")
    p.add_argument("assignment", help="課題名")
    _course_opt(p)
    p.add_argument("--workers", "-j", type=int, default=None, metavar="N", help="同時に採点する人数 (既定: CPU コア数)")
    p.add_argument("--timeout", type=int, default=None, metavar="SECONDS",
                   help="1人ぶんの制限時間 (秒。既定: nbgrader_config.py の c.CsDojoGrade.timeout、なければ 900)")
    p.add_argument("--cell-timeout", type=int, default=None, metavar="SECONDS",
                   help="1セルの制限時間 (秒。既定: c.Execute.timeout、なければ 60)")
    p.add_argument("--memory-mb", type=int, default=None, metavar="MB",
                   help="1人ぶんのメモリ上限 (MB。既定: c.CsDojoGrade.memory_mb、なければ 4096)")
    p.add_argument("--learner", action="append", metavar="ID", help="この受講者だけ (複数指定可)")
    p.add_argument("--force", action="store_true", help="変更のない提出物も採点し直す")
    p.add_argument("--quiet", "-q", action="store_true", help="進捗バーを出さない")
    p.add_argument("--sandbox", choices=["auto", "required", "off"], default=None,
                   help="採点のサンドボックス (bubblewrap)。既定: c.CsDojoGrade.sandbox、なければ auto")
    p.set_defaults(func=_guard(_grade))

    p = subparsers.add_parser(
        "feedback", help="受講者ごとの HTML フィードバックを作る (非公開テストは表示しない)", formatter_class=_FMT,
        description="採点結果から受講者ごとの HTML フィードバックを作ります。非公開テストの内容は含めません。",
        epilog="""例:
  cs-dojo feedback 00_sample
  cs-dojo feedback 00_sample --to ~/mail/00_sample      メール添付用に <受講者>_<課題>_<ノート>.html でコピー
読むもの: autograded/<受講者>/<課題>/, gradebook.db, grading_log.json
書くもの: feedback/<受講者>/<課題>/*.html (採点できなかった人には理由のページ)
""")
    p.add_argument("assignment", help="課題名")
    _course_opt(p)
    p.add_argument("--to", metavar="DIR", help="HTML をこのフォルダにもまとめてコピーする")
    p.set_defaults(func=_guard(_feedback))

    p = subparsers.add_parser(
        "export", help="設問別の成績を CSV と Excel に書き出す", formatter_class=_FMT,
        description="受講者×設問の成績を CSV (Excel で開ける UTF-8 BOM つき) と .xlsx に書き出します。",
        epilog="""例:
  cs-dojo export
  cs-dojo export --assignment 01_mindset --out ~/reports
読むもの: gradebook.db, roster.csv, grading_log.json, source/ (設問名 ## 問N)
書くもの: exports/scores_long.csv, exports/scores_wide.csv, exports/scores.xlsx
""")
    _course_opt(p)
    p.add_argument("--assignment", action="append", metavar="NAME", help="この課題だけ (複数指定可、既定: すべて)")
    p.add_argument("--out", metavar="DIR", help="出力フォルダ (既定: <ワークスペース>/exports)")
    p.set_defaults(func=_guard(_export))

    p = subparsers.add_parser(
        "report", help="コホートの HTML レポートを作る (マネージャー向け)", formatter_class=_FMT,
        description="得点分布・つまずきの多い設問・ロールプレイの結末・1on1 をおすすめする受講者を1つの HTML にまとめます。",
        epilog="""例:
  cs-dojo report
  cs-dojo report --threshold 70 --out ~/reports/2026-04.html
1on1 の基準: 未提出 / 自動採点が --threshold % 未満 / 採点できず0点 / ロールプレイが失敗で終了。
読むもの: gradebook.db, roster.csv, grading_log.json, submitted/*/*/responses/*.json
書くもの: reports/cohort_report.html (画像も埋め込んだ1ファイル。そのままメールで送れます)
""")
    _course_opt(p)
    p.add_argument("--assignment", action="append", metavar="NAME", help="この課題だけ (複数指定可)")
    p.add_argument("--threshold", type=float, default=60.0, metavar="PERCENT", help="1on1 をすすめる自動採点の得点率 (%%、既定: 60)")
    p.add_argument("--out", metavar="FILE", help="出力ファイル (既定: <ワークスペース>/reports/cohort_report.html)")
    p.set_defaults(func=_guard(_report))


def main(argv: list[str] | None = None) -> int:  # pragma: no cover - convenience for `python -m`
    from ..cli import main as cli_main
    return cli_main(argv)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
