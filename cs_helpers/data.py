"""Load the shipped tables and a user's own CSV, with checked types and clear Japanese errors.

Every problem raises ``DataError`` whose message names the file, the column and the first bad row
(as the line number a spreadsheet would show: header = line 1) and says how to fix it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping

import pandas as pd

from .paths import datasets_dir


class DataError(ValueError):
    """A data problem explained for a person: what, where (file/column/line) and how to fix it."""

    def __init__(self, message: str, *, path: str | Path | None = None, column: str | None = None,
                 line: int | None = None, fix: str | None = None):
        self.path, self.column, self.line, self.fix = path, column, line, fix
        where = []
        if path is not None:
            where.append(f"ファイル「{path}」")
        if column is not None:
            where.append(f"列「{column}」")
        if line is not None:
            where.append(f"{line}行目")
        text = ("・".join(where) + ": " if where else "") + message
        if fix:
            text += f"\n直し方: {fix}"
        super().__init__(text)


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # "str", "int", "float", "date", "bool", "category"
    required: bool = True  # False: empty cells allowed
    choices: tuple[str, ...] = ()
    ja: str = ""
    en: str = ""


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    parents: Mapping[str, str] = field(default_factory=dict)  # column -> table it must exist in
    ja: str = ""
    en: str = ""

    @property
    def filename(self) -> str:
        return f"{self.name}.csv"


SNAPSHOT = pd.Timestamp("2026-09-30")  # the "today" of the shipped data set

C = Column
INDUSTRIES = ("製造", "小売", "医療・介護", "不動産", "IT・ソフトウェア", "建設", "物流", "金融", "教育", "飲食")
TABLES: dict[str, Table] = {t.name: t for t in [
    Table("accounts", (
        C("account_id", "str", ja="顧客ID", en="account id"),
        C("company_name", "str", ja="会社名 (架空)", en="company name (fictional)"),
        C("industry", "category", choices=INDUSTRIES, ja="業界", en="industry"),
        C("employees", "int", ja="従業員数", en="employees"),
        C("company_size", "category", choices=("小規模", "中堅", "大企業"), ja="企業規模", en="size band"),
        C("plan", "category", choices=("スターター", "スタンダード", "エンタープライズ"), ja="契約プラン", en="plan"),
        C("seats", "int", ja="契約ライセンス数", en="licensed seats"),
        C("arr_jpy", "int", ja="年間契約額 (円)", en="annual recurring revenue, JPY"),
        C("complexity", "int", ja="導入の複雑さ (1〜5、連携の多さなど)", en="implementation complexity 1–5"),
        C("contract_start", "date", ja="契約開始日", en="contract start"),
        C("renewal_date", "date", ja="次回更新日 (解約済みは解約した更新日)", en="next renewal (or the renewal at which it churned)"),
        C("csm_id", "str", ja="担当CSM ID", en="assigned CSM id"),
        C("csm_name", "str", ja="担当CSM名 (架空)", en="assigned CSM name (fictional)"),
        C("touch_model", "category", choices=("high", "low", "tech"), ja="タッチモデル", en="touch model"),
        C("churned", "bool", ja="解約済みか", en="churned flag"),
        C("churn_date", "date", required=False, ja="解約日 (継続中は空欄)", en="churn date, empty if active"),
    ), key=("account_id",), ja="顧客企業 (約600社)", en="customer accounts (about 600)"),
    Table("contacts", (
        C("contact_id", "str", ja="担当者ID", en="contact id"),
        C("account_id", "str", ja="顧客ID", en="account id"),
        C("name", "str", ja="氏名 (架空)", en="name (fictional)"),
        C("deal_role", "category", choices=("決裁者", "管理者", "利用者"), ja="導入における役割", en="role in the deal"),
        C("department", "str", ja="部署", en="department"),
        C("job_type", "str", ja="職種", en="job type"),
        C("title", "str", ja="役職", en="title"),
        C("is_champion", "bool", ja="社内推進役 (チャンピオン) か", en="internal champion"),
    ), key=("contact_id",), parents={"account_id": "accounts"}, ja="顧客側の担当者", en="customer contacts"),
    Table("usage_monthly", (
        C("account_id", "str", ja="顧客ID", en="account id"),
        C("month", "date", ja="対象月 (月初日)", en="month (first day)"),
        C("seats", "int", ja="契約ライセンス数", en="licensed seats"),
        C("active_users", "int", ja="月間アクティブユーザー数", en="monthly active users"),
        C("logins", "int", ja="月間ログイン回数", en="logins in the month"),
        C("key_features_used", "int", ja="使われた主要機能の数 (8機能中)", en="key features used (of 8)"),
    ), key=("account_id", "month"), parents={"account_id": "accounts"}, ja="月次の利用状況",
        en="monthly product usage"),
    Table("tickets", (
        C("ticket_id", "str", ja="問い合わせID", en="ticket id"),
        C("account_id", "str", ja="顧客ID", en="account id"),
        C("opened_at", "date", ja="起票日", en="opened on"),
        C("category", "category", choices=("操作方法", "不具合", "機能要望", "データ連携", "請求・契約"), ja="分類", en="category"),
        C("severity", "category", choices=("低", "中", "高", "緊急"), ja="重要度", en="severity"),
        C("hours_to_resolve", "float", ja="解決までの時間 (時間)", en="hours to resolve"),
        C("sentiment", "float", ja="文面の感情スコア (-1〜1)", en="sentiment of the ticket text, -1..1"),
    ), key=("ticket_id",), parents={"account_id": "accounts"}, ja="サポートへの問い合わせ", en="support tickets"),
    Table("nps", (
        C("response_id", "str", ja="回答ID", en="response id"),
        C("account_id", "str", ja="顧客ID", en="account id"),
        C("contact_id", "str", ja="回答者の担当者ID", en="respondent contact id"),
        C("responded_at", "date", ja="回答日", en="answered on"),
        C("score", "int", ja="推奨度 (0〜10)", en="NPS score 0–10"),
        C("comment", "str", required=False, ja="自由記述コメント", en="free-text comment (Japanese)"),
    ), key=("response_id",), parents={"account_id": "accounts", "contact_id": "contacts"},
        ja="NPSアンケート回答", en="NPS survey responses"),
    Table("meetings", (
        C("meeting_id", "str", ja="面談ID", en="meeting id"),
        C("account_id", "str", ja="顧客ID", en="account id"),
        C("date", "date", ja="実施日", en="date"),
        C("csm_id", "str", ja="担当CSM ID", en="CSM id"),
        C("meeting_type", "category", choices=("キックオフ", "定例", "QBR", "トレーニング", "エスカレーション"),
          ja="面談の種類", en="meeting type"),
        C("duration_min", "int", ja="所要時間 (分)", en="duration in minutes"),
    ), key=("meeting_id",), parents={"account_id": "accounts"}, ja="CSMとの面談記録", en="CSM meeting log"),
    Table("hearing_notes", (
        C("note_id", "str", ja="メモID", en="note id"),
        C("account_id", "str", ja="顧客ID", en="account id"),
        C("meeting_id", "str", ja="面談ID", en="meeting id"),
        C("speaker_role", "category", choices=("CEO", "情報システム部", "現場"), ja="発言者の立場", en="speaker role"),
        C("label", "category", choices=("導入目的", "利用用途"), ja="内容の分類 (導入目的 / 利用用途)",
          en="what the note is about: purpose of adoption or usage"),
        C("clarity", "category", choices=("明確", "曖昧"), ja="答えの明確さ", en="was the answer clear"),
        C("text", "str", ja="ヒアリングメモ本文", en="note text (Japanese)"),
    ), key=("note_id",), parents={"account_id": "accounts", "meeting_id": "meetings"},
        ja="ヒアリングメモ", en="short hearing notes from kickoffs and QBRs"),
    Table("contracts", (
        C("account_id", "str", ja="顧客ID", en="account id"),
        C("term_start", "date", ja="いまの契約期間の開始日 (解約済みは最後の契約期間)", en="start of the current (or last) contract term"),
        C("term_end", "date", ja="いまの契約期間の終了日 (= 次回更新日。解約済みは解約日)", en="end of that term (= renewal_date in accounts)"),
        C("term_months", "int", ja="契約期間の長さ (12・24・36か月)", en="term length in months (12, 24 or 36)"),
        C("auto_renew", "bool", ja="自動更新条項があるか", en="renews automatically unless cancelled in time"),
        C("notice_days", "int", ja="解約予告期間 (更新日の何日前までに申し出が必要か)", en="notice period in days before term_end"),
        C("approval_route", "category", choices=("部長決裁", "役員稟議", "取締役会"), ja="更新・増額の決裁ルート",
          en="who approves a renewal or an increase"),
        C("fiscal_year_end_month", "int", ja="顧客の決算月 (1〜12)", en="month in which the customer's fiscal year ends"),
        C("cancel_notice_on", "date", required=False, ja="解約の申し出を受けた日 (申し出がなければ空欄)",
          en="day the written cancellation notice arrived, empty if none"),
    ), key=("account_id",), parents={"account_id": "accounts"}, ja="契約条件 (顧客ごとに1行)",
        en="contract terms, one row per account"),
    Table("revenue_movements", (
        C("movement_id", "str", ja="変動ID", en="movement id"),
        C("account_id", "str", ja="顧客ID", en="account id"),
        C("effective_date", "date", ja="変動が効力を持つ日", en="day the change takes effect"),
        C("month", "date", ja="変動の月 (月初日)", en="month of the change (first day)"),
        C("movement_type", "category", choices=("新規", "拡大", "縮小", "解約", "価格改定"), ja="変動の種類",
          en="new, expansion, contraction, churn or price change"),
        C("reason", "category", choices=("新規契約", "ライセンス追加", "オプション追加", "上位プラン", "ライセンス削減",
                                         "オプション解約", "下位プラン", "解約", "価格改定"),
          ja="変動の中身 (アップセル・クロスセル・ライセンス増減など)", en="what changed (upsell, cross-sell, seats ...)"),
        C("arr_change_jpy", "int", ja="ARR の増減 (円、減少はマイナス)", en="change in ARR, JPY (negative for a decrease)"),
        C("arr_after_jpy", "int", ja="変動後のその顧客の ARR (円)", en="the account's ARR after the change, JPY"),
    ), key=("movement_id",), parents={"account_id": "accounts"}, ja="ARR の変動 (新規・拡大・縮小・解約・価格改定)",
        en="ARR movements: new, expansion, contraction, churn, price change"),
    Table("contact_changes", (
        C("change_id", "str", ja="変更ID", en="change id"),
        C("account_id", "str", ja="顧客ID", en="account id"),
        C("contact_id", "str", ja="異動・退職した担当者のID", en="contact who moved or left"),
        C("changed_on", "date", ja="異動・退職の日", en="day of the move or departure"),
        C("change_type", "category", choices=("異動", "退職"), ja="変更の種類", en="moved within the company or left it"),
        C("successor_name", "str", required=False, ja="後任者の氏名 (架空、未定は空欄)", en="successor (fictional), empty if none yet"),
        C("handover_meeting", "bool", ja="前任者・後任者とCSMの引き継ぎ面談があったか", en="did the CSM get a handover meeting"),
        C("csm_learned_on", "date", ja="CSMがその変更を知った日", en="day the CSM found out"),
    ), key=("change_id",), parents={"account_id": "accounts", "contact_id": "contacts"},
        ja="顧客側の担当者の異動・退職", en="customer contact changes (moves and departures)"),
]}

_KIND_JA = {"int": "整数", "float": "数値", "date": "日付 (YYYY-MM-DD)", "bool": "真偽値 (True/False)",
            "str": "文字列", "category": "決められた値"}
_TRUE = {"true", "1", "yes", "y", "はい", "済", "t"}
_FALSE = {"false", "0", "no", "n", "いいえ", "未", "f", ""}


def _line(index_pos: int) -> int:
    """Spreadsheet line of a data row: the header is line 1."""
    return index_pos + 2


def _first_bad(mask: pd.Series) -> int | None:
    positions = mask.to_numpy().nonzero()[0]
    return int(positions[0]) if len(positions) else None


def _convert(raw: pd.Series, col: Column, path: Path | str, label: str) -> pd.Series:
    """Convert one column of strings to its kind; the first unconvertible cell raises DataError.

    ``label`` is the column name as the person knows it (their own CSV header).
    """
    text = raw.astype("string").str.strip()
    empty = text.isna() | (text == "")

    def reject(bad: pd.Series, problem: str, fix: str) -> None:
        """Raise for the first row flagged in ``bad``; ``problem`` may use ``{value}``."""
        pos = _first_bad(bad)
        if pos is not None:
            raise DataError(problem.format(value=text.iloc[pos]), path=path, column=label, line=_line(pos), fix=fix)

    if col.required:
        reject(empty, "値が空欄です。", f"この列は必須です。{_KIND_JA[col.kind]}を入れるか、その行を削除してください。")
    if col.kind == "str":
        return text.astype("string")
    if col.kind == "category":
        reject(~empty & ~text.isin(col.choices), "値「{value}」は使えません。",
               "次のいずれかにしてください: " + "、".join(col.choices))
        return pd.Categorical(text.where(~empty), categories=list(col.choices))
    if col.kind in ("int", "float"):
        num = pd.to_numeric(text.str.replace(",", "", regex=False), errors="coerce")
        bad = ~empty & num.isna()
        if col.kind == "int":
            bad |= ~empty & num.notna() & (num != num.round())
        reject(bad, f"値「{{value}}」を{_KIND_JA[col.kind]}として読めません。",
               "数字だけを入れてください (単位や「件」「円」などの文字は別の列に)。")
        if not col.required:
            return num.astype("Int64" if col.kind == "int" else "Float64")
        return num.astype("int64" if col.kind == "int" else "float64")
    if col.kind == "date":
        parsed = pd.to_datetime(text, errors="coerce", format="mixed")
        reject(~empty & parsed.isna(), "値「{value}」を日付として読めません。",
               "日付は 2026-04-01 のような YYYY-MM-DD 形式にしてください。")
        return parsed
    if col.kind == "bool":
        low = text.str.lower().fillna("")
        reject(~low.isin(_TRUE | _FALSE), "値「{value}」を真偽値として読めません。",
               "True / False (または 1 / 0) で入れてください。")
        return low.isin(_TRUE).astype(bool)
    raise AssertionError(col.kind)


def read_csv_text(path: str | Path) -> pd.DataFrame:
    """Read a CSV as strings, explaining unreadable files (encoding, ragged rows) in Japanese."""
    path = Path(path)
    if not path.exists():
        raise DataError("ファイルが見つかりません。", path=path,
                        fix="パスが正しいか、ファイル名の綴りと拡張子 (.csv) を確認してください。")
    last_error: Exception | None = None
    for encoding in ("utf-8-sig", "cp932"):
        try:
            return pd.read_csv(path, dtype=str, keep_default_na=False, encoding=encoding)
        except UnicodeDecodeError as exc:
            last_error = exc
            continue
        except pd.errors.EmptyDataError:
            raise DataError("ファイルが空です。", path=path, fix="見出し行とデータ行のある CSV を指定してください。") from None
        except pd.errors.ParserError as exc:
            import re

            m = re.search(r"line (\d+)", str(exc))
            raise DataError("列の数が見出し行と合わない行があります。", path=path,
                            line=int(m.group(1)) if m else None,
                            fix="値の中のカンマは \"...\" で囲むか、余分な区切りを削除してください。") from None
    raise DataError("文字コードを判別できません。", path=path,
                    fix="Excel なら「CSV UTF-8 (コンマ区切り)」で保存し直してください。") from last_error


def validate(raw: pd.DataFrame, table: Table, path: str | Path = "<data>",
             labels: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Check columns, convert types, check keys; returns typed data in the table's column order.

    ``labels`` maps our column names to the names shown in errors (the user's own headers).
    """
    labels = dict(labels or {})
    missing = [c.name for c in table.columns if c.name not in raw.columns]
    if missing:
        raise DataError("必要な列がありません: " + "、".join(missing), path=path, column=missing[0],
                        fix="見出し行 (1行目) の列名を確認してください。今ある列: " + "、".join(map(str, raw.columns)))
    out = pd.DataFrame({c.name: _convert(raw[c.name], c, path, labels.get(c.name, c.name)) for c in table.columns})
    if table.key:
        dup = out.duplicated(list(table.key), keep="first")
        if dup.any():
            pos = _first_bad(dup)
            keys = "・".join(str(out.iloc[pos][k]) for k in table.key)
            raise DataError(f"キー「{keys}」が重複しています。", path=path, column=labels.get(table.key[0], table.key[0]),
                            line=_line(pos),
                            fix="同じIDの行が2回以上あります。重複した行を削除するか、IDを振り直してください。")
    return out


def load(name: str, directory: str | Path | None = None) -> pd.DataFrame:
    """Load a shipped table (``accounts``, ``contacts``, ``usage_monthly``, ``tickets``, ``nps``,
    ``meetings``, ``hearing_notes``, ``contracts``, ``revenue_movements``, ``contact_changes``) with types
    checked. Dates are ``datetime64``."""
    if name not in TABLES:
        raise DataError(f"「{name}」という表はありません。", fix="次のいずれかを指定してください: " + "、".join(TABLES))
    table = TABLES[name]
    path = Path(directory) if directory is not None else datasets_dir()
    path = path / table.filename
    return validate(read_csv_text(path), table, path)


def load_all(directory: str | Path | None = None) -> dict[str, pd.DataFrame]:
    """Every shipped table, with foreign keys checked (e.g. each usage row's account exists)."""
    tables = {name: load(name, directory) for name in TABLES}
    base = Path(directory) if directory is not None else datasets_dir()
    for name, table in TABLES.items():
        for column, parent in table.parents.items():
            parent_key = TABLES[parent].key[0]
            unknown = ~tables[name][column].isin(tables[parent][parent_key])
            if unknown.any():
                pos = _first_bad(unknown)
                raise DataError(f"「{tables[name][column].iloc[pos]}」は {parent} にありません。",
                                path=base / table.filename, column=column, line=_line(pos),
                                fix=f"{parent}.csv に存在するIDだけを使ってください。")
    return tables


def load_mapped(path: str | Path, mapping: Mapping[str, str], kinds: Mapping[str, str],
                *, key: Iterable[str] = (), optional: Iterable[str] = ()) -> pd.DataFrame:
    """Load a user's own CSV: ``mapping`` maps our column names to theirs, ``kinds`` gives each of our
    columns a kind (``str``/``int``/``float``/``date``/``bool``). Returns columns under our names.

    Example: ``load_mapped("my.csv", {"account_id": "顧客コード", "date": "月"},
    {"account_id": "str", "date": "date"}, key=["account_id", "date"])``.
    """
    raw = read_csv_text(path)
    unmapped = [ours for ours in kinds if ours not in mapping]
    if unmapped:
        raise DataError("対応づけ (mapping) が指定されていない項目があります: " + "、".join(unmapped),
                        fix="mapping に {\"" + unmapped[0] + "\": \"あなたのCSVの列名\"} のように追加してください。")
    missing = [theirs for ours, theirs in mapping.items() if theirs not in raw.columns]
    if missing:
        raise DataError("CSV にない列が指定されています: " + "、".join(missing), path=path, column=missing[0],
                        fix="列名の綴り・全角半角・前後の空白を確認してください。CSV の列: " + "、".join(map(str, raw.columns)))
    optional = set(optional)
    table = Table("user", tuple(Column(ours, kinds[ours], required=ours not in optional) for ours in kinds),
                  key=tuple(key))
    renamed = raw.rename(columns={theirs: ours for ours, theirs in mapping.items()})
    return validate(renamed, table, path, labels=mapping)


def data_dictionary_markdown() -> str:
    """The data dictionary (Japanese and English descriptions) as Markdown tables."""
    parts = []
    for table in TABLES.values():
        parts.append(f"### `{table.filename}` — {table.ja} / {table.en}\n")
        parts.append("| 列 column | 型 type | 説明 | description |\n|---|---|---|---|")
        for c in table.columns:
            kind = c.kind + (" (" + " / ".join(c.choices) + ")" if c.choices else "")
            parts.append(f"| `{c.name}` | {kind}{'' if c.required else ', 空欄可'} | {c.ja} | {c.en} |")
        parts.append("")
    return "\n".join(parts)


# --------------------------------------------------------------------------------------------------
# "active on a date": the one definition every module uses
# --------------------------------------------------------------------------------------------------
def as_date(value, name: str = "日付") -> pd.Timestamp:
    """``value`` as a day (time of day dropped); a Japanese ``ValueError`` naming ``name`` otherwise."""
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} に日付として読めない値「{value}」が指定されました。"
                         "2026-04-01 のような YYYY-MM-DD 形式で指定してください。") from None
    if pd.isna(ts):
        raise ValueError(f"{name} が空です。2026-04-01 のような日付を指定してください。")
    return ts.normalize()


def active_mask(accounts: pd.DataFrame, on) -> pd.Series:
    """Boolean mask over ``accounts``: a customer on day ``on`` = the contract started on or before it and
    the account had not churned by then (``churn_date`` empty or after ``on``; no ``churn_date`` column:
    nobody churned)."""
    if not isinstance(accounts, pd.DataFrame) or "contract_start" not in accounts.columns:
        raise ValueError("accounts には contract_start 列のある表 (data.load('accounts') など) を渡してください。")
    day = as_date(on, "on")
    start = pd.to_datetime(accounts["contract_start"])
    if "churn_date" in accounts.columns:
        churn = pd.to_datetime(accounts["churn_date"])
        alive = churn.isna() | (churn > day)
    else:
        alive = pd.Series(True, index=accounts.index)
    return (start <= day) & alive


def active_accounts(accounts: pd.DataFrame, on) -> pd.DataFrame:
    """The rows of ``accounts`` that were customers on day ``on`` (see ``active_mask``), in their order."""
    return accounts.loc[active_mask(accounts, on).to_numpy()]
