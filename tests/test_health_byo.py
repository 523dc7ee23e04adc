"""Bring your own data: a telco-style customer table and a Japanese monthly export, honest and hostile."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cs_helpers import health
from cs_helpers.data import DataError
from cs_helpers.health_byo import byo_features, churn_by_category, evaluate, load_byo, parse_churn, read_mapping, signal_report

FIX = Path(__file__).parent / "fixtures" / "health"
TELCO = FIX / "telco_churn_sample.csv"
MONTHLY = FIX / "monthly_usage_ja.csv"
TELCO_MAP = {"account_id": "customerID", "churn": "Churn", "signals": ["tenure", "MonthlyCharges", "TotalCharges"],
             "categories": ["Contract"], "optional": ["TotalCharges"]}
MONTHLY_MAP = {"account_id": "顧客コード", "date": "対象月", "churn_date": "解約日", "signals": ["利用者数", "ログイン数"]}


def _edit(tmp_path, source: Path, line: int, column: str, value: str, encoding="utf-8") -> Path:
    """Copy ``source`` with one cell changed (``line`` as a spreadsheet counts: header = 1)."""
    df = pd.read_csv(source, dtype=str, keep_default_na=False, encoding=encoding)
    df.loc[line - 2, column] = value
    out = tmp_path / source.name
    df.to_csv(out, index=False, encoding=encoding)
    return out


# --- honest data ----------------------------------------------------------------------------------

def test_telco_table_loads_and_is_evaluated():
    data = load_byo(TELCO, TELCO_MAP)
    f = data.frame
    assert len(f) == 200 and f["churned"].dtype == bool
    raw = pd.read_csv(TELCO)
    assert f["churned"].sum() == (raw["Churn"] == "Yes").sum()
    assert f["TotalCharges"].isna().sum() == (raw["tenure"] == 0).sum() > 0
    rep = signal_report(byo_features(data))
    assert rep.loc["tenure", "direction"] == "低いほど危険" and rep.loc["tenure", "strength"] > 0.65
    assert rep.loc["MonthlyCharges", "direction"] == "高いほど危険"
    assert rep.loc["TotalCharges", "missing"] > 0
    cats = churn_by_category(data, "Contract")
    assert cats.index[0] == "Month-to-month" and cats["accounts"].sum() == 200
    bt = evaluate(data, {"tenure": 1.0, "MonthlyCharges": -0.5}, naive="MonthlyCharges")
    assert bt.auc > 0.7 and bt.bands["accounts"].sum() == 200
    assert bt.auc == pytest.approx(health.auc(bt.frame["churned"], bt.frame["score"]))
    with pytest.raises(ValueError, match="カットオフは使えません"):
        byo_features(data, "2025-01-31")


def test_mapping_from_yaml_and_json_files(tmp_path):
    y = tmp_path / "map.yaml"
    y.write_text("# 自分のCSVの列名\naccount_id: customerID\nchurn: Churn\nsignals: [tenure, MonthlyCharges]\n"
                 "categories: Contract\n", encoding="utf-8")
    j = tmp_path / "map.json"
    j.write_text(json.dumps(MONTHLY_MAP, ensure_ascii=False), encoding="utf-8")
    assert read_mapping(y).categories == ["Contract"]
    assert len(load_byo(TELCO, y).frame) == 200
    assert load_byo(MONTHLY, j).monthly
    bad = tmp_path / "bad.yaml"
    bad.write_text("account_id: customerID\nsignals: [tenure\n", encoding="utf-8")
    with pytest.raises(DataError, match="読めません"):
        read_mapping(bad)


def test_monthly_japanese_export_loads():
    """cp932, Japanese headers, 2025/04/01-style dates, blank 解約日 for active accounts."""
    data = load_byo(MONTHLY, MONTHLY_MAP)
    f = data.frame
    assert f["date"].dt.day.eq(1).all() and f["date"].min() == pd.Timestamp("2025-01-01")
    acc = data.accounts()
    assert len(acc) == 30 and acc["churned"].sum() == 10
    feats = byo_features(data, "2025-09-30", horizon_days=180)
    assert {"利用者数_level", "利用者数_trend", "ログイン数_level"} <= set(feats.columns)
    assert (feats["months_observed"] <= 3).all()
    # an account seen for months before the cutoff, hand-checked
    k = f[(f["account_id"] == "K001") & (f["date"] <= "2025-09-01")].set_index("date")["利用者数"]
    assert feats.loc["K001", "利用者数_level"] == pytest.approx(k.iloc[-3:].mean())
    assert feats.loc["K001", "利用者数_trend"] == pytest.approx((k.iloc[-3:].mean() - k.iloc[-6:-3].mean()) / 3)
    bt = evaluate(data, {"利用者数_trend": 1.0, "利用者数_level": 0.5}, cutoff="2025-12-31", horizon_days=150,
                  naive="ログイン数_level")
    assert bt.frame["churned"].sum() > 0 and 0 <= bt.auc <= 1 and bt.naive_label == "ログイン数_level"
    with pytest.raises(ValueError, match="確定していません"):
        evaluate(data, {"利用者数_trend": 1.0}, cutoff="2026-05-31")


def test_monthly_byo_has_no_leakage():
    data = load_byo(MONTHLY, MONTHLY_MAP)
    c = pd.Timestamp("2025-10-31")
    before = byo_features(data, c)
    later = data.frame["date"] > c
    data.frame.loc[later, "利用者数"] = 0.0
    data.frame.loc[later, "ログイン数"] = 1e9
    after = byo_features(data, c)
    cols = [col for col in before.columns if col != "churned"]
    pd.testing.assert_frame_equal(before[cols], after[cols])


def test_monthly_with_label_only_infers_churn_month(tmp_path):
    df = pd.read_csv(MONTHLY, dtype=str, keep_default_na=False, encoding="cp932")
    df["解約"] = np.where(df["解約日"] != "", "はい", "いいえ")
    path = tmp_path / "label.csv"
    df.drop(columns="解約日").to_csv(path, index=False, encoding="utf-8")
    data = load_byo(path, {"account_id": "顧客コード", "date": "対象月", "churn": "解約", "signals": ["利用者数"]})
    acc = data.accounts().set_index("account_id")
    churned = acc[acc["churned"]]
    assert len(churned) == 10
    assert (churned["churn_date"] == churned["last_month"] + pd.DateOffset(months=1)).all()


def test_parse_churn_labels():
    s = pd.Series(["Yes", "no", "はい", "いいえ", "1", "0", "TRUE", "解約", "継続"])
    assert parse_churn(s).tolist() == [True, False, True, False, True, False, True, True, False]
    with pytest.raises(DataError) as e:
        parse_churn(pd.Series(["Yes", "たぶん"]), column="Churn")
    assert "列「Churn」" in str(e.value) and "3行目" in str(e.value) and "たぶん" in str(e.value)


# --- hostile data ---------------------------------------------------------------------------------

def test_wrong_type_names_column_and_line(tmp_path):
    path = _edit(tmp_path, TELCO, 17, "tenure", "12ヶ月")
    with pytest.raises(DataError) as e:
        load_byo(path, TELCO_MAP)
    msg = str(e.value)
    assert "列「tenure」" in msg and "17行目" in msg and "12ヶ月" in msg and "直し方" in msg


def test_blank_numeric_without_optional_is_reported():
    m = dict(TELCO_MAP, optional=[])
    with pytest.raises(DataError) as e:
        load_byo(TELCO, m)
    first_blank = int(pd.read_csv(TELCO, dtype=str, keep_default_na=False)["TotalCharges"].str.strip().eq("").idxmax())
    assert "列「TotalCharges」" in str(e.value) and f"{first_blank + 2}行目" in str(e.value) and "空欄" in str(e.value)


def test_missing_column_is_named():
    m = dict(TELCO_MAP, signals=["tenure", "MonthlyCharge", "TotalCharges"])  # typo
    with pytest.raises(DataError) as e:
        load_byo(TELCO, m)
    assert "MonthlyCharge" in str(e.value) and "CSV の列" in str(e.value)


def test_duplicate_ids_name_the_line(tmp_path):
    df = pd.read_csv(TELCO, dtype=str, keep_default_na=False)
    df.loc[40, "customerID"] = df.loc[5, "customerID"]
    path = tmp_path / "dup.csv"
    df.to_csv(path, index=False)
    with pytest.raises(DataError) as e:
        load_byo(path, TELCO_MAP)
    assert "重複" in str(e.value) and "列「customerID」" in str(e.value) and "42行目" in str(e.value)


def test_duplicate_month_names_the_line(tmp_path):
    path = _edit(tmp_path, MONTHLY, 3, "対象月", "2025/01/15", encoding="cp932")  # K001: Jan twice
    with pytest.raises(DataError) as e:
        load_byo(path, MONTHLY_MAP)
    assert "同じ月" in str(e.value) and "3行目" in str(e.value) and "列「対象月」" in str(e.value)


def test_unparseable_date_names_column_and_line(tmp_path):
    path = _edit(tmp_path, MONTHLY, 9, "対象月", "令和7年ごろ", encoding="cp932")
    with pytest.raises(DataError) as e:
        load_byo(path, MONTHLY_MAP)
    assert "列「対象月」" in str(e.value) and "9行目" in str(e.value) and "日付" in str(e.value)


def test_bad_churn_label_in_file(tmp_path):
    path = _edit(tmp_path, TELCO, 30, "Churn", "Maybe")
    with pytest.raises(DataError) as e:
        load_byo(path, TELCO_MAP)
    assert "列「Churn」" in str(e.value) and "30行目" in str(e.value)


def test_inconsistent_churn_date_within_an_account(tmp_path):
    df = pd.read_csv(MONTHLY, dtype=str, keep_default_na=False, encoding="cp932")
    pos = int(df.index[(df["顧客コード"] == "K003")][2])
    df.loc[pos, "解約日"] = "2026/12/31"
    path = tmp_path / "incons.csv"
    df.to_csv(path, index=False, encoding="cp932")
    with pytest.raises(DataError) as e:
        load_byo(path, MONTHLY_MAP)
    assert "K003" in str(e.value) and f"{pos + 2}行目" in str(e.value)


@pytest.mark.parametrize("mapping, needle", [
    ({"churn": "Churn", "signals": ["tenure"]}, "account_id"),
    ({"account_id": "customerID", "churn": "Churn"}, "signals"),
    ({"account_id": "customerID", "signals": ["tenure"]}, "churn"),
    ({"account_id": "customerID", "churn": "Churn", "signals": ["tenure"], "weights": 1}, "知らない項目"),
    ({"account_id": "customerID", "churn": "Churn", "signals": ["customerID"]}, "2回"),
    ({"account_id": "customerID", "churn": "Churn", "signals": ["tenure"], "optional": ["TotalCharges"]}, "optional"),
    ({"account_id": "customerID", "churn_date": "Churn", "signals": ["tenure"]}, "月次"),
    ("not a mapping", "見つかりません"),
])
def test_mapping_errors(mapping, needle):
    with pytest.raises(DataError, match=needle):
        read_mapping(mapping)
