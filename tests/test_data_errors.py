"""Broken CSVs give one clear Japanese error naming the file, column, first bad line and a fix."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cs_helpers import data

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture()
def copy_dir(tmp_path: Path) -> Path:
    for p in (ROOT / "datasets").glob("*.csv"):
        shutil.copy(p, tmp_path / p.name)
    return tmp_path


def _edit(path: Path, line_no: int, old: str, new: str) -> None:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    assert old in lines[line_no - 1]
    lines[line_no - 1] = lines[line_no - 1].replace(old, new, 1)
    path.write_text("".join(lines), encoding="utf-8")


def _row_value(path: Path, line_no: int, column: str) -> str:
    header = path.read_text(encoding="utf-8").splitlines()[0].split(",")
    return path.read_text(encoding="utf-8").splitlines()[line_no - 1].split(",")[header.index(column)]


@pytest.mark.parametrize("column,bad,expect", [
    ("seats", "多数", "整数"),
    ("contract_start", "2024/13/45", "日付"),
    ("touch_model", "medium", "high、low、tech"),
    ("churned", "たぶん", "真偽値"),
])
def test_bad_value_is_reported_with_column_and_line(copy_dir: Path, column, bad, expect):
    path = copy_dir / "accounts.csv"
    _edit(path, 7, _row_value(path, 7, column), bad)
    with pytest.raises(data.DataError) as err:
        data.load("accounts", copy_dir)
    msg = str(err.value)
    assert "accounts.csv" in msg and f"列「{column}」" in msg and "7行目" in msg and expect in msg and "直し方" in msg


def test_missing_column(copy_dir: Path):
    path = copy_dir / "tickets.csv"
    path.write_text(path.read_text(encoding="utf-8").replace("severity", "重要度", 1), encoding="utf-8")
    with pytest.raises(data.DataError, match="必要な列がありません: severity"):
        data.load("tickets", copy_dir)


def test_duplicate_key(copy_dir: Path):
    path = copy_dir / "contacts.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines.insert(10, lines[4])
    path.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(data.DataError, match=r"重複.*\n?.*") as err:
        data.load("contacts", copy_dir)
    assert "11行目" in str(err.value)


def test_empty_required_cell(copy_dir: Path):
    path = copy_dir / "usage_monthly.csv"
    _edit(path, 3, "," + _row_value(path, 3, "logins") + ",", ",,")
    with pytest.raises(data.DataError, match="空欄"):
        data.load("usage_monthly", copy_dir)


def test_unknown_foreign_key(copy_dir: Path):
    path = copy_dir / "tickets.csv"
    _edit(path, 5, _row_value(path, 5, "account_id"), "A9999")
    with pytest.raises(data.DataError, match="A9999") as err:
        data.load_all(copy_dir)
    assert "5行目" in str(err.value)


def test_ragged_rows_and_encoding(tmp_path: Path):
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("a,b\n1,2\n3,4,5\n", encoding="utf-8")
    with pytest.raises(data.DataError, match="列の数"):
        data.read_csv_text(ragged)
    sjis = tmp_path / "sjis.csv"
    sjis.write_bytes("顧客,件数\n東京,3\n".encode("cp932"))
    assert list(data.read_csv_text(sjis).columns) == ["顧客", "件数"]
    with pytest.raises(data.DataError, match="見つかりません"):
        data.read_csv_text(tmp_path / "nothing.csv")


def test_user_csv_errors_use_their_column_names(tmp_path: Path):
    path = tmp_path / "mine.csv"
    path.write_text("顧客コード,月,ログイン数\nX1,2026-01-01,3\nX1,2026-02-01,abc\n", encoding="utf-8")
    kinds = {"account_id": "str", "date": "date", "logins": "int"}
    mapping = {"account_id": "顧客コード", "date": "月", "logins": "ログイン数"}
    with pytest.raises(data.DataError) as err:
        data.load_mapped(path, mapping, kinds, key=["account_id", "date"])
    assert "列「ログイン数」" in str(err.value) and "3行目" in str(err.value)
    with pytest.raises(data.DataError, match="CSV にない列"):
        data.load_mapped(path, {**mapping, "logins": "ログイン"}, kinds)
    path.write_text("顧客コード,月,ログイン数\nX1,2026-01-01,3\nX1,2026-01-01,4\n", encoding="utf-8")
    with pytest.raises(data.DataError, match="重複"):
        data.load_mapped(path, mapping, kinds, key=["account_id", "date"])


def test_data_dictionary_in_readme_matches_the_code():
    text = (ROOT / "datasets" / "README.md").read_text(encoding="utf-8")
    start = text.index("-->\n", text.index("data-dictionary:start")) + 4
    end = text.index("<!-- data-dictionary:end")
    assert text[start:end] == data.data_dictionary_markdown(), "datasets/README.md is stale: regenerate its dictionary"


def test_active_accounts_on_a_day():
    """One definition of "a customer on that day": started on or before it, not churned by then."""
    import pandas as pd

    acc = pd.DataFrame({"account_id": ["a", "b", "c", "d"],
                        "contract_start": pd.to_datetime(["2025-01-01", "2025-06-01", "2025-06-02", "2024-01-01"]),
                        "churn_date": pd.to_datetime([None, None, None, "2025-06-01"])})
    assert list(data.active_accounts(acc, "2025-06-01")["account_id"]) == ["a", "b"]
    assert list(data.active_mask(acc, "2025-05-31 18:00")) == [True, False, False, True]
    assert list(data.active_accounts(acc.drop(columns="churn_date"), "2025-06-02")["account_id"]) == ["a", "b", "c", "d"]
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        data.active_accounts(acc, "いつか")
    with pytest.raises(ValueError, match="contract_start"):
        data.active_accounts(acc.drop(columns="contract_start"), "2025-06-01")


@pytest.mark.parametrize("table,column,bad,expect", [
    ("contracts", "approval_route", "社長の一存", "部長決裁、役員稟議、取締役会"),
    ("contracts", "auto_renew", "たぶん", "真偽値"),
    ("revenue_movements", "arr_change_jpy", "12万円", "整数"),
    ("contact_changes", "changed_on", "4月1日ごろ", "日付"),
])
def test_lifecycle_tables_report_bad_values(copy_dir: Path, table, column, bad, expect):
    path = copy_dir / f"{table}.csv"
    _edit(path, 4, _row_value(path, 4, column), bad)
    with pytest.raises(data.DataError) as err:
        data.load(table, copy_dir)
    msg = str(err.value)
    assert f"{table}.csv" in msg and f"列「{column}」" in msg and "4行目" in msg and expect in msg and "直し方" in msg


def test_contact_change_of_an_unknown_contact(copy_dir: Path):
    path = copy_dir / "contact_changes.csv"
    _edit(path, 3, _row_value(path, 3, "contact_id"), "P99999")
    with pytest.raises(data.DataError, match="P99999") as err:
        data.load_all(copy_dir)
    assert "contact_changes.csv" in str(err.value) and "3行目" in str(err.value)
