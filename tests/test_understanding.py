"""cs_helpers.understanding: who-can-answer-what matrix, label rule of thumb, stakeholder map, quiet signals."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import warnings

import pandas as pd
import pytest

from cs_helpers import understanding as U
from cs_helpers.data import load


@pytest.fixture(scope="module")
def notes():
    return load("hearing_notes")


@pytest.fixture(scope="module")
def contacts():
    return load("contacts")


def _notes(rows):
    return pd.DataFrame(rows, columns=["account_id", "speaker_role", "label", "clarity", "text"])


def test_answer_matrix_counts_clear_share_per_role_and_topic():
    df = _notes([
        ("A1", "CEO", "導入目的", "明確", "a"), ("A1", "CEO", "導入目的", "曖昧", "b"),
        ("A1", "現場", "利用用途", "明確", "c"), ("A2", "情報システム部", "利用用途", "曖昧", "d"),
    ])
    rate = U.answer_matrix(df)
    assert list(rate.index) == list(U.SPEAKER_ROLES) and list(rate.columns) == list(U.LABELS)
    assert rate.loc["CEO", "導入目的"] == 0.5
    assert rate.loc["現場", "利用用途"] == 1.0
    assert rate.loc["情報システム部", "利用用途"] == 0.0
    assert pd.isna(rate.loc["現場", "導入目的"])  # never heard, not "0% clear"
    counts = U.answer_matrix(df, value="count")
    assert counts.loc["CEO", "導入目的"] == 2 and counts.loc["現場", "導入目的"] == 0


def test_shipped_notes_support_the_lesson(notes):
    m = U.answer_matrix(notes)
    assert U.who_to_ask(m, "導入目的") == "CEO"
    assert U.who_to_ask(m, "利用用途") == "現場"
    # the IT department is the weakest source on both topics
    assert m.loc["情報システム部"].max() < min(m.loc["CEO", "導入目的"], m.loc["現場", "利用用途"])


def test_who_to_ask_rejects_unknown_topic(notes):
    with pytest.raises(ValueError, match="話題"):
        U.who_to_ask(U.answer_matrix(notes), "予算")


def test_answer_matrix_names_missing_columns():
    with pytest.raises(ValueError, match="clarity"):
        U.answer_matrix(pd.DataFrame({"speaker_role": ["CEO"], "label": ["導入目的"]}))


@pytest.mark.parametrize("text,label", [
    ("残業を減らして、採用コストを下げたい。", "導入目的"),
    ("毎朝、在庫の数を画面で確認している。", "利用用途"),
    ("目的は本社が決めました。", "導入目的"),
])
def test_guess_label_rule_of_thumb(text, label):
    assert U.guess_label(text) == label


def test_guess_label_is_mostly_right_but_not_perfect(notes):
    guessed = notes["text"].map(U.guess_label)
    accuracy = (guessed == notes["label"].astype(str)).mean()
    assert 0.8 < accuracy < 1.0  # a discussion aid: the lesson shows where it fails


def test_guess_label_rejects_empty():
    with pytest.raises(ValueError):
        U.guess_label("  ")


def test_unclear_topics_marks_accounts_without_a_clear_answer():
    df = _notes([("A1", "CEO", "導入目的", "明確", "a"), ("A1", "情報システム部", "利用用途", "曖昧", "b"),
                 ("A2", "現場", "利用用途", "明確", "c")])
    out = U.unclear_topics(df)
    assert out.loc["A1", "利用用途"] and not out.loc["A1", "導入目的"]
    assert out.loc["A2", "導入目的"] and not out.loc["A2", "利用用途"]


def test_stakeholder_table_orders_roles_and_field_users_put_champion_first(contacts):
    account = contacts.loc[contacts["is_champion"] & (contacts["deal_role"] == "利用者"), "account_id"].iloc[0]
    table = U.stakeholder_table(contacts, account)
    ranks = table["deal_role"].astype(str).map({r: i for i, r in enumerate(U.DEAL_ROLES)})
    assert ranks.is_monotonic_increasing
    users = U.field_users_to_name(contacts, account)
    expected = set(contacts.loc[(contacts["account_id"] == account) & (contacts["deal_role"] == "利用者"),
                                "contact_id"])
    assert set(users) == expected
    champ = table.loc[table["is_champion"] & (table["deal_role"] == "利用者"), "contact_id"].iloc[0]
    assert users[0] == champ


def test_stakeholder_table_unknown_account(contacts):
    with pytest.raises(ValueError, match="A9999"):
        U.stakeholder_table(contacts, "A9999")


def test_coverage_gaps_reports_missing_role_and_champion():
    df = pd.DataFrame({"contact_id": ["P1", "P2"], "account_id": ["A1", "A1"], "name": ["a", "b"],
                       "deal_role": ["決裁者", "利用者"], "department": ["経営", "営業部"], "title": ["社長", "一般"],
                       "is_champion": [False, False]})
    gaps = U.coverage_gaps(df, "A1")
    assert any("管理者" in g for g in gaps)
    assert any("チャンピオン" in g for g in gaps)
    assert any("3人以下" in g for g in gaps)


def test_stakeholder_map_draws_every_contact_and_highlights_champion(contacts):
    account = contacts.loc[contacts["is_champion"], "account_id"].iloc[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no missing-glyph or font warnings
        fig = U.stakeholder_map(contacts, account, accounts=load("accounts"))
        fig.canvas.draw()
    texts = [t.get_text() for t in fig.axes[0].texts]
    names = contacts.loc[contacts["account_id"] == account, "name"]
    for name in names:
        assert any(name in t for t in texts), name
    starred = [t for t in texts if t.startswith("★ ")]
    assert len(starred) == int(contacts.loc[contacts["account_id"] == account, "is_champion"].sum())
    assert "ステークホルダーマップ" in fig.axes[0].get_title(loc="left")
    matplotlib.pyplot.close(fig)


def test_quiet_signals_from_synthetic_history():
    months = pd.date_range("2025-01-01", periods=6, freq="MS")
    usage = pd.DataFrame({"account_id": "A1", "month": months, "active_users": [10, 10, 10, 5, 5, 5]})
    meetings = pd.DataFrame({"account_id": ["A1"], "date": [pd.Timestamp("2025-01-10")]})
    tickets = pd.DataFrame({"account_id": ["A1", "A1"], "opened_at": pd.to_datetime(["2025-01-05", "2025-02-01"])})
    nps = pd.DataFrame({"account_id": ["A1"], "responded_at": [pd.Timestamp("2025-05-01")], "score": [5]})
    out = U.quiet_signals("A1", usage=usage, meetings=meetings, tickets=tickets, nps=nps)
    assert set(out["サイン"]) == {"利用の減少", "面談の途絶", "問い合わせの沈黙", "NPS無回答・低下"}
    # with steady use and a recent meeting, nothing is flagged
    calm = usage.assign(active_users=10)
    met = pd.DataFrame({"account_id": ["A1"], "date": [pd.Timestamp("2025-06-01")]})
    recent_ticket = pd.DataFrame({"account_id": ["A1"], "opened_at": [pd.Timestamp("2025-05-20")]})
    out = U.quiet_signals("A1", usage=calm, meetings=met, tickets=recent_ticket,
                          nps=nps.assign(score=9))
    assert out.empty


def test_quiet_signals_ignores_data_after_asof():
    months = pd.date_range("2025-01-01", periods=9, freq="MS")
    usage = pd.DataFrame({"account_id": "A1", "month": months, "active_users": [10] * 6 + [1] * 3})
    meetings = pd.DataFrame({"account_id": ["A1"], "date": [pd.Timestamp("2025-06-01")]})
    tickets = pd.DataFrame({"account_id": ["A1"], "opened_at": [pd.Timestamp("2025-06-01")]})
    out = U.quiet_signals("A1", usage=usage, meetings=meetings, tickets=tickets, asof="2025-06-01")
    assert out.empty


def test_sorting_quiz_gives_feedback_only_when_complete():
    quiz = U.sorting_quiz({"a": "目的の文", "b": "用途の文"}, U.LABELS, {"a": "導入目的", "b": "利用用途"})
    out = quiz.children[-1]
    quiz.dropdowns["a"].value = "導入目的"
    assert quiz.answers() == {"a": "導入目的", "b": None}
    assert out.value == ""  # nothing judged while an item is still open
    quiz.dropdowns["b"].value = "導入目的"
    assert "2件中1件" in out.value and "❌" in out.value
    assert "用途の文" not in out.value  # feedback never says which item is wrong
    quiz.dropdowns["b"].value = "利用用途"
    assert "2件中2件" in out.value and "✅" in out.value


def test_sorting_quiz_rejects_inconsistent_answers():
    with pytest.raises(ValueError, match="選択肢"):
        U.sorting_quiz({"a": "x"}, U.LABELS, {"a": "予算"})


# --- exercise 02 問2: statements about one industry's table -----------------------------------------------------

def _claim_holds(notes, accounts, industry, claim, *, quick=False, overall=False) -> bool:
    """What the data supports (quick: every rate trusted and never-asked read as 0; overall: the all-industry table
    read instead of the industry's)."""
    sub = notes if overall else notes[notes["account_id"].isin(
        accounts.loc[accounts["industry"].astype(str) == industry, "account_id"])]
    n, c, r = (U.answer_matrix(sub, value=v) for v in ("count", "clear", "clear_rate"))
    every = U.answer_matrix(notes)
    cell = (claim.role, claim.topic)
    if quick:
        r = r.fillna(0)
        n = n.where(n >= U.CLAIM_MIN_NOTES, U.CLAIM_MIN_NOTES)
        if claim.kind in ("none", "never_clear"):
            return bool(r.loc[cell] == 0)
    if claim.kind == "none":
        return bool(n.loc[cell] == 0)
    if claim.kind == "never_clear":
        return bool(n.loc[cell] > 0 and c.loc[cell] == 0)
    if n.loc[cell] < U.CLAIM_MIN_NOTES:
        return False
    x = r.loc[cell]
    return bool({"half": x >= 0.5, "above_all": x > every.loc[cell], "below_all": x < every.loc[cell],
                 "best": x >= r.loc[n[claim.topic] >= U.CLAIM_MIN_NOTES, claim.topic].max()}[claim.kind])


def test_industry_claims_cannot_be_passed_by_a_quick_reading(notes):
    """Six shuffled statements per learner; neither trusting thin cells, nor reading the all-industry table, nor
    one fixed guess passes more than 10 % of learners."""
    accounts = load("accounts")
    industries = sorted(accounts.loc[accounts["account_id"].isin(notes["account_id"]), "industry"].astype(str).unique())
    quick = overall = 0
    answers: dict = {}
    from cs_helpers.learner import learner_seed

    runs = 120
    for seed in [learner_seed("02_customer_understanding", learner=f"learner_{i}") for i in range(runs)]:
        industry = industries[seed % len(industries)]
        claims = U.industry_claims(notes, accounts, industry, seed)
        assert list(claims["id"]) == [f"C{i}" for i in range(1, 7)] and set(claims["kind"]) <= set(U.CLAIM_KINDS)
        right = frozenset(x.id for x in claims.itertuples() if _claim_holds(notes, accounts, industry, x))
        quick += right == frozenset(x.id for x in claims.itertuples()
                                    if _claim_holds(notes, accounts, industry, x, quick=True))
        overall += right == frozenset(x.id for x in claims.itertuples()
                                      if _claim_holds(notes, accounts, industry, x, overall=True))
        answers[right] = answers.get(right, 0) + 1
    assert quick / runs < 0.10 and overall / runs < 0.10 and max(answers.values()) / runs < 0.10


def test_industry_claims_rejects_an_unknown_industry(notes):
    with pytest.raises(ValueError, match="ヒアリングメモがありません"):
        U.industry_claims(notes, load("accounts"), "宇宙", 0)
