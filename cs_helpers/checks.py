"""Instant feedback for learners: ✅ or ❌ with a Japanese hint, never the answer itself.

Every function returns a ``CheckResult`` (truthy when correct) and displays it in the notebook
(plain text outside Jupyter), so a lesson cell can simply call ``check_equal(my_answer, ...)``.
"""
from __future__ import annotations

import html
import math
from dataclasses import dataclass
from typing import Any, Iterable, Mapping


@dataclass
class CheckResult:
    ok: bool
    message: str
    hint: str = ""

    def __bool__(self) -> bool:
        return self.ok

    def text(self) -> str:
        mark = "✅" if self.ok else "❌"
        out = f"{mark} {self.message}"
        if not self.ok and self.hint:
            out += f"\nヒント: {self.hint}"
        return out

    def _repr_html_(self) -> str:
        colour = "#2e7d32" if self.ok else "#c62828"
        mark = "✅" if self.ok else "❌"
        body = f'<div style="color:{colour};font-weight:bold">{mark} {html.escape(self.message)}</div>'
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


def check(condition: bool, ok: str = "正解です。", hint: str = "", *, display: bool = True) -> CheckResult:
    """Show ✅ ``ok`` when ``condition`` holds, otherwise ❌ with ``hint``."""
    msg = ok if condition else "もう一度考えてみましょう。"
    return _show(CheckResult(bool(condition), msg, hint), display)


def _is_missing(value: Any) -> bool:
    return value is None or value is Ellipsis


def check_equal(answer: Any, expected: Any, *, hint: str = "", tol: float | None = None,
                name: str = "答え", display: bool = True) -> CheckResult:
    """Compare ``answer`` with ``expected`` (numbers within ``tol`` when given) without revealing it."""
    if _is_missing(answer):
        return _show(CheckResult(False, f"{name}がまだ入力されていません。", hint), display)
    if tol is not None:
        try:
            ok = math.isclose(float(answer), float(expected), abs_tol=tol)
        except (TypeError, ValueError):
            return _show(CheckResult(False, f"{name}は数値で入力してください。", hint), display)
    else:
        ok = answer == expected
    msg = "正解です。" if ok else f"{name}が想定と違います。"
    return _show(CheckResult(bool(ok), msg, hint), display)


def check_choice(answer: Any, expected: Any, options: Iterable[Any] | None = None, *, hint: str = "",
                 display: bool = True) -> CheckResult:
    """A single choice among ``options``; an answer outside the options is reported as such."""
    if _is_missing(answer):
        return _show(CheckResult(False, "まだ選択されていません。", hint), display)
    if options is not None and answer not in list(options):
        listed = "、".join(str(o) for o in options)
        return _show(CheckResult(False, f"「{answer}」は選択肢にありません。次から選んでください: {listed}", hint),
                     display)
    return check_equal(answer, expected, hint=hint, name="選んだ答え", display=display)


def check_labels(answers: Mapping[Any, Any], expected: Mapping[Any, Any], *, hint: str = "",
                 pass_ratio: float = 1.0, display: bool = True) -> CheckResult:
    """Labelling tasks (e.g. classify hearing notes): reports how many are right, not which."""
    missing = [k for k in expected if k not in answers or _is_missing(answers[k])]
    if missing:
        return _show(CheckResult(False, f"{len(expected)}件中{len(missing)}件がまだ未回答です。", hint), display)
    right = sum(1 for k, v in expected.items() if answers[k] == v)
    ok = right >= math.ceil(pass_ratio * len(expected))
    msg = f"{len(expected)}件中{right}件が正解です。" + ("よくできました。" if ok else "")
    return _show(CheckResult(ok, msg, hint), display)


def check_set(answer: Iterable[Any], expected: Iterable[Any], *, hint: str = "", display: bool = True) -> CheckResult:
    """An unordered set of items (e.g. accounts to call): reports missing / extra counts only."""
    if _is_missing(answer):
        return _show(CheckResult(False, "まだ入力されていません。", hint), display)
    a, e = set(answer), set(expected)
    if a == e:
        return _show(CheckResult(True, f"{len(e)}件すべて正解です。"), display)
    parts = []
    if e - a:
        parts.append(f"足りないものが{len(e - a)}件")
    if a - e:
        parts.append(f"余分なものが{len(a - e)}件")
    return _show(CheckResult(False, "、".join(parts) + "あります。", hint), display)
