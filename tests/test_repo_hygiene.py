"""The repository reads the same on any machine: no absolute paths of a particular machine in tracked files,
ruff is clean, and ignore rules do not hide tracked fixtures."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Home folders and build/CI paths of one machine. Generic, documented locations (/usr/bin/chromium, the
# container user /home/jovyan of the Jupyter docker stacks) are fine.
# (spelled in pieces so that this file does not itself contain the paths it looks for)
_SEP = "/"
MACHINE_PATH = re.compile("|".join([
    _SEP + "work" + _SEP, _SEP + "root" + _SEP, _SEP + "Users/[A-Za-z]", _SEP + r"home/(?!jovyan\b)[a-z]",
    _SEP + "tmp" + _SEP + "fresh", _SEP + "opt" + _SEP + "pypi", r"[A-Z]:\\Users"]))


def tracked_files() -> list[Path]:
    out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    return [ROOT / name for name in out.decode("utf-8").split("\0") if name]


def test_no_machine_specific_absolute_paths_in_tracked_files():
    hits = []
    for path in tracked_files():
        if not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if MACHINE_PATH.search(line):
                hits.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:120]}")
    assert not hits, "machine-specific paths in tracked files:\n" + "\n".join(hits)


def test_the_pattern_catches_what_it_should():
    for bad in (_SEP.join(["", "work", "main", "datasets"]), "see " + _SEP.join(["", "root", ".pyenv", "bin"]),
                _SEP + "home/alice/course", _SEP + "Users/bob/x", "C:" + "\\Users\\bob"):
        assert MACHINE_PATH.search(bad), bad
    for fine in ("/usr/bin/chromium", "/home/jovyan", "datasets/README.md", "~/cs-course"):
        assert not MACHINE_PATH.search(fine), fine


def test_ruff_is_clean():
    proc = subprocess.run([sys.executable, "-m", "ruff", "check", "--output-format", "concise", "."], cwd=ROOT,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]


def test_tracked_fixture_folders_are_not_ignored():
    """A new file in a tracked fixture folder must not be silently left out of `git add`."""
    candidates = ["tests/fixtures/course/submissions/full/responses/new.json",
                  "grading/workspace_template/sample/returned/sato_a/responses/new.json"]
    proc = subprocess.run(["git", "check-ignore", "--no-index", *candidates], cwd=ROOT, capture_output=True, text=True)
    assert proc.stdout.strip() == "", f"ignored by .gitignore: {proc.stdout}"
