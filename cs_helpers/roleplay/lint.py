"""The scenario linter behind ``cs-dojo scenario lint``.

Structure, references, types, bounds and condition syntax are checked while loading (``schema.parse_file``);
this module adds what needs the whole graph, following conditions over (node, state) pairs: unreachable nodes
and endings, dead ends, endless loops, the shipping rules for course scenarios and the gameability rules (a
scenario a learner can pass without judgement). Shipping and gameability problems are warnings, and errors with
``strict`` (``cs-dojo scenario lint --strict``). Each rule is documented in ``datasets/scenarios/README.md``.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Iterable, Union

from .analysis import best_by_ending, best_path, ending_frontiers, explore
from .engine import offered, replay
from .schema import OUTCOMES, Issue, Scenario, parse_file

NODE_RANGE = (10, 25)
CRITERIA_RANGE = (5, 7)
MIN_ENDINGS = 3

# Gameability. Politeness markers: a learner who always picks the politest option must not pass because of them.
POLITE_MARKERS = ("ありがとうございます", "伺", "申し訳", "恐れ入", "いたします", "いただけ", "させてください", "失礼",
                  "よろしいでしょうか")
# Words that, as a part of a choice id (split at "_"), tell which choice is judged right or wrong. Ids end up in
# the page (a CSS class) and in the saved record, so they stay neutral, e.g. "<node>_a".
VERDICT_WORDS = frozenset("""
good bad best better worst wrong right correct incorrect ideal perfect poor weak strong model fail failure success
win lose mistake error excellent great nice ok okay
promise promises overpromise overcommit discount excuse badmouth insist vague blind guess honest dishonest lie
blame reassure lecture pushy rude trap safe risky smart lazy rush rushed dismiss ignore deflect defend retract
apologise apologize apology own listen clarify empathy empathise empathize polite impolite cold warm
""".split())
VERDICT_PHRASES = ("quick_yes", "we_do_it", "do_it", "ask_why", "user_error", "accept_all", "take_back",
                   "step_back", "price_only", "try_best")
_TOKEN_SPLIT = re.compile(r"_+")


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
            issues.append(Issue(f, node.line, nid, f"ノード「{nid}」にはどこからも到達できません。ほかの場面の選択肢の "
                                f"next に「{nid}」を書くか、不要なら削除してください", "error", "unreachable-node"))
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
    frontiers = None if skip_paths else ending_frontiers(scenario)
    issues.extend(_shipping_rules(scenario, f, strict, frontiers))
    issues.extend(gameability(scenario, strict=strict, frontiers=frontiers))
    return issues


def verdict_words(choice_id: str) -> list[str]:
    """The verdict words (``VERDICT_WORDS`` / ``VERDICT_PHRASES``) a choice id contains, in order."""
    tokens = [t for t in _TOKEN_SPLIT.split(choice_id) if t]
    found = [t for t in tokens if t in VERDICT_WORDS]
    joined = "_" + "_".join(tokens) + "_"
    found += [p for p in VERDICT_PHRASES if f"_{p}_" in joined]
    return found


def is_polite(text: str) -> bool:
    return any(m in text for m in POLITE_MARKERS)


def gameability(scenario: Scenario, *, strict: bool = False, frontiers: dict | None = None) -> list[Issue]:
    """The rules that make blind clicking fail (see the scenario README, 「攻略されないシナリオ」). The path rules
    need ``frontiers`` (:func:`ending_frontiers`; None for a scenario with loops, which are reported elsewhere)."""
    f = scenario.path or f"{scenario.id}.yaml"
    sev = "error" if strict else "warning"
    out: list[Issue] = []
    for cid, ch in scenario.choices.items():
        words = verdict_words(cid)
        if words:
            out.append(Issue(f, ch.line, ch.node, f"選択肢id「{cid}」が良し悪しを表す語（{'、'.join(words)}）を含んでいます。"
                             "idはページと保存される記録に出るため、「<場面>_a」のような中立な名前にしてください", sev,
                             "verdict-id"))
    polite = [ch for ch in scenario.choices.values() if is_polite(ch.text)]
    if polite and all(sum(p for _c, p in ch.rubric) > 0 for ch in polite):
        out.append(Issue(f, scenario.key_lines.get("nodes", 1), "-",
                         f"丁寧な言い回し（{'・'.join(POLITE_MARKERS[:5])} など）が、点の入る選択肢にだけ使われています"
                         f"（{len(polite)} 個すべて）。丁寧だが誤りの選択肢（例: 丁寧な言葉での約束しすぎ）も入れてください",
                         sev, "gameable-politeness"))
    if frontiers is None:
        return out
    path, _total = best_path(scenario, frontiers)
    if path:
        out.extend(_length_rule(scenario, f, path, sev))
    for eid, (epath, uncapped) in sorted(best_by_ending(scenario, frontiers).items()):
        end = scenario.endings[eid]
        if end.outcome == "fail" and uncapped >= scenario.pass_threshold - 1e-9:
            out.append(Issue(f, end.line, eid, f"失敗の終わり方「{eid}」に、評価項目だけなら合格点（{scenario.pass_threshold:g}）"
                             f"に届く道筋があります（{uncapped:.2f}: {' → '.join(epath)}）。エンジンが上限で抑えますが、"
                             "配点が終わり方と食い違っています。失敗につながる選択を減点するか、終わり方に rubric を付けてください",
                             sev, "fail-can-pass"))
        if end.outcome == "partial" and uncapped >= 1 - 1e-9:
            out.append(Issue(f, end.line, eid, f"部分的な成功の終わり方「{eid}」に、評価項目だけなら満点になる道筋があります"
                             f"（{' → '.join(epath)}）。足りなかった行動を評価項目で区別できるようにしてください", sev,
                             "partial-full-marks"))
    return out


def _length_rule(scenario: Scenario, f: str, path: list[str], sev: str) -> list[Issue]:
    """The full-marks path's choice must not be the longest (or the shortest) offered at more than half of its
    decisions (nodes with two or more offered choices)."""
    session = replay(scenario, [])
    longest, shortest, decisions = [], [], 0
    for cid in path:
        avail = offered(scenario.nodes[session.current], session.state)
        if len(avail) >= 2:
            decisions += 1
            mine = len(scenario.choices[cid].text)
            others = [len(c.text) for c in avail if c.id != cid]
            if mine >= max(others):
                longest.append(cid)
            if mine <= min(others):
                shortest.append(cid)
        session.choose(cid)
    out = []
    for label, hits, code in (("最も長い", longest, "gameable-length"), ("最も短い", shortest, "gameable-length")):
        if decisions and len(hits) * 2 > decisions:
            out.append(Issue(f, scenario.key_lines.get("nodes", 1), "-",
                             f"満点の道筋の {decisions} 場面のうち {len(hits)} 場面で、正解が{label}選択肢です"
                             f"（{'、'.join(hits)}）。長さで当てられないよう、短く的確な正解と、長く丁寧な誤りを混ぜてください",
                             sev, code))
    return out


def _shipping_rules(scenario: Scenario, f: str, strict: bool, frontiers: dict | None) -> list[Issue]:
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
    if frontiers is not None:
        path, total = best_path(scenario, frontiers)
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
    # the "fix the errors above first" note goes after the errors it refers to
    return sorted(issues, key=lambda i: (i.code == "graph-skipped", i.line, i.severity != "error"))


def lint_paths(paths: Iterable[Union[str, Path]], *, strict: bool = False) -> tuple[list[Path], list[Issue]]:
    files = collect_files(paths)
    issues: list[Issue] = []
    for f in files:
        issues.extend(lint_file(f, strict=strict))
    return files, issues
