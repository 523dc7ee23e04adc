"""Lesson 04's practice checks: keys match an independent answer, wrong items are named with the reason."""
from __future__ import annotations

import nbformat
import pandas as pd
import pytest

from cs_helpers import practice as P
from tests import nbgrader_roundtrip as rt

LESSON = rt.ROOT / "curriculum" / "04_health_data_analysis.ipynb"


def test_static_keys_and_feedback_names_the_wrong_item():
    right = {"3月14日に起票された問い合わせ": "使える", "3月の月間アクティブユーザー数": "使えない", "顧客表の解約日": "使えない",
             "前年9月に回答されたNPS": "使える", "2月の月間ログイン回数": "使える", "3月20日に起票された問い合わせ": "使えない"}
    assert P.check("04.leak", right, display=False).ok
    wrong = dict(right, **{"3月の月間アクティブユーザー数": "使える"})
    r = P.check("04.leak", wrong, display=False)
    assert not r.ok and any("3月の月間アクティブユーザー数" in d and "終わっていません" in d for d in r.details)
    ind = {"四半期の解約率": "遅行", "ライセンス利用率の3か月の傾き": "先行", "NRR (売上の純継続率)": "遅行",
           "問い合わせ文面の温度感": "先行", "主要機能の活用数": "先行", "年間の更新率": "遅行"}
    assert P.check("04.indicator", ind, display=False).ok
    assert not P.check("04.indicator", "先行", display=False).ok
    with pytest.raises(ValueError, match="ありません"):
        P.check("04.nothing", 1, display=False)


def test_computed_keys_follow_the_data():
    frame = pd.DataFrame({"band": ["赤", "赤", "黄", "緑"], "churned": [True, False, True, False],
                          "utilisation_level": [0.1, 0.5, 0.3, 0.9]}, index=list("abcd"))
    assert P.check("04.red_count", 2, scored=frame, display=False).ok
    assert not P.check("04.red_count", 3, scored=frame, display=False).ok
    assert P.check("04.auc_level", 1.0, frame=frame, display=False).ok      # churners 0.1, 0.3 < stayers 0.5, 0.9
    assert not P.check("04.auc_level", 0.0, frame=frame, display=False).ok
    calls = pd.DataFrame(index=["a", "b"])
    assert P.check("04.hits", 1, frame=frame, calls=calls, display=False).ok
    with pytest.raises(ValueError, match="calls"):
        P.check("04.hits", 1, frame=frame, display=False)


def test_no_practice_cell_of_the_lesson_holds_a_key():
    nb = nbformat.read(LESSON, as_version=4)
    checks = [c.source for c in nb.cells if c.cell_type == "code" and c.source.startswith("# 答え合わせ")]
    assert len(checks) == 5
    for src in checks:
        assert src.count("\n") == 1 and src.splitlines()[1].startswith("P.check(")
        assert "使える" not in src and "遅行" not in src and "sum()" not in src and "health.auc" not in src
    used = {src.split('"')[1] for src in checks}
    assert used == {pid for pid in P.ids() if pid.startswith("04.")}
