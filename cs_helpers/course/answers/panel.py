"""The grading view: one question at a time, groups largest first, rubric levels for a whole group.

Open it from the workspace's ``grading_view.ipynb``::

    from cs_helpers.course.answers.panel import AnswerPanel
    AnswerPanel(".", "00_sample", "q4_reflection")

Everything the buttons do is a method (``select``, ``next``, ``merge``, ``split``, ``move``, ``set_level``,
``grade_current``, ``regroup``, ``flush``) and so is the keyboard command line (``command("2 1 よく書けています")``),
so a test drives exactly what a trainer clicks. Grades go to nbgrader's gradebook through :class:`.store.GradingState`.

Keyboard: the command box takes ``2 1 [コメント]`` (levels in rubric order, then grade and go to the next group),
``n``/``p`` (next/previous group), ``m g03`` (merge g03 into this group), ``mv LEARNER g02`` (move one answer),
``s LEARNER ...`` (split answers off into a new group), ``r`` (regroup the rest), ``f`` (send pending grades),
``?`` (help). The group list also moves with the arrow keys.
"""
from __future__ import annotations

import html
from pathlib import Path

from ..common import CourseError, course_root
from .cluster import BLANK_ID
from .extract import manual_questions
from .store import GradeOutcome, GradingState

HELP = ("キー操作: 「2 1 コメント」= 観点のレベルを順に入れて採点し次のグループへ / n = 次 / p = 前 / "
        "m g03 = g03 をこのグループに結合 / mv 受講者ID g02 = 回答を移動 / s 受講者ID … = 新しいグループに分割 / "
        "r = 残りをグループ分けし直す / f = 未送信の採点を再送 / ? = このヘルプ")


class AnswerPanel:
    """Grade one question's answers a group at a time (Python API + ipywidgets view)."""

    def __init__(self, course_dir: str | Path = ".", assignment: str | None = None, question: str | None = None,
                 *, threshold: float | None = None, timeout: float = 30.0):
        self.root = course_root(course_dir)
        self.timeout = timeout
        if assignment is None:
            assignment = self._first_assignment()
        if question is None:
            qs = manual_questions(self.root, assignment)
            if not qs:
                raise CourseError(f"課題「{assignment}」に手動採点の設問がありません。 (no manual questions)")
            question = qs[0].grade_id
        self.state = GradingState.open(course_dir=self.root, assignment=assignment, question=question,
                                       threshold=threshold)
        self.levels: dict[str, int] = {}
        self.note = ""
        self.message = ""
        self._index = 0
        self._go_first_ungraded()
        self._w = None

    def _first_assignment(self) -> str:
        base = self.root / "autograded"
        names = sorted({a.name for learner in base.iterdir() if learner.is_dir() for a in learner.iterdir()
                        if a.is_dir()}) if base.is_dir() else []
        for name in names:
            try:
                if manual_questions(self.root, name):
                    return name
            except CourseError:
                continue
        raise CourseError("採点済みの課題がありません。先に `cs-dojo grade 課題名` を実行してください。 (nothing graded yet)")

    # --- state ---------------------------------------------------------------------------------------------------
    @property
    def groups(self) -> list[dict]:
        return self.state.groups

    @property
    def current(self) -> dict:
        groups = self.groups
        self._index = max(0, min(self._index, len(groups) - 1))
        return groups[self._index]

    def group_status(self, g: dict) -> str:
        done = sum(1 for lid in g["learners"] if self.state.is_graded(lid))
        if done == len(g["learners"]):
            return "採点済み"
        return "未採点" if done == 0 else f"一部採点 {done}/{len(g['learners'])}"

    def progress(self) -> tuple[int, int]:
        return self.state.progress()

    def _go_first_ungraded(self) -> None:
        for i, g in enumerate(self.groups):
            if self.group_status(g) != "採点済み":
                self._index = i
                break
        self._load_levels()

    def _load_levels(self) -> None:
        grade = self.state.data["grades"].get(self.current["id"]) if self.groups else None
        self.levels = dict(grade["levels"]) if grade and grade.get("levels") else {}
        self.note = grade.get("note", "") if grade else ""

    # --- actions (the buttons and the command line call these) ---------------------------------------------------
    def select(self, gid: str) -> dict:
        ids = [g["id"] for g in self.groups]
        if gid not in ids:
            self.state.group(gid)  # raises the helpful error
        self._index = ids.index(gid)
        self._load_levels()
        self._refresh()
        return self.current

    def next(self) -> dict:
        self._index = min(self._index + 1, len(self.groups) - 1)
        self._load_levels()
        self._refresh()
        return self.current

    def previous(self) -> dict:
        self._index = max(self._index - 1, 0)
        self._load_levels()
        self._refresh()
        return self.current

    def set_level(self, criterion: str, level: int) -> None:
        rubric = self._rubric()
        self.levels = rubric.check_levels({**{c.id: 0 for c in rubric.criteria}, **self.levels,
                                           criterion: level})
        self._refresh()

    def set_comment(self, text: str) -> None:
        self.note = text
        self._refresh()

    def grade_current(self, *, overwrite: bool = False, advance: bool = True, score: float | None = None
                      ) -> GradeOutcome:
        """Grade the current group with the chosen levels (or ``score`` when there is no rubric)."""
        gid = self.current["id"]
        if score is None:
            out = self.state.grade(gid, levels=dict(self.levels), note=self.note, overwrite=overwrite,
                                   timeout=self.timeout)
        else:
            out = self.state.grade(gid, score=score, note=self.note, overwrite=overwrite, timeout=self.timeout)
        self.message = self._describe(out)
        if advance and not out.result.pending:
            self._go_first_ungraded()
        self._refresh()
        return out

    def grade(self, gid: str, levels: dict[str, int] | None = None, note: str = "", *, score: float | None = None,
              overwrite: bool = False) -> GradeOutcome:
        self.select(gid)
        self.note = note
        if levels is not None:
            self.levels = dict(levels)
        return self.grade_current(overwrite=overwrite, advance=False, score=score)

    def merge(self, *gids: str) -> dict:
        """Merge the groups ``gids`` into the current group."""
        g = self.state.merge(self.current["id"], *gids)
        self.message = f"{', '.join(gids)} を {g['id']} に結合しました。"
        self.select(g["id"])
        return g

    def move(self, learner: str, gid: str) -> dict:
        g = self.state.move(learner, gid)
        self.message = f"{learner} の回答を {g['id']} に移動しました。"
        self._refresh()
        return g

    def split(self, learners: list[str]) -> dict:
        g = self.state.split(self.current["id"], list(learners))
        self.message = f"{', '.join(learners)} を新しいグループ {g['id']} に分けました。"
        self._refresh()
        return g

    def regroup(self) -> list[dict]:
        groups = self.state.regroup()
        self.message = f"採点済み・手で直したグループはそのままに、残りを {len(groups)} グループに分け直しました。"
        self._go_first_ungraded()
        self._refresh()
        return groups

    def flush(self):
        result = self.state.flush(timeout=self.timeout)
        self.message = (f"未送信 {len(result.written)} 件を書き込みました。" if not result.pending
                        else f"gradebook が使用中のため {len(result.pending)} 件はまだ未送信です。")
        self._refresh()
        return result

    def command(self, text: str) -> str:
        """Run one keyboard command (see ``HELP``); returns the message shown."""
        parts = text.strip().split()
        try:
            if not parts or parts[0] in {"?", "h", "help"}:
                self.message = HELP
            elif parts[0] in {"n", "j"}:
                self.next()
            elif parts[0] in {"p", "k"}:
                self.previous()
            elif parts[0] == "m" and len(parts) >= 2:
                self.merge(*parts[1:])
            elif parts[0] == "mv" and len(parts) == 3:
                self.move(parts[1], parts[2])
            elif parts[0] == "s" and len(parts) >= 2:
                self.split(parts[1:])
            elif parts[0] == "r":
                self.regroup()
            elif parts[0] == "f":
                self.flush()
            elif parts[0] == "g" and len(parts) >= 2:
                self.select(parts[1])
            else:
                self._levels_command(parts)
        except CourseError as exc:
            self.message = f"エラー: {exc}"
        self._refresh()
        return self.message

    def _levels_command(self, parts: list[str]) -> None:
        rubric = self._rubric()
        n = len(rubric.criteria)
        digits: list[int] = []
        rest = list(parts)
        while rest and rest[0].isdigit() and len(digits) < n:
            token = rest.pop(0)
            digits += [int(ch) for ch in token] if len(token) > 1 else [int(token)]
        if len(digits) != n:
            raise CourseError(f"観点は {n} つです。レベルを {n} 個、観点の順に入力してください (例: {' '.join(['2'] * n)})。"
                              f" {HELP}")
        self.levels = rubric.check_levels({c.id: d for c, d in zip(rubric.criteria, digits)})
        if rest:
            self.note = " ".join(rest)
        self.grade_current()

    def _rubric(self):
        if self.state.rubric is None:
            raise CourseError(f"rubrics/{self.state.question.assignment}.yaml にこの設問のルーブリックがありません。"
                              " grade_current(score=点数) で点数を直接付けてください。 (no rubric)")
        return self.state.rubric

    def _describe(self, out: GradeOutcome) -> str:
        r = out.result
        parts = [f"{out.group}: {out.score:g} 点を {len(r.written)} 人に書き込みました。"]
        if r.conflicts:
            parts.append("上書きしなかった受講者: " + " / ".join(f"{k} ({v})" for k, v in sorted(r.conflicts.items())))
        if r.pending:
            parts.append(f"gradebook が使用中のため未送信: {', '.join(r.pending)} (「f」で再送できます。記録は残っています)")
        return " ".join(parts)

    # --- view ----------------------------------------------------------------------------------------------------
    def _html_group(self) -> str:
        g = self.current
        rows = []
        conflicts = self.state.data.get("conflicts", {})
        for lid in g["learners"]:
            mark = "✔" if self.state.is_graded(lid) else ("⚠" if lid in conflicts else "○")
            text = html.escape(self.state.answer_text(lid)).replace("\n", "<br>") or "<i>(空欄)</i>"
            warn = f"<div style='color:#b35900'>{html.escape(conflicts[lid])}</div>" if lid in conflicts else ""
            rows.append(f"<li><b>{mark} {html.escape(lid)}</b>: {text}{warn}</li>")
        return (f"<h4>{html.escape(g['id'])} ({len(g['learners'])}件・{self.group_status(g)})</h4>"
                f"<ul style='line-height:1.6;list-style:none;padding-left:0.5em'>{''.join(rows)}</ul>")

    def _option(self, g: dict) -> str:
        rep = " ".join(g["representative"].split())
        rep = rep if len(rep) <= 40 else rep[:39] + "…"
        return f"{g['id']} ({len(g['learners'])}件・{self.group_status(g)}) {rep}"

    @property
    def widget(self):
        if self._w is None:
            self._build()
        self._refresh()
        return self._w["root"]

    def _ipython_display_(self):  # pragma: no cover - exercised in JupyterLab
        from IPython.display import display
        display(self.widget)

    def _build(self) -> None:
        import ipywidgets as W
        w: dict = {}
        q = self.state.question
        title = self.state.rubric.title if self.state.rubric else q.grade_id
        w["title"] = W.HTML(f"<h3>{html.escape(q.assignment)} / {html.escape(title)} ({q.max_score:g}点)</h3>")
        w["progress"] = W.IntProgress(min=0, max=1, description="採点済み", layout=W.Layout(width="420px"))
        w["progress_text"] = W.HTML()
        w["list"] = W.Select(options=[], rows=10, layout=W.Layout(width="100%"), description="グループ")
        w["list"].observe(self._on_select, names="value")
        w["answers"] = W.HTML()
        w["levels"] = {}
        rubric_rows = []
        if self.state.rubric:
            for c in self.state.rubric.criteria:
                tb = W.ToggleButtons(options=[(str(k), k) for k in sorted(c.levels) or [0, 1, 2]], value=None,
                                     tooltips=[c.levels.get(k, "") for k in sorted(c.levels)],
                                     style={"button_width": "48px"})
                tb.observe(lambda ch, cid=c.id: self._on_level(cid, ch), names="value")
                w["levels"][c.id] = tb
                rubric_rows.append(W.HBox([W.HTML(f"<b>{html.escape(c.text)}</b>", layout=W.Layout(width="55%")),
                                           tb]))
        w["comment"] = W.Textarea(placeholder="グループ全員へのコメント (フィードバックに表示されます)",
                                  layout=W.Layout(width="100%", height="70px"))
        w["comment"].observe(lambda ch: setattr(self, "note", ch["new"]), names="value")
        w["grade"] = W.Button(description="採点して次へ", button_style="primary", icon="check")
        w["grade"].on_click(lambda _b: self._safe(self.grade_current))
        w["target"] = W.Dropdown(options=[], description="先のグループ", layout=W.Layout(width="260px"))
        w["pick"] = W.SelectMultiple(options=[], rows=5, description="回答", layout=W.Layout(width="320px"))
        w["merge"] = W.Button(description="このグループに結合")
        w["merge"].on_click(lambda _b: self._safe(lambda: self.merge(w["target"].value)))
        w["move"] = W.Button(description="選んだ回答を移動")
        w["move"].on_click(lambda _b: self._safe(lambda: [self.move(x, w["target"].value) for x in w["pick"].value]))
        w["split"] = W.Button(description="選んだ回答を分割")
        w["split"].on_click(lambda _b: self._safe(lambda: self.split(list(w["pick"].value))))
        w["regroup"] = W.Button(description="残りを分け直す", icon="refresh")
        w["regroup"].on_click(lambda _b: self._safe(self.regroup))
        w["flush"] = W.Button(description="未送信を再送")
        w["flush"].on_click(lambda _b: self._safe(self.flush))
        w["cmd"] = W.Text(placeholder="キー操作: 2 1 コメント / n / p / m g03 / mv ID g02 / s ID / r / f / ?",
                          continuous_update=False, layout=W.Layout(width="100%"))
        w["cmd"].observe(self._on_cmd, names="value")
        w["message"] = W.HTML()
        w["root"] = W.VBox([
            w["title"], W.HBox([w["progress"], w["progress_text"]]), w["cmd"], w["message"], w["list"],
            w["answers"], *rubric_rows, w["comment"], w["grade"],
            W.HBox([w["pick"], W.VBox([w["target"], W.HBox([w["merge"], w["move"], w["split"]])])]),
            W.HBox([w["regroup"], w["flush"]]),
        ])
        self._w = w

    def _safe(self, func) -> None:
        try:
            func()
        except CourseError as exc:
            self.message = f"エラー: {exc}"
        self._refresh()

    def _on_select(self, change) -> None:
        if self._w and not self._w.get("busy") and change["new"]:
            self._safe(lambda: self.select(change["new"]))

    def _on_level(self, cid: str, change) -> None:
        if self._w and not self._w.get("busy") and change["new"] is not None:
            self._safe(lambda: self.set_level(cid, change["new"]))

    def _on_cmd(self, change) -> None:
        if self._w and not self._w.get("busy") and change["new"].strip():
            # Clear the box first, so the browser sees it empty before the new progress arrives.
            self._w["busy"] = True
            self._w["cmd"].value = ""
            self._w["busy"] = False
            self.command(change["new"])

    def _refresh(self) -> None:
        w = self._w
        if not w:
            return
        w["busy"] = True
        try:
            graded, total = self.progress()
            w["progress"].max = max(total, 1)
            w["progress"].value = graded
            w["progress_text"].value = f"{graded} / {total} 件"
            groups = self.groups
            w["list"].options = [(self._option(g), g["id"]) for g in groups]
            w["list"].value = self.current["id"]
            w["answers"].value = self._html_group()
            for cid, tb in w["levels"].items():
                tb.value = self.levels.get(cid)
            w["comment"].value = self.note
            w["pick"].options = list(self.current["learners"])
            keep = w["target"].value
            targets = [("新しいグループ", "new")] + [(g["id"], g["id"]) for g in groups if g["id"] != self.current["id"]]
            w["target"].options = targets
            w["target"].value = keep if keep in {v for _, v in targets} else "new"
            w["message"].value = html.escape(self.message)
        finally:
            w["busy"] = False


__all__ = ["AnswerPanel", "HELP", "BLANK_ID"]
