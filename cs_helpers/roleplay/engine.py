"""The roleplay engine: pure Python, deterministic, no kernel or widget needed.

A :class:`Session` walks one scenario: ``available_choices()``, ``choose(choice_id)``, ``undo()``, ``restart()``,
``transcript()``, ``ending`` and ``score()``. :func:`replay` rebuilds a session from a list of choice ids and
rejects any path the scenario does not allow, which is how grading recomputes a learner's score.

Two rules live here rather than in authors' arithmetic:

* **the ending counts**: :func:`score_from_sums` caps the total of a conversation that ends in a fail ending at
  ``FAIL_CAP`` (below every pass mark) and of a partial ending at ``PARTIAL_CAP`` (below full marks);
* **order means nothing**: :func:`presentation_order` shuffles the offered choices per learner, scenario and node,
  deterministically, so the same learner sees the same order again (replay and grading use choice ids anyway).
"""
from __future__ import annotations

import datetime as _dt
import hashlib
from dataclasses import dataclass, field
from typing import Callable, Iterable, Union

from .schema import FAIL_CAP, OUTCOME_CAPS, OUTCOME_LABELS, PARTIAL_CAP, Choice, Ending, Node, Scenario

__all__ = ["FAIL_CAP", "PARTIAL_CAP", "MAX_GRADED_RESTARTS", "Session", "replay", "presentation_order",
           "ScoreReport", "InvalidChoice", "ReplayError"]

MAX_GRADED_RESTARTS = 1   # graded mode allows one fresh start; the count is saved and reported to the trainer

Value = Union[int, bool]
State = dict[str, Value]


class RoleplayError(ValueError):
    """Base class for errors a learner can cause; messages are Japanese."""


class InvalidChoice(RoleplayError):
    def __init__(self, message: str, choice_id: str = "", index: int | None = None):
        self.choice_id = choice_id
        self.index = index
        super().__init__(message)


class ReplayError(InvalidChoice):
    """A saved path that the scenario does not allow (wrong id, unavailable choice, too long)."""


# --- pure transition functions -----------------------------------------------------------------

def apply_effects(scenario: Scenario, state: State, choice: Choice) -> State:
    """The state after ``choice``'s effects, clamped to each variable's bounds."""
    new = dict(state)
    for eff in choice.effects:
        var = scenario.state[eff.var]
        if eff.op == "set":
            new[eff.var] = eff.value
        else:
            new[eff.var] = var.clamp(int(new[eff.var]) + int(eff.value))
    return new


def resolve_target(choice: Choice, state: State) -> str:
    """Where ``choice`` leads from ``state`` (already updated by its effects): the first matching branch."""
    for branch in choice.branches:
        if branch.condition is None or branch.condition(state):
            return branch.target
    # The loader requires an unconditional last branch, so this only happens with hand-built scenarios.
    raise RoleplayError(f"選択肢「{choice.id}」の行き先がどの条件にも当てはまりません")


def offered(node: Node, state: State) -> list[Choice]:
    """Choices of ``node`` whose condition holds in ``state`` (all of them when they have none)."""
    return [c for c in node.choices if c.condition is None or c.condition(state)]


def transition(scenario: Scenario, state: State, choice: Choice) -> tuple[str, State]:
    new = apply_effects(scenario, state, choice)
    return resolve_target(choice, new), new


def _order_key(learner: str, scenario_id: str, node_id: str, choice_id: str) -> bytes:
    return hashlib.sha256(f"{learner}|{scenario_id}|{node_id}|{choice_id}".encode("utf-8")).digest()


def presentation_order(choices: Iterable[Choice], *, learner: str, scenario_id: str, node_id: str) -> list[Choice]:
    """The order in which ``choices`` are shown to ``learner``: a per-learner, per-node shuffle that is the same
    every time (sorted by a hash of learner, scenario, node and choice id, so a choice hidden by a condition
    does not move the others)."""
    return sorted(choices, key=lambda c: _order_key(learner, scenario_id, node_id, c.id))


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).astimezone().isoformat(timespec="seconds")


# --- scoring --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CriterionScore:
    id: str
    label: str
    weight: float
    raw: int          # baseline + points on the path (before clamping)
    level: int        # clamped to 0..max
    max: int
    description: str = ""
    level_text: str = ""

    @property
    def score(self) -> float:
        return self.level / self.max


@dataclass(frozen=True)
class ScoreReport:
    scenario_id: str
    finished: bool
    ending: str | None
    outcome: str | None
    criteria: tuple[CriterionScore, ...]
    total: float                  # weighted, normalised 0..1 (0 when unfinished), capped by the ending
    pass_threshold: float = 0.6
    uncapped: float | None = None  # the criteria's weighted total before the ending's cap
    cap: float | None = None       # the cap of this ending's outcome (None for success)

    @property
    def capped(self) -> bool:
        """True when the ending lowered the total."""
        return self.uncapped is not None and self.uncapped > self.total + 1e-9

    @property
    def passed(self) -> bool:
        return self.finished and self.total >= self.pass_threshold - 1e-9

    def as_dict(self) -> dict:
        return {"scenario_id": self.scenario_id, "finished": self.finished, "ending": self.ending,
                "outcome": self.outcome, "total": round(self.total, 4),
                "uncapped": None if self.uncapped is None else round(self.uncapped, 4), "cap": self.cap,
                "criteria": {c.id: {"label": c.label, "level": c.level, "max": c.max, "weight": c.weight}
                             for c in self.criteria}}

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame([{"評価項目": c.label, "段階": c.level, "満点": c.max, "重み": c.weight,
                              "得点率": round(c.score, 3)} for c in self.criteria])


def rubric_sums(scenario: Scenario, choices: Iterable[Choice], ending: Ending | None) -> dict[str, int]:
    sums = {c.id: 0 for c in scenario.criteria}
    for ch in choices:
        for cid, pts in ch.rubric:
            sums[cid] += pts
    if ending is not None:
        for cid, pts in ending.rubric:
            sums[cid] += pts
    return sums


def score_from_sums(scenario: Scenario, sums: dict[str, int], ending: Ending | None) -> ScoreReport:
    rows = []
    for c in scenario.criteria:
        raw = c.baseline + sums.get(c.id, 0)
        level = max(0, min(c.max, raw))
        rows.append(CriterionScore(c.id, c.label, c.weight, raw, level, c.max, c.description,
                                   dict(c.levels).get(level, "")))
    finished = ending is not None
    weight = sum(r.weight for r in rows) or 1.0
    uncapped = sum(r.weight * r.score for r in rows) / weight if finished else 0.0
    cap = OUTCOME_CAPS.get(ending.outcome) if finished else None
    total = min(uncapped, cap) if cap is not None else uncapped
    return ScoreReport(scenario.id, finished, ending.id if ending else None, ending.outcome if ending else None,
                       tuple(rows), total, scenario.pass_threshold, uncapped, cap)


# --- the session -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Step:
    node: str
    choice: str
    target: str
    state_before: tuple
    state_after: tuple
    at: str = ""


@dataclass(frozen=True)
class Line:
    """One transcript line: who spoke (display name), what, and whether it was the learner."""
    speaker: str
    text: str
    kind: str          # "customer" | "narrator" | "cast" | "learner" | "ending"
    ref: str = ""      # node, choice or ending id


@dataclass
class Session:
    scenario: Scenario
    clock: Callable[[], str] = _now
    max_steps: int = 200
    steps: list[Step] = field(default_factory=list)
    restarts: int = 0

    def __post_init__(self) -> None:
        self._state: State = self.scenario.initial_state()
        self.current: str = self.scenario.start

    # -- inspection
    @property
    def state(self) -> State:
        return dict(self._state)

    @property
    def node(self) -> Node | None:
        return self.scenario.nodes.get(self.current)

    @property
    def ending(self) -> Ending | None:
        return self.scenario.endings.get(self.current)

    @property
    def finished(self) -> bool:
        return self.current in self.scenario.endings

    @property
    def path(self) -> list[str]:
        return [s.choice for s in self.steps]

    def available_choices(self) -> list[Choice]:
        """The offered choices in file order (analysis and tests); learners see :meth:`presented_choices`."""
        node = self.node
        if node is None:
            return []
        return offered(node, self._state)

    def presented_choices(self, learner: str) -> list[Choice]:
        """The offered choices in the order ``learner`` sees them (see :func:`presentation_order`)."""
        return presentation_order(self.available_choices(), learner=learner, scenario_id=self.scenario.id,
                                  node_id=self.current)

    # -- actions
    def choose(self, choice_id: str) -> Step:
        if self.finished:
            raise InvalidChoice("会話はもう終わっています。「やり直す」で最初から始められます。", choice_id)
        if len(self.steps) >= self.max_steps:
            raise InvalidChoice(f"選択が {self.max_steps} 回を超えました。", choice_id)
        choice = self.scenario.choices.get(choice_id)
        if choice is None:
            raise InvalidChoice(f"選択肢「{choice_id}」はこのシナリオにありません。", choice_id)
        if choice.node != self.current:
            raise InvalidChoice(f"選択肢「{choice_id}」は今の場面（{self.current}）の選択肢ではありません。", choice_id)
        if choice.condition is not None and not choice.condition(self._state):
            raise InvalidChoice(f"選択肢「{choice_id}」は今の状況では選べません。", choice_id)
        target, new = transition(self.scenario, self._state, choice)
        order = list(self.scenario.state)
        step = Step(self.current, choice_id, target, tuple(self._state[k] for k in order),
                    tuple(new[k] for k in order), self.clock())
        self.steps.append(step)
        self._state = new
        self.current = target
        return step

    def undo(self) -> bool:
        """Take back the last choice. Returns False when there is nothing to undo."""
        if not self.steps:
            return False
        step = self.steps.pop()
        self._state = dict(zip(self.scenario.state, step.state_before))
        self.current = step.node
        return True

    def restart(self) -> None:
        if self.steps:
            self.restarts += 1
        self.steps.clear()
        self._state = self.scenario.initial_state()
        self.current = self.scenario.start

    # -- views
    def transcript(self) -> list[Line]:
        sc = self.scenario
        lines: list[Line] = []

        def node_line(nid: str) -> None:
            node = sc.nodes[nid]
            kind = node.speaker if node.speaker in ("customer", "narrator") else "cast"
            lines.append(Line(sc.speaker_name(node.speaker), node.text, kind, nid))

        node_line(sc.start)
        for step in self.steps:
            lines.append(Line("あなた", sc.choices[step.choice].text, "learner", step.choice))
            if step.target in sc.nodes:
                node_line(step.target)
            else:
                end = sc.endings[step.target]
                lines.append(Line(sc.speaker_name(end.speaker), end.text, "ending", end.id))
        return lines

    def transcript_text(self) -> str:
        return "\n".join(f"{line.speaker}: {line.text}" for line in self.transcript())

    def score(self) -> ScoreReport:
        chosen = [self.scenario.choices[s.choice] for s in self.steps]
        ending = self.ending
        return score_from_sums(self.scenario, rubric_sums(self.scenario, chosen, ending), ending)

    def feedback(self) -> list[tuple[Choice, str]]:
        """(choice, feedback) for every choice on the path that carries feedback."""
        out = []
        for s in self.steps:
            ch = self.scenario.choices[s.choice]
            if ch.feedback:
                out.append((ch, ch.feedback))
        return out

    def outcome_label(self) -> str:
        end = self.ending
        return OUTCOME_LABELS[end.outcome] if end else "途中"


def replay(scenario: Scenario, choice_ids: Iterable[str], *, require_finished: bool = False) -> Session:
    """Rebuild a session from choice ids. Raises :class:`ReplayError` (Japanese) on any invalid step."""
    session = Session(scenario, clock=lambda: "")
    ids = list(choice_ids)
    if len(ids) > session.max_steps:
        raise ReplayError(f"記録された選択が多すぎます（{len(ids)} 回）。", index=session.max_steps)
    for i, cid in enumerate(ids):
        if not isinstance(cid, str):
            raise ReplayError(f"{i + 1} 番目の記録が選択肢idの文字列ではありません。", str(cid), i)
        try:
            session.choose(cid)
        except InvalidChoice as exc:
            raise ReplayError(f"{i + 1} 番目の選択「{cid}」を再現できません: {exc}", cid, i) from None
    if require_finished and not session.finished:
        raise ReplayError("会話が最後まで進んでいません。", index=len(ids))
    return session
