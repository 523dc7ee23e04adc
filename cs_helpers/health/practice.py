"""Lesson 04's practice checks, with their answer keys kept out of the cells a learner runs.

``check("04.leak", practice_leak)`` checks a static practice; computed practices derive the key from the data the
lesson shows, passed as keywords: ``check("04.red_count", practice_red_count, scored=scored)``. Feedback names
the wrong item and why (``cs_helpers.checks``), and hints explain the idea without handing over the code.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

from .. import checks
from .metrics import auc

#: item -> (label, why)
_LEAK = {
    "3月14日に起票された問い合わせ": ("使える", "カットオフ (3月15日) より前に記録されています。"),
    "3月の月間アクティブユーザー数": ("使えない", "3月はまだ終わっていません。月の途中の数字は後半の分だけ少なく見えます。"),
    "顧客表の解約日": ("使えない", "解約したかどうかは、予測したい答えそのものです。"),
    "前年9月に回答されたNPS": ("使える", "カットオフより前に回答されています。古いので重みは慎重に考えます。"),
    "2月の月間ログイン回数": ("使える", "2月は3月15日の時点で終わっていて、数字が確定しています。"),
    "3月20日に起票された問い合わせ": ("使えない", "カットオフより後の出来事です。その日にはまだ起きていません。"),
}
_INDICATOR = {
    "四半期の解約率": ("遅行", "四半期が終わって初めて確定する結果です。"),
    "ライセンス利用率の3か月の傾き": ("先行", "解約より先に動き、活用支援で変えられます。"),
    "NRR (売上の純継続率)": ("遅行", "解約・減額・拡大の結果として、期間が終わってから確定します。"),
    "問い合わせ文面の温度感": ("先行", "不満は解約より先に文面に表れ、対応で変えられます。"),
    "主要機能の活用数": ("先行", "活用の広がりは解約より先に動きます。"),
    "年間の更新率": ("遅行", "更新日が来て初めて分かる結果です。"),
}
_STATIC: dict[str, tuple[Mapping[str, tuple[str, str]], str]] = {
    "04.leak": (_LEAK, "3月15日の朝に、その数字がもう確定していたかどうかで考えましょう。月次の数字は月末を過ぎるまで確定しません。"),
    "04.indicator": (_INDICATOR, "その数字が分かった時点で、まだ結果を変えられるかどうかで考えましょう。"),
}


def _need(ctx: Mapping[str, Any], *names: str) -> list:
    missing = [n for n in names if n not in ctx]
    if missing:
        raise ValueError(f"答え合わせには {', '.join(missing)} を渡してください (ノートブックのセルを書き換えていないか確かめてください)。")
    return [ctx[n] for n in names]


def _red_count(answer, ctx):
    (scored,) = _need(ctx, "scored")
    return checks.check_equal(answer, int((scored["band"].astype(str) == "赤").sum()), name="赤の顧客数", display=False,
                              hint="帯 (band) の列が「赤」の行だけを数えます。True / False の列は、合計すると True の数になります。")


def _auc_level(answer, ctx):
    (frame,) = _need(ctx, "frame")
    return checks.check_equal(answer, auc(frame["churned"], frame["utilisation_level"]), tol=0.005, name="AUC",
                              display=False,
                              hint="1つ目の引数は「解約したか」、2つ目はスコアとみなす列です。値が 0.5 より小さいなら、引数の順番を確かめましょう。")


def _hits(answer, ctx):
    frame, calls = _need(ctx, "frame", "calls")
    return checks.check_equal(answer, int(frame.loc[calls.index, "churned"].sum()), name="拾えた解約の数", display=False,
                              hint="コールリストの index が顧客IDです。その顧客だけを選び、解約した (churned が True の) 顧客を数えます。")


_COMPUTED: dict[str, Callable[[Any, Mapping[str, Any]], checks.CheckResult]] = {
    "04.red_count": _red_count, "04.auc_level": _auc_level, "04.hits": _hits}


def ids() -> list[str]:
    return sorted(set(_STATIC) | set(_COMPUTED))


def check(pid: str, answer: Any, *, display: bool = True, **context: Any) -> checks.CheckResult:
    """Check ``answer`` for lesson 04's practice ``pid`` (see the module docstring)."""
    if pid in _COMPUTED:
        result = _COMPUTED[pid](answer, context)
    elif pid in _STATIC:
        table, hint = _STATIC[pid]
        if answer is not None and not isinstance(answer, Mapping):
            result = checks.CheckResult(False, "答えは {項目: ラベル} の辞書で入力してください。", hint)
        else:
            result = checks.check_labels(answer or {}, {k: v[0] for k, v in table.items()},
                                         why={k: v[1] for k, v in table.items()}, hint=hint, display=False)
    else:
        raise ValueError(f"練習「{pid}」はありません。ノートブックのセルを書き換えていないか確かめてください。")
    result._shown = False
    return checks._show(result, display) if display else result
