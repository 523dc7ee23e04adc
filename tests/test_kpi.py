"""KPI cascade checker (what "linked" means, the score), builder widget, and lagging indicators."""
from __future__ import annotations

import pandas as pd
import pytest

from cs_helpers import data, kpi
from cs_helpers.kpi import KPI, Cascade, check_cascade

STATEMENTS = {"company": "v", "product": "b", "cs": "m", "personal": "me"}


def chain(upper_dir: str, lower_dir: str, effect: str) -> Cascade:
    """A minimal 4-level line; the CS KPI's direction/effect towards the product KPI is varied."""
    return Cascade(STATEMENTS, [
        KPI("C1", "company", "ARR", "up"),
        KPI("P1", "product", "指標P", upper_dir, "C1", "raises" if upper_dir == "up" else "lowers"),
        KPI("S1", "cs", "指標S", lower_dir, "P1", effect),
        KPI("M1", "personal", "指標M", "up", "S1", "raises" if lower_dir == "up" else "lowers"),
    ])


def link_ok(report, kpi_id):
    return next(c.ok for c in report.checks if c.kind == "link" and c.target == kpi_id)


@pytest.mark.parametrize("upper_dir,lower_dir,effect,expected", [
    ("up", "up", "raises", True),      # onboarding completion ↑ raises GRR ↑
    ("up", "down", "lowers", True),    # red-health share ↓, more red lowers GRR
    ("down", "up", "lowers", True),    # adoption ↑ lowers churn ↓
    ("down", "down", "raises", True),  # unresolved tickets ↓, more tickets raise churn
    ("up", "up", "lowers", False),     # doing more of it pulls the upper KPI down
    ("up", "down", "raises", False),
    ("down", "up", "raises", False),
    ("down", "down", "lowers", False),
])
def test_direction_rule(upper_dir, lower_dir, effect, expected):
    report = check_cascade(chain(upper_dir, lower_dir, effect))
    assert link_ok(report, "S1") is expected
    assert link_ok(report, "P1") and link_ok(report, "M1")
    if not expected:
        assert report.broken == {"S1"} and "遠ざかります" in " ".join(report.problems)


def test_example_is_fully_linked_and_score_is_passed_over_total():
    report = check_cascade(kpi.example_cascade())
    assert report.score == 1.0 and report.problems == [] and report.broken == set()
    # 4 level checks + 8 links (P,S,M) + 3 leading (M) = 15; coverage is a note, never a check
    assert report.total == 15 and report.unsupported == set() and report.notes
    broken = check_cascade(kpi.broken_example())
    assert broken.broken == {"M2", "M3"}
    assert (broken.passed, broken.total) == (12, 15)
    # the department KPIs left without a personal KPI in this line are the learner's judgement, not errors
    assert broken.unsupported == {"S2", "S3"}
    assert "参考 (整合度には数えません)" in broken.summary() and "S2" in broken.summary()
    frame = broken.frame()
    assert (frame["結果"] == "✅").sum() / len(frame) == pytest.approx(broken.score)


def test_each_kind_of_broken_link_is_explained():
    base = kpi.example_cascade().kpis
    cases = {
        "serves": (KPI("M9", "personal", "x", "up", None, "raises"), "serves"),
        "unknown": (KPI("M9", "personal", "x", "up", "S99", "raises"), "S99"),
        "skips a level": (KPI("M9", "personal", "x", "up", "P1", "raises"), "1つ上の段"),
        "same level": (KPI("M9", "personal", "x", "up", "M1", "raises"), "1つ上の段"),
        "no effect": (KPI("M9", "personal", "x", "up", "S1", None), "effect"),
    }
    for name, (extra, needle) in cases.items():
        report = check_cascade(Cascade(STATEMENTS, base + [extra]))
        assert report.broken == {"M9"}, name
        msg = next(c.message for c in report.checks if c.target == "M9" and not c.ok)
        assert needle in msg, name


def test_coverage_leading_and_level_checks():
    kpis = [k for k in kpi.example_cascade().kpis if k.id != "M3"]
    report = check_cascade(Cascade(STATEMENTS, kpis))
    assert report.broken == set() and report.score == 1.0  # an unsupported KPI is not broken ...
    assert report.unsupported == {"S3"}                      # ... it is noted for the learner to judge
    assert "支える個人KPI" in report.remarks[0] and "同僚" in report.remarks[0]
    lagging = Cascade(STATEMENTS, kpis + [KPI("M3", "personal", "担当顧客の解約率", "down", "S3", "raises", "遅行")])
    # link fails too: churn ↓ with effect "raises" moves S3 (adoption share, up) down → S3 lowered
    report = check_cascade(lagging)
    assert {c.kind for c in report.checks if not c.ok} == {"leading", "link"}
    empty_statement = Cascade({**STATEMENTS, "personal": "  "}, kpi.example_cascade().kpis)
    report = check_cascade(empty_statement)
    assert report.problems == ["自分の段: マインド (どうありたいか)が書かれていません。"]
    assert check_cascade(Cascade()).score == 0.0


def test_japanese_values_and_records_input():
    rows = pd.DataFrame([
        {"id": "C1", "level": "企業", "name": "ARR", "direction": "上げたい", "serves": None, "effect": None, "kind": "遅行"},
        {"id": "P1", "level": "事業", "name": "解約率", "direction": "下げたい", "serves": "C1", "effect": "下げる",
         "kind": "遅行指標"},
        {"id": "S1", "level": "CS", "name": "活用率", "direction": "↑", "serves": "P1", "effect": "下げる", "kind": None},
        {"id": "M1", "level": "自分", "name": "研修実施率", "direction": "上げたい", "serves": "S1", "effect": "上げる",
         "kind": "先行"},
    ])
    cascade = Cascade.from_records({"企業": "v", "事業": "b", "CS部門": "m", "個人": "me"}, rows)
    report = check_cascade(cascade)
    assert report.score == 1.0
    assert cascade.get("S1").kind == "leading" and cascade.get("P1").direction == "down"
    assert check_cascade(cascade.to_dict()).score == 1.0  # JSON form is accepted as well


@pytest.mark.parametrize("kwargs,needle", [
    (dict(id="S1", level="部署", name="x", direction="up"), "段"),
    (dict(id="S1", level="cs", name="x", direction="増やす"), "上げたい"),
    (dict(id="S1", level="cs", name="x", direction="up", effect="効く"), "上げる"),
    (dict(id="S1", level="cs", name=" ", direction="up"), "指標名"),
    (dict(id="", level="cs", name="x", direction="up"), "id"),
    (dict(id="C1", level="company", name="x", direction="up", serves="P1"), "いちばん上"),
])
def test_bad_values_raise_clear_errors(kwargs, needle):
    with pytest.raises(kpi.CascadeError, match=needle):
        KPI(**kwargs)


def test_duplicate_ids_and_unknown_fields():
    with pytest.raises(kpi.CascadeError, match="重複"):
        Cascade(STATEMENTS, [KPI("C1", "company", "a", "up"), KPI("C1", "company", "b", "up")])
    with pytest.raises(kpi.CascadeError, match="owner"):
        Cascade.from_records(STATEMENTS, [{"id": "C1", "level": "company", "name": "a", "direction": "up",
                                           "owner": "me"}])


def test_save_and_load(tmp_path, monkeypatch):
    monkeypatch.setenv("CS_DOJO_HOME", str(tmp_path))
    path = kpi.save_cascade(kpi.broken_example(), "t1")
    assert path == tmp_path / "kpi" / "t1.json"
    assert kpi.load_cascade("t1") == kpi.broken_example()
    assert kpi.load_cascade("nobody") is None
    path.write_text("{oops", encoding="utf-8")
    with pytest.raises(kpi.CascadeError, match="t1.json"):
        kpi.load_cascade("t1")


# --- builder widget -------------------------------------------------------------------------------
def test_builder_round_trips_and_rechecks_after_edits(tmp_path, monkeypatch):
    monkeypatch.setenv("CS_DOJO_HOME", str(tmp_path / "home"))
    b = kpi.CascadeBuilder(kpi.example_cascade(), learner="t1")
    assert b.cascade() == kpi.example_cascade()
    assert not (tmp_path / "home").exists()  # nothing written before "save"
    b.check_button.click()
    assert len(b.output.outputs) == 2 and "100%" in b.output.outputs[0]["data"]["text/html"]
    b.row("M2")["serves"].value = "S1"  # red-account follow-up now claims to serve onboarding
    report = b.check()
    assert report.broken == {"M2"} and report.unsupported == {"S2"}
    new_id = b.add_kpi("cs", "解約予兆への対応完了率")
    assert new_id == "S4"
    b.row("S3")["name"].value = "主要機能の活用率"
    options = dict((v, label) for label, v in b.row("M3")["serves"].options)
    assert options["S3"] == "S3: 主要機能の活用率" and "S4" in options
    assert b.row("M3")["serves"].value == "S3"  # renaming keeps the link
    b.remove_kpi("S3")
    assert b.row("M3")["serves"].value is None
    assert "M3" in b.check().broken
    b.add_kpi("personal")  # an unnamed row is ignored
    assert "M4" not in {k.id for k in b.cascade().kpis}
    b.save_button.click()
    again = kpi.CascadeBuilder(learner="t1")  # starts from the saved cascade
    assert again.cascade() == b.cascade()


# --- lagging indicators ---------------------------------------------------------------------------
def test_lagging_indicators_on_a_hand_made_book():
    acc = pd.DataFrame({
        "account_id": ["a", "b", "c", "d", "e", "f"],
        "industry": ["製造"] * 5 + ["小売"],
        "arr_jpy": [100, 200, 300, 400, 500, 600],
        "contract_start": pd.to_datetime(["2024-01-01", "2024-06-01", "2025-01-01", "2025-12-01", "2024-01-01",
                                          "2024-01-01"]),
        "churn_date": pd.to_datetime(["2026-03-01", None, "2025-06-01", "2026-06-01", "2026-12-01", "2026-01-01"]),
    })
    out = kpi.lagging_indicators(acc, as_of="2026-09-30", industry="製造")
    # cohort at 2025-09-30: a, b, e (c churned before, d started after); churned in window: a only
    assert (out["accounts_at_start"], out["churned_accounts"]) == (3, 1)
    assert out["logo_churn_rate"] == pytest.approx(1 / 3)
    assert out["grr"] == pytest.approx(1 - 100 / 800)
    assert out["monthly_logo_churn_rate"] == pytest.approx(1 - (2 / 3) ** (1 / 12))
    everyone = kpi.lagging_indicators(acc, as_of="2026-09-30")
    assert (everyone["accounts_at_start"], everyone["churned_accounts"]) == (4, 2)


def test_lagging_indicators_on_shipped_data():
    acc = data.load("accounts")
    out = kpi.lagging_indicators(acc)
    assert str(out["as_of"]) == "2026-09-30"
    assert 0 < out["logo_churn_rate"] < 0.5 and 0.5 < out["grr"] < 1
    # revenue loss and logo loss are different views of the same churned set
    assert out["churned_arr"] <= out["arr_at_start"]
