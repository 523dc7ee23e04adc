"""Instant feedback for learners: ✅ or ❌ with a Japanese hint, never the answer key in the learner's cell.

Every function returns a ``CheckResult`` (truthy when correct) and displays it in the notebook
(plain text outside Jupyter), so a lesson cell can simply call ``check_equal(my_answer, ...)``.

Feedback says *which* item is wrong and *why* when the caller passes explanations (``why``): a wrong
label names the item and gives the reason for the right label; a wrong choice explains why that option
falls short; an extra item in a set is named with the reason it does not belong; a missing item is not
named (that would hand over the answer) but its clue says what kind of item is still missing. A right
answer shows the explanation too, so the learner checks their reasoning and not only the result.

The keys themselves live in ``cs_helpers.practice``; lessons call ``practice.check(...)`` or
``practice.quiz(...)`` so no cell a learner runs holds an answer key.
"""
from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping


@dataclass
class CheckResult:
    ok: bool
    message: str
    hint: str = ""
    details: list[str] = field(default_factory=list)  # one line per wrong (or explained) item
    explanation: str = ""                               # shown when the answer is right

    def __bool__(self) -> bool:
        return self.ok

    def text(self) -> str:
        mark = "✅" if self.ok else "❌"
        out = f"{mark} {self.message}"
        for line in self.details:
            out += f"\n・{line}"
        if self.ok and self.explanation:
            out += f"\n解説: {self.explanation}"
        if not self.ok and self.hint:
            out += f"\nヒント: {self.hint}"
        return out

    def _repr_html_(self) -> str:
        colour = "#2e7d32" if self.ok else "#c62828"
        mark = "✅" if self.ok else "❌"
        body = f'<div style="color:{colour};font-weight:bold">{mark} {html.escape(self.message)}</div>'
        if self.details:
            items = "".join(f"<li>{html.escape(d)}</li>" for d in self.details)
            body += f'<ul style="margin:0.2em 0 0.2em 0.4em">{items}</ul>'
        if self.ok and self.explanation:
            body += f'<div style="margin-left:1.6em">解説: {html.escape(self.explanation)}</div>'
        if not self.ok and self.hint:
            body += f'<div style="margin-left:1.6em">ヒント: {html.escape(self.hint)}</div>'
        return body

    def __repr__(self) -> str:
        return self.text()

    def _ipython_display_(self) -> None:
        # Shown once: a cell ending in ``check_equal(...)`` must not print the result twice.
        if getattr(self, "_shown", False):
            return
        from IPython.display import HTML, display

        display(HTML(self._repr_html_()))
        self._shown = True


def _show(result: CheckResult, display: bool) -> CheckResult:
    if display:
        try:
            from IPython import get_ipython
            from IPython.display import display as ipy_display

            if get_ipython() is not None:
                ipy_display(result)  # via _ipython_display_, which marks it shown
                return result
        except ImportError:
            pass
        print(result.text())
    return result


def _short(text: Any, limit: int = 36) -> str:
    s = str(text)
    return s if len(s) <= limit else s[:limit - 1] + "…"


def check(condition: bool, ok: str = "正解です。", hint: str = "", *, display: bool = True) -> CheckResult:
    """Show ✅ ``ok`` when ``condition`` holds, otherwise ❌ with ``hint``."""
    msg = ok if condition else "もう一度考えてみましょう。"
    return _show(CheckResult(bool(condition), msg, hint), display)


def _is_missing(value: Any) -> bool:
    return value is None or value is Ellipsis


def check_equal(answer: Any, expected: Any, *, hint: str = "", tol: float | None = None,
                name: str = "答え", explanation: str = "", display: bool = True) -> CheckResult:
    """Compare ``answer`` with ``expected`` (numbers within ``tol`` when given) without revealing it."""
    if _is_missing(answer):
        return _show(CheckResult(False, f"{name}がまだ入力されていません。", hint), display)
    if tol is not None:
        if isinstance(answer, bool):
            return _show(CheckResult(False, f"{name}は数値で入力してください (True / False ではありません)。", hint),
                         display)
        try:
            ok = math.isclose(float(answer), float(expected), abs_tol=tol)
        except (TypeError, ValueError):
            return _show(CheckResult(False, f"{name}は数値で入力してください。", hint), display)
        if not ok and 1 < abs(float(answer)) <= 100 and math.isclose(float(answer) / 100, float(expected), abs_tol=tol):
            return _show(CheckResult(False, f"{name}は0〜1の小数で入力してください (% ではありません)。", hint), display)
    else:
        ok = answer == expected
    msg = "正解です。" if ok else f"{name}が違うようです。もう一度確かめてみましょう。"
    return _show(CheckResult(bool(ok), msg, hint, explanation=explanation if ok else ""), display)


def check_choice(answer: Any, expected: Any, options: Iterable[Any] | None = None, *, hint: str = "",
                 why: Mapping[Any, str] | None = None, display: bool = True) -> CheckResult:
    """A single choice among ``options``; an answer outside the options is reported as such.

    ``why`` maps each option to why it is (or is not) the best choice: a wrong pick shows its reason,
    a right pick shows the explanation of the right option.
    """
    if _is_missing(answer):
        return _show(CheckResult(False, "まだ選択されていません。", hint), display)
    if options is not None and answer not in list(options):
        listed = "、".join(str(o) for o in options)
        return _show(CheckResult(False, f"「{answer}」は選択肢にありません。次から選んでください: {listed}", hint),
                     display)
    why = dict(why or {})
    if answer == expected:
        return _show(CheckResult(True, "正解です。", explanation=why.get(expected, "")), display)
    details = [f"「{_short(answer)}」: {why[answer]}"] if answer in why else []
    return _show(CheckResult(False, "選んだ答えは、いちばん良いものではありません。", hint, details), display)


def check_labels(answers: Mapping[Any, Any], expected: Mapping[Any, Any], *, hint: str = "",
                 pass_ratio: float = 1.0, why: Mapping[Any, str] | None = None,
                 names: Mapping[Any, str] | None = None, display: bool = True) -> CheckResult:
    """Labelling tasks (e.g. classify hearing notes): how many are right, and which are wrong and why.

    ``names`` gives the short text shown for an item (default: the key); ``why`` the reason for its
    right label. A key of ``answers`` that is not an item is reported (a typo in a copied item text).
    """
    names = dict(names or {})
    why = dict(why or {})
    label = lambda k: names.get(k, _short(k))  # noqa: E731
    if not isinstance(answers, Mapping):
        return _show(CheckResult(False, "答えは {項目: ラベル} の辞書で入力してください。", hint), display)
    unknown = [k for k in answers if k not in expected]
    if unknown:
        return _show(CheckResult(False, "問題にない項目があります。項目の文を書き換えていないか確かめてください。", hint,
                                 [f"「{_short(k)}」" for k in unknown]), display)
    missing = [k for k in expected if k not in answers or _is_missing(answers[k])]
    if missing:
        return _show(CheckResult(False, f"{len(expected)}件中{len(missing)}件がまだ未回答です。", hint,
                                 [f"未回答: 「{label(k)}」" for k in missing]), display)
    wrong = [k for k, v in expected.items() if answers[k] != v]
    right = len(expected) - len(wrong)
    ok = right >= math.ceil(pass_ratio * len(expected))
    details = []
    for k in wrong:
        line = f"「{label(k)}」: あなたの答えは「{answers[k]}」です。"
        if k in why:
            line += why[k]
        details.append(line)
    msg = f"{len(expected)}件中{right}件が正解です。" + ("よくできました。" if ok and not wrong else "")
    explanation = " ".join(f"「{label(k)}」: {why[k]}" for k in expected if k in why) if ok and not wrong else ""
    return _show(CheckResult(ok, msg, hint, details, explanation=explanation), display)


def check_set(answer: Iterable[Any], expected: Iterable[Any], *, hint: str = "",
              why: Mapping[Any, str] | None = None, clues: Mapping[Any, str] | None = None,
              display: bool = True) -> CheckResult:
    """An unordered set of items (e.g. accounts to call).

    An extra item is named with ``why[item]`` (why it does not belong); a missing item is not named,
    but ``clues[item]`` (what kind of item it is) is listed so the learner knows what to look for.
    """
    if _is_missing(answer):
        return _show(CheckResult(False, "まだ入力されていません。", hint), display)
    if isinstance(answer, (str, bytes)):
        return _show(CheckResult(False, "答えは集合で入力してください (例: {\"A\", \"B\"})。", hint), display)
    why = dict(why or {})
    clues = dict(clues or {})
    a, e = set(answer), set(expected)
    if a == e:
        explanation = " ".join(f"{k}: {why[k]}" for k in sorted(e, key=str) if k in why)
        return _show(CheckResult(True, f"{len(e)}件すべて正解です。", explanation=explanation), display)
    parts, details = [], []
    if e - a:
        parts.append(f"足りないものが{len(e - a)}件")
        for k in sorted(e - a, key=str):
            if k in clues:
                details.append(f"まだ入っていないもの: {clues[k]}")
    if a - e:
        parts.append(f"余分なものが{len(a - e)}件")
        for k in sorted(a - e, key=str):
            details.append(f"{k} は入りません。" + (why[k] if k in why else ""))
    return _show(CheckResult(False, "、".join(parts) + "あります。", hint, details), display)


class Quiz:
    """Dropdown per item and a 答え合わせ button; feedback names each wrong item and why.

    ``Quiz(items, options, expected, why=...)``: ``items`` maps an id to the text shown, ``expected``
    the same ids to the right option. Checking on a button (not on every change) keeps the quiz from
    being solved by flipping one dropdown at a time. ``answers()`` gives the current choices.
    """

    def __init__(self, items: Mapping[str, str], options: Iterable[str], expected: Mapping[str, str], *,
                 why: Mapping[str, str] | None = None, hint: str = "", title: str = ""):
        import ipywidgets as w

        self.items, self.options, self.expected = dict(items), list(options), dict(expected)
        unknown = set(self.expected) ^ set(self.items)
        if unknown:
            raise ValueError(f"items と expected のIDが一致しません: {sorted(unknown)}")
        bad = {v for v in self.expected.values() if v not in self.options}
        if bad:
            raise ValueError(f"expected の値が選択肢にありません: {sorted(bad)}")
        self.why, self.hint = dict(why or {}), hint
        choices = [("選んでください", None)] + [(o, o) for o in self.options]
        width = f"{max(8, max(len(str(o)) for o in self.options) + 3)}em"
        self.dropdowns = {k: w.Dropdown(options=choices, value=None, layout=w.Layout(width=width))
                          for k in self.items}
        rows = [w.HBox([self.dropdowns[k], w.HTML(f"<span style='margin-left:0.6em'>{html.escape(t)}</span>")])
                for k, t in self.items.items()]
        self.button = w.Button(description="答え合わせ", button_style="info", layout=w.Layout(width="auto"))
        self.output = w.HTML("")
        self.result: CheckResult | None = None
        self.button.on_click(lambda _b: self.check())
        header = [w.HTML(f"<b>{html.escape(title)}</b>")] if title else []
        self.widget = w.VBox(header + rows + [self.button, self.output])

    def answers(self) -> dict[str, Any]:
        return {k: d.value for k, d in self.dropdowns.items()}

    def set_answers(self, answers: Mapping[str, str]) -> None:
        for k, v in answers.items():
            self.dropdowns[k].value = v

    def check(self) -> CheckResult:
        names = {k: _short(t) for k, t in self.items.items()}
        self.result = check_labels(self.answers(), self.expected, hint=self.hint, why=self.why, names=names,
                                   display=False)
        self.output.value = self.result._repr_html_()
        return self.result

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)
