"""``cs-dojo health check``: the report, the summary and the scored list, offline, and every bad input explained."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from cs_helpers import cli, data
from cs_helpers.health import demo
from cs_helpers.health.report import check

TELCO_MAP = dict(demo.MAPPING, directions={"tenure": "healthy"}, arr="MonthlyCharges")


@pytest.fixture(scope="module")
def telco_files(tmp_path_factory) -> tuple[Path, Path, Path]:
    d = tmp_path_factory.mktemp("telco")
    demo.telco_like(2500, seed=7).to_csv(d / "telco.csv", index=False)
    (d / "map.yaml").write_text(yaml.safe_dump(TELCO_MAP, allow_unicode=True), encoding="utf-8")
    (d / "w.yaml").write_text("# 手で決めた重み\ntenure: 1.0\nMonthlyCharges: -1.0\n", encoding="utf-8")
    return d / "telco.csv", d / "map.yaml", d / "w.yaml"


@pytest.fixture(scope="module")
def telco_run(telco_files, tmp_path_factory):
    """The real command in a subprocess, as a CS Ops lead would run it."""
    csv, mapping, weights = telco_files
    out = tmp_path_factory.mktemp("out") / "結果"
    env = dict(os.environ, MPLBACKEND="Agg")
    proc = subprocess.run([sys.executable, "-m", "cs_helpers.cli", "health", "check", str(csv), "--mapping",
                           str(mapping), "--weights", str(weights), "--capacity", "200", "--out", str(out)],
                          capture_output=True, text=True, timeout=600, env=env)
    return proc, out


def test_command_writes_report_summary_and_scored_list(telco_run, telco_files):
    proc, out = telco_run
    assert proc.returncode == 0, proc.stderr
    assert "学習したスコアのAUC" in proc.stdout and "Traceback" not in proc.stderr
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert s["rows"] == 2500 and s["kind"] == "customer"
    raw = pd.read_csv(telco_files[0])
    assert s["churn_rate"] == pytest.approx((raw["Churn"] == "Yes").mean(), abs=1e-4)
    assert {r["name"] for r in s["signals"]} == set(demo.MAPPING["signals"])
    tenure = next(r for r in s["signals"] if r["name"] == "tenure")
    assert tenure["direction"] == "低いほど危険" and tenure["stated_direction"] == "高いほど健全"
    ln = s["learned"]
    assert ln["folds"] == 5 and len(ln["fold_auc"]) == 5 and ln["auc_cv"] > 0.8
    assert sum(ln["weights"].values()) == pytest.approx(100, abs=0.05)
    assert {p["signal"] for p in ln["points"]} == set(demo.MAPPING["signals"]) | set(demo.MAPPING["categories"])
    assert abs(ln["auc_cv"] - s["plain_logistic"]["auc_cv"]) <= 0.01
    assert s["hand"]["auc"] < ln["auc_cv"] and s["hand"]["weights"] == {"tenure": 1.0, "MonthlyCharges": -1.0}
    cap = s["capacity"]
    assert cap["k"] == 200 and 0 < cap["precision"] <= 1 and cap["lift"] > 1.5 and 0 < cap["arr_share_caught"] <= 1
    scored = pd.read_csv(out / "scored.csv", encoding="utf-8-sig", keep_default_na=False)
    assert list(scored.columns) == ["account", "score", "band", "reason_1", "reason_2"]
    assert len(scored) == 2500 and scored["score"].between(0, 100).all()
    assert set(scored["band"]) <= {"赤", "黄", "緑"} and scored["score"].is_monotonic_increasing
    worst = scored.iloc[0]
    assert worst["band"] == "赤" and re.fullmatch(r".+=.+ \(-\d+点\)", worst["reason_1"])


def test_report_is_self_contained_and_offline(telco_run):
    _, out = telco_run
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "<html lang='ja'>" in page and "点数表" in page and "キャリブレーション" in page
    assert not re.search(r"https?://", page)
    assert "<script" not in page and "<link" not in page
    sources = re.findall(r"src='([^']*)'", page)
    assert len(sources) == 5 and all(src.startswith("data:image/png;base64,") for src in sources)


@pytest.fixture(scope="module")
def monthly_csv(tmp_path_factory) -> tuple[Path, dict]:
    """The shipped monthly usage exported with Japanese column names, as a team's own export would look."""
    usage, accounts = data.load("usage_monthly"), data.load("accounts")
    export = usage.merge(accounts[["account_id", "churn_date", "arr_jpy"]], on="account_id")
    export = export.rename(columns={"account_id": "顧客コード", "month": "対象月", "active_users": "利用者数",
                                    "logins": "ログイン数", "key_features_used": "主要機能", "churn_date": "解約日",
                                    "arr_jpy": "年間契約額"})
    path = tmp_path_factory.mktemp("monthly") / "利用状況.csv"
    export[["顧客コード", "対象月", "利用者数", "ログイン数", "主要機能", "解約日", "年間契約額"]].to_csv(
        path, index=False, encoding="utf-8")
    mapping = {"account_id": "顧客コード", "date": "対象月", "churn_date": "解約日",
               "signals": ["利用者数", "ログイン数", "主要機能"], "directions": {"主要機能": "healthy"}, "arr": "年間契約額"}
    return path, mapping


@pytest.mark.slow
def test_monthly_table_trains_on_earlier_cutoffs_and_tests_on_later_ones(monthly_csv, tmp_path):
    path, mapping = monthly_csv
    r = check(path, mapping=mapping, weights={"ログイン数_trend": 1.0}, out=tmp_path / "o", progress=False)
    s = r.summary
    ln = s["learned"]
    assert s["kind"] == "monthly" and ln["validation"].startswith("train on earlier")
    last_train = pd.Timestamp(max(ln["train_cutoffs"]))
    assert last_train + pd.Timedelta(days=90) <= pd.Timestamp(min(ln["test_cutoffs"]))
    assert ln["auc_cv"] > 0.6 and "hand" in s and sum(ln["weights"].values()) == pytest.approx(100, abs=0.05)
    scored = pd.read_csv(tmp_path / "o" / "scored.csv", encoding="utf-8-sig")
    live_at_end = data.active_accounts(data.load("accounts"), pd.read_csv(path)["対象月"].max())
    assert set(scored["account"]) <= set(live_at_end["account_id"]) and len(scored) > 300


# --- bad input: one clear line naming the file (and column / line), exit code 1, no traceback -------------

def _run(argv, capsys) -> tuple[int, str]:
    code = cli.main(argv)
    captured = capsys.readouterr()
    return code, captured.err


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("case", [
    "missing_data", "missing_mapping", "mapping_syntax", "unknown_key", "bad_value", "bad_churn", "bad_direction",
    "direction_not_signal", "missing_weights", "weights_unknown", "weights_not_number", "one_class", "capacity_zero",
    "missing_column", "monthly_too_short",
])
def test_every_bad_input_gets_a_clear_error(case, telco_files, tmp_path, capsys):
    csv, mapping, weights = telco_files
    m = dict(TELCO_MAP)
    argv_extra: list[str] = []
    expect: list[str] = []
    if case == "missing_data":
        csv = tmp_path / "nai.csv"
        expect = ["nai.csv", "見つかりません"]
    elif case == "missing_mapping":
        mapping = tmp_path / "nai.yaml"
        expect = ["nai.yaml", "見つかりません"]
    elif case == "mapping_syntax":
        mapping = _write(tmp_path / "map.yaml", "account_id: customerID\nsignals: [tenure\nchurn: Churn\n")
        expect = ["map.yaml", "行目"]
    elif case == "unknown_key":
        mapping = _write(tmp_path / "map.yaml", yaml.safe_dump(dict(m, weight_of="x")))
        expect = ["map.yaml", "weight_of"]
    elif case == "bad_value":
        df = pd.read_csv(csv, dtype=str, keep_default_na=False)
        df.loc[9, "MonthlyCharges"] = "70円"
        csv = tmp_path / "telco.csv"
        df.to_csv(csv, index=False)
        expect = ["telco.csv", "MonthlyCharges", "11行目"]
    elif case == "bad_churn":
        df = pd.read_csv(csv, dtype=str, keep_default_na=False)
        df.loc[4, "Churn"] = "たぶん"
        csv = tmp_path / "telco.csv"
        df.to_csv(csv, index=False)
        expect = ["telco.csv", "Churn", "6行目", "たぶん"]
    elif case == "bad_direction":
        mapping = _write(tmp_path / "map.yaml", yaml.safe_dump(dict(m, directions={"tenure": "up-ish"})))
        expect = ["map.yaml", "tenure", "healthy"]
    elif case == "direction_not_signal":
        mapping = _write(tmp_path / "map.yaml", yaml.safe_dump(dict(m, directions={"Contract": "healthy"})))
        expect = ["map.yaml", "Contract", "signals"]
    elif case == "missing_weights":
        weights = tmp_path / "nai_w.yaml"
        expect = ["nai_w.yaml", "見つかりません"]
    elif case == "weights_unknown":
        weights = _write(tmp_path / "w.yaml", "tenure: 1.0\nSeniorCitizen: 2\n")
        expect = ["w.yaml", "SeniorCitizen", "2行目", "使える項目"]
    elif case == "weights_not_number":
        weights = _write(tmp_path / "w.yaml", "tenure: 1.0\nMonthlyCharges: たくさん\n")
        expect = ["w.yaml", "MonthlyCharges", "2行目", "数"]
    elif case == "one_class":
        df = pd.read_csv(csv, dtype=str, keep_default_na=False)
        df["Churn"] = "No"
        csv = tmp_path / "telco.csv"
        df.to_csv(csv, index=False)
        expect = ["telco.csv", "両方"]
    elif case == "capacity_zero":
        argv_extra = ["--capacity", "0"]
        expect = ["capacity", "1件以上"]
    elif case == "monthly_too_short":
        months = pd.date_range("2025-01-01", periods=10, freq="MS")
        rows = [{"顧客": f"K{i:03d}", "月": m.date(), "利用者数": 5 + (i * 7 + k) % 9, "解約日": "2025-08-01" if i % 4 == 0 else ""}
                for i in range(40) for k, m in enumerate(months) if not (i % 4 == 0 and m >= pd.Timestamp("2025-08-01"))]
        csv = tmp_path / "short.csv"
        pd.DataFrame(rows).to_csv(csv, index=False)
        mapping = _write(tmp_path / "m.yaml", yaml.safe_dump({"account_id": "顧客", "date": "月", "churn_date": "解約日",
                                                             "signals": ["利用者数"]}, allow_unicode=True))
        weights = _write(tmp_path / "w.yaml", "利用者数: 1\n")
        expect = ["short.csv", "短すぎ", "か月分"]
    elif case == "missing_column":
        mapping = _write(tmp_path / "map.yaml", yaml.safe_dump(dict(m, signals=["tenure", "TotalCharges", "Tenure2"])))
        expect = ["telco.csv", "Tenure2"]
    out = tmp_path / "out"
    code, err = _run(["health", "check", str(csv), "--mapping", str(mapping), "--weights", str(weights),
                      "--out", str(out), "--quiet", *argv_extra], capsys)
    assert code == 1, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("エラー: ") and "Traceback" not in err, err
    for word in expect:
        assert word in lines[0], (word, lines[0])
    assert not (out / "report.html").exists()  # nothing half-written


def test_group_without_action_prints_its_own_help(capsys):
    code = cli.main(["health"])
    text = capsys.readouterr().out
    assert code == 2 and "check" in text and "report.html" in text
