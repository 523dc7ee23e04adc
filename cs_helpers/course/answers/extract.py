"""Reading learners' answers to one manually graded cell.

The question is found in ``source/<assignment>/*.ipynb`` by its nbgrader ``grade_id``; it must be a manually graded
answer cell (``solution`` and ``grade`` both true). Answers come from ``autograded/<learner>/<assignment>/`` — the
copies ``cs-dojo grade`` made — so the text grouped is exactly the text the gradebook's grades belong to. The
released version of the cell (``release/<assignment>/``) tells an unchanged answer from a real one.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..common import CourseError, cell_source, nbgrader_meta, read_json_notebook, source_notebooks
from .cluster import Answer


@dataclass
class Question:
    assignment: str
    grade_id: str
    notebook: str  # nbgrader's notebook name (file stem)
    max_score: float
    prompt: str = ""  # the markdown cell just above the answer cell
    released: str | None = None


@dataclass
class Answers:
    question: Question
    answers: list[Answer] = field(default_factory=list)
    not_gradable: list[str] = field(default_factory=list)  # learners with a submission but no autograded copy


def manual_questions(root: Path, assignment: str) -> list[Question]:
    """Every manually graded answer cell of the assignment, in notebook order."""
    out = []
    for path in source_notebooks(root, assignment):
        cells = read_json_notebook(path).get("cells", [])
        for i, cell in enumerate(cells):
            meta = nbgrader_meta(cell)
            if meta.get("solution") and meta.get("grade") and meta.get("grade_id"):
                prompt = ""
                for prev in reversed(cells[:i]):
                    if prev.get("cell_type") == "markdown" and not nbgrader_meta(prev).get("grade"):
                        prompt = cell_source(prev).strip()
                        break
                out.append(Question(assignment, meta["grade_id"], path.stem, float(meta.get("points") or 0), prompt,
                                    _released_text(root, assignment, path.name, meta["grade_id"])))
    return out


def find_question(root: Path, assignment: str, grade_id: str) -> Question:
    questions = manual_questions(root, assignment)
    for q in questions:
        if q.grade_id == grade_id:
            return q
    names = ", ".join(q.grade_id for q in questions) or "(なし)"
    raise CourseError(
        f"課題「{assignment}」に手動採点の設問「{grade_id}」がありません。"
        f" 手動採点の設問: {names}。 --question にはこのどれかの grade_id を指定してください。 (unknown question)")


def _released_text(root: Path, assignment: str, filename: str, grade_id: str) -> str | None:
    path = root / "release" / assignment / filename
    if not path.is_file():
        return None
    try:
        texts = _cell_texts(read_json_notebook(path), grade_id)
    except (OSError, ValueError):
        return None
    return texts[0] if texts else None


def _cell_texts(nb: dict, grade_id: str) -> list[str]:
    return [cell_source(c) for c in nb.get("cells", []) if nbgrader_meta(c).get("grade_id") == grade_id]


def read_answers(root: Path, assignment: str, grade_id: str) -> Answers:
    """Each learner's answer (a cell duplicated by copy and paste counts once: the non-blank copies, joined)."""
    question = find_question(root, assignment, grade_id)
    result = Answers(question)
    base = root / "autograded"
    learners = sorted(p.name for p in base.iterdir() if (p / assignment).is_dir()) if base.is_dir() else []
    for learner in learners:
        path = base / learner / assignment / f"{question.notebook}.ipynb"
        if not path.is_file():
            result.not_gradable.append(learner)
            continue
        try:
            texts = _cell_texts(read_json_notebook(path), grade_id)
        except (OSError, ValueError) as exc:
            raise CourseError(f"{path} を読めません: {exc}。 `cs-dojo grade {assignment} --learner {learner} --force`"
                              " で採点し直してください。 (unreadable autograded notebook)") from None
        result.answers.append(_answer(learner, texts, question.released))
    submitted = root / "submitted"
    if submitted.is_dir():
        have = {a.learner for a in result.answers} | set(result.not_gradable)
        result.not_gradable += sorted(p.name for p in submitted.iterdir()
                                      if (p / assignment).is_dir() and p.name not in have)
    return result


def _answer(learner: str, texts: list[str], released: str | None) -> Answer:
    real = [t for t in texts if not Answer.of(learner, t, released).blank]
    text = "\n\n".join(dict.fromkeys(real)) if real else (texts[0] if texts else "")
    return Answer.of(learner, text, released)


def current_answer(root: Path, question: Question, learner: str) -> Answer | None:
    """The learner's answer as it is now in ``autograded/`` (None when the copy is gone)."""
    path = root / "autograded" / learner / question.assignment / f"{question.notebook}.ipynb"
    if not path.is_file():
        return None
    try:
        return _answer(learner, _cell_texts(read_json_notebook(path), question.grade_id), question.released)
    except (OSError, ValueError):
        return None
