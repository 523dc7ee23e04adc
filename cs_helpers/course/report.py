"""``cs-dojo report``: a cohort report as one self-contained HTML file (plots embedded as base64 PNG).

Written for a manager who never opens Jupyter: what share of the points the cohort earned per assignment/module and
per question, the weakest questions, how the roleplays ended, and which learners need a 1on1 and why.

1on1 rule (each learner is listed with every reason that applies):

* an assignment released to the cohort was not submitted (未提出);
* the learner's autograded score is below ``threshold`` (default 60 %) of the points on any submitted assignment;
* grading failed and was recorded as zero (the notebook crashed, hung or was unreadable);
* a roleplay ended in ``fail`` (``responses/*.json`` with ``ending`` / ``ending_type``).

Reads ``gradebook.db``, ``roster.csv``, ``grading_log.json`` and ``submitted/*/*/responses/*.json``; writes
``reports/cohort_report.html`` (or ``out``).
"""
from __future__ import annotations

import datetime as dt
import html
import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from ..htmlpage import Section, image_html, render_page, table_html
from .common import CourseError, atomic_write_text, course_root, read_grading_log
from .export import score_table

DEFAULT_THRESHOLD = 0.6
ENDING_LABELS = {"success": "成功", "partial": "部分的", "fail": "失敗", "failure": "失敗"}


@dataclass
class ReportResult:
    path: Path
    learners: int
    one_on_one: list[dict] = field(default_factory=list)


def roleplay_endings(root: Path):
    """How each learner's roleplays ended: ``learner_id, assignment, scenario, ending``.

    Graded roleplays come from ``grading_log.json``, where ``cs-dojo grade`` records the trusted scorer's outcome
    (replayed from the record against the trainer's scenario; graded records themselves carry no ending). Only for
    submissions without such an entry does it fall back to the ``ending`` written in ``responses/*.json``.
    """
    import pandas as pd
    rows, trusted = [], set()
    for assignment, entries in read_grading_log(root).items():
        for learner, entry in (entries or {}).items():
            for scenario, ending in (entry.get("roleplay") or {}).items():
                trusted.add((learner, assignment))
                if ending:
                    rows.append({"learner_id": learner, "assignment": assignment, "scenario": str(scenario),
                                 "ending": str(ending)})
    for path in sorted((root / "submitted").glob("*/*/responses/*.json")):
        learner, assignment = path.parts[-4], path.parts[-3]
        if (learner, assignment) in trusted:
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, OSError, UnicodeDecodeError):
            continue
        if not isinstance(data, dict):
            continue
        ending = data.get("ending_type") or data.get("ending")
        if isinstance(ending, dict):
            ending = ending.get("type") or ending.get("id")
        if not ending:
            continue
        rows.append({"learner_id": learner, "assignment": assignment,
                     "scenario": str(data.get("scenario_id") or path.stem), "ending": str(ending)})
    return pd.DataFrame(rows, columns=["learner_id", "assignment", "scenario", "ending"])


def one_on_one_list(long, endings, threshold: float = DEFAULT_THRESHOLD) -> list[dict]:
    reasons: dict[str, list[str]] = {}
    people = long.drop_duplicates("learner_id").set_index("learner_id")
    for (learner, assignment), group in long.groupby(["learner_id", "assignment"]):
        status = group["status"].iloc[0]
        if status == "missing":
            reasons.setdefault(learner, []).append(f"{assignment} 未提出")
            continue
        if status == "failed":
            reasons.setdefault(learner, []).append(f"{assignment} 採点不能で0点 ({group['reason'].iloc[0][:60]})")
            continue
        auto = group[group["kind"] == "auto"]
        if not auto.empty and auto["max_score"].sum() > 0:
            ratio = auto["score"].fillna(0).sum() / auto["max_score"].sum()
            if ratio < threshold:
                reasons.setdefault(learner, []).append(f"{assignment} 自動採点 {ratio:.0%} (基準 {threshold:.0%} 未満)")
    for _, row in endings.iterrows():
        if str(row["ending"]).lower() in {"fail", "failure"}:
            reasons.setdefault(row["learner_id"], []).append(f"ロールプレイ「{row['scenario']}」が失敗で終了")
    out = []
    for learner in sorted(reasons):
        name = people.loc[learner, "name"] if learner in people.index else ""
        cohort = people.loc[learner, "cohort"] if learner in people.index else ""
        out.append({"learner_id": learner, "name": name, "cohort": cohort, "reasons": " / ".join(reasons[learner])})
    return out


def grading_states_section(long) -> Section:
    """Per assignment: how many learners are graded / graded with notes / failed / missing, and at which isolation
    level (``sandbox`` or ``process``, see ``cs-dojo grade --sandbox``); then every learner with notes or a failure."""
    import pandas as pd
    per = long.drop_duplicates(["assignment", "learner_id"])
    states = {"graded": "採点済み", "graded with notes": "注記つき", "failed": "0点記録", "missing": "未提出"}
    rows = []
    for assignment, group in per.groupby("assignment"):
        row = {"assignment": assignment, **{label: int((group["status"] == s).sum()) for s, label in states.items()}}
        levels = group.loc[group["status"] != "missing", "isolation"].fillna("").replace("", "不明")
        row["隔離"] = ", ".join(f"{level} {n}" for level, n in levels.value_counts().sort_index().items()) or "-"
        rows.append(row)
    table = pd.DataFrame(rows)
    shown = per[per["status"].isin(["graded with notes", "failed"])].copy()
    shown["状態"] = shown["status"].map(states)
    shown["備考"] = shown["reason"].where(shown["status"] == "failed", shown["notes"])
    return Section("採点の状態と隔離レベル",
                   table_html(table, {c: ("課題" if c == "assignment" else c) for c in table.columns})
                   + "<p class=note>隔離: sandbox = 受講者のコードをサンドボックスの中で実行 / process = プロセス分離のみ"
                     " (docs/trainer.md の「採点のサンドボックス」を参照)。</p>"
                   + table_html(shown, {"assignment": "課題", "learner_id": "受講者ID", "name": "氏名", "状態": "状態",
                                        "isolation": "隔離", "備考": "備考"}))


def build_report(*, course_dir: str | Path = ".", out: str | Path | None = None,
                 assignments: list[str] | None = None, threshold: float = DEFAULT_THRESHOLD,
                 title: str = "CS Dojo 受講状況レポート") -> ReportResult:
    import matplotlib
    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    import pandas as pd
    import seaborn as sns

    from ..plotting import setup
    setup()
    root = course_root(course_dir)
    long = score_table(course_dir=root, assignments=assignments)
    if long.empty:
        raise CourseError("レポートにする成績がありません。課題を release・collect・grade してから実行してください。")
    endings = roleplay_endings(root)
    learners = long["learner_id"].nunique()

    submitted = long[long["status"] != "missing"]
    # only cells that have a score count (manual answers not graded yet are left out of both sides)
    scored = submitted.assign(graded_max=submitted["max_score"].where(submitted["score"].notna()))
    per_assignment = (scored.groupby(["learner_id", "assignment", "module"], as_index=False)
                      .agg(score=("score", lambda s: s.fillna(0).sum()), max_score=("graded_max", "sum")))
    per_assignment = per_assignment[per_assignment["max_score"] > 0]
    per_assignment["得点率"] = per_assignment["score"] / per_assignment["max_score"] * 100
    graded_q = submitted.dropna(subset=["score"]).copy()
    graded_q["得点率"] = graded_q["score"] / graded_q["max_score"] * 100
    graded_q["設問"] = graded_q["assignment"] + " " + graded_q["question"]

    sections = []
    overview = pd.DataFrame([{
        "受講者数": learners,
        "提出数": int(per_assignment[["learner_id", "assignment"]].drop_duplicates().shape[0]),
        "採点不能 (0点記録)": int(long[long["status"] == "failed"][["learner_id", "assignment"]].drop_duplicates().shape[0]),
        "手動採点待ちの設問": int(long["needs_manual_grade"].sum()),
        "平均得点率": f"{per_assignment['得点率'].mean():.0f}%" if not per_assignment.empty else "-",
    }])
    sections.append(Section("概要", table_html(overview, {c: c for c in overview.columns})
                     + "<p class=note>得点率は採点済みの設問だけで計算しています (手動採点待ちの記述問題は含みません)。</p>"))

    if not per_assignment.empty:
        from matplotlib.ticker import MaxNLocator
        fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # seaborn's own boxplot call (vert=) on new matplotlib
            sns.boxplot(data=per_assignment, x="assignment", y="得点率", ax=axes[0], color="#9ecae1")
        sns.stripplot(data=per_assignment, x="assignment", y="得点率", ax=axes[0], color="#333333", size=4)
        axes[0].set(title="課題別の得点率の分布", xlabel="課題", ylabel="得点率 (%)", ylim=(-5, 105))
        # Per module: how many learners are below / around / above the 1on1 threshold, read at a glance.
        per_module = per_assignment.groupby(["learner_id", "module"], as_index=False)[["score", "max_score"]].sum()
        per_module["得点率"] = per_module["score"] / per_module["max_score"] * 100
        cut = threshold * 100
        bands = [f"{cut:.0f}% 未満", f"{cut:.0f}〜80%", "80% 以上"]
        per_module["水準"] = pd.cut(per_module["得点率"], [-0.1, cut - 1e-9, 80 - 1e-9, 100.1], labels=bands,
                                   include_lowest=True)
        counts = (per_module.groupby(["module", "水準"], observed=False).size().unstack("水準")
                  .reindex(columns=bands, fill_value=0))
        counts.plot(kind="barh", stacked=True, ax=axes[1], color=["#d9534f", "#f0ad4e", "#2e9d5b"], width=0.7)
        axes[1].xaxis.set_major_locator(MaxNLocator(integer=True))
        axes[1].invert_yaxis()
        axes[1].set(title="モジュール別: 得点率の水準ごとの人数", xlabel="人数", ylabel="モジュール")
        axes[1].legend(title="得点率", loc="lower right", fontsize=8, title_fontsize=8)
        sections.append(Section("課題・モジュール別の得点分布", image_html(fig, "課題・モジュール別の得点分布")))

    if not graded_q.empty:
        order = graded_q.groupby("設問")["得点率"].mean().sort_values().index.tolist()
        fig, ax = plt.subplots(figsize=(8, max(2.5, 0.45 * len(order) + 1)))
        sns.barplot(data=graded_q, y="設問", x="得点率", order=order, ax=ax, color="#4c72b0", errorbar=None)
        ax.set(title="設問別の平均得点率 (低い順)", xlabel="平均得点率 (%)", ylabel="", xlim=(0, 100))
        sections.append(Section("設問別の得点率", image_html(fig, "設問別の平均得点率")))
        weakest = (graded_q.groupby(["設問", "kind"], as_index=False)
                   .agg(平均得点率=("得点率", "mean"), 回答者数=("learner_id", "nunique"))
                   .sort_values("平均得点率").head(5))
        weakest["種類"] = weakest["kind"].map({"auto": "自動採点", "manual": "記述 (手動採点)"})
        sections.append(Section("つまずきの多い設問 (下位5問)",
                         table_html(weakest, {"設問": "設問", "種類": "種類", "平均得点率": "平均得点率 (%)",
                                          "回答者数": "採点済み人数"})
                         + "<p class=note>研修の振り返りでは、この設問の考え方を全体で確認するのがおすすめです。</p>"))

    if not endings.empty:
        shown = endings.assign(結末=endings["ending"].map(lambda e: ENDING_LABELS.get(str(e).lower(), str(e))))
        fig, ax = plt.subplots(figsize=(7, max(2.5, 0.6 * shown["scenario"].nunique() + 1.5)))
        from matplotlib.ticker import MaxNLocator
        sns.countplot(data=shown, y="scenario", hue="結末", ax=ax)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set(title="ロールプレイの結末", xlabel="人数", ylabel="シナリオ")
        sections.append(Section("ロールプレイの結末", image_html(fig, "ロールプレイの結末")))
    else:
        sections.append(Section("ロールプレイの結末", "<p>提出物に responses/*.json (ロールプレイの記録) がありません。</p>"))

    one = one_on_one_list(long, endings, threshold)
    rule = (f"次のいずれかに当てはまる受講者を挙げています: 配布済みの課題が未提出 / 提出した課題の自動採点が {threshold:.0%} 未満 / "
            "採点できず0点として記録 / ロールプレイが「失敗」で終了。")
    sections.append(Section("1on1 をおすすめする受講者",
                     f"<p class=note>{html.escape(rule)}</p>"
                     + table_html(pd.DataFrame(one, columns=["learner_id", "name", "cohort", "reasons"]),
                              {"learner_id": "受講者ID", "name": "氏名", "cohort": "コホート", "reasons": "理由"})))

    totals = per_assignment.pivot_table(index="learner_id", columns="assignment", values="得点率", aggfunc="mean")
    people = long.drop_duplicates("learner_id").set_index("learner_id")[["name", "cohort"]]
    totals = people.join(totals).reset_index()
    cols = {"learner_id": "受講者ID", "name": "氏名", "cohort": "コホート"}
    cols.update({c: f"{c} (%)" for c in totals.columns if c not in cols})
    sections.append(Section("受講者別の得点率", table_html(totals, cols)))
    sections.append(grading_states_section(long))

    generated = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    page = render_page(title, sections, intro=[
        f"作成日時: {generated} / 対象: {', '.join(sorted(long['assignment'].unique()))} / 受講者 {learners} 人"])
    path = Path(out).expanduser().resolve() if out else root / "reports" / "cohort_report.html"
    atomic_write_text(path, page)
    return ReportResult(path, learners, one)
