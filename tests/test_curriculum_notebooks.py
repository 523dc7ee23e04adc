"""Every lesson notebook runs top to bottom in a fresh kernel, offline, without errors or warnings."""
from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from tests import notebook_runner

ROOT = Path(__file__).resolve().parents[1]
LESSONS = sorted((ROOT / "curriculum").glob("*.ipynb"))
TIMINGS: dict[str, float] = {}


def test_curriculum_has_lessons():
    assert any(p.name.startswith("00_") for p in LESSONS), "curriculum/00_orientation.ipynb is missing"


@pytest.mark.slow
@pytest.mark.parametrize("lesson", LESSONS, ids=[p.stem for p in LESSONS])
def test_lesson_executes_offline(lesson: Path, tmp_path: Path):
    workdir = notebook_runner.copy_course(ROOT, tmp_path)
    run = notebook_runner.execute(workdir / lesson.name, workdir)
    TIMINGS[lesson.name] = run.seconds
    print(f"\n{lesson.name}: {run.seconds:.1f} s")
    assert not run.network, f"{lesson.name} tried to use the network: {run.network}"
    assert not run.errors, f"{lesson.name} failed:\n" + "\n".join(run.errors)


@pytest.mark.parametrize("lesson", LESSONS, ids=[p.stem for p in LESSONS])
def test_lesson_shape(lesson: Path):
    """Learning goals and a time estimate up front; no nbgrader cell is tagged `parameters`."""
    nb = nbformat.read(lesson, as_version=4)
    head = "\n".join(c.source for c in nb.cells[:3] if c.cell_type == "markdown")
    assert "所要時間" in head or "目安" in head, f"{lesson.name}: no estimated time in the opening cells"
    for cell in nb.cells:
        tags = cell.get("metadata", {}).get("tags", [])
        assert not ("parameters" in tags and "nbgrader" in cell.get("metadata", {})), \
            f"{lesson.name}: an nbgrader cell is tagged parameters"


def test_network_guard_catches_attempts(tmp_path: Path):
    """The guard must notice a notebook that reaches for the internet (otherwise the offline test proves nothing)."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import socket\ntry:\n    socket.create_connection(('203.0.113.7', 80), timeout=1)\nexcept OSError:\n    pass")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "net.ipynb"
    nbformat.write(nb, path)
    run = notebook_runner.execute(path, tmp_path)
    assert run.network and "203.0.113.7" in run.network[0]
