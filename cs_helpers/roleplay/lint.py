"""The scenario linter behind ``cs-dojo scenario lint``.

Structure, references, types, bounds and condition syntax are checked while loading (``schema.parse_file``);
this module adds what needs the whole graph, following conditions over (node, state) pairs: unreachable nodes
and endings, dead ends, endless loops, and — with ``strict`` — the shipping rules for course scenarios.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, Union

from .analysis import best_path, explore
from .schema import OUTCOMES, Issue, Scenario, parse_file

NODE_RANGE = (10, 25)
CRITERIA_RANGE = (5, 7)
MIN_ENDINGS = 3


def _fmt_state(state: dict) -> str:
    return ", ".join(f"{k}={str(v).lower() if isinstance(v, bool) else v}" for k, v in state.items())


def lint_scenario(scenario: Scenario, *, strict: bool = False) -> list[Issue]:
    """Graph-level checks on a scenario that loaded without errors."""
    f = scenario.path or f"{scenario.id}.yaml"
    issues: list[Issue] = []
    ex = explore(scenario)
    if ex.truncated:
        issues.append(Issue(f, scenario.key_lines.get("state", 1), "-",
                            "状態の組み合わせが多すぎて、すべては調べられませんでした（状態変数の範囲を狭めてください）",
                            "warning", "too-large"))
    for nid, node in scenario.nodes.items():
        if nid not in ex.nodes_reached:
            issues.append(Issue(f, node.line, nid, f"ノード「{nid}」にはどこからも到達できません", "error",
                                "unreachable-node"))
        elif nid in ex.dead_ends:
            issues.append(Issue(f, node.line, nid,
                                f"状態（{_fmt_state(ex.dead_ends[nid])}）でこの場面に来ると選べる選択肢がありません（行き止まり）。"
                                "条件のない選択肢を1つ置くか、条件を見直してください", "error", "dead-end"))
    for eid, end in scenario.endings.items():
        if eid not in ex.endings_reached:
            issues.append(Issue(f, end.line, eid, f"終わり方「{eid}」にはどの道筋でも到達できません", "error",
                                "unreachable-ending"))
    for cid in ex.loop_choices:
        ch = scenario.choices[cid]
        issues.append(Issue(f, ch.line, ch.node,
                            f"選択肢「{cid}」で同じ場面・同じ状態に戻れるため、会話が終わらないことがあります。"
                            "time_left などの状態を減らして回数を制限してください", "error", "endless-loop"))
    for cid, ch in scenario.choices.items():
        if ch.node in ex.nodes_reached and cid not in ex.choices_offered:
            issues.append(Issue(f, ch.line, ch.node, f"選択肢「{cid}」は到達できるどの状態でも条件を満たさず、表示されません",
                                "warning", "never-offered"))
        elif cid in ex.choices_offered:
            for i, b in enumerate(ch.branches):
                if (cid, i) not in ex.branches_used:
                    issues.append(Issue(f, b.line, ch.node,
                                        f"選択肢「{cid}」の分岐「→ {b.target}」は一度も使われません", "warning",
                                        "unused-branch"))
    skip_paths = bool(ex.loop_choices) or ex.truncated or not ex.endings_reached
    issues.extend(_shipping_rules(scenario, f, strict, skip_paths))
    return issues


def _shipping_rules(scenario: Scenario, f: str, strict: bool, skip_paths: bool) -> list[Issue]:
    sev = "error" if strict else "warning"
    out: list[Issue] = []
    lines = scenario.key_lines
    n = len(scenario.nodes)
    if not NODE_RANGE[0] <= n <= NODE_RANGE[1]:
        out.append(Issue(f, lines.get("nodes", 1), "-", f"ノード数は {NODE_RANGE[0]}〜{NODE_RANGE[1]} にしてください（今は {n}）",
                         sev, "size"))
    outcomes = {e.outcome for e in scenario.endings.values()}
    missing = [o for o in OUTCOMES if o not in outcomes]
    if len(scenario.endings) < MIN_ENDINGS or missing:
        what = f"（{' / '.join(missing)} がありません）" if missing else ""
        out.append(Issue(f, lines.get("endings", 1), "-",
                         f"終わり方は {MIN_ENDINGS} つ以上で success / partial / fail をすべて含めてください{what}", sev,
                         "size"))
    k = len(scenario.criteria)
    if not CRITERIA_RANGE[0] <= k <= CRITERIA_RANGE[1]:
        out.append(Issue(f, lines.get("grading", 1), "grading",
                         f"評価項目は {CRITERIA_RANGE[0]}〜{CRITERIA_RANGE[1]} 個にしてください（今は {k}）", sev, "size"))
    positive = set()
    for ch in list(scenario.choices.values()) + list(scenario.endings.values()):
        positive.update(cid for cid, pts in ch.rubric if pts > 0)
    for c in scenario.criteria:
        if c.baseline < c.max and c.id not in positive:
            out.append(Issue(f, c.line, "grading", f"評価項目「{c.id}」に加点する選択肢がありません（満点を取れません）",
                             sev, "unscored-criterion"))
    if not skip_paths:
        path, total = best_path(scenario)
        if total < 1 - 1e-9:
            out.append(Issue(f, lines.get("grading", 1), "grading",
                             f"すべての評価項目で満点になる道筋がありません（最高 {total:.2f}: {' → '.join(path)}）",
                             sev, "no-full-marks"))
    return out


def collect_files(paths: Iterable[Union[str, Path]]) -> list[Path]:
    """Expand folders to their ``*.yaml`` / ``*.yml`` files (sorted); keep files as given."""
    out: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            out.extend(sorted(list(p.glob("*.yaml")) + list(p.glob("*.yml"))))
        else:
            out.append(p)
    return out


def lint_file(path: Union[str, Path], *, strict: bool = False) -> list[Issue]:
    scenario, issues = parse_file(path)
    if scenario is not None:
        issues = issues + lint_scenario(scenario, strict=strict)
    elif not any(i.code in ("yaml", "io") for i in issues):
        issues = issues + [Issue(str(path), 1, "-", "上のエラーを直すと、到達できないノードや行き止まりなど"
                                 "会話の流れ全体の検査も行います", "warning", "graph-skipped")]
    return sorted(issues, key=lambda i: (i.line, i.severity != "error"))


def lint_paths(paths: Iterable[Union[str, Path]], *, strict: bool = False) -> tuple[list[Path], list[Issue]]:
    files = collect_files(paths)
    issues: list[Issue] = []
    for f in files:
        issues.extend(lint_file(f, strict=strict))
    return files, issues
