"""Whole-scenario analysis: reachable (node, state) configurations, the best path, random walks.

Used by the linter, the tests and the benchmarks — not by learners' notebooks.
"""
from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass, field

from .engine import Session, apply_effects, offered, score_from_sums
from .schema import Scenario

Config = tuple  # (node_id, tuple of state values in declared order)


@dataclass
class Exploration:
    """Everything reachable from the start, following conditions exactly."""
    configs: set = field(default_factory=set)
    edges: dict = field(default_factory=dict)          # config -> [(choice_id, next_config or ("@end", ending_id))]
    nodes_reached: set = field(default_factory=set)
    endings_reached: set = field(default_factory=set)
    choices_offered: set = field(default_factory=set)
    branches_used: set = field(default_factory=set)    # (choice_id, branch_index)
    dead_ends: dict = field(default_factory=dict)      # node_id -> example state dict
    truncated: bool = False
    loop_choices: list = field(default_factory=list)   # choice ids that close a cycle


def explore(scenario: Scenario, limit: int = 200_000) -> Exploration:
    order = list(scenario.state)
    init = scenario.initial_state()
    start = (scenario.start, tuple(init[k] for k in order))
    ex = Exploration()
    ex.configs.add(start)
    queue = deque([start])
    while queue:
        cfg = queue.popleft()
        nid, values = cfg
        ex.nodes_reached.add(nid)
        state = dict(zip(order, values))
        node = scenario.nodes[nid]
        avail = offered(node, state)
        out = []
        if not avail:
            ex.dead_ends.setdefault(nid, state)
        for ch in avail:
            ex.choices_offered.add(ch.id)
            new = apply_effects(scenario, state, ch)
            target = None
            for i, b in enumerate(ch.branches):
                if b.condition is None or b.condition(new):
                    ex.branches_used.add((ch.id, i))
                    target = b.target
                    break
            if target is None:  # impossible for loaded scenarios (unconditional last branch)
                ex.dead_ends.setdefault(nid, state)
                continue
            if target in scenario.endings:
                ex.endings_reached.add(target)
                out.append((ch.id, ("@end", target)))
                continue
            nxt = (target, tuple(new[k] for k in order))
            out.append((ch.id, nxt))
            if nxt not in ex.configs:
                if len(ex.configs) >= limit:
                    ex.truncated = True
                    continue
                ex.configs.add(nxt)
                queue.append(nxt)
        ex.edges[cfg] = out
    ex.loop_choices = _back_edges(start, ex.edges)
    return ex


def _back_edges(start: Config, edges: dict) -> list[str]:
    """Choice ids of edges that close a cycle in the configuration graph (iterative DFS)."""
    WHITE, GREY, BLACK = 0, 1, 2
    colour: dict = {}
    found: list[str] = []
    stack = [(start, iter(edges.get(start, ())))]
    colour[start] = GREY
    while stack:
        cfg, it = stack[-1]
        advanced = False
        for cid, nxt in it:
            if nxt[0] == "@end":
                continue
            c = colour.get(nxt, WHITE)
            if c == GREY:
                if cid not in found:
                    found.append(cid)
            elif c == WHITE and nxt in edges:
                colour[nxt] = GREY
                stack.append((nxt, iter(edges.get(nxt, ()))))
                advanced = True
                break
        if not advanced:
            colour[cfg] = BLACK
            stack.pop()
    return found


# --- best path --------------------------------------------------------------------------------

def _pareto(vectors: dict) -> dict:
    """Keep only vectors not dominated component-wise (valid because scoring is monotone in every sum)."""
    items = sorted(vectors.items(), key=lambda kv: (-sum(kv[0]), len(kv[1][0])))
    kept: dict = {}
    for vec, val in items:
        if any(all(o >= v for o, v in zip(other, vec)) for other in kept):
            continue
        kept[vec] = val
    return kept


def random_walk(scenario: Scenario, rng: random.Random, max_steps: int = 200) -> Session:
    """Play uniformly random available choices until an ending (or ``max_steps``)."""
    s = Session(scenario, clock=lambda: "")
    while not s.finished and len(s.steps) < max_steps:
        avail = s.available_choices()
        if not avail:
            break
        s.choose(rng.choice(avail).id)
    return s



def ending_frontiers(scenario: Scenario) -> dict[str, dict[tuple, list[str]]]:
    """For every reachable ending, the Pareto front of rubric-sum vectors (criteria in declared order) of the paths
    that end there, each with its shortest path. Scores are monotone in every sum *for a fixed ending* (the ending's
    cap differs between endings), so dominated vectors are dropped per ending only. Requires a loop-free scenario."""
    order = list(scenario.state)
    crit = [c.id for c in scenario.criteria]
    memo: dict = {}

    def vec(rubric) -> tuple:
        d = dict(rubric)
        return tuple(d.get(c, 0) for c in crit)

    choice_vec = {cid: vec(ch.rubric) for cid, ch in scenario.choices.items()}
    ending_vec = {eid: vec(e.rubric) for eid, e in scenario.endings.items()}

    def solve(cfg, depth=0) -> dict:
        if cfg in memo:
            return memo[cfg]
        if depth > 400:
            raise RecursionError("scenario has a loop; run the linter")
        nid, values = cfg
        state = dict(zip(order, values))
        out: dict = {}
        for ch in offered(scenario.nodes[nid], state):
            new = apply_effects(scenario, state, ch)
            target = next(b.target for b in ch.branches if b.condition is None or b.condition(new))
            here = choice_vec[ch.id]
            if target in scenario.endings:
                sub = {target: {ending_vec[target]: []}}
            else:
                sub = solve((target, tuple(new[k] for k in order)), depth + 1)
            for ending, vectors in sub.items():
                bucket = out.setdefault(ending, {})
                for v, path in vectors.items():
                    total = tuple(a + b for a, b in zip(here, v))
                    if total not in bucket or len(path) + 1 < len(bucket[total]):
                        bucket[total] = [ch.id] + path
        memo[cfg] = {e: {v: p for v, (p, _e) in _pareto({v: (p, e) for v, p in b.items()}).items()}
                     for e, b in out.items()}
        return memo[cfg]

    init = scenario.initial_state()
    return solve((scenario.start, tuple(init[k] for k in order)))


def _reports(scenario: Scenario, frontiers: dict):
    crit = [c.id for c in scenario.criteria]
    for ending, vectors in frontiers.items():
        for v, path in vectors.items():
            yield ending, path, score_from_sums(scenario, dict(zip(crit, v)), scenario.endings[ending])


def best_path(scenario: Scenario, frontiers: dict | None = None) -> tuple[list[str], float]:
    """The path with the highest total score (the ending's cap included; ties: shortest, then alphabetical).
    Requires a loop-free scenario."""
    best: tuple | None = None
    for _ending, path, report in _reports(scenario, frontiers if frontiers is not None else ending_frontiers(scenario)):
        key = (round(report.total, 12), -len(path))
        if best is None or key > best[0] or (key == best[0] and path < best[1]):
            best = (key, path, report.total)
    if best is None:
        return [], 0.0
    return best[1], best[2]


def best_by_ending(scenario: Scenario, frontiers: dict | None = None) -> dict[str, tuple[list[str], float]]:
    """For every reachable ending: a path to it with the highest *uncapped* total (the criteria alone, before the
    ending's cap) and that total. The linter uses it to find endings whose rubric disagrees with their outcome
    (a fail ending whose criteria would pass, a partial ending whose criteria reach full marks). Loop-free only."""
    best: dict[str, tuple[list[str], float]] = {}
    for ending, path, report in _reports(scenario, frontiers if frontiers is not None else ending_frontiers(scenario)):
        if ending not in best or report.uncapped > best[ending][1] + 1e-12 or (
                abs(report.uncapped - best[ending][1]) <= 1e-12 and len(path) < len(best[ending][0])):
            best[ending] = (path, report.uncapped)
    return best
