"""Customer understanding (module 02): who can answer what, and who is who at an account.

* ``answer_matrix`` turns hearing notes into a speaker-role × topic table of how often the answer was clear,
  which is the evidence behind "ask the CEO about purpose, ask field users about usage".
* ``who_to_ask`` reads that matrix: for a topic, the role most likely to give a clear answer.
* ``guess_label`` is a transparent rule of thumb (purpose talks about a wanted outcome, usage about a
  concrete routine) that learners can compare with their own reading of the notes.
* ``stakeholder_table`` / ``stakeholder_map`` show an account's contacts grouped by deal role
  (決裁者 / 管理者 / 利用者) and department, with the champion highlighted, using matplotlib only.
* ``field_users_to_name`` lists the field users a CSM can ask for by name.
* ``quiet_signals`` finds non-verbal churn alerts (behaviour, not words) for one account.

Learner-facing messages are Japanese; identifiers and docstrings are English.
"""
from __future__ import annotations

import re
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

LABELS = ("導入目的", "利用用途")
SPEAKER_ROLES = ("CEO", "情報システム部", "現場")
DEAL_ROLES = ("決裁者", "管理者", "利用者")
CLEAR = "明確"

# What each deal role usually cares about; shown on the stakeholder map and used in the lesson.
ROLE_STAKES = {
    "決裁者": "投資対効果・導入目的の達成",
    "管理者": "安全な運用・社内展開の手間",
    "利用者": "日々の業務が楽になるか",
}
ROLE_COLOURS = {"決裁者": "#4c72b0", "管理者": "#55a868", "利用者": "#8172b3"}
CHAMPION_COLOUR = "#e8b22a"


def _require_columns(df: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(
            f"{what}に列「{'」「'.join(missing)}」がありません。"
            f"cs_helpers.data.load('{what}') で読み込んだ表を渡してください。"
        )


# --- who can answer what -------------------------------------------------------------------------------

def answer_matrix(notes: pd.DataFrame, *, value: str = "clear_rate") -> pd.DataFrame:
    """Speaker role (rows) × topic label (columns) from hearing notes.

    ``value``: ``"clear_rate"`` (share of notes on that topic whose answer was 明確, 0–1),
    ``"clear"`` (number of clear answers) or ``"count"`` (number of notes).
    Rows follow ``SPEAKER_ROLES`` and columns ``LABELS``; a combination never heard is NaN for the rate.
    """
    _require_columns(notes, ("speaker_role", "label", "clarity"), "hearing_notes")
    if value not in ("clear_rate", "clear", "count"):
        raise ValueError(f"value は 'clear_rate'・'clear'・'count' のいずれかです (受け取った値: {value!r})。")
    df = pd.DataFrame({
        "speaker_role": notes["speaker_role"].astype(str),
        "label": notes["label"].astype(str),
        "clear": (notes["clarity"].astype(str) == CLEAR).astype(int),
    })
    grouped = df.groupby(["speaker_role", "label"])["clear"]
    table = {"clear_rate": grouped.mean(), "clear": grouped.sum(), "count": grouped.size()}[value]
    out = table.unstack("label").reindex(index=list(SPEAKER_ROLES), columns=list(LABELS))
    if value != "clear_rate":
        out = out.fillna(0).astype(int)
    out.index.name = "発言者"
    out.columns.name = "話題"
    return out


def who_to_ask(matrix: pd.DataFrame, label: str) -> str:
    """The speaker role with the highest clear-answer rate for ``label`` in an ``answer_matrix``."""
    if label not in matrix.columns:
        raise ValueError(f"話題「{label}」は表にありません。次から選んでください: {'、'.join(map(str, matrix.columns))}")
    col = matrix[label].dropna()
    if col.empty:
        raise ValueError(f"話題「{label}」についてのメモがまだありません。")
    return str(col.idxmax())



# --- exercise 02 問2: reading one industry's table --------------------------------------------------------------

CLAIM_MIN_NOTES = 5   # a rate from fewer notes than this is too thin to compare or to call high
CLAIM_KINDS = ("none", "never_clear", "best", "above_all", "below_all", "half")
_CLAIM_TEXT = {
    "none": "{industry}では、{role}に{topic}を聞いたメモがまだ1件もありません。",
    "never_clear": "{industry}では、{role}に{topic}を聞いたことはありますが、明確な答えは一度も返ってきていません。",
    "best": "{industry}で{topic}をいちばん明確に答えているのは{role}です。",
    "above_all": "{industry}の{role}は、{topic}について、全業界の同じ立場より明確に答えています。",
    "below_all": "{industry}の{role}は、{topic}について、全業界の同じ立場ほどには明確に答えていません。",
    "half": "{industry}の{role}は、{topic}を聞かれたメモの半分以上で明確に答えています。",
}


def industry_claims(notes: pd.DataFrame, accounts: pd.DataFrame, industry: str, seed: int) -> pd.DataFrame:
    """Six statements about one industry's speaker-role × topic table, for exercise 02 問2.

    ``notes`` is the whole hearing-notes table (the statements that compare with 全業界 use it). Columns: ``id``
    (C1–C6, shuffled by ``seed``), ``文`` (the statement), ``kind`` (see ``CLAIM_KINDS``), ``role``, ``topic``.
    Counts decide ``none`` / ``never_clear``; rates decide the others, and only from cells with
    ``CLAIM_MIN_NOTES`` notes or more. Up to two statements are built where a quick reading misleads: a high rate
    from a thin cell, "never clear" about a combination nobody asked, "nobody asked" about one that got only
    unclear answers. Which statements the data supports is for the learner (and the hidden test) to work out."""
    _require_columns(notes, ("account_id", "speaker_role", "label", "clarity"), "hearing_notes")
    _require_columns(accounts, ("account_id", "industry"), "accounts")
    ids = accounts.loc[accounts["industry"].astype(str) == str(industry), "account_id"]
    sub = notes[notes["account_id"].isin(ids)]
    if sub.empty:
        raise ValueError(f"業界「{industry}」のヒアリングメモがありません。")
    count, clear, rate = (answer_matrix(sub, value=v) for v in ("count", "clear", "clear_rate"))
    overall = answer_matrix(notes)
    rng = np.random.default_rng(seed)
    cells = [(r, t) for r in SPEAKER_ROLES for t in LABELS]
    n = {c: int(count.loc[c]) for c in cells}
    traps = []
    for c in cells:
        r = rate.loc[c]
        if 0 < n[c] < CLAIM_MIN_NOTES:
            traps += [("half", c)] if r >= 0.5 else []
            traps += [("above_all", c)] if r > overall.loc[c] else []
            traps += [("below_all", c)] if r < overall.loc[c] else []
            traps += [("best", c)] if r >= rate[c[1]].max() else []
        traps += [("never_clear", c)] if n[c] == 0 else []
        traps += [("none", c)] if n[c] > 0 and int(clear.loc[c]) == 0 else []
    chosen = [traps[i] for i in sorted(rng.permutation(len(traps))[:2])]

    def holds(kind: str, c: tuple) -> bool:   # only to balance the draw; the hidden test recomputes on its own
        if kind == "none":
            return n[c] == 0
        if kind == "never_clear":
            return n[c] > 0 and int(clear.loc[c]) == 0
        if n[c] < CLAIM_MIN_NOTES:
            return False
        if kind == "half":
            return bool(rate.loc[c] >= 0.5)
        if kind == "above_all":
            return bool(rate.loc[c] > overall.loc[c])
        if kind == "below_all":
            return bool(rate.loc[c] < overall.loc[c])
        solid = [rate.loc[(r, c[1])] for r in SPEAKER_ROLES if n[(r, c[1])] >= CLAIM_MIN_NOTES]
        return bool(rate.loc[c] >= max(solid))

    pool = [(k, c) for k in CLAIM_KINDS for c in cells if (k, c) not in chosen]
    yes = [p for p in pool if holds(*p)]
    no = [p for p in pool if not holds(*p) and (p[0] not in ("none", "never_clear") or n[p[1]] < CLAIM_MIN_NOTES)]
    for _ in range(int(rng.integers(1, 4))):   # 1–3 supported statements, a kind at a time so no kind dominates
        kinds = sorted({k for k, _ in yes})
        if not kinds:
            break
        kind = kinds[int(rng.integers(len(kinds)))]
        same = [p for p in yes if p[0] == kind]
        pick = same[int(rng.integers(len(same)))]
        chosen.append(pick)
        yes.remove(pick)
    # one unsupported statement that the all-industry table would support, so reading that table instead fails
    tempting = [p for p in no if (p[0] == "half" and overall.loc[p[1]] >= 0.5)
                or (p[0] == "best" and overall.loc[p[1]] >= overall[p[1][1]].max())]
    if tempting and len(chosen) < 6:
        pick = tempting[int(rng.integers(len(tempting)))]
        chosen.append(pick)
        no.remove(pick)
    chosen += [no[i] for i in rng.permutation(len(no))[:6 - len(chosen)]]
    rows = []
    for i, j in enumerate(rng.permutation(len(chosen))):
        kind, (role, topic) = chosen[j]
        rows.append((f"C{i + 1}", _CLAIM_TEXT[kind].format(industry=industry, role=role, topic=topic), kind, role,
                     topic))
    return pd.DataFrame(rows, columns=["id", "文", "kind", "role", "topic"])

_PURPOSE = re.compile(r"(たい|目的|ため|ように|減らし|増や|防ぎ|高め|なくし)")
_USAGE = re.compile(r"(している|ている|使って|入力|共有|確認|送って|集めて|印刷|登録|拾って|書いて)")


def guess_label(text: str) -> str:
    """A rule of thumb, not a model: wanted outcomes (「〜したい」) read as 導入目的, routines as 利用用途.

    Purpose phrases win when both appear, because a sentence that names a goal is about *why*.
    Returns "導入目的" or "利用用途". Meant for discussion: it is wrong on some notes on purpose.
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError("ヒアリングメモの本文 (文字列) を渡してください。")
    if re.search(r"たい[。、]?", text) or "目的" in text:
        return "導入目的"
    if _USAGE.search(text):
        return "利用用途"
    return "導入目的" if _PURPOSE.search(text) else "利用用途"


def unclear_topics(notes: pd.DataFrame) -> pd.DataFrame:
    """Per account: has each topic been heard clearly at least once? (True = still to be heard)."""
    _require_columns(notes, ("account_id", "label", "clarity"), "hearing_notes")
    clear = notes.assign(_clear=notes["clarity"].astype(str) == CLEAR, _label=notes["label"].astype(str))
    heard = clear.groupby(["account_id", "_label"])["_clear"].any().unstack("_label")
    heard = heard.reindex(columns=list(LABELS)).fillna(False).astype(bool)
    out = ~heard
    out.columns.name = "未確認の話題"
    return out


# --- stakeholders ---------------------------------------------------------------------------------------

def stakeholder_table(contacts: pd.DataFrame, account_id: str) -> pd.DataFrame:
    """One account's contacts sorted by deal role (決裁者 → 管理者 → 利用者), department and name."""
    _require_columns(contacts, ("contact_id", "account_id", "name", "deal_role", "department", "title",
                                "is_champion"), "contacts")
    rows = contacts[contacts["account_id"].astype(str) == str(account_id)].copy()
    if rows.empty:
        raise ValueError(f"顧客ID「{account_id}」の担当者が contacts にありません。顧客IDの綴りを確認してください。")
    order = {r: i for i, r in enumerate(DEAL_ROLES)}
    rows["_order"] = rows["deal_role"].astype(str).map(order)
    rows = rows.sort_values(["_order", "department", "contact_id"]).drop(columns="_order")
    cols = [c for c in ("contact_id", "name", "deal_role", "department", "job_type", "title", "is_champion")
            if c in rows.columns]
    return rows[cols].reset_index(drop=True)


def field_users_to_name(contacts: pd.DataFrame, account_id: str) -> list[str]:
    """Contact ids of the account's field users (利用者), champion first: the people to ask for by name."""
    table = stakeholder_table(contacts, account_id)
    users = table[table["deal_role"].astype(str) == "利用者"]
    users = users.sort_values(["is_champion", "contact_id"], ascending=[False, True])
    return users["contact_id"].astype(str).tolist()


def coverage_gaps(contacts: pd.DataFrame, account_id: str) -> list[str]:
    """Plain-Japanese warnings about the relationship map: missing roles, no champion, single-threaded."""
    table = stakeholder_table(contacts, account_id)
    gaps = []
    present = set(table["deal_role"].astype(str))
    for role in DEAL_ROLES:
        if role not in present:
            gaps.append(f"{role}の担当者が登録されていません。誰が{ROLE_STAKES[role]}を気にしているか確認しましょう。")
    if not table["is_champion"].astype(bool).any():
        gaps.append("社内推進役 (チャンピオン) がいません。現場で旗を振ってくれる人を探しましょう。")
    if len(table) <= 3:
        gaps.append("接点が3人以下です。担当者が異動すると関係が途切れるおそれがあります。")
    return gaps


def stakeholder_map(contacts: pd.DataFrame, account_id: str, *, accounts: pd.DataFrame | None = None,
                    ax=None):
    """Draw the account's stakeholder map: one column per deal role, contacts grouped by department.

    The champion is drawn with a gold border and ★. Returns the matplotlib Figure. No networkx needed.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch

    from .plotting import setup

    setup()
    table = stakeholder_table(contacts, account_id)
    n_rows = max(1, max((table["deal_role"].astype(str) == r).sum() for r in DEAL_ROLES))
    height = 1.6 + 0.9 * n_rows
    if ax is None:
        fig, ax = plt.subplots(figsize=(11, height))
    else:
        fig = ax.figure
    ax.set_xlim(0, 3)
    ax.set_ylim(-n_rows - 0.2, 1.3)
    ax.axis("off")

    title = f"ステークホルダーマップ: {account_id}"
    if accounts is not None and "company_name" in accounts.columns:
        match = accounts[accounts["account_id"].astype(str) == str(account_id)]
        if not match.empty:
            row = match.iloc[0]
            extra = f"{row['company_name']}"
            if "industry" in accounts.columns:
                extra += f" ({row['industry']})"
            title = f"ステークホルダーマップ: {extra}"
    ax.set_title(title, fontsize=13, loc="left")

    for col, role in enumerate(DEAL_ROLES):
        x0 = col + 0.04
        colour = ROLE_COLOURS[role]
        ax.add_patch(FancyBboxPatch((x0, 0.55), 0.92, 0.6, boxstyle="round,pad=0.02", facecolor=colour,
                                    edgecolor="none", alpha=0.9))
        ax.text(x0 + 0.46, 0.92, role, ha="center", va="center", fontsize=12, color="white")
        ax.text(x0 + 0.46, 0.7, ROLE_STAKES[role], ha="center", va="center", fontsize=8.5, color="white")
        people = table[table["deal_role"].astype(str) == role]
        for i, person in enumerate(people.itertuples(index=False)):
            y = -i - 0.85
            champion = bool(person.is_champion)
            ax.add_patch(FancyBboxPatch(
                (x0, y), 0.92, 0.72, boxstyle="round,pad=0.02",
                facecolor="#fff8e1" if champion else "white",
                edgecolor=CHAMPION_COLOUR if champion else colour, linewidth=3 if champion else 1.2))
            star = "★ " if champion else ""
            ax.text(x0 + 0.05, y + 0.48, f"{star}{person.name}", ha="left", va="center", fontsize=10.5)
            ax.text(x0 + 0.05, y + 0.2, f"{person.department}・{person.title}", ha="left", va="center",
                    fontsize=8.5, color="#444444")
            ax.text(x0 + 0.88, y + 0.2, str(person.contact_id), ha="right", va="center", fontsize=7.5,
                    color="#888888")
    ax.text(3, -n_rows - 0.15, "凡例: ★ = 社内推進役 (チャンピオン)", ha="right", va="bottom", fontsize=8.5,
            color="#7a5d00")
    return fig


# --- non-verbal churn alerts -----------------------------------------------------------------------------

QUIET_SIGNALS = {
    "利用の減少": ("直近3か月のアクティブユーザーが、その前の3か月より2割以上少ない",
               "現場の利用者に名指しで会い、使わなくなった業務と理由を聞く"),
    "面談の途絶": ("以前は面談していたのに、直近90日は面談がない",
               "定例の再開を打診し、相手の状況変化 (異動・繁忙) を確かめる"),
    "問い合わせの沈黙": ("以前は問い合わせがあったのに、直近90日は0件",
                 "「困りごとがなくなった」のか「諦めた」のかを確かめる"),
    "NPS無回答・低下": ("直近のNPSが6以下、または1年以上回答がない",
                   "点数の理由を決裁者と現場の両方から聞き、改善の約束は範囲を決めて行う"),
}


def quiet_signals(account_id: str, *, usage: pd.DataFrame, meetings: pd.DataFrame, tickets: pd.DataFrame,
                  nps: pd.DataFrame | None = None, asof: str | pd.Timestamp | None = None) -> pd.DataFrame:
    """Non-verbal churn alerts for one account as of ``asof`` (default: the last usage month).

    Each row: signal, observed detail (Japanese), and the first action to take. Only data up to ``asof`` is used.
    """
    _require_columns(usage, ("account_id", "month", "active_users"), "usage_monthly")
    _require_columns(meetings, ("account_id", "date"), "meetings")
    _require_columns(tickets, ("account_id", "opened_at"), "tickets")
    u = usage[usage["account_id"].astype(str) == str(account_id)].sort_values("month")
    if u.empty:
        raise ValueError(f"顧客ID「{account_id}」の利用データがありません。顧客IDの綴りを確認してください。")
    asof = pd.Timestamp(asof) if asof is not None else u["month"].max()
    u = u[u["month"] <= asof]
    rows = []

    recent, before = u.tail(3)["active_users"], u.iloc[-6:-3]["active_users"] if len(u) >= 6 else u.iloc[0:0]
    if len(before) == 3 and before.mean() > 0:
        change = recent.mean() / before.mean() - 1
        if change <= -0.2:
            rows.append(("利用の減少", f"アクティブユーザーが {change:+.0%}"))

    window = asof - pd.Timedelta(days=90)
    m = meetings[(meetings["account_id"].astype(str) == str(account_id)) & (meetings["date"] <= asof)]
    if not m.empty and m["date"].max() < window:  # there was a rhythm of meetings, and it stopped
        rows.append(("面談の途絶", f"最終面談 {m['date'].max():%Y-%m-%d} (累計{len(m)}回)"))

    t = tickets[(tickets["account_id"].astype(str) == str(account_id)) & (tickets["opened_at"] <= asof)]
    if len(t) > 0 and t["opened_at"].max() < window:
        rows.append(("問い合わせの沈黙", f"最終問い合わせ {t['opened_at'].max():%Y-%m-%d} (累計{len(t)}件)"))

    if nps is not None:
        _require_columns(nps, ("account_id", "responded_at", "score"), "nps")
        n = nps[(nps["account_id"].astype(str) == str(account_id)) & (nps["responded_at"] <= asof)]
        n = n.sort_values("responded_at")
        if n.empty or n["responded_at"].max() < asof - pd.Timedelta(days=365):
            rows.append(("NPS無回答・低下", "1年以上回答なし"))
        elif int(n["score"].iloc[-1]) <= 6:
            rows.append(("NPS無回答・低下", f"直近スコア {int(n['score'].iloc[-1])}"))

    out = pd.DataFrame(
        [(s, d, QUIET_SIGNALS[s][0], QUIET_SIGNALS[s][1]) for s, d in rows],
        columns=["サイン", "観察された事実", "判定の基準", "最初の一手"],
    )
    out.attrs["asof"] = asof
    return out


# --- a small sorting quiz widget (used by the lessons of modules 02 and 03) -----------------------------------

def sorting_quiz(items: "Mapping[str, str]", options: Sequence[str], expected: "Mapping[str, str]", *,
                 hint: str = "", title: str = ""):
    """Dropdown per item; feedback (how many are right, never which) appears as soon as every item is set.

    ``items`` maps an id to the text shown; ``expected`` maps the same ids to the right option.
    Returns the widget; ``widget.answers()`` gives the current choices as a dict (None = not chosen yet).
    """
    import ipywidgets as w

    from .checks import check_labels

    unknown = set(expected) - set(items)
    if unknown:
        raise ValueError(f"expected に items にないIDがあります: {sorted(unknown)}")
    bad = {v for v in expected.values() if v not in options}
    if bad:
        raise ValueError(f"expected の値が選択肢にありません: {sorted(bad)}")
    choices = [("選んでください", None)] + [(o, o) for o in options]
    drops = {}
    rows = []
    for key, text in items.items():
        drop = w.Dropdown(options=choices, value=None, layout=w.Layout(width="11em"))
        drops[key] = drop
        rows.append(w.HBox([drop, w.HTML(f"<span style='margin-left:0.6em'>{_escape(text)}</span>")]))
    out = w.HTML("")

    def answers() -> dict:
        return {k: d.value for k, d in drops.items()}

    def refresh(_change=None) -> None:
        current = answers()
        if all(v is not None for v in current.values()):
            out.value = check_labels(current, expected, hint=hint, display=False)._repr_html_()
        else:
            out.value = ""

    for drop in drops.values():
        drop.observe(refresh, names="value")
    header = [w.HTML(f"<b>{_escape(title)}</b>")] if title else []
    box = w.VBox(header + rows + [out])
    box.answers = answers
    box.dropdowns = drops
    return box


def _escape(text: str) -> str:
    import html
    return html.escape(str(text))
