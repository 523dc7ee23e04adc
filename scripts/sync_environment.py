"""Write environment.yml from pyproject.toml so conda users get the same dependencies.

Usage: python scripts/sync_environment.py [--check]
Every dependency goes under `pip:` (the route CI tests); conda itself only provides Python, pip and make. `--check` exits 1 when environment.yml is out of date.
"""
from __future__ import annotations

import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def render() -> str:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    deps = list(project["dependencies"]) + list(project.get("optional-dependencies", {}).get("dev", []))
    lines = [
        "# Generated from pyproject.toml by scripts/sync_environment.py; do not edit by hand.",
        "# conda env create -f environment.yml && conda activate cs-dojo && pip install -e . --no-deps",
        "name: cs-dojo",
        "channels:",
        "  - conda-forge",
        "dependencies:",
        "  - python=3.11",
        "  - pip",
        "  - make",
        "  - pip:",
    ]
    lines += [f'      - "{d}"' for d in deps]
    return "\n".join(lines) + "\n"


def main() -> int:
    path = ROOT / "environment.yml"
    text = render()
    if "--check" in sys.argv:
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            print("environment.yml is out of date: run python scripts/sync_environment.py", file=sys.stderr)
            return 1
        return 0
    path.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
