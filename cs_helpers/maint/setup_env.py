"""Finish the set-up after ``pip install`` and open JupyterLab: ``python -m cs_helpers.maint.setup_env [--lab]``.

Called by ``make lab`` / ``make test``. Without ``--lab`` it checks that JupyterLab's extensions for
widgets and nbgrader are enabled (enabling the nbgrader server extensions if a user config disabled
them), installs the course's JupyterLab defaults (Japanese interface, no news prompt; a built wheel installs
the same file as data) and warms matplotlib's font cache with the Japanese font, so the first lesson plot is fast.
With ``--lab`` it starts JupyterLab on ``curriculum/`` (adding ``--allow-root`` only when run as root).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from ..paths import project_root

NBGRADER_SERVER_EXTENSIONS = [
    "nbgrader.server_extensions.formgrader",
    "nbgrader.server_extensions.assignment_list",
    "nbgrader.server_extensions.course_list",
    "nbgrader.server_extensions.validate_assignment",
]
LAB_EXTENSIONS = ["@jupyter-widgets/jupyterlab-manager", "@jupyter/nbgrader"]


def _jupyter(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "jupyter", *args], capture_output=True, text=True, check=check)


def check_extensions() -> list[str]:
    """Return problems found (empty when JupyterLab has everything the course needs)."""
    problems = []
    servers = _jupyter("server", "extension", "list", check=False)
    listing = servers.stdout + servers.stderr
    for ext in NBGRADER_SERVER_EXTENSIONS:
        if f"{ext} \x1b[32menabled" not in listing and f"{ext} enabled" not in listing:
            _jupyter("server", "extension", "enable", "--sys-prefix", ext, check=False)
    labs = _jupyter("labextension", "list", check=False)
    lab_listing = labs.stdout + labs.stderr
    for ext in LAB_EXTENSIONS:
        if ext not in lab_listing:
            problems.append(f"JupyterLab extension {ext} is not installed (pip install -e '.[dev]' again)")
    return problems


LAB_SETTINGS = Path(__file__).with_name("cs-dojo-lab.json")


def install_lab_settings(prefix: str | Path = sys.prefix) -> Path:
    """Copy the course's JupyterLab defaults into ``<prefix>/share/jupyter/lab/settings/overrides.d/``.

    JupyterLab merges every file there into its settings defaults, so a learner's own choice (設定 → 言語 →
    English) still wins. An editable install does not install ``data_files``; this makes the checkout match.
    """
    dest = Path(prefix) / "share" / "jupyter" / "lab" / "settings" / "overrides.d" / LAB_SETTINGS.name
    dest.parent.mkdir(parents=True, exist_ok=True)
    if not dest.exists() or dest.read_bytes() != LAB_SETTINGS.read_bytes():
        dest.write_bytes(LAB_SETTINGS.read_bytes())
    return dest


def warm_fonts() -> str:
    import matplotlib

    matplotlib.use("Agg")
    from .. import plotting

    return plotting.setup()


def lab_command(extra: list[str]) -> list[str]:
    cmd = [sys.executable, "-m", "jupyter", "lab", f"--ServerApp.root_dir={project_root() / 'curriculum'}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")  # JupyterLab refuses root without it; normal users never need it
    return cmd + extra


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cs_helpers.maint.setup_env", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lab", action="store_true", help="JupyterLab を curriculum/ で起動する")
    args, extra = parser.parse_known_args(argv)
    if args.lab:
        cmd = lab_command(extra)
        print("JupyterLab を起動します (Ctrl+C で終了):", " ".join(cmd), flush=True)
        os.execv(cmd[0], cmd)
    problems = check_extensions()
    install_lab_settings()
    font = warm_fonts()
    for p in problems:
        print("problem:", p, file=sys.stderr)
    print(f"CS Dojo の準備ができました (font: {font}, root: {Path(project_root())})")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
