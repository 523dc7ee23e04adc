"""The built wheel works on its own: install it into a fresh environment and run the trainer quick start from it.

The wheel is built from a copy of the checkout (so no stale ``build/`` folder can leak in). The fresh environment
gets the already-installed dependencies as hard links (offline, seconds) but not the editable install of this
checkout, and every command runs outside the checkout, so nothing can be read from the repository by accident.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from tests.test_course_quickstart import quickstart_commands

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
SKIP_DIRS = {".git", ".venv", "build", "dist", "node_modules", ".pytest_cache", "test-artifacts", "__pycache__",
             ".ipynb_checkpoints"}


def _copy_checkout(dest: Path) -> None:
    def ignore(folder, names):
        return [n for n in names if n in SKIP_DIRS or n.endswith(".egg-info")]
    shutil.copytree(ROOT, dest, ignore=ignore)


def _fresh_env(prefix: Path) -> Path:
    """A venv whose site-packages hard-links this environment's dependencies, minus the editable cs-dojo."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(prefix)], check=True)
    ours = Path(sysconfig.get_paths()["purelib"])
    theirs = Path(subprocess.run([str(prefix / "bin" / "python"), "-c",
                                  "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                 capture_output=True, text=True, check=True).stdout.strip())
    shutil.rmtree(theirs)
    subprocess.run(["cp", "-al", str(ours), str(theirs)], check=True)
    for shared in ("share", "etc"):  # nbconvert templates, JupyterLab extensions and their configuration
        if (Path(sys.prefix) / shared).is_dir():
            subprocess.run(["cp", "-al", str(Path(sys.prefix) / shared), str(prefix / shared)], check=True)
    for path in theirs.iterdir():
        if path.name.startswith(("__editable__", "cs_dojo-", "cs_helpers", "cs_dojo_course")):
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()
    return prefix / "bin" / "python"


@pytest.fixture(scope="module")
def wheel_env(tmp_path_factory):
    base = tmp_path_factory.mktemp("wheel")
    src = base / "src"
    _copy_checkout(src)
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                           "-q", "-w", str(base / "dist"), str(src)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    wheel = next((base / "dist").glob("cs_dojo-*.whl"))
    python = _fresh_env(base / "venv")
    proc = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
                           "--no-index", "-q", str(wheel)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    shutil.rmtree(src)  # nothing may depend on the copy the wheel was built from
    return {"wheel": wheel, "python": python, "base": base}


def _env(home: Path, python: Path) -> dict:
    import matplotlib
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CS_DOJO_", "PYTHON", "VIRTUAL_ENV"))}
    env.update(HOME=str(home), MPLCONFIGDIR=matplotlib.get_configdir(),
               PATH=str(python.parent) + os.pathsep + env.get("PATH", ""))
    return env


def test_wheel_carries_materials_but_keeps_solutions_out_of_the_package(wheel_env):
    names = zipfile.ZipFile(wheel_env["wheel"]).namelist()
    assert "cs_helpers/_bundle/datasets/accounts.csv" in names
    assert "cs_dojo_course/grading/nbgrader_config.py" in names
    assert any(n.startswith("cs_helpers/_bundle/datasets/scenarios/") and n.endswith(".yaml") for n in names)
    assert any(n.startswith("cs_dojo_course/exercises/") and n.endswith(".ipynb") for n in names)
    leaked = [n for n in names if n.startswith("cs_helpers/") and n.endswith(".ipynb")
              and b"BEGIN SOLUTION" in zipfile.ZipFile(wheel_env["wheel"]).read(n)]
    assert not leaked, leaked


def test_data_and_scenarios_load_from_the_installed_wheel(wheel_env, tmp_path):
    code = ("import cs_helpers, pathlib; from cs_helpers import data, roleplay, paths;"
            "print(pathlib.Path(cs_helpers.__file__).parent);"
            "print(len(data.load('accounts')));"
            "print(len(roleplay.scenario_ids()));"
            "print(paths.exercises_dir())")
    proc = subprocess.run([str(wheel_env["python"]), "-c", code], cwd=tmp_path, capture_output=True, text=True,
                          env=_env(tmp_path, wheel_env["python"]))
    assert proc.returncode == 0, proc.stderr[-3000:]
    package, accounts, scenarios, exercises = proc.stdout.split("\n")[:4]
    assert Path(package).is_relative_to(wheel_env["base"] / "venv")
    assert int(accounts) == 600 and int(scenarios) >= 9
    assert Path(exercises).is_relative_to(wheel_env["base"] / "venv") and Path(exercises).parent.name == "cs_dojo_course"


def test_version_comes_from_the_package_metadata(wheel_env, tmp_path):
    import tomllib
    expected = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    proc = subprocess.run([str(wheel_env["python"].parent / "cs-dojo"), "--version"], cwd=tmp_path,
                          capture_output=True, text=True, env=_env(tmp_path, wheel_env["python"]))
    assert proc.returncode == 0 and proc.stdout.strip() == f"cs-dojo {expected}", proc.stdout + proc.stderr


def test_trainer_quick_start_runs_from_the_wheel(wheel_env, tmp_path):
    proc = subprocess.run(["bash", "-euo", "pipefail", "-c", quickstart_commands()], cwd=tmp_path,
                          env=_env(tmp_path, wheel_env["python"]), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    course = tmp_path / "cs-course"
    assert (course / "reports" / "cohort_report.html").exists()
    assert (course / "source" / "01_mindset").is_dir()
    assert (course / "feedback" / "sato_a" / "00_sample" / "sample.html").exists()
