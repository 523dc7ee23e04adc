"""Execute notebooks the way a learner would (top to bottom, fresh kernel) with the network blocked."""
from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbclient import NotebookClient

NETGUARD = Path(__file__).resolve().parent / "netguard"


@dataclass
class Run:
    seconds: float
    errors: list[str] = field(default_factory=list)
    network: list[str] = field(default_factory=list)
    notebook: nbformat.NotebookNode | None = None


def execute(path: Path, workdir: Path, timeout: int = 180, env: dict[str, str] | None = None) -> Run:
    """Run ``path`` in ``workdir`` (a scratch folder the notebook may write to) with a network guard."""
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / ".network-attempts.log"
    log.unlink(missing_ok=True)
    nb = nbformat.read(path, as_version=4)
    saved = dict(os.environ)
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(NETGUARD), os.environ.get("PYTHONPATH")]))
    os.environ["CS_DOJO_NET_LOG"] = str(log)
    os.environ.update(env or {})
    started = time.perf_counter()
    errors: list[str] = []
    try:
        NotebookClient(nb, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(workdir)}}).execute()
    except Exception as exc:  # noqa: BLE001 - reported as a test failure with the cell's message
        errors.append(f"{type(exc).__name__}: {str(exc)[-2000:]}")
    finally:
        os.environ.clear()
        os.environ.update(saved)
    seconds = time.perf_counter() - started
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                errors.append(f"{out.get('ename')}: {out.get('evalue')}")
            if out.get("output_type") == "stream" and out.get("name") == "stderr" and "Warning" in out.get("text", ""):
                errors.append("warning on stderr: " + out["text"][:500])
    network = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
    return Run(seconds, errors, network, nb)


def copy_course(root: Path, dest: Path) -> Path:
    """A scratch copy of curriculum/ (notebooks may write responses/ and profiles next to themselves)."""
    shutil.copytree(root / "curriculum", dest / "curriculum",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "responses"))
    return dest / "curriculum"
