"""Growth plan in four decompositions, monthly progress toward "myself in one year", 1on1 sheet.

A plan is one JSON file per learner, ``home_dir()/growth/<learner_id>.json``, written atomically
(temporary file + ``os.replace``), so a crash never leaves half a plan. Format (``FORMAT``)::

    {
      "format": "cs-dojo-growth-plan/1",
      "learner_id": "tanaka_h",
      "updated_at": "2026-05-01T10:00:00+09:00",
      "start_month": "2026-04",                # month 0 of the one-year plan
      "one_year_goal": "1年後の自分 (定性的な姿)",
      "thinking":      {"as_is": "...", "to_be": "...", "gaps": ["...", "..."]},   # (1) gap As-Is → To-Be
      "actions":       [{"what": "...", "due": "2026-06", "how": "..."}],         # (2) actions and schedule
      "communication": [{"who": "...", "how": "..."}],                           # (3) whom to involve
      "outcome":       {"qualitative": "...", "quantitative": "..."},            # (4) outcome
      "requirements":  [{"id": "r1", "text": "...", "met": false}],              # qualitative promotion requirements
      "progress":      [{"month": "2026-05", "progress": 10, "note": "...", "next": "..."}]
    }

``progress`` is the learner's own judgement (0–100 %) of how far they are toward the one-year goal,
agreed in the monthly progress meeting. ``plan_widget`` edits the four decompositions and the
requirements; ``progress_widget`` adds monthly entries and redraws the chart.
"""
from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from . import learner
from .fileio import atomic_write_json

FORMAT = "cs-dojo-growth-plan/1"
MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")
DECOMPOSITIONS = {
    "thinking": "① 思考 — 現在地 (As-Is) と目指す姿 (To-Be) のギャップ",
    "actions": "② 行動・段取り — いつまでに何をどうやるか",
    "communication": "③ コミュニケーション — 誰をどう巻き込むか",
    "outcome": "④ 成果 — 何が得られたら達成か (定性でよい。数字があればなお良い)",
}
BEHIND_POINTS = 15  # a month this far below the straight line to the goal asks for a recovery plan


class GrowthPlanError(ValueError):
    """A plan file or entry that cannot be used, explained in Japanese (what, where, how to fix)."""


def _now() -> str:
    return datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds")


def empty_plan(learner_id: str | None = None, start_month: str | None = None) -> dict:
    """A new, empty plan for ``learner_id`` (default: the current learner) starting this month."""
    start = start_month or datetime.now().strftime("%Y-%m")
    _check_month(start, "start_month")
    return {
        "format": FORMAT,
        "learner_id": learner_id or learner.learner_id(),
        "updated_at": _now(),
        "start_month": start,
        "one_year_goal": "",
        "thinking": {"as_is": "", "to_be": "", "gaps": []},
        "actions": [],
        "communication": [],
        "outcome": {"qualitative": "", "quantitative": ""},
        "requirements": [],
        "progress": [],
    }


def plan_path(learner_id: str | None = None) -> Path:
    """Where the learner's plan lives: ``home_dir()/growth/<learner_id>.json``."""
    return learner.learner_file("growth", learner_id or None)


def _check_month(value: Any, where: str) -> str:
    if not isinstance(value, str) or not MONTH_RE.match(value) or not 1 <= int(value[5:]) <= 12:
        raise GrowthPlanError(f"{where} の「{value}」は月として読めません。2026-05 のように YYYY-MM 形式で書いてください。")
    return value


def _month_index(month: str, start: str) -> int:
    y, m = int(month[:4]), int(month[5:])
    y0, m0 = int(start[:4]), int(start[5:])
    return (y - y0) * 12 + (m - m0)


def validate_plan(plan: Any, source: str = "計画") -> dict:
    """Check a plan's structure and values; returns a normalised deep copy or raises ``GrowthPlanError``."""
    if not isinstance(plan, Mapping):
        raise GrowthPlanError(f"{source}: 成長計画は JSON のオブジェクト ({{...}}) である必要があります。")
    if plan.get("format") != FORMAT:
        raise GrowthPlanError(f"{source}: 形式「{plan.get('format')}」は読めません (期待: {FORMAT})。"
                              "growth.plan_widget() で作り直してください。")
    out = copy.deepcopy(dict(plan))
    if not out.get("start_month"):
        raise GrowthPlanError(f"{source}: 開始月 (start_month) がありません。2026-04 のように YYYY-MM で書いてください。")
    _check_month(out["start_month"], f"{source} の start_month")
    base = empty_plan(str(out.get("learner_id") or learner.GUEST), out["start_month"])
    for key, default in base.items():
        out.setdefault(key, default)
    _check_month(out["start_month"], f"{source} の start_month")
    for key in ("thinking", "outcome"):
        if not isinstance(out[key], Mapping):
            raise GrowthPlanError(f"{source} の {key} は項目名と文章の組 (オブジェクト) にしてください。")
    if not isinstance(out["thinking"].get("gaps", []), list):
        raise GrowthPlanError(f"{source} の thinking.gaps はギャップを並べたリストにしてください。")
    for key in ("actions", "communication", "requirements", "progress"):
        if not isinstance(out[key], list) or not all(isinstance(x, Mapping) for x in out[key]):
            raise GrowthPlanError(f"{source} の {key} は項目 (オブジェクト) のリストにしてください。")
    for i, action in enumerate(out["actions"], 1):
        if action.get("due"):
            _check_month(str(action["due"])[:7], f"{source} の actions の{i}件目の期限 (due)")
    seen = set()
    for i, entry in enumerate(out["progress"], 1):
        where = f"{source} の progress の{i}件目"
        month = _check_month(entry.get("month"), where)
        if month in seen:
            raise GrowthPlanError(f"{where}: {month} の記録が重複しています。1か月につき1件にしてください。")
        seen.add(month)
        value = entry.get("progress")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 100:
            raise GrowthPlanError(f"{where}: 進捗「{value}」は 0〜100 の数値 (%) で書いてください。")
        if _month_index(month, out["start_month"]) < 0:
            raise GrowthPlanError(f"{where}: {month} は計画の開始月 {out['start_month']} より前です。")
    ids = [r.get("id") for r in out["requirements"]]
    if len(ids) != len(set(ids)):
        raise GrowthPlanError(f"{source} の requirements に同じ id が複数あります。")
    out["progress"] = sorted(out["progress"], key=lambda e: e["month"])
    return out


def save_plan(plan: Mapping, path: str | Path | None = None) -> Path:
    """Validate and write the plan atomically (temp file in the same folder, then ``os.replace``)."""
    clean = validate_plan(plan)
    clean["updated_at"] = _now()
    target = Path(path) if path is not None else plan_path(clean.get("learner_id"))
    atomic_write_json(target, clean)
    return target


def load_plan(path: str | Path | None = None, *, learner_id: str | None = None) -> dict:
    """Read a plan file. A missing file gives a new empty plan; a broken one raises ``GrowthPlanError``."""
    target = Path(path) if path is not None else plan_path(learner_id)
    if not target.exists():
        return empty_plan(learner_id)
    try:
        data = json.loads(target.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise GrowthPlanError(f"成長計画ファイル「{target}」を読めません ({type(exc).__name__})。"
                              "壊れている可能性があります。ファイル名を変えて退避してから、計画を作り直してください。") from None
    return validate_plan(data, f"ファイル「{target}」")


def add_progress(plan: Mapping, month: str, progress: float, note: str = "", next_step: str = "") -> dict:
    """Return a copy of ``plan`` with the entry for ``month`` added (or replaced)."""
    out = validate_plan(plan)
    entry = {"month": _check_month(month, "月"), "progress": progress, "note": note, "next": next_step}
    out["progress"] = [e for e in out["progress"] if e["month"] != month] + [entry]
    return validate_plan(out)


# --- progress toward "myself in one year" -----------------------------------------------------

def progress_frame(plan: Mapping) -> pd.DataFrame:
    """Monthly entries with the straight-line target (100 % at month 12) and a ``behind`` flag
    when progress is at least ``BEHIND_POINTS`` below the line — the cue to agree a recovery plan."""
    clean = validate_plan(plan)
    rows = []
    for entry in clean["progress"]:
        k = _month_index(entry["month"], clean["start_month"])
        target = min(100.0, 100.0 * k / 12)
        rows.append({"month": entry["month"], "month_index": k, "progress": float(entry["progress"]),
                     "target": target, "gap": float(entry["progress"]) - target,
                     "behind": float(entry["progress"]) <= target - BEHIND_POINTS, "note": entry.get("note", "")})
    return pd.DataFrame(rows, columns=["month", "month_index", "progress", "target", "gap", "behind", "note"])


def plot_progress(plan: Mapping, ax=None):
    """Chart of monthly progress against the line to "1年後の自分"; months behind are marked red."""
    from . import plotting

    plotting.setup()
    import matplotlib.pyplot as plt

    frame = progress_frame(plan)
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.6))
    ax.plot([0, 12], [0, 100], ls="--", color="gray", label="1年後の自分への目安線")
    if len(frame):
        ax.plot(frame["month_index"], frame["progress"], marker="o", color="#1f77b4", label="月次の進捗")
        late = frame[frame["behind"]]
        if len(late):
            ax.scatter(late["month_index"], late["progress"], s=120, facecolors="none",
                       edgecolors=plotting.PALETTE["red"], linewidths=2, label="遅れ: リカバリ策を相談", zorder=3)
    ax.scatter([12], [100], marker="*", s=250, color=plotting.PALETTE["yellow"], zorder=4, label="1年後の自分")
    ax.set_xlim(-0.3, 12.6)
    ax.set_ylim(-5, 108)
    ax.set_xticks(range(0, 13))
    ax.set_xlabel(f"開始 ({validate_plan(plan)['start_month']}) からの月数")
    ax.set_ylabel("進捗 (%)")
    ax.set_title("1年後の自分に向けた月次の進捗")
    ax.legend(loc="upper left", fontsize=8)
    ax.figure.tight_layout()
    return ax


# --- promotion gate ---------------------------------------------------------------------------

@dataclass(frozen=True)
class PromotionDecision:
    eligible: bool
    unmet: tuple[str, ...]
    reason: str

    def __bool__(self) -> bool:
        return self.eligible


def promotion_decision(requirements: list[Mapping] | Mapping[str, bool], quantitative_rate: float | None = None) -> PromotionDecision:
    """Promotion is gated by the *qualitative* requirements: all must be met. Numbers alone never
    qualify (a big quantitative result with an unmet requirement is still "not yet"); numbers are
    reported, not required. ``requirements`` is the plan's list or a ``{text: met}`` mapping."""
    if isinstance(requirements, Mapping):
        items = [{"text": str(k), "met": bool(v)} for k, v in requirements.items()]
    else:
        items = [{"text": str(r.get("text", r.get("id", ""))), "met": bool(r.get("met"))} for r in requirements]
    if not items:
        return PromotionDecision(False, (), "定性要件がまだ決まっていません。上司と1on1で合意しましょう。")
    unmet = tuple(r["text"] for r in items if not r["met"])
    numbers = "" if quantitative_rate is None else f" (数字の達成率 {quantitative_rate:.0%} は参考情報です)"
    if unmet:
        return PromotionDecision(False, unmet, f"未達の定性要件が{len(unmet)}件あります{numbers}。")
    return PromotionDecision(True, (), f"定性要件をすべて満たしています{numbers}。")


# --- 1on1 ---------------------------------------------------------------------------------------

ONE_ON_ONE_QUESTIONS = (
    "この1か月で「1年後の自分」に近づいたと感じる場面はどこでしたか。",
    "うまくいかなかったことは何ですか。そのとき何が足りなかったと思いますか。",
    "進め方の方向はまだ合っていますか。周りとの比較や目の前の数字に引っぱられていませんか。",
    "次の1か月で、誰を巻き込むと一番早く進みそうですか。",
    "私 (上司) にしてほしいことは何ですか。",
)


def one_on_one_sheet(plan: Mapping, month: str | None = None) -> str:
    """A Markdown sheet for the monthly progress 1on1, filled from the plan (Japanese)."""
    clean = validate_plan(plan)
    frame = progress_frame(clean)
    month = month or (frame["month"].iloc[-1] if len(frame) else clean["start_month"])
    _check_month(month, "month")
    row = frame[frame["month"] == month]
    lines = [f"## 月次進捗 1on1 シート ({month})", "",
             f"**1年後の自分:** {clean['one_year_goal'] or '(未記入 — まずここを一緒に言葉にしましょう)'}", ""]
    if len(row):
        r = row.iloc[0]
        status = "遅れ気味 — リカバリ策かゴールの見直しを相談" if r["behind"] else "おおむね目安どおり"
        lines += [f"**今月の進捗:** {r['progress']:.0f}% (目安 {r['target']:.0f}%) → {status}", ""]
    else:
        lines += ["**今月の進捗:** 未記入 (面談の中で一緒に決めましょう)", ""]
    lines += ["### 4つの分解の確認",
              f"- ① 思考: 現在地「{clean['thinking'].get('as_is') or '未記入'}」→ 目指す姿「{clean['thinking'].get('to_be') or '未記入'}」",
              f"- ② 行動・段取り: {len(clean['actions'])}件 (期限が過ぎたものがないか確認)",
              f"- ③ コミュニケーション: 巻き込む相手 {len(clean['communication'])}人/部署",
              f"- ④ 成果: {clean['outcome'].get('qualitative') or '未記入'}", "",
              "### 定性要件 (昇格の条件)"]
    lines += [f"- [{'x' if r.get('met') else ' '}] {r.get('text', '')}" for r in clean["requirements"]] or ["- (未設定)"]
    lines += ["", "### 問いかけ (コーチング)"] + [f"{i}. {q}" for i, q in enumerate(ONE_ON_ONE_QUESTIONS, 1)]
    lines += ["", "### 来月のゴール (定性でよい)", "- ", "", "### 合意したこと・次回までの宿題", "- "]
    return "\n".join(lines)


# --- widgets ------------------------------------------------------------------------------------

def _lines(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def _pairs(text: str, keys: tuple[str, ...]) -> list[dict]:
    """One item per line, fields separated by ``/`` (e.g. ``製品マニュアル3冊 / 2026-06 / 毎朝30分``)."""
    out = []
    for line in _lines(text):
        parts = [p.strip() for p in re.split(r"\s*[/／]\s*", line, maxsplit=len(keys) - 1)]
        parts += [""] * (len(keys) - len(parts))
        out.append(dict(zip(keys, parts)))
    return out


class PlanWidget:
    """Edit the four decompositions, the one-year goal and the promotion requirements; save to file.

    ``widget`` is the ipywidgets box to display; ``save()`` is what the button calls (tests call it
    too). Saving never loses an existing broken file: it is renamed to ``*.broken-<time>.json`` first.
    """

    def __init__(self, path: str | Path | None = None, plan: Mapping | None = None, *, learner_id: str | None = None):
        import ipywidgets as w

        self.path = Path(path) if path is not None else plan_path(learner_id)
        self.message = ""
        self._broken = False
        if plan is not None:
            self.plan = validate_plan(plan)
        else:
            try:
                self.plan = load_plan(self.path, learner_id=learner_id)
            except GrowthPlanError as exc:
                self.plan, self._broken, self.message = empty_plan(learner_id), True, str(exc)
        p = self.plan
        area = dict(layout=w.Layout(width="98%", height="70px"))
        self.goal = w.Textarea(value=p["one_year_goal"], placeholder="例: 担当顧客のキックオフを一人で進め、自走までの道筋を顧客と描ける", **area)
        self.as_is = w.Textarea(value=p["thinking"].get("as_is", ""), placeholder="例: オンボーディングの流れを説明できない", **area)
        self.to_be = w.Textarea(value=p["thinking"].get("to_be", ""), placeholder="例: オンボーディングを一人で回せる", **area)
        self.gaps = w.Textarea(value="\n".join(p["thinking"].get("gaps", [])), placeholder="1行に1つ。例: 製品知識が足りない", **area)
        self.actions = w.Textarea(value="\n".join(" / ".join([a.get("what", ""), a.get("due", ""), a.get("how", "")]) for a in p["actions"]),
                                  placeholder="1行に1つ: 何を / 期限 (YYYY-MM) / どうやって\n例: 管理画面マニュアルを読む / 2026-05 / 読んだら先輩に5分で説明する", **area)
        self.communication = w.Textarea(value="\n".join(" / ".join([c.get("who", ""), c.get("how", "")]) for c in p["communication"]),
                                        placeholder="1行に1人: 誰を / どう巻き込むか\n例: 営業の先輩 / キックオフのロープレを見てもらう", **area)
        self.outcome_q = w.Textarea(value=p["outcome"].get("qualitative", ""), placeholder="例: 初対面の顧客とのキックオフを一人で最後まで進められた", **area)
        self.outcome_n = w.Text(value=p["outcome"].get("quantitative", ""), placeholder="あれば数字で。例: 担当10社のオンボーディング完了", layout=w.Layout(width="98%"))
        self.requirements = w.Textarea(value="\n".join(r.get("text", "") for r in p["requirements"]),
                                       placeholder="上司と合意した定性要件を1行に1つ。例: 顧客の導入目的と利用用途を分けて説明できる", **area)
        label = lambda text: w.HTML(f"<b>{text}</b>")  # noqa: E731
        tabs = w.Tab(children=[
            w.VBox([label("現在地 (As-Is)"), self.as_is, label("目指す姿 (To-Be)"), self.to_be, label("ギャップ"), self.gaps]),
            w.VBox([label("行動と期限"), self.actions]),
            w.VBox([label("巻き込む相手"), self.communication]),
            w.VBox([label("成果 (定性)"), self.outcome_q, label("成果 (定量・任意)"), self.outcome_n]),
            w.VBox([label("昇格の定性要件"), self.requirements]),
        ])
        for i, title in enumerate(["① 思考", "② 行動・段取り", "③ コミュニケーション", "④ 成果", "定性要件"]):
            tabs.set_title(i, title)
        self.save_button = w.Button(description="計画を保存", button_style="primary", icon="save")
        self.status = w.HTML(self._status_html(self.message, error=self._broken))
        self.save_button.on_click(lambda _b: self.save())
        self.widget = w.VBox([label("1年後の自分 (どんな状態になっていたいか)"), self.goal, tabs,
                              w.HBox([self.save_button, self.status])])

    @staticmethod
    def _status_html(text: str, error: bool = False) -> str:
        import html

        colour = "#c62828" if error else "#2e7d32"
        return f'<span style="color:{colour}">{html.escape(text)}</span>' if text else ""

    def collect(self) -> dict:
        """The plan as currently typed in the widget (not yet saved)."""
        plan = copy.deepcopy(self.plan)
        old_met = {r.get("text"): bool(r.get("met")) for r in plan["requirements"]}
        plan["one_year_goal"] = self.goal.value.strip()
        plan["thinking"] = {"as_is": self.as_is.value.strip(), "to_be": self.to_be.value.strip(),
                            "gaps": _lines(self.gaps.value)}
        plan["actions"] = _pairs(self.actions.value, ("what", "due", "how"))
        plan["communication"] = _pairs(self.communication.value, ("who", "how"))
        plan["outcome"] = {"qualitative": self.outcome_q.value.strip(), "quantitative": self.outcome_n.value.strip()}
        plan["requirements"] = [{"id": f"r{i}", "text": text, "met": old_met.get(text, False)}
                                for i, text in enumerate(_lines(self.requirements.value), 1)]
        return plan

    def save(self) -> Path | None:
        try:
            plan = validate_plan(self.collect(), "入力内容")
            if self._broken and self.path.exists():
                stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
                self.path.rename(self.path.with_name(f"{self.path.stem}.broken-{stamp}.json"))
                self._broken = False
            target = save_plan(plan, self.path)
        except GrowthPlanError as exc:
            self.message = str(exc)
            self.status.value = self._status_html(self.message, error=True)
            return None
        self.plan = plan
        filled = sum(bool(x) for x in (plan["thinking"]["to_be"], plan["actions"], plan["communication"],
                                       plan["outcome"]["qualitative"]))
        self.message = f"保存しました: {target} (4つの分解のうち {filled} つに記入済み)"
        self.status.value = self._status_html(self.message)
        return target


def plan_widget(path: str | Path | None = None, *, learner_id: str | None = None):
    """Display-ready growth-plan editor (returns a ``PlanWidget``; display ``.widget``).

    The plan file defaults to ``plan_path(learner_id)`` (the current learner when not given)."""
    return PlanWidget(path, learner_id=learner_id)


class ProgressWidget:
    """Add a monthly progress entry (month, 0–100 %, note, next step), save, and redraw the chart."""

    def __init__(self, path: str | Path | None = None, *, learner_id: str | None = None):
        import ipywidgets as w

        self.learner_id = learner_id
        self.path = Path(path) if path is not None else plan_path(learner_id)
        self.month = w.Text(value=datetime.now().strftime("%Y-%m"), description="月", layout=w.Layout(width="200px"))
        self.value = w.IntSlider(value=0, min=0, max=100, step=5, description="進捗 %")
        self.note = w.Text(placeholder="できたこと・つまずいたこと", description="メモ", layout=w.Layout(width="98%"))
        self.next_step = w.Text(placeholder="来月のゴール (定性でよい)", description="来月", layout=w.Layout(width="98%"))
        self.button = w.Button(description="記録して保存", button_style="primary", icon="plus")
        self.status = w.HTML("")
        self.chart = w.Output()
        self.last_frame = progress_frame(empty_plan(learner.GUEST, "2000-01"))
        self.button.on_click(lambda _b: self.add())
        self.widget = w.VBox([w.HBox([self.month, self.value]), self.note, self.next_step,
                              w.HBox([self.button, self.status]), self.chart])
        self._draw()

    def _draw(self) -> None:
        import matplotlib.pyplot as plt

        try:
            plan = load_plan(self.path, learner_id=self.learner_id)
        except GrowthPlanError as exc:
            self.status.value = PlanWidget._status_html(str(exc), error=True)
            return
        from IPython.display import display

        self.last_frame = progress_frame(plan)
        self.chart.clear_output(wait=True)
        fig, ax = plt.subplots(figsize=(7, 3.6))
        plot_progress(plan, ax=ax)
        with self.chart:
            display(fig)
        plt.close(fig)

    def add(self) -> Path | None:
        try:
            plan = add_progress(load_plan(self.path, learner_id=self.learner_id), self.month.value.strip(), self.value.value,
                                self.note.value.strip(), self.next_step.value.strip())
            target = save_plan(plan, self.path)
        except GrowthPlanError as exc:
            self.status.value = PlanWidget._status_html(str(exc), error=True)
            return None
        self.status.value = PlanWidget._status_html(f"{self.month.value} の進捗を保存しました。")
        self._draw()
        return target


def progress_widget(path: str | Path | None = None, *, learner_id: str | None = None):
    """Display-ready monthly progress recorder (returns a ``ProgressWidget``; display ``.widget``)."""
    return ProgressWidget(path, learner_id=learner_id)


def demo_plan() -> dict:
    """A filled example plan for a new CSM six months in (used in the lesson; never saved)."""
    plan = empty_plan("demo", "2026-04")
    plan.update({
        "one_year_goal": "担当顧客のキックオフから自走までを一人で設計し、社内の関係者を巻き込んで進められる",
        "thinking": {"as_is": "製品の設定はわかるが、キックオフで何を聞けばよいかわからない",
                     "to_be": "キックオフで導入目的と利用用途を聞き分け、マイルストーンを顧客と合意できる",
                     "gaps": ["業界ごとの業務の流れを知らない", "初対面の決裁者と話すことに慣れていない"]},
        "actions": [{"what": "担当業界の入門書を1冊読み要点を共有", "due": "2026-05", "how": "読んだらチーム定例で5分発表"},
                    {"what": "先輩のキックオフに3回同席", "due": "2026-06", "how": "毎回、気づきを3行で残す"},
                    {"what": "判断に5分迷ったら先輩に聞く", "due": "2026-04", "how": "チャットの質問スレッドを使う"}],
        "communication": [{"who": "営業の先輩", "how": "キックオフのロールプレイで顧客役を頼み、講評をもらう"},
                          {"who": "サポートチーム", "how": "よくある問い合わせを月1回教えてもらう"}],
        "outcome": {"qualitative": "初対面の顧客とのキックオフを一人で最後まで進められた",
                    "quantitative": "担当8社のキックオフを完了"},
        "requirements": [{"id": "r1", "text": "導入目的と利用用途を分けてヒアリングできる", "met": True},
                         {"id": "r2", "text": "顧客とマイルストーンの成果物を合意できる", "met": False},
                         {"id": "r3", "text": "学んだことをチームに発表し、型の改善に貢献している", "met": True}],
        "progress": [{"month": "2026-05", "progress": 8, "note": "入門書を読了", "next": "同席1回目"},
                     {"month": "2026-06", "progress": 15, "note": "同席2回", "next": "ロープレ"},
                     {"month": "2026-07", "progress": 10, "note": "障害対応で同席が延期", "next": "同席再開"},
                     {"month": "2026-08", "progress": 35, "note": "営業の先輩とロープレ", "next": "一人で実施"},
                     {"month": "2026-09", "progress": 45, "note": "初めて一人でキックオフ", "next": "振り返り"}],
    })
    return validate_plan(plan)
