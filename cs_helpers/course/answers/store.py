"""The grouping of one question and what has been graded, kept in ``answers/<assignment>/<grade_id>.json``.

:class:`GradingState` is the one place that changes groups (group, regroup, merge, split, move) and grades them
(through :mod:`.writer`). The panel widget and the command line both drive it; the file is written atomically
after every change, so a closed browser tab or a crash loses nothing, and grades that could not reach a busy
gradebook stay in ``pending`` until :meth:`GradingState.flush` sends them.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from ..common import CourseError, atomic_write_text, course_root
from .cluster import BLANK_ID, DEFAULT_THRESHOLD, Answer, group_answers
from .extract import Answers, Question, read_answers
from .normalise import display_text
from .rubric import Rubric, load_rubric
from .writer import Entry, WriteResult, write_grades

VERSION = 1


def store_path(root: Path, assignment: str, grade_id: str) -> Path:
    return root / "answers" / assignment / f"{grade_id}.json"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass
class GradeOutcome:
    group: str
    score: float
    comment: str
    result: WriteResult


class GradingState:
    """Groups of one question, their grades and the learners' answers as grouped."""

    def __init__(self, root: Path, answers: Answers, data: dict, rubric: Rubric | None):
        self.root = root
        self.question: Question = answers.question
        self.answers: dict[str, Answer] = {a.learner: a for a in answers.answers}
        self.not_gradable = list(answers.not_gradable)
        self.rubric = rubric
        self.data = data

    # --- opening -------------------------------------------------------------------------------------------------
    @classmethod
    def open(cls, *, course_dir: str | Path = ".", assignment: str, question: str,
             threshold: float | None = None, regroup: bool = False) -> "GradingState":
        """Open the saved grouping (grouping the answers first when there is none, or ``regroup``)."""
        root = course_root(course_dir)
        answers = read_answers(root, assignment, question)
        if not answers.answers:
            raise CourseError(
                f"課題「{assignment}」の採点済みの提出物 (autograded/) がありません。"
                f" 先に `cs-dojo grade {assignment}` を実行してください。 (no autograded submissions)")
        path = store_path(root, assignment, question)
        data = None
        if path.is_file():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except ValueError as exc:
                raise CourseError(f"{path}: 保存したグループを読めません ({exc})。ファイルを別名に移してから"
                                  " `cs-dojo answers group` でグループを作り直してください (採点済みの点数は gradebook に残っています)。"
                                  " (corrupt grouping file)") from None
        fresh = data is None
        if fresh:
            data = {"version": VERSION, "assignment": assignment, "question": question,
                    "notebook": answers.question.notebook, "threshold": DEFAULT_THRESHOLD, "groups": [],
                    "digests": {}, "grades": {}, "written": {}, "pending": {}, "conflicts": {}}
        if threshold is not None:
            data["threshold"] = float(threshold)
        state = cls(root, answers, data, load_rubric(root, assignment, question))
        if fresh or regroup or state._roster_changed():
            state.regroup()
        return state

    def _roster_changed(self) -> bool:
        grouped = {lid for g in self.data["groups"] for lid in g["learners"]}
        return grouped != set(self.answers)

    # --- views ---------------------------------------------------------------------------------------------------
    @property
    def path(self) -> Path:
        return store_path(self.root, self.question.assignment, self.question.grade_id)

    @property
    def groups(self) -> list[dict]:
        """Groups, largest first (the blank group last)."""
        return sorted(self.data["groups"], key=lambda g: (g["id"] == BLANK_ID, -len(g["learners"]), g["id"]))

    def group(self, gid: str) -> dict:
        for g in self.data["groups"]:
            if g["id"] == gid:
                return g
        raise CourseError(f"グループ「{gid}」はありません。 使えるグループ: "
                          f"{', '.join(g['id'] for g in self.groups)}。 (unknown group)")

    def group_of(self, learner: str) -> dict:
        for g in self.data["groups"]:
            if learner in g["learners"]:
                return g
        raise CourseError(f"受講者「{learner}」はこの設問の回答者にいません。 (unknown learner)")

    def answer_text(self, learner: str) -> str:
        return display_text(self.answers[learner].text) if learner in self.answers else ""

    def is_graded(self, learner: str) -> bool:
        w = self.data["written"].get(learner)
        if not w or learner in self.data["pending"]:
            return False
        g = self.group_of(learner)
        grade = self.data["grades"].get(g["id"])
        return bool(grade) and w.get("group") == g["id"] and w.get("stamp") == grade.get("stamp") \
            and w.get("digest") == self.data["digests"].get(learner)

    def progress(self) -> tuple[int, int]:
        """(answers graded, answers in total)."""
        total = len(self.answers)
        return sum(1 for lid in self.answers if self.is_graded(lid)), total

    def to_json(self) -> dict:
        return {"assignment": self.question.assignment, "question": self.question.grade_id,
                "groups": [{"id": g["id"], "learners": list(g["learners"]), "representative": g["representative"],
                            "size": len(g["learners"])} for g in self.groups],
                "not_gradable": list(self.not_gradable)}

    # --- grouping ------------------------------------------------------------------------------------------------
    def regroup(self) -> list[dict]:
        """Group again: graded or edited groups are anchors (kept, may gain similar new answers); the rest is
        regrouped. A learner whose answer changed leaves its anchor and is grouped afresh."""
        digests = self.data["digests"]
        anchors = {}
        for g in self.data["groups"]:
            if g.get("fixed") and g["id"] != BLANK_ID:
                keep = [lid for lid in g["learners"] if lid in self.answers
                        and digests.get(lid) == self.answers[lid].digest]
                if keep:
                    anchors[g["id"]] = keep
        groups = group_answers(self.answers.values(), threshold=float(self.data["threshold"]), anchors=anchors)
        out = [{"id": g.id, "learners": g.learners, "representative": g.representative, "kind": g.kind,
                "fixed": g.id in anchors} for g in groups]
        # grades of groups that no longer exist are dropped (their learners' gradebook rows stay as written); a
        # graded group that gained new similar answers shows them as not yet graded: grading it again covers them
        alive = {g["id"] for g in out}
        self.data["grades"] = {k: v for k, v in self.data["grades"].items()
                               if k in alive and (k in anchors or k == BLANK_ID)}
        self.data["groups"] = out
        self.data["digests"] = {lid: a.digest for lid, a in self.answers.items()}
        self._save()
        return self.groups

    def _new_id(self, used: set[str]) -> str:
        n = 1
        while f"g{n:02d}" in used:
            n += 1
        return f"g{n:02d}"

    def merge(self, target: str, *others: str) -> dict:
        """Put the answers of ``others`` into ``target`` (which keeps its id and grade)."""
        tg = self.group(target)
        for gid in others:
            if gid == target:
                continue
            og = self.group(gid)
            tg["learners"] = sorted(set(tg["learners"]) | set(og["learners"]))
            self.data["groups"].remove(og)
            self.data["grades"].pop(gid, None)
        tg["fixed"] = True
        tg["kind"] = "similar"
        self._save()
        self._apply_group_grades()
        return tg

    def move(self, learner: str, target: str) -> dict:
        """Move one answer into group ``target`` (``"new"``: a group of its own). Returns the group it is in now."""
        src = self.group_of(learner)
        if target == "new":
            used = {g["id"] for g in self.data["groups"]}
            dest = {"id": self._new_id(used), "learners": [], "representative": self.answer_text(learner),
                    "kind": "single", "fixed": True}
            self.data["groups"].append(dest)
        else:
            dest = self.group(target)
        if dest is src:
            return dest
        src["learners"] = [x for x in src["learners"] if x != learner]
        dest["learners"] = sorted(set(dest["learners"]) | {learner})
        dest["fixed"] = True
        src["fixed"] = src["id"] != BLANK_ID
        if not src["learners"]:
            self.data["groups"].remove(src)
            self.data["grades"].pop(src["id"], None)
        elif src["representative"] == self.answer_text(learner):
            src["representative"] = self.answer_text(src["learners"][0])
        self._save()
        self._apply_group_grades()
        return dest

    def split(self, gid: str, learners: list[str]) -> dict:
        """Take ``learners`` out of group ``gid`` into a new group (returned)."""
        g = self.group(gid)
        missing = [x for x in learners if x not in g["learners"]]
        if missing or not learners:
            raise CourseError(f"グループ「{gid}」にいない受講者です: {', '.join(missing) or '(指定なし)'}。 (not in group)")
        if set(learners) == set(g["learners"]):
            return g
        first = self.move(learners[0], "new")
        for lid in learners[1:]:
            self.move(lid, first["id"])
        return self.group(first["id"])

    # --- grading -------------------------------------------------------------------------------------------------
    def grade(self, gid: str, *, levels: dict[str, int] | None = None, note: str = "", score: float | None = None,
              overwrite: bool = False, timeout: float = 30.0) -> GradeOutcome:
        """Grade every answer of group ``gid`` once: rubric ``levels`` (criterion id → level) give the score and
        the comment's list of criteria met; without a rubric pass ``score``. Writes the gradebook."""
        g = self.group(gid)
        if levels is not None:
            if self.rubric is None:
                raise CourseError(f"rubrics/{self.question.assignment}.yaml に設問「{self.question.grade_id}」の"
                                  "ルーブリックがありません。 score= で点数を直接指定してください。 (no rubric)")
            levels = self.rubric.check_levels(levels)
            total = float(self.rubric.score(levels))
            comment = self.rubric.comment(levels, note)
        elif score is not None:
            total, comment = float(score), note.strip()
        else:
            raise CourseError("ルーブリックのレベル (levels) か点数 (score) を指定してください。 (nothing to grade with)")
        if total > self.question.max_score + 1e-9:
            raise CourseError(f"{total:g} 点は設問の配点 {self.question.max_score:g} 点を超えています。 (score above max)")
        stamp = _now()
        self.data["grades"][gid] = {"levels": levels, "score": total, "note": note, "comment": comment,
                                    "stamp": stamp}
        g["fixed"] = g["id"] != BLANK_ID
        result = self._write(g["learners"], overwrite=overwrite, timeout=timeout)
        return GradeOutcome(gid, total, comment, result)

    def flush(self, *, timeout: float = 30.0) -> WriteResult:
        """Send grades that could not be written before (the gradebook was busy)."""
        return self._write(sorted(self.data["pending"]), timeout=timeout)

    def _apply_group_grades(self) -> None:
        """Learners moved into a graded group get its grade; nothing else is written."""
        todo = [lid for g in self.data["groups"] if g["id"] in self.data["grades"] for lid in g["learners"]
                if not self.is_graded(lid) and lid not in self.data["conflicts"]]
        if todo:
            self._write(todo)

    def _write(self, learners: list[str], *, overwrite: bool = False, timeout: float = 30.0) -> WriteResult:
        entries, stamps = [], {}
        for lid in learners:
            g = self.group_of(lid)
            grade = self.data["grades"].get(g["id"])
            if not grade:
                self.data["pending"].pop(lid, None)
                continue
            prev = self.data["written"].get(lid, {}).get("score")
            entries.append(Entry(lid, grade["score"], grade["comment"], self.data["digests"][lid], prev))
            stamps[lid] = (g["id"], grade["stamp"])
        result = write_grades(self.root, self.question, entries, overwrite=overwrite, timeout=timeout)
        by = {e.learner: e for e in entries}
        for lid in result.written:
            gid, stamp = stamps[lid]
            self.data["written"][lid] = {"score": by[lid].score, "group": gid, "stamp": stamp,
                                         "digest": by[lid].digest, "at": _now()}
            self.data["pending"].pop(lid, None)
            self.data["conflicts"].pop(lid, None)
        for lid, why in result.conflicts.items():
            self.data["conflicts"][lid] = why
            self.data["pending"].pop(lid, None)
        for lid in result.pending:
            self.data["pending"][lid] = {"group": stamps[lid][0], "at": _now()}
        self._save()
        return result

    def _save(self) -> None:
        """Write the state; refuse when another panel (a second browser tab, another kernel) saved since we
        loaded, so neither silently undoes the other's groups. Grades already written stay in the gradebook."""
        lock = self.path.with_name(f".{self.path.name}.lock")
        lock.parent.mkdir(parents=True, exist_ok=True)
        import fcntl
        with open(lock, "a+", encoding="utf-8") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                on_disk = json.loads(self.path.read_text(encoding="utf-8")).get("revision", 0) \
                    if self.path.is_file() else 0
            except ValueError:
                on_disk = 0
            mine = self.data.get("revision", 0)
            if on_disk != mine:
                raise CourseError(
                    f"{self.path} は別の画面 (ほかのタブやノートブック) で変更されました。この画面の変更は保存していません"
                    " (gradebook に書き込んだ点数は残っています)。パネルを開き直してから続けてください。"
                    " (grouping changed elsewhere; reopen the panel)")
            self.data["revision"] = mine + 1
            atomic_write_text(self.path, json.dumps(self.data, ensure_ascii=False, indent=1) + "\n")


def group_question(*, course_dir: str | Path = ".", assignment: str, question: str,
                   threshold: float | None = None, json_path: str | Path | None = None) -> GradingState:
    """``cs-dojo answers group``: (re)group one question's answers, keeping graded or edited groups; optionally
    write the groups as JSON. Returns the state (``.to_json()`` is what the JSON file holds)."""
    state = GradingState.open(course_dir=course_dir, assignment=assignment, question=question, threshold=threshold,
                              regroup=True)
    if json_path:
        out = Path(json_path).expanduser()
        atomic_write_text(out, json.dumps(state.to_json(), ensure_ascii=False, indent=1) + "\n")
    return state
