"""Bring your own data: check which of *your* signals predict churn, with the same metrics as the course.

A small mapping (a dict, or a ``.yaml`` / ``.json`` file) says which of your CSV columns is what::

    # one row per customer (e.g. a telco-style churn table; no dates)
    account_id: customerID
    churn: Churn                     # Yes/No, はい/いいえ, 1/0, True/False, 解約/継続
    signals: [tenure, MonthlyCharges, TotalCharges]
    categories: [Contract]           # text columns to compare churn rates by (optional)
    optional: [TotalCharges]         # signals allowed to be blank (optional)
    directions: {tenure: healthy}    # stated directions for a learned score: healthy / risk (optional)
    arr: MonthlyCharges              # revenue column, for "share of churned ARR caught" (optional)

    # one row per customer and month (monthly usage)
    account_id: 顧客コード
    date: 対象月
    churn_date: 解約日               # blank = still a customer; or `churn: 解約フラグ` (per customer)
    signals: [利用者数, ログイン数]

Loading goes through ``cs_helpers.data.load_mapped``: wrong types, missing columns, duplicate ids and
unparseable dates raise ``DataError`` naming the column (as written in your CSV) and the first bad line.

* ``load_byo(path, mapping)`` -> ``ByoData``
* ``byo_features(data, cutoff=None)`` -> one row per customer: your signals (customer table) or their level
  and trend over 3 complete months up to the cutoff (monthly table), plus ``churned``
* ``signal_report(features)`` -> AUC of every signal against churn, and which direction means risk
* ``churn_by_category(data, column)`` -> churn rate per value of a text column (e.g. contract type)
* ``evaluate(data, weights, cutoff=None, horizon_days=90)`` -> the same ``Backtest`` as the course's score
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from ..data import DataError, _first_bad, _line, load_mapped
from .backtest import Backtest
from .features import _ts, live_accounts, monthly_level_trend
from .metrics import auc, churn_by_band, red_precision_recall
from .score import weighted_score

_KEYS = {"account_id", "churn", "churn_date", "date", "signals", "categories", "optional", "directions", "arr"}
_CHURN_YES = {"yes", "y", "true", "t", "1", "はい", "解約", "解約済", "解約済み", "churn", "churned", "あり"}
_CHURN_NO = {"no", "n", "false", "f", "0", "いいえ", "継続", "継続中", "active", "stay", "stayed", "なし"}


@dataclass
class ByoMapping:
    """Which of your CSV columns is the account id, the date, the churn label and the numeric signals."""
    account_id: str
    signals: list[str]
    churn: str | None = None
    churn_date: str | None = None
    date: str | None = None
    categories: list[str] = field(default_factory=list)
    optional: list[str] = field(default_factory=list)
    directions: dict[str, int] = field(default_factory=dict)  # signal -> +1 (higher is healthier) / -1
    arr: str | None = None                                    # annual revenue column (optional)

    @property
    def monthly(self) -> bool:
        return self.date is not None


def _as_list(value, key: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return list(value)
    raise DataError(f"対応づけの「{key}」は列名のリストで書いてください。", fix=f"例: {key}: [列名1, 列名2]")


def read_mapping(mapping: Mapping | str | Path) -> ByoMapping:
    """A mapping from a dict or from a ``.yaml``/``.yml``/``.json`` file, checked with Japanese errors."""
    source = None
    if isinstance(mapping, (str, Path)):
        source = Path(mapping)
        if not source.exists():
            raise DataError("対応づけファイルが見つかりません。", path=source, fix="パスとファイル名を確認してください。")
        text = source.read_text(encoding="utf-8-sig")
        import yaml

        try:
            mapping = json.loads(text) if source.suffix.lower() == ".json" else yaml.safe_load(text)
        except (ValueError, yaml.YAMLError) as exc:  # json.JSONDecodeError is a ValueError
            line = getattr(getattr(exc, "problem_mark", None), "line", None)
            line = line + 1 if line is not None else getattr(exc, "lineno", None)
            raise DataError("対応づけファイルを読めません。", path=source, line=line,
                            fix="「項目: 列名」の形で1行に1つずつ書いてください (例: account_id: customerID)。") from None
    if not isinstance(mapping, Mapping):
        raise DataError("対応づけは「項目: 列名」の形 (辞書) で指定してください。", path=source,
                        fix="例: {\"account_id\": \"customerID\", \"churn\": \"Churn\", \"signals\": [\"tenure\"]}")
    unknown = [k for k in mapping if k not in _KEYS]
    if unknown:
        raise DataError(f"対応づけに知らない項目「{unknown[0]}」があります。", path=source,
                        fix="使える項目: " + "、".join(sorted(_KEYS)))
    if not mapping.get("account_id"):
        raise DataError("対応づけに account_id (顧客IDの列名) がありません。", path=source,
                        fix="例: account_id: customerID")
    signals = _as_list(mapping.get("signals"), "signals")
    if not signals:
        raise DataError("対応づけに signals (数値の列名のリスト) がありません。", path=source,
                        fix="例: signals: [tenure, MonthlyCharges]")
    m = ByoMapping(account_id=str(mapping["account_id"]), signals=signals,
                   churn=mapping.get("churn"), churn_date=mapping.get("churn_date"), date=mapping.get("date"),
                   categories=_as_list(mapping.get("categories"), "categories"),
                   optional=_as_list(mapping.get("optional"), "optional"))
    m.directions = _directions(mapping.get("directions"), m.signals, source)
    if mapping.get("arr") is not None:
        if not isinstance(mapping["arr"], str):
            raise DataError("対応づけの「arr」は列名1つで書いてください。", path=source, fix="例: arr: 年間契約額")
        m.arr = mapping["arr"]
    used = [m.account_id, m.churn, m.churn_date, m.date, *m.signals, *m.categories, m.arr if m.arr not in m.signals else None]
    used = [u for u in used if u]
    dup = next((u for u in used if used.count(u) > 1), None)
    if dup:
        raise DataError(f"列「{dup}」が対応づけの中で2回使われています。", path=source, column=dup,
                        fix="1つの列は1つの項目にだけ対応づけてください。")
    stray = [o for o in m.optional if o not in m.signals]
    if stray:
        raise DataError(f"optional の「{stray[0]}」が signals にありません。", path=source,
                        fix="空欄を許す列は signals にも書いてください。")
    if m.churn is None and m.churn_date is None:
        raise DataError("解約の列 (churn または churn_date) が指定されていません。", path=source,
                        fix="例: churn: Churn (Yes/No の列)、または churn_date: 解約日 (日付の列、継続中は空欄)")
    if m.churn_date is not None and not m.monthly:
        raise DataError("churn_date は月次の表 (date を指定したとき) で使います。", path=source,
                        fix="顧客1行の表なら churn: (Yes/No の列) を指定してください。")
    return m


def _directions(value, signals: list[str], source) -> dict[str, int]:
    """``directions: {signal: healthy | risk}`` (高いほど健全 / 高いほど危険 also accepted)."""
    from .learn import _direction

    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise DataError("対応づけの「directions」は「列名: 向き」の形で書いてください。", path=source,
                        fix="例: directions: {tenure: healthy, MonthlyCharges: risk}")
    out = {}
    for key, how in value.items():
        if key not in signals:
            raise DataError(f"directions の「{key}」が signals にありません。", path=source, column=str(key),
                            fix="向きは signals に書いた数値の列にだけ指定できます。")
        try:
            out[str(key)] = _direction(str(key), how)
        except ValueError as exc:
            raise DataError(str(exc), path=source, column=str(key),
                            fix="healthy (高いほど健全) か risk (高いほど危険) のどちらかを書いてください。") from None
    return out


def parse_churn(values: pd.Series, *, path: str | Path = "<data>", column: str = "churn") -> pd.Series:
    """Churn labels (Yes/No, はい/いいえ, 1/0, True/False, 解約/継続) to booleans; the first unknown value raises
    ``DataError`` with its line (header = line 1)."""
    text = values.astype("string").str.strip().str.lower()
    yes, no = text.isin(_CHURN_YES).fillna(False), text.isin(_CHURN_NO).fillna(False)
    bad = ~(yes | no)
    if bad.any():
        pos = _first_bad(bad)
        shown = values.iloc[pos]
        raise DataError(f"値「{'' if pd.isna(shown) else shown}」を解約ラベルとして読めません。", path=path, column=column,
                        line=_line(pos), fix="解約した顧客は Yes (または はい / 1)、継続中は No (または いいえ / 0) にしてください。")
    return pd.Series(yes.to_numpy(dtype=bool), index=values.index, name="churned")


@dataclass
class ByoData:
    """Your data, typed and checked: ``frame`` uses ``account_id``, ``date``, ``churned``, ``churn_date``
    and your own signal / category column names."""
    frame: pd.DataFrame
    mapping: ByoMapping
    path: str

    @property
    def monthly(self) -> bool:
        return self.mapping.monthly

    @property
    def signals(self) -> list[str]:
        return list(self.mapping.signals)

    def accounts(self) -> pd.DataFrame:
        """One row per account: first month seen, churn flag and churn date (monthly tables only)."""
        f = self.frame
        g = f.groupby("account_id", sort=True)
        out = pd.DataFrame({"contract_start": g["date"].min(), "last_month": g["date"].max(),
                            "churned": g["churned"].max(), "churn_date": g["churn_date"].first()})
        return out.reset_index()


def load_byo(path: str | Path, mapping: Mapping | str | Path) -> ByoData:
    """Load your CSV with ``mapping`` (dict or file). See the module docstring for the mapping format.

    Customer tables need one row per account id; monthly tables one row per (account id, month). In a
    monthly table the churn label or date must be the same on every row of an account. If only a Yes/No
    label is given, the churn date is taken as the first day of the month after the account's last row.
    """
    m = read_mapping(mapping)
    names = {"account_id": m.account_id}
    kinds = {"account_id": "str"}
    if m.monthly:
        names["date"], kinds["date"] = m.date, "date"
    if m.churn:
        names["churn"], kinds["churn"] = m.churn, "str"
    if m.churn_date:
        names["churn_date"], kinds["churn_date"] = m.churn_date, "date"
    for s in m.signals:
        names[s], kinds[s] = s, "float"
    for cat in m.categories:
        names[cat], kinds[cat] = cat, "str"
    if m.arr and m.arr not in names:
        names[m.arr], kinds[m.arr] = m.arr, "float"
    optional = set(m.optional) | ({"churn_date"} if m.churn_date else set()) | ({m.arr} if m.arr else set())
    key = ["account_id", "date"] if m.monthly else ["account_id"]
    frame = load_mapped(path, names, kinds, key=key, optional=optional)
    if m.churn:
        frame["churned"] = parse_churn(frame.pop("churn"), path=path, column=m.churn)
    for s in m.signals:
        frame[s] = frame[s].to_numpy(dtype=float, na_value=np.nan)
    if m.monthly:
        frame["date"] = frame["date"].dt.to_period("M").dt.start_time
        dup = frame.duplicated(["account_id", "date"])
        if dup.any():
            pos = _first_bad(dup)
            raise DataError("同じ顧客の同じ月の行が2つあります (日付が同じ月に入っています)。", path=path, column=m.date,
                            line=_line(pos), fix="月次の表は、顧客ごとに1か月1行にまとめてください。")
        _check_constant_per_account(frame, m, path)
        if "churn_date" not in frame:
            last = frame.groupby("account_id")["date"].transform("max")
            frame["churn_date"] = (last + pd.DateOffset(months=1)).where(frame["churned"])
        if "churned" not in frame:
            frame["churned"] = frame["churn_date"].notna()
    return ByoData(frame=frame, mapping=m, path=str(path))


def _check_constant_per_account(frame: pd.DataFrame, m: ByoMapping, path) -> None:
    for col, label in (("churned", m.churn), ("churn_date", m.churn_date)):
        if col not in frame:
            continue
        values = frame[col].astype("string").fillna("<空欄>")
        first = values.groupby(frame["account_id"]).transform("first")
        bad = values != first
        if bad.any():
            pos = _first_bad(bad)
            raise DataError(f"顧客「{frame['account_id'].iloc[pos]}」の解約の値が行によって違います。", path=path,
                            column=label, line=_line(pos), fix="同じ顧客のすべての行に同じ値を入れてください。")


def byo_features(data: ByoData, cutoff=None, horizon_days: int | None = None) -> pd.DataFrame:
    """One row per account with ``churned`` and numeric features.

    Customer table: your signals as they are (no cutoff: the label and the signals were measured at the same
    time, so this describes churn rather than predicting it). Monthly table: for accounts live at ``cutoff``
    (default: the last month end in the data), ``<signal>_level`` and ``<signal>_trend`` from complete months
    up to the cutoff only, and ``churned`` = churn in (cutoff, cutoff + ``horizon_days``] (default: any time
    after the cutoff).
    """
    f = data.frame
    if not data.monthly:
        if cutoff is not None:
            raise ValueError("この表には日付の列がないため、カットオフは使えません。cutoff を指定せずに呼んでください。")
        out = f.set_index("account_id")[[*data.signals, *data.mapping.categories, "churned"]]
        return out
    c = _ts(cutoff) if cutoff is not None else (f["date"].max() + pd.offsets.MonthEnd(0)).normalize()
    acc = data.accounts()
    live = live_accounts(acc, c)
    if live.empty:
        raise ValueError(f"カットオフ {c.date()} の時点で契約中の顧客がいません。データの期間内の日付を指定してください。")
    ids = pd.Index(live["account_id"].astype(str), name="account_id")
    lt = monthly_level_trend(f, ids, c, {s: s for s in data.signals}, date_col="date")
    months = lt.pop("months_observed")
    out = pd.DataFrame(lt, index=ids)
    out["months_observed"] = months
    churn = live["churn_date"].to_numpy()
    y = pd.notna(churn) & (churn > np.datetime64(c))
    if horizon_days is not None:
        y &= churn <= np.datetime64(c + pd.Timedelta(days=int(horizon_days)))
    out["churned"] = y
    out.insert(0, "cutoff", c)
    return out


def signal_report(features: pd.DataFrame, *, label: str = "churned") -> pd.DataFrame:
    """For each numeric column: AUC if *low* values mean risk, the direction that works, and its strength.

    ``strength`` = max(AUC, 1 - AUC): 0.5 is no better than a coin toss, 0.7 is useful, 0.8+ is strong.
    """
    rows = []
    y = features[label].to_numpy(dtype=bool)
    for col in features.columns:
        if col in (label, "cutoff", "months_observed") or not pd.api.types.is_numeric_dtype(features[col]):
            continue
        x = features[col].to_numpy(dtype=float, na_value=np.nan)
        ok = np.isfinite(x)
        try:
            a = auc(y[ok], x[ok])
        except ValueError:
            a = float("nan")
        rows.append({"signal": col, "missing": int((~ok).sum()), "auc_low_is_risk": a,
                     "direction": "低いほど危険" if a >= 0.5 else "高いほど危険", "strength": max(a, 1 - a)})
    return pd.DataFrame(rows).set_index("signal").sort_values("strength", ascending=False)


def churn_by_category(data: ByoData | pd.DataFrame, column: str, *, label: str = "churned") -> pd.DataFrame:
    """Accounts, churned and churn rate per value of a text column (e.g. contract type)."""
    frame = data.frame if isinstance(data, ByoData) else data
    if isinstance(data, ByoData) and data.monthly:
        frame = frame.drop_duplicates("account_id")
    if column not in frame:
        raise ValueError(f"列「{column}」がありません。categories に指定した列名を使ってください。")
    g = frame.groupby(frame[column].fillna("(空欄)"), sort=True)[label].agg(["size", "sum"])
    g.columns = ["accounts", "churned"]
    g["churned"] = g["churned"].astype(int)
    g["churn_rate"] = g["churned"] / g["accounts"]
    return g.sort_values("churn_rate", ascending=False)


def evaluate(data: ByoData, weights: Mapping[str, float], *, cutoff=None, horizon_days: int = 90,
             thresholds: Mapping[str, float] | Sequence[float] | None = None, naive: str | None = None) -> Backtest:
    """Score your data with signed ``weights`` (column -> weight; negative = higher is riskier) and check
    it against churn: AUC, churn rate and lift per band, red precision/recall.

    Monthly tables are scored at ``cutoff`` (default: ``horizon_days`` before the end of the data) with data
    up to the cutoff only; weights then name features such as ``ログイン数_trend``. ``naive`` names one column
    to compare with (e.g. a raw usage count).
    """
    if data.monthly:
        end = (data.frame["date"].max() + pd.offsets.MonthEnd(0)).normalize()
        c = _ts(cutoff) if cutoff is not None else end - pd.Timedelta(days=int(horizon_days))
        if c + pd.Timedelta(days=int(horizon_days)) > end:
            raise ValueError(f"カットオフ {c.date()} から {int(horizon_days)} 日後はデータの最終月 ({end.date()}) を"
                             "超えるため、解約したかどうかがまだ確定していません。カットオフを早めてください。")
        feats = byo_features(data, c, horizon_days)
        cutoffs = [c]
    else:
        feats = byo_features(data)
        cutoffs, horizon_days = [], 0
    scored = weighted_score(feats, weights, thresholds)
    y = scored["churned"]
    naive_auc = float("nan")
    if naive is not None:
        if naive not in scored:
            raise ValueError(f"比較用の列「{naive}」がありません。")
        x = scored[naive].to_numpy(dtype=float, na_value=np.nan)
        ok = np.isfinite(x)
        naive_auc = auc(y.to_numpy()[ok], x[ok])
    p, r = red_precision_recall(scored)
    return Backtest(cutoffs=cutoffs, horizon_days=int(horizon_days), frame=scored,
                           auc=auc(y, scored["score"]), naive_auc=naive_auc,
                           bands=churn_by_band(scored), red_precision=p, red_recall=r, weights=dict(weights),
                           naive_label=naive or "なし")
