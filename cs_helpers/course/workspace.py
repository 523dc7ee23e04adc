"""``cs-dojo init DIR``: create (or top up) a course workspace.

The workspace is an nbgrader course root. ``init`` copies:

* ``grading/nbgrader_config.py`` → ``DIR/nbgrader_config.py``
* every assignment folder of ``exercises/`` (and the sample assignment ``00_sample`` from
  ``grading/workspace_template/``) → ``DIR/source/<assignment>/``
* ``grading/rubrics/*.yaml`` → ``DIR/rubrics/`` (graders read them beside the formgrader)
* lesson notebooks of ``curriculum/`` (not ``facilitator/``) → ``DIR/lessons/`` (input of ``cs-dojo personalise``)
* ``grading/workspace_template/sample/`` → ``DIR/sample/`` (a roster and returned notebooks for the quick start)
* ``grading/workspace_template/grading_view.ipynb`` → ``DIR/grading_view.ipynb`` (grade free text a group at a time)

and creates an empty ``roster.csv`` and ``gradebook.db``. Running it again on an existing workspace adds what is
missing and never overwrites an assignment, rubric or lesson already there (``force=True`` refreshes them).
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from .. import paths
from .common import CONFIG_NAME, ROSTER_FIELDS, ROSTER_NAME, CourseError, atomic_write_text, db_url

TEMPLATE_DIRNAME = "workspace_template"
GRADING_VIEW = "grading_view.ipynb"  # the answer-groups grading view (cs_helpers.course.answers.panel)
_IGNORE = shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__", "*.pyc", ".DS_Store")


@dataclass
class InitResult:
    root: Path
    created: bool
    assignments_added: list[str] = field(default_factory=list)
    assignments_kept: list[str] = field(default_factory=list)
    rubrics: list[str] = field(default_factory=list)
    lessons: list[str] = field(default_factory=list)


def grading_dir() -> Path:
    return paths.grading_dir()


def template_dir() -> Path:
    return grading_dir() / TEMPLATE_DIRNAME


def _assignment_dirs(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir()
                  if p.is_dir() and not p.name.startswith((".", "_")) and any(p.glob("*.ipynb")))


def init_course(directory: str | Path, *, exercises: str | Path | None = None, curriculum: str | Path | None = None,
                sample: bool = True, force: bool = False) -> InitResult:
    """Create or top up the course workspace ``directory``. Returns what was added."""
    root = Path(directory).expanduser().resolve()
    config_src = grading_dir() / CONFIG_NAME
    if not config_src.is_file():
        raise CourseError(f"{config_src} が見つかりません。CS Dojo のチェックアウトか、pip install したパッケージから実行してください (CS_DOJO_ROOT が古いフォルダを指していないかも確認してください)。")
    exercises_dir = Path(exercises).expanduser().resolve() if exercises else paths.exercises_dir()
    curriculum_dir = Path(curriculum).expanduser().resolve() if curriculum else paths.curriculum_dir()
    if exercises and not exercises_dir.is_dir():
        raise CourseError(f"課題フォルダ {exercises_dir} がありません。 (--exercises must be a folder)")
    if curriculum and not curriculum_dir.is_dir():
        raise CourseError(f"教材フォルダ {curriculum_dir} がありません。 (--curriculum must be a folder)")
    if root.exists() and not root.is_dir():
        raise CourseError(f"{root} はファイルです。新しいフォルダ名を指定してください。")
    created = not (root / CONFIG_NAME).exists()
    if created and root.exists() and any(root.iterdir()):
        raise CourseError(
            f"{root} は空ではなく、講座ワークスペースでもありません。空のフォルダか新しいフォルダ名を指定してください。"
            " (refusing to initialise a non-empty folder)")
    root.mkdir(parents=True, exist_ok=True)
    result = InitResult(root=root, created=created)

    if created or force:
        shutil.copy2(config_src, root / CONFIG_NAME)
    for sub in ("source", "release", "submitted", "autograded", "feedback", "rubrics", "lessons", "personalised"):
        (root / sub).mkdir(exist_ok=True)

    sources = _assignment_dirs(exercises_dir)
    if sample:
        sources += _assignment_dirs(template_dir() / "source")
    for src in sources:
        dest = root / "source" / src.name
        if dest.exists() and not force:
            result.assignments_kept.append(src.name)
            continue
        if dest.exists():
            shutil.rmtree(dest)
        shutil.copytree(src, dest, ignore=_IGNORE)
        result.assignments_added.append(src.name)

    rubric_sources = sorted((grading_dir() / "rubrics").glob("*.yaml"))
    if sample:
        rubric_sources += sorted((template_dir() / "rubrics").glob("*.yaml"))
    for rubric in rubric_sources:
        dest = root / "rubrics" / rubric.name
        if force or not dest.exists():
            shutil.copy2(rubric, dest)
        result.rubrics.append(rubric.name)

    lesson_roots = [curriculum_dir] + ([template_dir() / "lessons"] if sample else [])
    for base in lesson_roots:
        if not base.is_dir():
            continue
        for nb in sorted(base.rglob("*.ipynb")):
            rel = nb.relative_to(base)
            if any(part in {"facilitator", ".ipynb_checkpoints"} or part.startswith(".") for part in rel.parts):
                continue
            dest = root / "lessons" / rel
            if force or not dest.exists():
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(nb, dest)
            result.lessons.append(str(rel))

    view = template_dir() / GRADING_VIEW
    if view.is_file() and (force or not (root / GRADING_VIEW).exists()):
        shutil.copy2(view, root / GRADING_VIEW)

    if sample and (template_dir() / "sample").is_dir():
        shutil.copytree(template_dir() / "sample", root / "sample", ignore=_IGNORE, dirs_exist_ok=True)

    if not (root / ROSTER_NAME).exists():
        atomic_write_text(root / ROSTER_NAME, ",".join(ROSTER_FIELDS) + "\n")
    from nbgrader.api import Gradebook
    with Gradebook(db_url(root), "cs-dojo"):
        pass  # creates the tables
    return result
