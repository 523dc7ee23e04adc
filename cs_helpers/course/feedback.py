"""``cs-dojo feedback ASSIGNMENT``: one HTML feedback page per learner, without hidden tests.

Runs ``nbgrader generate_feedback`` with the course config, whose ``HideHiddenTests`` preprocessor removes hidden-test
regions and the outputs of cells that contain them (a failing ``assert`` would print its own line). Learners whose
grading failed get a short page saying why, so every learner receives something. Then every page is searched for
the hidden tests' lines; a page that contains one is deleted and the command fails.

Writes ``feedback/<learner>/<assignment>/<notebook>.html`` (nbgrader's layout) and, with ``to``, a flat copy
``<to>/<learner>_<assignment>_<notebook>.html`` ready to attach to mail.
"""
from __future__ import annotations

import html
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from .common import (HIDDEN_MARKERS, CourseError, atomic_write_text, course_lock, course_root, find_leaks,
                     hidden_test_snippets, read_grading_log, read_roster, run_nbgrader, source_notebooks)


@dataclass
class FeedbackResult:
    assignment: str
    pages: dict[str, list[Path]] = field(default_factory=dict)
    failed_pages: list[str] = field(default_factory=list)
    leaks_removed: list[str] = field(default_factory=list)
    copied_to: Path | None = None


_FAILED_PAGE = """<!DOCTYPE html>
<html lang="ja"><head><meta charset="utf-8"><title>{assignment} フィードバック ({learner})</title>
<style>body{{font-family:sans-serif;max-width:46em;margin:2em auto;line-height:1.7}}
.box{{border:1px solid #d9534f;border-radius:6px;padding:1em 1.2em;background:#fdf3f2}}</style></head>
<body><h1>{assignment} のフィードバック</h1>
<p>{name} さん ({learner})</p>
<div class="box"><p>提出されたノートブックは自動採点を最後まで実行できなかったため、自動採点分は 0 点として記録されています。</p>
<p>理由: {reason}</p>
<p>ノートブックを上から順に実行し直して、エラーや止まらないセルがないかを確かめてから、講師に相談してください。
講師が確認して再採点することもできます。</p></div>
</body></html>
"""


def generate_feedback(*, course_dir: str | Path = ".", assignment: str, to: str | Path | None = None) -> FeedbackResult:
    root = course_root(course_dir)
    notebooks = source_notebooks(root, assignment)
    autograded = sorted(p.name for p in (root / "autograded").iterdir() if (p / assignment).is_dir()) \
        if (root / "autograded").is_dir() else []
    log = read_grading_log(root).get(assignment, {})
    failed = sorted(lid for lid, entry in log.items() if entry.get("status") == "failed")
    if not autograded and not failed:
        raise CourseError(f"課題「{assignment}」の採点結果がありません。先に `cs-dojo grade {assignment}` を実行してください。")
    result = FeedbackResult(assignment)
    names = {lr.learner_id: lr.name for lr in read_roster(root)}
    with course_lock(root, f"feedback {assignment}"):
        if autograded:
            run_nbgrader(root, "generate_feedback", assignment, "--force")
        for learner in failed:
            if learner in autograded:
                continue
            page = root / "feedback" / learner / assignment / "grading_failed.html"
            atomic_write_text(page, _FAILED_PAGE.format(
                assignment=html.escape(assignment), learner=html.escape(learner),
                name=html.escape(names.get(learner, learner)), reason=html.escape(log[learner].get("reason", ""))))
            result.failed_pages.append(learner)
    snippets = hidden_test_snippets(notebooks)
    for learner_dir in sorted((root / "feedback").iterdir()):
        folder = learner_dir / assignment
        if not folder.is_dir():
            continue
        pages = sorted(folder.glob("*.html"))
        leaks = find_leaks(pages, snippets, markers=HIDDEN_MARKERS)
        for leak in leaks:
            page = Path(leak.split(": ", 1)[0])
            if page.exists():
                page.unlink()
            result.leaks_removed.append(leak)
        kept = [p for p in pages if p.exists()]
        if kept:
            result.pages[learner_dir.name] = kept
    if result.leaks_removed:
        raise CourseError("フィードバックに非公開テストが含まれていたため、該当ページを削除しました:\n  "
                          + "\n  ".join(result.leaks_removed))
    if to:
        dest = Path(to).expanduser().resolve()
        dest.mkdir(parents=True, exist_ok=True)
        for learner, pages in result.pages.items():
            for page in pages:
                shutil.copy2(page, dest / f"{learner}_{assignment}_{page.name}")
        result.copied_to = dest
    return result
