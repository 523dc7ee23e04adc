"""The roleplay widget (ipywidgets, Japanese UI) over the pure-Python engine.

``play("kickoff_hearing")`` shows the customer's line, the choices as buttons (in a per-learner, per-node order,
see :func:`cs_helpers.roleplay.engine.presentation_order`), optional state hints (practice mode only), 「やり直す」,
a transcript and, at the end, the debrief with rubric feedback (practice mode only: graded mode shows neither a
score nor a comment per choice, and allows ``MAX_GRADED_RESTARTS`` restarts). Every choice (and every restart) is
saved atomically to ``responses/<scenario_id>.json`` beside the notebook. Creating the widget never writes: it
resumes a valid saved path, so re-running the cell (or autograding the notebook) changes nothing.

Buttons carry no tooltip; the choice id is only in the CSS class ``cs-rp-choice-<choice_id>`` (ids are neutral,
see the scenario README). Tests drive the widget without a browser: ``w.click(choice_id)`` presses the real button.
CSS classes for browser tests are listed in ``datasets/scenarios/README.md``.
"""
from __future__ import annotations

import html
from pathlib import Path
from typing import Union

import ipywidgets as widgets

from .engine import MAX_GRADED_RESTARTS, InvalidChoice, Session
from .responses import load_session, response_path, save_session
from .schema import OUTCOME_LABELS, Scenario


class GradedOnlyScenario(InvalidChoice):
    """Practice mode was asked for a scenario kept for graded assignments."""


def refuse_practice(scenario: Scenario) -> None:
    if scenario.graded_only:
        raise GradedOnlyScenario(f"「{scenario.title}」は採点される課題専用のシナリオのため、練習モードでは開けません。"
                                 "練習には rp.menu() に並ぶシナリオを使ってください。")

_CSS = """<style>
.cs-rp { border: 1px solid #d0d7de; border-radius: 8px; padding: 12px 16px; max-width: 860px; }
.cs-rp .cs-rp-choice { white-space: normal !important; height: auto !important; min-height: 34px;
  text-align: left !important; line-height: 1.6; padding: 6px 12px; margin: 3px 0; }
.cs-rp .cs-rp-line { font-size: 1.05em; }
.cs-rp .cs-rp-muted { color: #57606a; font-size: 0.92em; }
.cs-rp table.cs-rp-rubric td, .cs-rp table.cs-rp-rubric th { padding: 2px 8px; text-align: left; }
.cs-rp .cs-rp-you { color: #0b5cad; }
</style>"""


def _p(text: str) -> str:
    return html.escape(text).replace("\n", "<br>")


class RoleplayWidget:
    """One scenario in a notebook. ``graded=True`` hides hints and undo (the exercise uses it)."""

    def __init__(self, scenario: Scenario, *, graded: bool = False, hints: bool | None = None,
                 base: Union[str, Path, None] = None, learner: str | None = None, autosave: bool = True,
                 resume: bool = True):
        if not graded:
            refuse_practice(scenario)
        self.scenario = scenario
        self.graded = graded
        self.hints = (not graded) if hints is None else (bool(hints) and not graded)
        self.base = Path(base) if base is not None else Path.cwd()
        if learner is None:
            from ..learner import learner_id

            learner = learner_id()
        self.learner = learner
        self.autosave = autosave
        self.mode = "graded" if graded else "practice"
        self.started_at: str | None = None
        self.last_error = ""
        self._confirm_restart = False
        note = ""
        session = None
        if resume:
            session, record, note = load_session(scenario, self.base)
            if record is not None and graded and record.get("mode") != "graded":
                # A practice record (with undo and hints) never becomes a graded one; the file is kept until the
                # first click overwrites it.
                session, record, note = None, None, "練習モードの記録は採点に使えないため、最初から始めます。"
            if record is not None:
                self.started_at = record.get("started_at")
        self.session = session or Session(scenario)
        self._note = note
        self.buttons: dict[str, widgets.Button] = {}
        self._build()
        self._render()

    # --- construction --------------------------------------------------------------------------
    def _build(self) -> None:
        sc = self.scenario
        badge = "採点モード（ヒントなし）" if self.graded else "練習モード"
        self.header = widgets.HTML(
            f"{_CSS}<h3 style='margin:4px 0'>{_p(sc.title)}</h3>"
            f"<div class='cs-rp-muted'>{badge} ・ 顧客: {_p(sc.persona.company)} {_p(sc.persona.role)} ・ "
            f"目安 {sc.estimated_minutes} 分</div>")
        self.brief = widgets.HTML(f"<div><b>状況</b><br>{_p(sc.learner_brief)}</div>")
        self.brief.add_class("cs-rp-brief")
        self.line = widgets.HTML()
        self.line.add_class("cs-rp-line")
        self.choice_box = widgets.VBox(layout=widgets.Layout(width="100%"))
        self.choice_box.add_class("cs-rp-choices")
        self.hint_view = widgets.HTML()
        self.hint_view.add_class("cs-rp-hints")
        self.undo_button = widgets.Button(description="一つ戻る", icon="undo", tooltip="undo",
                                          layout=widgets.Layout(width="auto"))
        self.undo_button.add_class("cs-rp-undo")
        self.undo_button.on_click(lambda _b: self._safe(self.undo))
        self.restart_button = widgets.Button(description="やり直す", icon="refresh", tooltip="restart",
                                             layout=widgets.Layout(width="auto"))
        self.restart_button.add_class("cs-rp-restart")
        self.restart_button.on_click(lambda _b: self._safe(self._on_restart))
        controls = [self.restart_button] if self.graded else [self.undo_button, self.restart_button]
        self.controls = widgets.HBox(controls)
        self.status = widgets.HTML()
        self.status.add_class("cs-rp-status")
        self.end_view = widgets.HTML()
        self.end_view.add_class("cs-rp-end")
        self.transcript_view = widgets.HTML()
        self.transcript_view.add_class("cs-rp-transcript")
        self.root = widgets.VBox([self.header, self.brief, self.line, self.choice_box, self.end_view,
                                  self.hint_view, self.controls, self.status, self.transcript_view])
        self.root.add_class("cs-rp")
        self.root.add_class(f"cs-rp-{sc.id}")

    # --- public API ------------------------------------------------------------------------------
    @property
    def path(self) -> list[str]:
        return self.session.path

    @property
    def finished(self) -> bool:
        return self.session.finished

    @property
    def response_file(self) -> Path:
        return response_path(self.scenario.id, self.base)

    def available(self) -> list[str]:
        return list(self.buttons)

    def click(self, choice_id: str) -> None:
        """Press the button of ``choice_id`` (what a learner's click does). Raises :class:`InvalidChoice`."""
        button = self.buttons.get(choice_id)
        if button is None:
            shown = "、".join(self.buttons) or "（なし）"
            raise InvalidChoice(f"選択肢「{choice_id}」は今表示されていません。表示中: {shown}", choice_id)
        button.click()
        if self.last_error:
            raise InvalidChoice(self.last_error, choice_id)

    def choose(self, choice_id: str) -> None:
        self._confirm_restart = False
        self.session.choose(choice_id)
        if self.started_at is None:
            from .responses import now

            self.started_at = now()
        self._save()
        self._render()

    def undo(self) -> None:
        if self.graded:
            raise InvalidChoice("採点モードでは一つ戻ることはできません。「やり直す」で最初から始められます。")
        self._confirm_restart = False
        if self.session.undo():
            self._save()
        self._render()

    @property
    def restarts_left(self) -> int | None:
        """Restarts still allowed (graded mode), or None (practice mode: unlimited)."""
        return max(0, MAX_GRADED_RESTARTS - self.session.restarts) if self.graded else None

    def restart(self) -> None:
        """Start over at once (the button asks for a second click first unless the conversation has ended)."""
        self._confirm_restart = False
        if self.graded and self.session.steps and not self.restarts_left:
            raise InvalidChoice(f"採点モードでやり直せるのは {MAX_GRADED_RESTARTS} 回までです。"
                                "今の会話が提出されます。")
        self.session.restart()
        self._save()
        self._render()

    def _on_restart(self) -> None:
        if not self.session.steps:
            self._render()
            return
        if self.graded and not self.restarts_left:
            self.restart()           # raises the Japanese "no more restarts" message, shown by _safe
            return
        if self.session.finished or self._confirm_restart:
            self.restart()
            return
        self._confirm_restart = True
        self._render()

    # --- internals ---------------------------------------------------------------------------------
    def _safe(self, action, *args) -> None:
        """Run a button action; show problems in Japanese in the widget instead of raising in a callback."""
        self.last_error = ""
        try:
            action(*args)
        except InvalidChoice as exc:
            self.last_error = str(exc)
            self.status.value = f"<span style='color:#c62828'>⚠ {_p(str(exc))}</span>"
        except OSError as exc:
            self.last_error = f"記録を保存できませんでした: {exc}"
            self.status.value = (f"<span style='color:#c62828'>⚠ 記録を保存できませんでした（{_p(str(exc))}）。"
                                 "ノートブックのフォルダに書き込めるか確認してください。</span>")

    def _save(self) -> None:
        if not self.autosave:
            return
        path = save_session(self.session, base=self.base, learner=self.learner, mode=self.mode,
                            started_at=self.started_at)
        from .responses import now

        self._note = f"保存しました（{path.parent.name}/{path.name}、{now()[11:19]}）"

    def _render(self) -> None:
        sc, s = self.scenario, self.session
        if s.finished:
            end = s.ending
            self.line.value = (f"<div><b>{_p(sc.speaker_name(end.speaker))}</b><br>{_p(end.text)}</div>")
        else:
            node = s.node
            self.line.value = (f"<div><b>{_p(sc.speaker_name(node.speaker))}</b>"
                               f"<span class='cs-rp-muted'>（{len(s.steps) + 1} 場面目）</span><br>"
                               f"{_p(node.text)}</div>")
        self.buttons = {}
        buttons = []
        for choice in s.presented_choices(self.learner):
            b = widgets.Button(description=choice.text, layout=widgets.Layout(width="100%", height="auto"))
            b.add_class("cs-rp-choice")
            b.add_class(f"cs-rp-choice-{choice.id}")
            b.on_click(lambda _b, cid=choice.id: self._safe(self.choose, cid))
            self.buttons[choice.id] = b
            buttons.append(b)
        self.choice_box.children = tuple(buttons)
        if not s.finished and not buttons:
            self.line.value += ("<div style='color:#c62828'>選べる選択肢がありません（シナリオの不具合です）。"
                                "講師に連絡してください。</div>")
        self.undo_button.disabled = not s.steps
        self.restart_button.disabled = bool(self.graded and s.steps and not self.restarts_left)
        self.restart_button.description = ("本当にやり直す（もう一度押す）" if self._confirm_restart else "やり直す")
        self.restart_button.button_style = "warning" if self._confirm_restart else ""
        self.hint_view.value = self._hints_html() if self.hints else ""
        self.hint_view.layout.display = None if self.hints else "none"
        self.end_view.value = self._end_html() if s.finished else ""
        self.end_view.layout.display = None if s.finished else "none"
        for cls in ("success", "partial", "fail"):
            self.end_view.remove_class(f"cs-rp-end-{cls}")
        if s.finished and not self.graded:       # graded mode: the outcome is not in the page either
            self.end_view.add_class(f"cs-rp-end-{s.ending.outcome}")
        self.transcript_view.value = self._transcript_html()
        note = self._note
        if self._confirm_restart:
            note = "記録を消して最初からやり直す場合は、もう一度「やり直す」を押してください。"
            if self.graded:
                note += f"（採点モードでやり直せるのは {MAX_GRADED_RESTARTS} 回までです。やり直した回数は講師に伝わります）"
        self.status.value = f"<span class='cs-rp-muted'>{_p(note)}</span>" if note else ""

    def _hints_html(self) -> str:
        parts = []
        st = self.session.state
        for name, var in self.scenario.state.items():
            if not var.hint:
                continue
            value = st[name]
            if var.type == "bool":
                parts.append(f"{_p(var.label)}: {'✔' if value else '—'}")
            else:
                filled = value - var.min
                width = var.max - var.min
                parts.append(f"{_p(var.label)}: {'■' * filled}{'□' * (width - filled)} ({value}/{var.max})")
        return ("<div class='cs-rp-muted'><b>ヒント（練習モードのみ表示）</b><br>" + "<br>".join(parts) + "</div>"
                if parts else "")

    def _transcript_html(self) -> str:
        rows = []
        for line in self.session.transcript():
            cls = " class='cs-rp-you'" if line.kind == "learner" else ""
            rows.append(f"<div{cls}><b>{_p(line.speaker)}</b>: {_p(line.text)}</div>")
        return ("<details open><summary><b>会話の記録</b></summary>"
                + "".join(rows) + "</details>")

    def _end_html(self) -> str:
        if self.graded:
            left = self.restarts_left
            again = (f"「やり直す」で最初から進め直せるのは、あと {left} 回です（やり直した回数は講師に伝わります）。"
                     if left else "この会話が提出されます。")
            return ("<hr><h4 style='margin:4px 0'>会話は終わりました</h4>"
                    "<div>記録は保存されました。ふりかえりと評価は、講師の採点のあとでフィードバックとしてお届けします。"
                    f"</div><div class='cs-rp-muted'>{_p(again)}</div>")
        sc, s = self.scenario, self.session
        end = s.ending
        report = s.score()
        rows = []
        for c in report.criteria:
            dots = "●" * c.level + "○" * (c.max - c.level)
            detail = f"<br><span class='cs-rp-muted'>{_p(c.level_text or c.description)}</span>"
            rows.append(f"<tr><td>{_p(c.label)}{detail}</td><td>{dots}</td><td>{c.level}/{c.max}</td></tr>")
        feedback = "".join(f"<li><span class='cs-rp-you'>{_p(ch.text)}</span><br>{_p(text)}</li>"
                           for ch, text in s.feedback())
        return (f"<hr><h4 style='margin:4px 0'>終わり: {_p(end.title)}（{OUTCOME_LABELS[end.outcome]}）</h4>"
                f"<div><b>ふりかえり</b><br>{_p(end.debrief)}</div>"
                f"<div style='margin-top:8px'><b>顧客が本当に期待していたこと</b><br>"
                f"{_p(sc.persona.hidden_expectation)}</div>"
                f"<div style='margin-top:8px'><b>評価（達成度 {report.total:.0%}）</b>{self._cap_note(report)}"
                f"<table class='cs-rp-rubric'><tr><th>評価項目</th><th>段階</th><th></th></tr>{''.join(rows)}</table></div>"
                f"<div style='margin-top:8px'><b>あなたの選択へのコメント</b><ul>{feedback}</ul></div>"
                f"<div class='cs-rp-muted'>「やり直す」で別の進め方も試せます。</div>")

    @staticmethod
    def _cap_note(report) -> str:
        if not report.capped:
            return ""
        return (f"<div class='cs-rp-muted'>評価項目だけなら {report.uncapped:.0%} ですが、"
                f"{OUTCOME_LABELS[report.outcome]}の終わり方のため {report.cap:.0%} までになります。</div>")

    # --- display -----------------------------------------------------------------------------------
    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.root)

    def __repr__(self) -> str:
        state = "終了" if self.finished else f"{len(self.path)} 回選択"
        return f"<ロールプレイ {self.scenario.id}: {state}>"


class ScenarioMenu:
    """Pick any shipped scenario from a list and play it (practice mode) below the menu."""

    def __init__(self, scenario_ids: list[str] | None = None, *, base: Union[str, Path, None] = None):
        from . import library

        ids = scenario_ids or library.practice_ids()
        self.scenarios = {sid: library.load(sid) for sid in ids}
        for sc in self.scenarios.values():
            refuse_practice(sc)
        self.base = base
        self.current: RoleplayWidget | None = None
        self.dropdown = widgets.Dropdown(
            options=[(f"{sc.title}（{sc.estimated_minutes}分）", sid) for sid, sc in self.scenarios.items()],
            description="シナリオ", layout=widgets.Layout(width="100%"), style={"description_width": "initial"})
        self.dropdown.add_class("cs-rp-menu-select")
        self.summary = widgets.HTML()
        self.start_button = widgets.Button(description="このシナリオで始める", icon="play", tooltip="start",
                                           button_style="primary", layout=widgets.Layout(width="auto"))
        self.start_button.add_class("cs-rp-menu-start")
        self.area = widgets.VBox()
        self.dropdown.observe(lambda _c: self._describe(), names="value")
        self.start_button.on_click(lambda _b: self.start())
        self.root = widgets.VBox([self.dropdown, self.summary, self.start_button, self.area])
        self.root.add_class("cs-rp-menu")
        self._describe()

    def _describe(self) -> None:
        sc = self.scenarios.get(self.dropdown.value)
        self.summary.value = f"<div class='cs-rp-muted'>{_p(sc.summary)}</div>" if sc else ""

    def start(self, scenario_id: str | None = None) -> RoleplayWidget:
        if scenario_id is not None:
            self.dropdown.value = scenario_id
        self.current = RoleplayWidget(self.scenarios[self.dropdown.value], base=self.base)
        self.area.children = (self.current.root,)
        return self.current

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.root)
