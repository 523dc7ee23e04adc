"""Keep notebooks clean in git and their navigation generated.

``python -m cs_helpers.maint.nbclean [--check] DIR...`` (``make clean-notebooks``):

* removes outputs, execution counts and editor metadata from every notebook under DIR (nbdev's clean step),
  except the outputs of cells whose first line is ``# NBVAL_CHECK_OUTPUT``: those are the lesson's promise of what a
  learner sees, kept in git and compared by ``pytest --nbval-lax`` (``tests/test_lessons_nbval.py``);
* writes the "previous | contents | next" navigation cell at the end of each numbered lesson in
  ``curriculum/`` (marked with ``nav`` in its metadata, so re-running replaces it instead of adding another).

``--check`` changes nothing and exits 1 listing the notebooks that are not clean.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

KEEP_CELL_METADATA = {"nbgrader", "tags", "cs_dojo", "jupyter"}  # jupyter: folded answer-key cells
KEEP_NB_METADATA = {"kernelspec", "language_info"}
LESSON = re.compile(r"^\d\d(\.\d+)?_.+\.ipynb$")


CHECKED = "# NBVAL_CHECK_OUTPUT"


def is_checked(cell) -> bool:
    return cell.cell_type == "code" and "".join(cell.source).lstrip().startswith(CHECKED)


def clean_notebook(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    for cell in nb.cells:
        if cell.cell_type == "code":
            # A kept output needs a run number (nbval skips "unrun" cells); 1 is stable across runs.
            count = 1 if is_checked(cell) and cell.get("outputs") else None
            if count is None:
                cell.outputs = []
            cell.execution_count = count
            for output in cell.get("outputs", []):
                if output.get("output_type") == "execute_result":
                    output["execution_count"] = count
        cell.metadata = {k: v for k, v in cell.metadata.items() if k in KEEP_CELL_METADATA}
    nb.metadata = {k: v for k, v in nb.metadata.items() if k in KEEP_NB_METADATA}
    if "language_info" in nb.metadata:
        nb.metadata["language_info"] = {"name": nb.metadata["language_info"].get("name", "python")}
    return nb


def lesson_order(path: Path) -> tuple[int, int]:
    """``03_x`` before ``03.1_y`` before ``04_z``."""
    number = path.name.split("_", 1)[0]
    major, _, minor = number.partition(".")
    return int(major), int(minor or 0)


def navigation(lessons: list[Path], index: int) -> str:
    parts = []
    if index > 0:
        parts.append(f"[← {lessons[index - 1].stem}]({lessons[index - 1].name})")
    parts.append("[目次 (README)](../README.md)")
    if index + 1 < len(lessons):
        parts.append(f"[{lessons[index + 1].stem} →]({lessons[index + 1].name})")
    return "---\n" + " | ".join(parts)


def add_navigation(nb: nbformat.NotebookNode, text: str) -> nbformat.NotebookNode:
    nb.cells = [c for c in nb.cells if not c.metadata.get("cs_dojo", {}).get("nav")]
    cell = nbformat.v4.new_markdown_cell(text, metadata={"cs_dojo": {"nav": True}})
    if "id" in cell:
        cell.id = "cs-dojo-navigation"  # fixed id: re-running must not change the file
    nb.cells.append(cell)
    return nb


def process(folder: Path, check: bool) -> list[Path]:
    dirty = []
    lessons = sorted((p for p in folder.glob("*.ipynb") if LESSON.match(p.name)), key=lesson_order) \
        if folder.name == "curriculum" else []
    for path in sorted(folder.rglob("*.ipynb")):
        if ".ipynb_checkpoints" in path.parts:
            continue
        before = path.read_text(encoding="utf-8")
        nb = clean_notebook(nbformat.reads(before, as_version=4))
        if path in lessons:
            nb = add_navigation(nb, navigation(lessons, lessons.index(path)))
        after = nbformat.writes(nb) + "\n"
        if after != before:
            dirty.append(path)
            if not check:
                path.write_text(after, encoding="utf-8")
    return dirty


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cs_helpers.maint.nbclean", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if any notebook is not clean")
    args = parser.parse_args(argv)
    dirty = [p for folder in args.folders for p in process(folder, args.check)]
    for p in dirty:
        print(("not clean: " if args.check else "cleaned: ") + str(p))
    return 1 if (args.check and dirty) else 0


if __name__ == "__main__":
    sys.exit(main())
