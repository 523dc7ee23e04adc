"""Packaging: environment.yml mirrors pyproject.toml; the CLI answers --help; CI runs the README's command."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_environment_yml_in_sync_with_pyproject():
    proc = subprocess.run([sys.executable, "scripts/sync_environment.py", "--check"], cwd=ROOT,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_cli_help_lists_commands():
    proc = subprocess.run([sys.executable, "-m", "cs_helpers.cli", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and "cs-dojo" in proc.stdout and "data" in proc.stdout


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "make test" in readme and "make lab" in readme
    assert "make test" in ci


def test_notebooks_are_clean_and_navigation_is_current():
    """No outputs or execution counts in git; lesson navigation regenerated (run `make clean-notebooks`)."""
    proc = subprocess.run([sys.executable, "-m", "cs_helpers.maint.nbclean", "--check", "curriculum", "exercises"],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
