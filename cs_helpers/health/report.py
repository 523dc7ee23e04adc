"""``health check``: learn a points table from your own churn history, judge it honestly, write a report.

``check(data, mapping=..., weights=None, capacity=None, out=DIR)`` writes

* ``DIR/report.html``: one self-contained Japanese page (plots embedded as PNG, nothing from the network):
  ROC curves, churn by band, the points table, calibration, lift at capacity;
* ``DIR/summary.json``: rows, churn rate, every signal's AUC and direction, the learned score's out-of-sample
  AUC, its folds and points, the hand-weighted score's AUC (with ``weights``), precision and lift at capacity;
* ``DIR/scored.csv``: account, score, band and the two signals that cost it the most points.

A customer table (one row per account) is judged by stratified k-fold cross-validation; a monthly table by
training on earlier cutoffs and testing on later ones (features from complete months up to each cutoff only).
Beside the learned score, in the same run: a plain scikit-learn logistic regression on the same columns, the
hand-weighted score (``weights``) and the naive score (the single strongest signal).
"""
from __future__ import annotations

import html
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd

from ..data import DataError
from ..htmlpage import figure_data_uri
from . import byo, learn
from .metrics import auc, churn_by_band, roc_curve
from .score import BANDS, bands, weighted_score

DEFAULT_FOLDS = 5
HORIZON_DAYS = 90


# --------------------------------------------------------------------------------------------------
# inputs
# --------------------------------------------------------------------------------------------------


def read_weights(path: str | Path, allowed: list[str]) -> dict[str, float]:
    """Hand weights from a YAML/JSON file ``column: weight`` (negative = higher is riskier), checked."""
    import yaml

    p = Path(path)
    if not p.exists():
        raise DataError("重みのファイルが見つかりません。", path=p, fix="パスとファイル名を確認してください。")
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8-sig"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise DataError("重みのファイルを読めません。", path=p, line=mark.line + 1 if mark else None,
                        fix="「列名: 重み」の形で1行に1つずつ書いてください (例: tenure: 1.0)。") from None
    if isinstance(raw, Mapping) and set(raw) == {"weights"}:
        raw = raw["weights"]
    if not isinstance(raw, Mapping) or not raw:
        raise DataError("重みは「列名: 重み」の形で1つ以上書いてください。", path=p,
                        fix="例: tenure: 1.0 (高いほど健全)、MonthlyCharges: -0.5 (高いほど危険)")
    lines = _key_lines(p)
    out = {}
    for key, value in raw.items():
        name = str(key)
        if name not in allowed:
            raise DataError(f"重みの項目「{name}」は使えません。", path=p, column=name, line=lines.get(name),
                            fix="使える項目: " + "、".join(allowed))
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(float(value)):
            raise DataError(f"重み「{name}: {value}」が数ではありません。", path=p, column=name, line=lines.get(name),
                            fix="重みは 1.0 や -0.5 のような数で書いてください (負の数 = 高いほど危険)。")
        out[name] = float(value)
    if not any(v != 0 for v in out.values()):
        raise DataError("重みがすべて0です。", path=p, fix="少なくとも1つの項目に0以外の重みをつけてください。")
    return out


def _key_lines(path: Path) -> dict[str, int]:
    """Line number (1-based) of each top-level key of a simple YAML mapping."""
    import yaml

    lines: dict[str, int] = {}
    try:
        node = yaml.compose(path.read_text(encoding="utf-8-sig"))
    except yaml.YAMLError:
        return lines
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if isinstance(v, yaml.MappingNode) and k.value == "weights":
                return {kk.value: kk.start_mark.line + 1 for kk, _ in v.value}
            lines[str(k.value)] = k.start_mark.line + 1
    return lines


# --------------------------------------------------------------------------------------------------
# the analysis
# --------------------------------------------------------------------------------------------------


@dataclass
class CheckResult:
    summary: dict
    validation: learn.Validation
    scored: pd.DataFrame
    out: Path


def _signal_table(frame: pd.DataFrame, columns: list[str], stated: Mapping[str, int]) -> list[dict]:
    y = frame["churned"].to_numpy(dtype=bool)
    rows = []
    for col in columns:
        x = pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        ok = np.isfinite(x)
        try:
            a = auc(y[ok], x[ok])
        except ValueError:
            a = float("nan")
        base = col.rsplit("_", 1)[0] if col not in stated and col.rsplit("_", 1)[-1] in ("level", "trend") else col
        rows.append({"name": col, "auc": None if np.isnan(a) else round(max(a, 1 - a), 4),
                     "auc_low_is_risk": None if np.isnan(a) else round(a, 4),
                     "direction": "低いほど危険" if a >= 0.5 else "高いほど危険",
                     "stated_direction": {1: "高いほど健全", -1: "高いほど危険"}.get(stated.get(base), None),
                     "missing": int((~ok).sum())})
    return rows


def _monthly_frame(data: byo.ByoData, horizon_days: int, progress: bool) -> tuple[pd.DataFrame, list[pd.Timestamp]]:
    start = data.frame["date"].min() + pd.DateOffset(months=6)
    end = (data.frame["date"].max() + pd.offsets.MonthEnd(0)).normalize()
    cutoffs = list(pd.date_range(start, end - pd.Timedelta(days=horizon_days), freq="ME"))
    # 6 months before the first cutoff (level and trend), a training cutoff, 3 months until its outcome is known,
    # and later cutoffs to test on
    if len(cutoffs) < 6:
        raise DataError("月次の表の期間が短すぎて、前の時点で学習して後の時点で確かめることができません。", path=data.path,
                        fix=f"少なくとも {6 + 6 + -(-horizon_days // 30)} か月分の行を用意してください。")
    it = cutoffs
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(cutoffs, desc="時点ごとの特徴量", unit="時点")
    parts = [byo.byo_features(data, c, horizon_days) for c in it]
    frame = pd.concat(parts)
    frame.index = pd.Index([f"{a}@{c.date()}" for a, c in zip(frame.index, frame["cutoff"])], name="row")
    frame["account"] = [i.split("@")[0] for i in frame.index]
    return frame, cutoffs


def check(data: str | Path, *, mapping, out: str | Path, weights: str | Path | Mapping | None = None,
          capacity: int | None = None, folds: int = DEFAULT_FOLDS, horizon_days: int = HORIZON_DAYS,
          seed: int = 0, progress: bool = True) -> CheckResult:
    """Run the whole check and write ``report.html``, ``summary.json`` and ``scored.csv`` into ``out``."""
    if capacity is not None and int(capacity) <= 0:
        raise ValueError("対応できる件数 (--capacity) は1件以上にしてください。")
    loaded = byo.load_byo(data, mapping)
    m = loaded.mapping
    stated = dict(m.directions)
    if loaded.monthly:
        frame, cutoffs = _monthly_frame(loaded, horizon_days, progress)
        signals = [f"{s}_{a}" for s in m.signals for a in ("level", "trend")]
        directions = {f"{s}_{a}": d for s, d in stated.items() for a in ("level", "trend")}
        categories: list[str] = []
    else:
        frame = byo.byo_features(loaded)
        signals, categories, directions = list(m.signals), list(m.categories), stated
    if m.arr and m.arr in loaded.frame:
        arr = loaded.frame.drop_duplicates("account_id").set_index("account_id")[m.arr]
    else:
        arr = None
    y_all = frame["churned"].to_numpy(dtype=bool)
    if y_all.all() or not y_all.any():
        raise DataError("解約した顧客と継続した顧客の両方が必要です。", path=loaded.path, column=m.churn or m.churn_date,
                        fix="解約の列の値 (Yes/No など) を確かめてください。")

    hand_weights = None
    if weights is not None:
        allowed = signals + (list(m.signals) if loaded.monthly else [])
        hand_weights = read_weights(weights, allowed) if not isinstance(weights, Mapping) else dict(weights)
        if loaded.monthly:  # a bare signal name weighs its level
            hand_weights = {(k if k in signals else f"{k}_level"): v for k, v in hand_weights.items()}

    if loaded.monthly:
        split = cutoffs[max(int(len(cutoffs) * 0.6), 4)]
        val = learn.validate_over_time(frame, split=split, horizon_days=horizon_days, signals=signals,
                                       directions=directions)
        test = val.frame
        plain = None
        kind = "monthly"
    else:
        val = learn.cross_validate(frame, signals=signals, categories=categories, directions=directions,
                                   folds=folds, seed=seed, progress=progress)
        test = val.frame
        plain = learn.plain_logistic_cv(frame, signals=signals, categories=categories, folds=folds, seed=seed)
        test["plain_risk"] = plain["risk"]
        kind = "customer"

    y = test["churned"].to_numpy(dtype=bool)
    test_rows = frame.loc[test.index]
    if hand_weights:
        if loaded.monthly:
            hs = pd.concat([weighted_score(g, hand_weights) for _, g in test_rows.groupby("cutoff", sort=False)])
            test["hand_score"] = hs["score"].reindex(test.index).to_numpy()
        else:
            test["hand_score"] = weighted_score(test_rows, hand_weights)["score"].to_numpy()
    sig_rows = _signal_table(frame, signals, stated)
    best = max((r for r in sig_rows if r["auc"] is not None), key=lambda r: r["auc"], default=None)
    if best is not None:
        x = pd.to_numeric(test_rows[best["name"]], errors="coerce").to_numpy(dtype=float)
        test["naive_score"] = x if best["direction"] == "低いほど危険" else -x

    k = int(capacity) if capacity is not None else max(1, int(round(0.1 * len(test))))
    test_ids = test_rows["account"] if "account" in test_rows else pd.Series(test.index, index=test.index)
    arr_test = arr.reindex(test_ids.astype(str)).to_numpy() if arr is not None else None
    cap = learn.capacity_metrics(y, test["learned_score"].to_numpy(), k, arr=arr_test)
    cap_hand = (learn.capacity_metrics(y, test["hand_score"].to_numpy(), k, arr=arr_test)
                if "hand_score" in test else None)

    card = val.card
    thresholds = card.thresholds()
    test["band"] = bands(test["learned_score"], thresholds).astype(str)
    summary = _summary(kind, frame, loaded, val, plain, sig_rows, best, hand_weights, test, cap, cap_hand,
                       thresholds, folds, horizon_days)

    scored = _scored(loaded, card, thresholds)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    scored.to_csv(out / "scored.csv", index=False, encoding="utf-8-sig")
    (out / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2, default=_json), encoding="utf-8")
    (out / "report.html").write_text(render_html(summary, val, test, card, k), encoding="utf-8")
    return CheckResult(summary, val, scored, out)


def _json(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return None if np.isnan(value) else float(value)
    if isinstance(value, (pd.Timestamp, np.datetime64)):
        return str(pd.Timestamp(value).date())
    raise TypeError(type(value).__name__)


def _r(v, nd=4):
    return None if v is None or (isinstance(v, float) and np.isnan(v)) else round(float(v), nd)


def _summary(kind, frame, loaded, val, plain, sig_rows, best, hand_weights, test, cap, cap_hand, thresholds,
             folds, horizon_days) -> dict:
    y = test["churned"].to_numpy(dtype=bool)
    metrics = val.summary().loc["学習したスコア"]
    card = val.card
    learned = {"auc_cv": _r(metrics["auc"]), "pr_auc": _r(metrics["pr_auc"]), "brier": _r(metrics["brier"]),
               "folds": len(val.folds) if kind == "customer" else 1,
               "fold_auc": [_r(f["auc"]) for f in val.folds],
               "validation": f"stratified {folds}-fold" if kind == "customer" else "train on earlier cutoffs, test on later ones",
               "weights": {k: _r(v, 2) for k, v in card.weights.items()},
               "points": [{"signal": r.signal, "level": r.level, "points": _r(r.points, 2)}
                          for r in card.points.itertuples()],
               "thresholds": {k: _r(v, 2) for k, v in thresholds.items()}}
    if kind == "monthly":
        f = val.folds[0]
        learned["train_cutoffs"] = [str(pd.Timestamp(c).date()) for c in f["train_cutoffs"]]
        learned["test_cutoffs"] = [str(pd.Timestamp(c).date()) for c in f["test_cutoffs"]]
    out = {"kind": kind, "data": Path(loaded.path).name, "rows": int(len(frame)),
           "accounts": int(loaded.frame["account_id"].nunique()),
           "churn_rate": _r(frame["churned"].mean()), "test_rows": int(len(test)),
           "horizon_days": horizon_days if kind == "monthly" else None,
           "signals": sig_rows, "learned": learned}
    if plain is not None:
        out["plain_logistic"] = {"auc_cv": _r(plain["auc"]), "fold_auc": [_r(a) for a in plain["fold_auc"]]}
    if hand_weights:
        out["hand"] = {"auc": _r(auc(y, test["hand_score"])), "weights": hand_weights,
                       "capacity": {k: _r(v) for k, v in cap_hand.items()}}
    if best is not None and "naive_score" in test:
        ok = np.isfinite(test["naive_score"].to_numpy(dtype=float))
        out["naive"] = {"signal": best["name"], "auc": _r(auc(y[ok], test["naive_score"].to_numpy()[ok]))}
    out["capacity"] = {k: _r(v) for k, v in cap.items()}
    out["capacity"]["k"] = int(cap["k"])
    by_band = churn_by_band(test.assign(band=test["band"]))
    out["bands"] = {b: {"accounts": int(r.accounts), "churn_rate": _r(r.churn_rate)} for b, r in by_band.iterrows()}
    return out


def _scored(loaded: byo.ByoData, card: learn.Scorecard, thresholds) -> pd.DataFrame:
    """Every account scored by the card fitted on all rows: customer tables as they are, monthly tables at the
    last month end of the data (features from complete months up to then)."""
    feats = byo.byo_features(loaded)
    s = card.score(feats)
    why = card.explain(feats, 2)
    out = pd.DataFrame({"account": feats.index.astype(str), "score": s.round(1).to_numpy(),
                        "band": bands(s, thresholds).astype(str).to_numpy(),
                        "reason_1": why["reason_1"].to_numpy(),
                        "reason_2": why["reason_2"].to_numpy() if "reason_2" in why else ""})
    return out.sort_values(["score", "account"], kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------------------------------
# the page
# --------------------------------------------------------------------------------------------------


def _figures(summary: dict, test: pd.DataFrame, card: learn.Scorecard, k: int) -> dict[str, str]:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    import seaborn as sns

    from .. import plotting

    plotting.setup()
    colours = plotting.band_palette()
    y = test["churned"].to_numpy(dtype=bool)
    curves = {"学習したスコア": (test["learned_score"], "healthy")}
    if "plain_risk" in test:
        curves["ロジスティック回帰 (比較用)"] = (test["plain_risk"], "risk")
    if "hand_score" in test:
        curves["手で決めた重み"] = (test["hand_score"], "healthy")
    if "naive_score" in test:
        curves[f"単純なスコア ({summary['naive']['signal']})"] = (test["naive_score"], "healthy")
    figs = {}

    fig, ax = plt.subplots(figsize=(5.2, 4.8))
    for name, (s, how) in curves.items():
        ok = np.isfinite(s.to_numpy(dtype=float))
        roc = roc_curve(y[ok], s.to_numpy(dtype=float)[ok], higher_means=how)
        ax.plot(roc["fpr"], roc["tpr"], label=f"{name} (AUC {auc(y[ok], s.to_numpy(dtype=float)[ok], higher_means=how):.3f})")
    ax.plot([0, 1], [0, 1], color="gray", linestyle=":")
    ax.set(xlabel="継続した顧客のうち危険と判定した割合", ylabel="解約した顧客のうち拾えた割合", title="ROC曲線 (検証用の行)")
    ax.legend(fontsize=8, loc="lower right")
    figs["roc"] = figure_data_uri(fig)

    rates = churn_by_band(test).reset_index()
    fig, ax = plt.subplots(figsize=(5.2, 3.4))
    sns.barplot(data=rates, x="band", y="churn_rate", hue="band", palette=colours, legend=False, ax=ax, order=list(BANDS))
    ax.axhline(y.mean(), color="gray", linestyle="--", label="全体の解約率")
    ax.set(xlabel="帯 (学習したスコア)", ylabel="解約率", title="帯ごとの解約率")
    ax.legend(fontsize=8)
    figs["bands"] = figure_data_uri(fig)

    pts = card.points.copy()
    pts["項目"] = pts["signal"] + ": " + pts["level"].astype(str)
    pts = pts[pts["points"] < -0.05].sort_values("points").head(25)
    fig, ax = plt.subplots(figsize=(6.4, max(2.4, 0.28 * len(pts) + 0.8)))
    sns.barplot(data=pts, y="項目", x="points", color=colours["赤"], ax=ax)
    ax.set(xlabel="失う点数 (100点から引く)", ylabel="", title="点数表 (失う点数の大きい順)")
    figs["points"] = figure_data_uri(fig)

    rel = learn.reliability(y, test["learned_prob"].to_numpy(), bins=10)
    fig, ax = plt.subplots(figsize=(4.8, 4.4))
    ax.plot([0, 1], [0, 1], color="gray", linestyle=":", label="完全に合っている線")
    ax.plot(rel["predicted"], rel["observed"], marker="o", label="学習したスコア")
    ax.set(xlabel="予測した解約確率", ylabel="実際の解約率", title="キャリブレーション (信頼性図)")
    ax.legend(fontsize=8)
    figs["calibration"] = figure_data_uri(fig)

    ks = np.unique(np.linspace(1, len(test), 40).astype(int))
    fig, ax = plt.subplots(figsize=(5.6, 3.6))
    for name, col in (("学習したスコア", "learned_score"), ("手で決めた重み", "hand_score")):
        if col in test:
            lifts = [learn.capacity_metrics(y, test[col].to_numpy(dtype=float), kk)["lift"] for kk in ks]
            ax.plot(ks, lifts, label=name)
    ax.axvline(k, color=colours["赤"], linestyle="--", label=f"対応できる件数 {k}")
    ax.axhline(1, color="gray", linestyle=":")
    ax.set(xlabel="リスクの高い順に対応する件数", ylabel="リフト (全体の何倍当たるか)", title="対応件数ごとのリフト")
    ax.legend(fontsize=8)
    figs["lift"] = figure_data_uri(fig)
    return figs


_CSS = """body{font-family:'IPAexGothic','Hiragino Sans','Noto Sans JP',sans-serif;margin:2em auto;max-width:60em;
color:#222;line-height:1.6}h1{font-size:1.5em}h2{font-size:1.2em;border-bottom:2px solid #ddd;margin-top:2em}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.2em .6em;text-align:right}
th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}.note{color:#555;font-size:.92em}
img{max-width:100%}.warn{background:#fff6e0;border-left:4px solid #e8b22a;padding:.4em .8em}"""


def _t(df: pd.DataFrame) -> str:
    return df.to_html(index=False, escape=True, na_rep="", float_format=lambda v: f"{v:.3f}", border=0)


def render_html(summary: dict, val: learn.Validation, test: pd.DataFrame, card: learn.Scorecard, k: int) -> str:
    """The report page: text escaped, plots as data: URIs, no script and no external resource."""
    figs = _figures(summary, test, card, k)
    e = html.escape
    ln = summary["learned"]
    comp = [("学習したスコア (点数表)", ln["auc_cv"], ln["pr_auc"], ln["brier"])]
    if "plain_logistic" in summary:
        comp.append(("ロジスティック回帰 (比較用、点数表にはならない)", summary["plain_logistic"]["auc_cv"], None, None))
    if "hand" in summary:
        comp.append(("手で決めた重み", summary["hand"]["auc"], None, None))
    if "naive" in summary:
        comp.append((f"単純なスコア ({summary['naive']['signal']} だけ)", summary["naive"]["auc"], None, None))
    comp_df = pd.DataFrame(comp, columns=["スコア", "AUC", "PR-AUC", "Brier"])
    sig_df = pd.DataFrame([{"信号": s["name"], "AUC (向きをそろえた値)": s["auc"], "データが示す向き": s["direction"],
                            "指定した向き": s["stated_direction"] or "", "空欄": s["missing"]} for s in summary["signals"]])
    pts = card.points.assign(points=lambda d: d["points"].round(1))
    pts_df = pts.rename(columns={"signal": "信号", "kind": "種類", "level": "区分", "points": "点数"})
    w_df = pd.DataFrame({"信号": card.weights.index, "最大で失う点数": card.weights.round(1).to_numpy()})
    cap = summary["capacity"]
    cap_rows = [("学習したスコア", cap["precision"], cap["lift"], cap["recall"], cap.get("arr_share_caught"))]
    if "hand" in summary:
        h = summary["hand"]["capacity"]
        cap_rows.append(("手で決めた重み", h["precision"], h["lift"], h["recall"], h.get("arr_share_caught")))
    cap_df = pd.DataFrame(cap_rows, columns=["スコア", "適合率", "リフト", "拾えた解約の割合", "拾えた解約ARRの割合"])
    if all(r[4] is None for r in cap_rows):
        cap_df = cap_df.drop(columns="拾えた解約ARRの割合")
    how = (f"層化 {ln['folds']} 分割の交差検証 (各分割のスコアは、その分割の行を一度も見ずに学習しています)"
           if summary["kind"] == "customer" else
           f"前の時点で学習し、後の時点で検証 (学習: {e(', '.join(ln['train_cutoffs'][:1]))} 〜 "
           f"{e(ln['train_cutoffs'][-1])} / 検証: {e(ln['test_cutoffs'][0])} 〜 {e(ln['test_cutoffs'][-1])}。"
           f"各時点の特徴量はその時点までに終わった月だけから作り、{summary['horizon_days']}日以内の解約と照らし合わせます)")
    th = ln["thresholds"]
    parts = [
        "<!DOCTYPE html><html lang='ja'><head><meta charset='utf-8'><title>ヘルススコア検証レポート</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>ヘルススコア検証レポート: {e(summary['data'])}</h1>",
        f"<p>{summary['rows']:,} 行 ({summary['accounts']:,} 社)、解約率 {summary['churn_rate']:.1%}。検証の方法: {how}。</p>",
        "<h2>1. どのスコアが解約を見分けるか</h2>", _t(comp_df),
        "<p class='note'>AUC: 解約した顧客と継続した顧客を1社ずつ選んだとき、解約した顧客のほうが危ないと判定される確率"
        " (0.5 = 当てずっぽう)。PR-AUC: 危ない順に並べたときの当たりの多さ。Brier: 予測した解約確率と実際の差の二乗平均"
        " (小さいほどよい)。数字はすべて、学習に使っていない行で測っています。</p>",
        f"<img alt='ROC曲線' src='{figs['roc']}'>",
        "<h2>2. 点数表 (100点から、当てはまる区分の点数を引きます)</h2>",
        "<p>各信号の「最大で失う点数」の合計は100点です。最もよい区分は0点、それ以外はマイナスです。"
        "CSMがこの表を見て「この重みは自社の実感と合うか」を議論できることが、中身の見えないモデルより大切です。</p>",
        _t(w_df), _t(pts_df), f"<img alt='点数表' src='{figs['points']}'>",
        "<p class='warn'>学習した重みは「過去に解約と一緒に動いたもの」です。原因とは限りません。"
        "たとえば料金の高さが減点されていても、値下げすれば解約が減るとは言えません。"
        "事業として動かせない属性 (契約形態など) は、誰に先に連絡するかの判断には使えても、CSMの評価には使わないでください。</p>",
        "<h2>3. 指標ごとの強さ</h2>", _t(sig_df),
        "<h2>4. 帯ごとの解約率</h2>",
        f"<p>帯は確率で決めています: 赤 = 解約の確率が全体の2倍以上 (スコア {th['赤']:.1f} 点未満)、"
        f"黄 = 全体の平均以上 ({th['黄']:.1f} 点未満)、緑 = それ以外。時点ごとの相対評価ではないので、"
        "全体が悪くなれば赤も増えます。</p>",
        f"<img alt='帯ごとの解約率' src='{figs['bands']}'>",
        "<h2>5. キャリブレーション</h2>",
        "<p>点の近くが斜めの線に沿っていれば、「解約の確率30%」と出た顧客は実際にも3割ほど解約しています。</p>",
        f"<img alt='キャリブレーション' src='{figs['calibration']}'>",
        f"<h2>6. 対応できる件数 ({cap['k']}件) の中で</h2>", _t(cap_df),
        f"<img alt='対応件数ごとのリフト' src='{figs['lift']}'>",
        "<p class='note'>このページはオフラインで開けます (外部のファイルやスクリプトを読み込みません)。"
        "作成: cs-dojo health check</p>",
        "</body></html>",
    ]
    return "\n".join(parts)
