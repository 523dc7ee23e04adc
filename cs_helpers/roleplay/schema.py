"""Scenario files: the data model, a loader that remembers YAML line numbers, and the structure hash.

The format is documented for authors in ``datasets/scenarios/README.md``. ``parse_file`` never raises on a
bad scenario: it returns the issues it found (file, line, node id, message) so the linter can report them all.
``load_scenario`` raises :class:`ScenarioError` when there is any error, for code that needs a usable scenario.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Union

import yaml

from .conditions import Condition, ConditionError, VarInfo, check, parse

FORMAT = "cs-dojo-scenario/1"
ID_RE = re.compile(r"^[a-z][a-z0-9_]{0,47}$")
OUTCOMES = ("success", "partial", "fail")
OUTCOME_LABELS = {"success": "成功", "partial": "部分的な成功", "fail": "失敗"}
# The ending counts: the engine caps the total (0..1) of a conversation that ends in a fail or a partial ending.
FAIL_CAP = 0.5        # below every pass threshold (the loader requires pass_threshold > FAIL_CAP)
PARTIAL_CAP = 0.8     # below full marks
OUTCOME_CAPS = {"fail": FAIL_CAP, "partial": PARTIAL_CAP}
BUILTIN_SPEAKERS = ("customer", "narrator")
_DELTA_RE = re.compile(r"^[+-]\d+$")
_SET_RE = re.compile(r"^=\s*(-?\d+)$")


# --- issues -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Issue:
    """One problem in a scenario file, printed as ``file:line: node_id: message``."""
    file: str
    line: int
    node: str
    message: str
    severity: str = "error"   # "error" | "warning"
    code: str = ""            # stable machine-readable kind, e.g. "unknown-target"

    def __str__(self) -> str:
        tag = "" if self.severity == "error" else "[警告] "
        return f"{self.file}:{self.line}: {self.node or '-'}: {tag}{self.message}"


class ScenarioError(ValueError):
    """A scenario that cannot be used. ``issues`` lists every problem found."""

    def __init__(self, issues: list[Issue]):
        self.issues = issues
        lines = "\n".join(str(i) for i in issues[:20])
        more = f"\n…ほか {len(issues) - 20} 件" if len(issues) > 20 else ""
        super().__init__(f"シナリオに問題があります:\n{lines}{more}")


# --- YAML with line numbers ---------------------------------------------------------------------

class LineDict(dict):
    """A dict that remembers the 1-based line of itself and of each key."""
    line: int = 0
    key_lines: dict

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class LineList(list):
    line: int = 0
    item_lines: list


class _DuplicateKey(Exception):
    def __init__(self, key: Any, line: int, first: int):
        self.key, self.line, self.first = key, line, first


def _convert(node: yaml.Node, constructor: yaml.constructor.SafeConstructor, dupes: list):
    if isinstance(node, yaml.MappingNode):
        out = LineDict()
        out.line = node.start_mark.line + 1
        out.key_lines = {}
        for key_node, value_node in node.value:
            key = _convert(key_node, constructor, dupes)
            if isinstance(key, (list, dict)):
                key = str(key)
            line = key_node.start_mark.line + 1
            if key in out:
                dupes.append(_DuplicateKey(key, line, out.key_lines[key]))
            out[key] = _convert(value_node, constructor, dupes)
            out.key_lines[key] = line
        return out
    if isinstance(node, yaml.SequenceNode):
        out = LineList(_convert(item, constructor, dupes) for item in node.value)
        out.line = node.start_mark.line + 1
        out.item_lines = [item.start_mark.line + 1 for item in node.value]
        return out
    return constructor.construct_object(node, deep=True)


# libyaml's parser when available (about 10x faster); both give nodes with line marks.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(text: str) -> tuple[Any, list[_DuplicateKey]]:
    """Parse YAML into LineDict/LineList trees. Raises ``yaml.YAMLError`` on syntax errors."""
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
        dupes: list[_DuplicateKey] = []
        data = None if root is None else _convert(root, loader, dupes)
        return data, dupes
    finally:
        loader.dispose()


def plain(data: Any) -> Any:
    """LineDict/LineList trees → plain dicts and lists (for hashing and JSON)."""
    if isinstance(data, dict):
        return {str(k): plain(v) for k, v in data.items()}
    if isinstance(data, list):
        return [plain(v) for v in data]
    return data


def content_hash(data: Any) -> str:
    """sha256 of the canonical JSON form of the scenario content (comments and layout do not count)."""
    canonical = json.dumps(plain(data), sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _condition_key(cond) -> str | None:
    """A condition's source with whitespace normalised (``trust>=3`` and ``trust >= 3`` are the same)."""
    if cond is None:
        return None
    from .conditions import tokenize

    return " ".join(t.text for t in tokenize(cond.source) if t.kind != "end")


def structure_hash(scenario: "Scenario") -> str:
    """sha256 of what grading depends on: state declarations, start, every node's choices (ids, conditions,
    effects, rubric, branches and targets), the endings (ids, outcomes, rubric) and the grading block (criteria ids,
    weights, maxima, baselines, pass threshold). Wording (texts, titles, feedback, debriefs, labels, the persona)
    and the order of choices in the file do not count, so fixing a typo keeps saved responses valid."""
    body = {
        "state": {n: [v.type, v.initial, v.min, v.max] for n, v in sorted(scenario.state.items())},
        "start": scenario.start,
        "nodes": {nid: sorted(([c.id, _condition_key(c.condition), [[e.var, e.op, e.value] for e in c.effects],
                                sorted(map(list, c.rubric)),
                                [[_condition_key(b.condition), b.target] for b in c.branches]]
                               for c in node.choices), key=lambda row: row[0])
                  for nid, node in sorted(scenario.nodes.items())},
        "endings": {eid: [e.outcome, sorted(map(list, e.rubric))] for eid, e in sorted(scenario.endings.items())},
        "grading": [sorted([c.id, c.weight, c.max, c.baseline] for c in scenario.criteria),
                    scenario.pass_threshold],
    }
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# --- the model ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class StateVar:
    name: str
    type: str                 # "int" | "bool"
    initial: Union[int, bool]
    min: int = 0
    max: int = 1
    label: str = ""
    hint: bool = True         # shown as a hint in practice mode
    line: int = 0

    def info(self) -> VarInfo:
        return VarInfo(self.type, self.min, self.max)

    def clamp(self, value: int) -> int:
        return max(self.min, min(self.max, value))


@dataclass(frozen=True)
class Effect:
    var: str
    op: str                   # "add" | "set"
    value: Union[int, bool]

    def describe(self) -> str:
        if self.op == "add":
            return f"{self.var} {'+' if self.value >= 0 else ''}{self.value}"
        return f"{self.var} = {str(self.value).lower() if isinstance(self.value, bool) else self.value}"


@dataclass(frozen=True)
class Branch:
    target: str
    condition: Condition | None = None
    line: int = 0


@dataclass(frozen=True)
class Choice:
    id: str
    node: str
    text: str
    branches: tuple[Branch, ...]
    condition: Condition | None = None
    effects: tuple[Effect, ...] = ()
    rubric: tuple[tuple[str, int], ...] = ()
    feedback: str = ""
    line: int = 0

    @property
    def rubric_map(self) -> dict[str, int]:
        return dict(self.rubric)


@dataclass(frozen=True)
class Node:
    id: str
    speaker: str
    text: str
    choices: tuple[Choice, ...]
    tags: tuple[str, ...] = ()
    line: int = 0


@dataclass(frozen=True)
class Ending:
    id: str
    outcome: str              # success | partial | fail
    title: str
    text: str
    debrief: str
    speaker: str = "customer"
    rubric: tuple[tuple[str, int], ...] = ()
    line: int = 0

    @property
    def rubric_map(self) -> dict[str, int]:
        return dict(self.rubric)


@dataclass(frozen=True)
class Criterion:
    id: str
    label: str
    weight: float
    max: int = 2
    baseline: int = 0
    description: str = ""
    levels: tuple[tuple[int, str], ...] = ()
    line: int = 0


@dataclass(frozen=True)
class Persona:
    name: str
    company: str
    industry: str
    role: str
    personality: str
    hidden_expectation: str


@dataclass
class Scenario:
    id: str
    title: str
    summary: str
    call_type: str
    learner_brief: str
    persona: Persona
    cast: dict[str, str]
    state: dict[str, StateVar]
    start: str
    nodes: dict[str, Node]
    endings: dict[str, Ending]
    criteria: list[Criterion]
    content_hash: str
    path: str = ""
    estimated_minutes: int = 10
    choices: dict[str, Choice] = field(default_factory=dict)
    pass_threshold: float = 0.6
    key_lines: dict[str, int] = field(default_factory=dict)   # line of each top-level key
    graded_only: bool = False     # only for graded assignments: practice mode and menu() refuse or hide it
    structure_hash: str = ""      # what saved responses are checked against (see structure_hash())

    def __post_init__(self) -> None:
        if not self.structure_hash:
            self.structure_hash = structure_hash(self)

    def initial_state(self) -> dict[str, Union[int, bool]]:
        return {name: var.initial for name, var in self.state.items()}

    def speaker_name(self, speaker: str) -> str:
        if speaker == "customer":
            return self.persona.name
        if speaker == "narrator":
            return "状況"
        return self.cast.get(speaker, speaker)

    def criterion(self, cid: str) -> Criterion:
        for c in self.criteria:
            if c.id == cid:
                return c
        raise KeyError(cid)


# --- parsing -------------------------------------------------------------------------------------

_TOP_KEYS = {"format", "id", "version", "title", "summary", "call_type", "module", "estimated_minutes",
             "learner_brief", "persona", "cast", "state", "start", "nodes", "endings", "grading", "graded_only"}
_PERSONA_KEYS = {"name", "company", "industry", "role", "personality", "hidden_expectation"}
_VAR_KEYS = {"type", "min", "max", "initial", "label", "hint"}
_NODE_KEYS = {"speaker", "text", "tags", "choices"}
_CHOICE_KEYS = {"id", "text", "next", "condition", "effects", "rubric", "feedback"}
_BRANCH_KEYS = {"if", "to"}
_ENDING_KEYS = {"outcome", "title", "text", "debrief", "speaker", "rubric"}
_GRADING_KEYS = {"criteria", "pass_threshold"}
_CRITERION_KEYS = {"id", "label", "weight", "max", "baseline", "description", "levels"}


class _Ctx:
    """Collects issues while parsing one file."""

    def __init__(self, file: str):
        self.file = file
        self.issues: list[Issue] = []

    def error(self, line: int, node: str, message: str, code: str) -> None:
        self.issues.append(Issue(self.file, line, node, message, "error", code))

    def warn(self, line: int, node: str, message: str, code: str) -> None:
        self.issues.append(Issue(self.file, line, node, message, "warning", code))

    def unknown_keys(self, data: LineDict, allowed: set, node: str, where: str) -> None:
        for key in data:
            if key not in allowed:
                self.error(data.line_of(key), node, f"{where}に未知のキー「{key}」があります"
                           f"（使えるキー: {', '.join(sorted(allowed))}）", "unknown-key")


def _line(obj: Any, default: int = 0) -> int:
    return getattr(obj, "line", default) or default


def _text(ctx: _Ctx, data: LineDict, key: str, node: str, where: str, required: bool = True) -> str:
    value = data.get(key)
    if value is None:
        if required:
            ctx.error(data.line, node, f"{where}に「{key}」がありません", "missing-field")
        return ""
    if not isinstance(value, str) or not value.strip():
        ctx.error(data.line_of(key), node, f"{where}の「{key}」は空でない文字列にしてください", "bad-type")
        return ""
    return value.strip()


def _did_you_mean(name: Any, known: Iterable[str]) -> str:
    import difflib

    close = difflib.get_close_matches(str(name), sorted(known), n=3, cutoff=0.6)
    return f"（もしかして: {'、'.join(close)}）" if close else ""


def _check_id(ctx: _Ctx, value: Any, line: int, node: str, what: str) -> bool:
    if not isinstance(value, str) or not ID_RE.match(value):
        ctx.error(line, node, f"{what}「{value}」は英小文字で始まる半角英小文字・数字・_ (48文字以内) にしてください",
                  "bad-id")
        return False
    return True


def _condition(ctx: _Ctx, source: Any, line: int, node: str, state: dict[str, StateVar]) -> Condition | None:
    if isinstance(source, bool):
        source = "true" if source else "false"
    if not isinstance(source, str):
        ctx.error(line, node, f"条件は文字列で書いてください（{source!r}）", "bad-condition")
        return None
    try:
        ast = parse(source)
    except ConditionError as exc:
        ctx.error(line, node, str(exc), "bad-condition")
        return None
    try:
        for message in check(ast, {k: v.info() for k, v in state.items()}, source):
            ctx.error(line, node, f"条件「{source}」: {message}", "out-of-range")
    except ConditionError as exc:
        code = "undeclared-state" if "宣言されていません" in exc.reason else "bad-condition"
        ctx.error(line, node, str(exc), code)
        return None
    return Condition(source, ast)


def _rubric(ctx: _Ctx, data: Any, line: int, node: str, criteria: set[str]) -> tuple[tuple[str, int], ...]:
    if data is None:
        return ()
    if not isinstance(data, dict):
        ctx.error(line, node, "rubric は「評価項目id: 点数」の対応表にしてください", "bad-type")
        return ()
    out = []
    for key, value in data.items():
        kline = data.line_of(key) if isinstance(data, LineDict) else line
        if criteria and key not in criteria:
            ctx.error(kline, node, f"rubric の評価項目「{key}」は grading.criteria にありません"
                      f"（定義済み: {', '.join(sorted(criteria))}）", "unknown-criterion")
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            ctx.error(kline, node, f"rubric「{key}」の点数は整数にしてください（{value!r}）", "bad-type")
            continue
        out.append((str(key), value))
    return tuple(out)


def _effects(ctx: _Ctx, data: Any, line: int, node: str, state: dict[str, StateVar]) -> tuple[Effect, ...]:
    if data is None:
        return ()
    if not isinstance(data, dict):
        ctx.error(line, node, "effects は「状態変数: 変化量」の対応表にしてください（例: trust: +1）", "bad-type")
        return ()
    out = []
    for name, value in data.items():
        kline = data.line_of(name) if isinstance(data, LineDict) else line
        var = state.get(name)
        if var is None:
            ctx.error(kline, node, f"effects の状態変数「{name}」は state で宣言されていません"
                      f"（宣言済み: {', '.join(sorted(state)) or 'なし'}）", "undeclared-state")
            continue
        if var.type == "bool":
            if not isinstance(value, bool):
                ctx.error(kline, node, f"「{name}」は真偽値なので true か false を指定してください（{value!r}）",
                          "bad-type")
                continue
            out.append(Effect(name, "set", value))
            continue
        if isinstance(value, bool):
            ctx.error(kline, node, f"「{name}」は整数なので +1 / -2 / \"=3\" のように指定してください", "bad-type")
            continue
        if isinstance(value, str) and _DELTA_RE.match(value.strip()):
            value = int(value.strip())
        if isinstance(value, int):
            width = var.max - var.min
            if value == 0 or abs(value) > width:
                ctx.error(kline, node, f"「{name}」の変化量 {value:+d} は範囲 {var.min}〜{var.max} に対して"
                          f"{'意味がありません' if value == 0 else '大きすぎます'}", "out-of-range")
                continue
            out.append(Effect(name, "add", value))
            continue
        m = _SET_RE.match(value.strip()) if isinstance(value, str) else None
        if m:
            target = int(m.group(1))
            if not var.min <= target <= var.max:
                ctx.error(kline, node, f"「{name}」を {target} にしようとしていますが、範囲は {var.min}〜{var.max} です",
                          "out-of-range")
                continue
            out.append(Effect(name, "set", target))
            continue
        ctx.error(kline, node, f"「{name}」の効果「{value}」は読めません。+1 / -2 / \"=3\" のように書いてください",
                  "bad-type")
    return tuple(out)


def _state(ctx: _Ctx, data: Any, line: int) -> dict[str, StateVar]:
    out: dict[str, StateVar] = {}
    if data is None:
        return out
    if not isinstance(data, dict):
        ctx.error(line, "state", "state は「変数名: {type, ...}」の対応表にしてください", "bad-type")
        return out
    for name, spec in data.items():
        vline = data.line_of(name)
        if not _check_id(ctx, name, vline, "state", "状態変数名"):
            continue
        if not isinstance(spec, LineDict):
            ctx.error(vline, "state", f"状態変数「{name}」は {{type: int, min: 0, max: 5, initial: 2}} の形で書いてください",
                      "bad-type")
            continue
        ctx.unknown_keys(spec, _VAR_KEYS, "state", f"状態変数「{name}」")
        vtype = spec.get("type")
        label = spec.get("label") or name
        hint = spec.get("hint", True)
        if not isinstance(hint, bool):
            ctx.error(spec.line_of("hint"), "state", f"「{name}」の hint は true / false にしてください", "bad-type")
            hint = True
        if vtype == "bool":
            initial = spec.get("initial", False)
            if not isinstance(initial, bool):
                ctx.error(spec.line_of("initial"), "state", f"「{name}」(bool) の initial は true / false にしてください",
                          "out-of-range")
                initial = False  # keep the variable declared so later checks do not cascade
            out[name] = StateVar(name, "bool", initial, 0, 1, str(label), hint, vline)
        elif vtype == "int":
            lo, hi, initial = spec.get("min"), spec.get("max"), spec.get("initial")
            bad = [k for k, v in (("min", lo), ("max", hi), ("initial", initial))
                   if isinstance(v, bool) or not isinstance(v, int)]
            if bad:
                ctx.error(vline, "state", f"「{name}」(int) には整数の {'・'.join(bad)} が必要です", "missing-field")
                continue
            if lo >= hi:
                ctx.error(spec.line_of("max"), "state", f"「{name}」の範囲が不正です（min {lo} ≥ max {hi}）",
                          "out-of-range")
                continue
            if not lo <= initial <= hi:
                ctx.error(spec.line_of("initial"), "state",
                          f"「{name}」の初期値 {initial} が範囲 {lo}〜{hi} の外にあります", "out-of-range")
                initial = max(lo, min(hi, initial))  # keep it declared so later checks do not cascade
            out[name] = StateVar(name, "int", initial, lo, hi, str(label), hint, vline)
        else:
            ctx.error(spec.line_of("type"), "state", f"「{name}」の type は int か bool にしてください（{vtype!r}）",
                      "bad-type")
    return out


def _criteria(ctx: _Ctx, data: Any, line: int) -> tuple[list[Criterion], float]:
    if not isinstance(data, LineDict):
        ctx.error(line, "grading", "grading ブロック（criteria: [...]）がありません", "missing-field")
        return [], 0.6
    ctx.unknown_keys(data, _GRADING_KEYS, "grading", "grading")
    threshold = data.get("pass_threshold", 0.6)
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not FAIL_CAP < threshold <= 1:
        ctx.error(data.line_of("pass_threshold"), "grading",
                  f"pass_threshold は {FAIL_CAP} より大きく 1 以下の数にしてください（失敗の終わり方の上限 {FAIL_CAP} "
                  "より上でないと、失敗でも合格になってしまいます）", "bad-type")
        threshold = 0.6
    items = data.get("criteria")
    if not isinstance(items, LineList) or not items:
        ctx.error(data.line_of("criteria"), "grading", "grading.criteria に評価項目を並べてください", "missing-field")
        return [], float(threshold)
    out: list[Criterion] = []
    seen: set[str] = set()
    for item, iline in zip(items, items.item_lines):
        if not isinstance(item, LineDict):
            ctx.error(iline, "grading", "評価項目は {id, label, weight} の形で書いてください", "bad-type")
            continue
        ctx.unknown_keys(item, _CRITERION_KEYS, "grading", "評価項目")
        cid = item.get("id")
        if not _check_id(ctx, cid, iline, "grading", "評価項目id"):
            continue
        if cid in seen:
            ctx.error(iline, "grading", f"評価項目id「{cid}」が重複しています", "duplicate-id")
            continue
        seen.add(cid)
        label = _text(ctx, item, "label", "grading", f"評価項目「{cid}」")
        weight = item.get("weight", 1)
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or weight <= 0:
            ctx.error(item.line_of("weight"), "grading", f"評価項目「{cid}」の weight は正の数にしてください", "bad-type")
            weight = 1
        cmax = item.get("max", 2)
        base = item.get("baseline", 0)
        if isinstance(cmax, bool) or not isinstance(cmax, int) or cmax < 1:
            ctx.error(item.line_of("max"), "grading", f"評価項目「{cid}」の max は 1 以上の整数にしてください", "bad-type")
            cmax = 2
        if isinstance(base, bool) or not isinstance(base, int) or not 0 <= base <= cmax:
            ctx.error(item.line_of("baseline"), "grading", f"評価項目「{cid}」の baseline は 0〜max の整数にしてください",
                      "out-of-range")
            base = 0
        levels = item.get("levels") or {}
        lv: list[tuple[int, str]] = []
        if isinstance(levels, dict):
            for k, v in levels.items():
                if isinstance(k, int) and 0 <= k <= cmax and isinstance(v, str):
                    lv.append((k, v.strip()))
                else:
                    ctx.error(levels.line_of(k) if isinstance(levels, LineDict) else iline, "grading",
                              f"評価項目「{cid}」の levels は 0〜{cmax} の整数をキーにした説明文にしてください", "bad-type")
        desc = item.get("description") or ""
        out.append(Criterion(cid, label, float(weight), cmax, base, str(desc).strip(), tuple(sorted(lv)), iline))
    return out, float(threshold)


def _branches(ctx: _Ctx, data: Any, line: int, node: str, state: dict[str, StateVar]) -> tuple[Branch, ...]:
    if isinstance(data, str):
        return (Branch(data, None, line),)
    if not isinstance(data, LineList) or not data:
        ctx.error(line, node, "next には行き先のid か、[{if: 条件, to: 行き先}, ..., {to: 行き先}] を書いてください",
                  "missing-field")
        return ()
    out = []
    for i, (item, bline) in enumerate(zip(data, data.item_lines)):
        if not isinstance(item, LineDict) or "to" not in item:
            ctx.error(bline, node, "分岐は {if: 条件, to: 行き先} の形で書いてください", "bad-type")
            continue
        ctx.unknown_keys(item, _BRANCH_KEYS, node, "分岐")
        cond = None
        if "if" in item:
            cond = _condition(ctx, item["if"], item.line_of("if"), node, state)
            if cond is None:
                continue
        elif i != len(data) - 1:
            ctx.error(bline, node, "条件のない分岐は最後に置いてください（後ろの分岐が使われません）", "unreachable-branch")
        target = item["to"]
        if not isinstance(target, str):
            ctx.error(item.line_of("to"), node, f"行き先「{target}」はidの文字列にしてください", "bad-type")
            continue
        out.append(Branch(target, cond, item.line_of("to")))
    if out and out[-1].condition is not None:
        ctx.error(data.item_lines[-1], node, "最後の分岐に if のない既定の行き先 {to: ...} を置いてください"
                  "（どの条件にも当てはまらないと行き止まりになります）", "dead-end")
    return tuple(out)


def parse_data(data: Any, file: str = "<scenario>", dupes: Iterable[_DuplicateKey] = ()
               ) -> tuple[Scenario | None, list[Issue]]:
    """Build a :class:`Scenario` from parsed YAML. Returns ``(scenario_or_None, issues)``."""
    ctx = _Ctx(file)
    for d in dupes:
        ctx.error(d.line, str(d.key), f"キー「{d.key}」が重複しています（最初は {d.first} 行目）。"
                  "ノードや終わり方のidは一意にしてください", "duplicate-id")
    if not isinstance(data, LineDict):
        ctx.error(1, "-", "シナリオファイルの中身が YAML の対応表（key: value）になっていません", "bad-type")
        return None, ctx.issues
    ctx.unknown_keys(data, _TOP_KEYS, "-", "シナリオ")
    fmt = data.get("format", FORMAT)
    if fmt != FORMAT:
        ctx.error(data.line_of("format"), "-", f"format は「{FORMAT}」にしてください（{fmt!r}）", "bad-type")
    sid = data.get("id")
    valid_id = _check_id(ctx, sid, data.line_of("id"), "-", "シナリオid")
    if not valid_id:
        sid = "invalid"
    stem = Path(file).stem
    if valid_id and file.endswith((".yaml", ".yml")) and sid != stem:
        ctx.error(data.line_of("id"), "-", f"シナリオid「{sid}」とファイル名「{stem}」を揃えてください", "bad-id")
    title = _text(ctx, data, "title", "-", "シナリオ")
    summary = data.get("summary") or ""
    call_type = data.get("call_type") or "general"
    brief = _text(ctx, data, "learner_brief", "-", "シナリオ")
    minutes = data.get("estimated_minutes", 10)
    if isinstance(minutes, bool) or not isinstance(minutes, int) or minutes <= 0:
        ctx.error(data.line_of("estimated_minutes"), "-", "estimated_minutes は正の整数にしてください", "bad-type")
        minutes = 10

    pdata = data.get("persona")
    if isinstance(pdata, LineDict):
        ctx.unknown_keys(pdata, _PERSONA_KEYS, "persona", "persona")
        persona = Persona(*(_text(ctx, pdata, k, "persona", "persona")
                            for k in ("name", "company", "industry", "role", "personality", "hidden_expectation")))
    else:
        ctx.error(data.line_of("persona"), "persona", "persona（name, company, industry, role, personality, "
                  "hidden_expectation）がありません", "missing-field")
        persona = Persona("", "", "", "", "", "")

    cast: dict[str, str] = {}
    cdata = data.get("cast") or {}
    if isinstance(cdata, dict):
        for cid, cname in cdata.items():
            cline = cdata.line_of(cid) if isinstance(cdata, LineDict) else data.line_of("cast")
            if _check_id(ctx, cid, cline, "cast", "登場人物id"):
                if cid in BUILTIN_SPEAKERS:
                    ctx.error(cline, "cast", f"「{cid}」は予約済みの話し手です", "bad-id")
                elif not isinstance(cname, str) or not cname.strip():
                    ctx.error(cline, "cast", f"登場人物「{cid}」の表示名を文字列で書いてください", "bad-type")
                else:
                    cast[cid] = cname.strip()
    else:
        ctx.error(data.line_of("cast"), "cast", "cast は「id: 表示名」の対応表にしてください", "bad-type")
    speakers = set(BUILTIN_SPEAKERS) | set(cast)

    state = _state(ctx, data.get("state"), data.line_of("state"))
    criteria, threshold = _criteria(ctx, data.get("grading"), data.line_of("grading"))
    crit_ids = {c.id for c in criteria}

    ndata = data.get("nodes")
    edata = data.get("endings")
    if not isinstance(ndata, LineDict) or not ndata:
        ctx.error(data.line_of("nodes"), "-", "nodes（会話の場面）がありません", "missing-field")
        ndata = LineDict()
        ndata.line, ndata.key_lines = 0, {}
    if not isinstance(edata, LineDict) or not edata:
        ctx.error(data.line_of("endings"), "-", "endings（終わり方）がありません", "missing-field")
        edata = LineDict()
        edata.line, edata.key_lines = 0, {}

    endings: dict[str, Ending] = {}
    for eid, e in edata.items():
        eline = edata.line_of(eid)
        if not _check_id(ctx, eid, eline, str(eid), "終わり方のid"):
            continue
        if eid in ndata:
            ctx.error(eline, eid, f"id「{eid}」がノードと終わり方の両方で使われています", "duplicate-id")
            continue
        if not isinstance(e, LineDict):
            ctx.error(eline, eid, "終わり方は {outcome, title, text, debrief} の形で書いてください", "bad-type")
            continue
        ctx.unknown_keys(e, _ENDING_KEYS, eid, "終わり方")
        outcome = e.get("outcome")
        if outcome not in OUTCOMES:
            ctx.error(e.line_of("outcome"), eid, f"outcome は {' / '.join(OUTCOMES)} のどれかにしてください（{outcome!r}）",
                      "bad-type")
            outcome = "fail"
        speaker = e.get("speaker", "customer")
        if speaker not in speakers:
            ctx.error(e.line_of("speaker"), eid, f"話し手「{speaker}」は customer / narrator / cast のどれでもありません",
                      "unknown-speaker")
        endings[eid] = Ending(eid, outcome, _text(ctx, e, "title", eid, "終わり方"), _text(ctx, e, "text", eid, "終わり方"),
                              _text(ctx, e, "debrief", eid, "終わり方"), speaker,
                              _rubric(ctx, e.get("rubric"), e.line_of("rubric"), eid, crit_ids), eline)

    targets = set(ndata) | set(endings)
    nodes: dict[str, Node] = {}
    choices: dict[str, Choice] = {}
    choice_lines: dict[str, int] = {}
    for nid, n in ndata.items():
        nline = ndata.line_of(nid)
        if not _check_id(ctx, nid, nline, str(nid), "ノードid"):
            continue
        if not isinstance(n, LineDict):
            ctx.error(nline, nid, "ノードは {speaker, text, choices} の形で書いてください", "bad-type")
            continue
        ctx.unknown_keys(n, _NODE_KEYS, nid, "ノード")
        speaker = n.get("speaker", "customer")
        if speaker not in speakers:
            ctx.error(n.line_of("speaker"), nid, f"話し手「{speaker}」は customer / narrator / cast のどれでもありません",
                      "unknown-speaker")
        text = _text(ctx, n, "text", nid, "ノード")
        tags = n.get("tags") or []
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            ctx.error(n.line_of("tags"), nid, "tags は文字列のリストにしてください", "bad-type")
            tags = []
        clist = n.get("choices")
        node_choices: list[Choice] = []
        if not isinstance(clist, LineList) or not clist:
            ctx.error(n.line_of("choices") if "choices" in n else nline, nid, "選択肢 (choices) がありません。会話が行き止まりになります", "dead-end")
            clist = LineList()
            clist.item_lines = []
        for c, cline in zip(clist, clist.item_lines):
            if not isinstance(c, LineDict):
                ctx.error(cline, nid, "選択肢は {id, text, next} の形で書いてください", "bad-type")
                continue
            ctx.unknown_keys(c, _CHOICE_KEYS, nid, "選択肢")
            cid = c.get("id")
            if not _check_id(ctx, cid, cline, nid, "選択肢id"):
                continue
            if cid in choices or cid in choice_lines:
                ctx.error(cline, nid, f"選択肢id「{cid}」が重複しています（最初は {choice_lines[cid]} 行目）",
                          "duplicate-choice")
                continue
            choice_lines[cid] = cline
            ctext = _text(ctx, c, "text", nid, f"選択肢「{cid}」")
            cond = None
            if "condition" in c:
                cond = _condition(ctx, c["condition"], c.line_of("condition"), nid, state)
            branches = _branches(ctx, c.get("next"), c.line_of("next") if "next" in c else cline, nid, state)
            for b in branches:
                if b.target not in targets:
                    ctx.error(b.line, nid, f"選択肢「{cid}」の行き先「{b.target}」というノード・終わり方はありません"
                              f"{_did_you_mean(b.target, targets)}", "unknown-target")
            choice = Choice(cid, nid, ctext, branches, cond,
                            _effects(ctx, c.get("effects"), c.line_of("effects"), nid, state),
                            _rubric(ctx, c.get("rubric"), c.line_of("rubric"), nid, crit_ids),
                            str(c.get("feedback") or "").strip(), cline)
            choices[cid] = choice
            node_choices.append(choice)
        nodes[nid] = Node(nid, speaker, text, tuple(node_choices), tuple(tags), nline)

    start = data.get("start")
    if start not in nodes:
        ctx.error(data.line_of("start"), "-", f"start「{start}」というノードがありません", "unknown-target")

    graded_only = data.get("graded_only", False)
    if not isinstance(graded_only, bool):
        ctx.error(data.line_of("graded_only"), "-", "graded_only は true か false にしてください", "bad-type")
        graded_only = False

    if any(i.severity == "error" for i in ctx.issues):
        return None, ctx.issues
    scenario = Scenario(sid, title, str(summary).strip(), str(call_type), brief, persona, cast, state, start, nodes,
                        endings, criteria, content_hash(data), file, minutes, choices, threshold,
                        dict(data.key_lines), graded_only)
    return scenario, ctx.issues


def parse_text(text: str, file: str = "<scenario>") -> tuple[Scenario | None, list[Issue]]:
    try:
        data, dupes = read_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark else 1
        problem = getattr(exc, "problem", None) or str(exc)
        return None, [Issue(file, line, "-", f"YAML の書き方に誤りがあります: {problem}", "error", "yaml")]
    return parse_data(data, file, dupes)


def parse_file(path: Union[str, Path]) -> tuple[Scenario | None, list[Issue]]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, [Issue(str(path), 0, "-", "ファイルが見つかりません", "error", "io")]
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Issue(str(path), 0, "-", f"ファイルを読めません（UTF-8 で保存してください）: {exc}", "error", "io")]
    return parse_text(text, str(path))


def load_scenario(path: Union[str, Path]) -> Scenario:
    """Load one scenario file; raises :class:`ScenarioError` listing every error."""
    scenario, issues = parse_file(path)
    if scenario is None:
        raise ScenarioError([i for i in issues if i.severity == "error"])
    return scenario
