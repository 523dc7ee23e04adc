"""The rubric of one manually graded question (``rubrics/<assignment>.yaml`` in the workspace) and the feedback
comment built from the levels a trainer picked.

The comment a learner reads (nbgrader shows ``Comment.manual_comment`` under the answer in the feedback HTML) is the
trainer's own words followed by the rubric criteria, grouped as met (level 2), partly met (level 1) and not yet
met (level 0), so each learner sees which criteria their answer met.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..common import CourseError

MET, PARTLY, NOT_YET = "満たした観点", "一部満たした観点", "これからの観点"


@dataclass
class Criterion:
    id: str
    text: str
    levels: dict[int, str] = field(default_factory=dict)

    @property
    def max_level(self) -> int:
        return max(self.levels) if self.levels else 2


@dataclass
class Rubric:
    assignment: str
    grade_id: str
    title: str
    criteria: list[Criterion]
    path: Path | None = None

    @property
    def max_score(self) -> int:
        return sum(c.max_level for c in self.criteria)

    def check_levels(self, levels: dict[str, int]) -> dict[str, int]:
        """Levels for every criterion, validated (a clear error names the criterion and the allowed levels)."""
        known = {c.id: c for c in self.criteria}
        unknown = sorted(set(levels) - set(known))
        if unknown:
            raise CourseError(f"ルーブリック「{self.title}」にない観点です: {', '.join(unknown)}。"
                              f" 使える観点: {', '.join(known)}。 (unknown criterion)")
        missing = [c.id for c in self.criteria if c.id not in levels]
        if missing:
            raise CourseError(f"観点 {', '.join(missing)} のレベルが選ばれていません。すべての観点のレベルを選んでください。"
                              " (every criterion needs a level)")
        out = {}
        for cid, level in levels.items():
            allowed = sorted(known[cid].levels) or [0, 1, 2]
            value = None
            if isinstance(level, int) and not isinstance(level, bool):
                value = level
            elif isinstance(level, str) and level.strip().isdigit():
                value = int(level.strip())
            if value not in allowed:
                raise CourseError(f"観点「{known[cid].text}」のレベル {level!r} は使えません。"
                                  f" {', '.join(map(str, allowed))} のどれかを選んでください。 (invalid level)")
            out[cid] = value
        return out

    def score(self, levels: dict[str, int]) -> int:
        return sum(self.check_levels(levels).values())

    def comment(self, levels: dict[str, int], note: str = "") -> str:
        levels = self.check_levels(levels)
        buckets: dict[str, list[str]] = {MET: [], PARTLY: [], NOT_YET: []}
        for c in self.criteria:
            lv = levels[c.id]
            key = MET if lv >= c.max_level else (PARTLY if lv > 0 else NOT_YET)
            buckets[key].append(c.text)
        lines = [note.strip()] if note and note.strip() else []
        for key, items in buckets.items():
            if items:
                lines.append(f"{key}: " + "／".join(items))
        return "\n".join(lines)


def load_rubric(root: Path, assignment: str, grade_id: str) -> Rubric | None:
    """The rubric for ``grade_id`` or None when the workspace has no rubric file/entry for it."""
    import yaml
    path = root / "rubrics" / f"{assignment}.yaml"
    if not path.is_file():
        return None
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise CourseError(f"{where}: ルーブリックの YAML を読めません ({getattr(exc, 'problem', exc)})。"
                          " インデントと引用符を確かめてください。 (invalid rubric YAML)") from None
    for q in data.get("questions") or []:
        if isinstance(q, dict) and q.get("grade_id") == grade_id:
            criteria = []
            for c in q.get("criteria") or []:
                levels = {int(k): str(v) for k, v in (c.get("levels") or {}).items()}
                criteria.append(Criterion(str(c.get("id")), str(c.get("text", c.get("id"))), levels))
            if not criteria:
                raise CourseError(f"{path}: 設問 {grade_id} に観点 (criteria) がありません。 (rubric without criteria)")
            return Rubric(assignment, grade_id, str(q.get("title") or grade_id), criteria, path)
    return None
