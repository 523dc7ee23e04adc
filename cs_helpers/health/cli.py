"""``cs-dojo health check``: the learned, honestly validated health score for a CS Ops team's own CSV."""
from __future__ import annotations

import argparse
import functools
import sys

_FMT = argparse.RawDescriptionHelpFormatter

EPILOG = """\
例:
  cs-dojo health check 顧客一覧.csv --mapping 対応づけ.yaml --out 検証結果/
  cs-dojo health check churn.csv --mapping map.yaml --weights 重み.yaml --capacity 40 --out out/

読むもの: DATA.csv (顧客1行の表、または顧客×月の表)、MAP.yaml (列の対応づけ)、W.yaml (手で決めた重み、任意)
書くもの: DIR/report.html (オフラインで開ける日本語レポート)、DIR/summary.json (数値のまとめ)、
          DIR/scored.csv (顧客ごとのスコア・帯・点数を最も失っている2つの信号)

MAP.yaml の例 (顧客1行の表):
  account_id: customerID
  churn: Churn                        # Yes/No、はい/いいえ、1/0 など
  signals: [tenure, MonthlyCharges, TotalCharges]
  categories: [Contract, PaymentMethod]   # 文字の列 (区分ごとに点数がつきます)
  optional: [TotalCharges]            # 空欄を許す列
  directions: {tenure: healthy}       # 「長いほど危険になることはない」と決めておく (任意)
  arr: MonthlyCharges                 # 売上の列 (任意。拾えた解約売上の割合を出します)
月次の表では date: (対象月の列) と churn_date: (解約日の列) を書きます。
W.yaml の例:  tenure: 1.0      MonthlyCharges: -0.5   (負の数 = 高いほど危険)
"""


def _help(parser: argparse.ArgumentParser, args=None) -> int:
    parser.print_help()
    return 2


def _check(args) -> int:
    from ..data import DataError
    from .report import check

    try:
        r = check(args.data, mapping=args.mapping, weights=args.weights, capacity=args.capacity, out=args.out,
                  folds=args.folds, progress=not args.quiet)
    except (DataError, ValueError) as exc:
        text = str(exc).replace("\n", " ")
        print(f"エラー: {text}", file=sys.stderr)
        return 1
    s = r.summary
    line = f"学習したスコアのAUC (学習に使っていない行): {s['learned']['auc_cv']:.3f}"
    if "plain_logistic" in s:
        line += f" / ロジスティック回帰: {s['plain_logistic']['auc_cv']:.3f}"
    if "hand" in s:
        line += f" / 手で決めた重み: {s['hand']['auc']:.3f}"
    print(f"{s['rows']:,} 行、解約率 {s['churn_rate']:.1%}")
    print(line)
    cap = s["capacity"]
    print(f"上位 {cap['k']} 件の適合率 {cap['precision']:.1%}、リフト {cap['lift']:.2f} 倍")
    print(f"書き出しました: {r.out / 'report.html'}、{r.out / 'summary.json'}、{r.out / 'scored.csv'}")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("health", help="自社のデータでヘルススコアを学習・検証する (check)", formatter_class=_FMT,
                              description="自社の解約の履歴から点数表を学習し、正直に検証します。", epilog=EPILOG)
    sub = p.add_subparsers(dest="health_command", metavar="ACTION")
    p.set_defaults(func=functools.partial(_help, p))
    c = sub.add_parser("check", help="点数表を学習し、交差検証してレポートを書く", formatter_class=_FMT,
                       description="CSV から点数表 (合計100点) を学習し、学習に使っていない行で検証して、"
                                   "手で決めた重み・単純なスコアと並べたレポートを書きます。ネットワークは使いません。",
                       epilog=EPILOG)
    c.add_argument("data", metavar="DATA.csv", help="顧客1行の表、または顧客×月の表 (UTF-8 / Shift_JIS)")
    c.add_argument("--mapping", required=True, metavar="MAP.yaml", help="列の対応づけ (YAML / JSON)")
    c.add_argument("--weights", metavar="W.yaml", help="比べたい手作りの重み「列名: 重み」(任意)")
    c.add_argument("--capacity", type=int, metavar="N", help="チームが対応できる件数 (既定: 検証する行の10%%)")
    c.add_argument("--folds", type=int, default=5, metavar="K", help="交差検証の分割数 (既定: 5)")
    c.add_argument("--out", required=True, metavar="DIR", help="書き出すフォルダ (なければ作ります)")
    c.add_argument("--quiet", action="store_true", help="進み具合のバーを出さない")
    c.set_defaults(func=_check)
