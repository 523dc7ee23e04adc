"""Study-session kit end to end through the CLI: ``cs-dojo session new`` and ``cs-dojo session summary``."""
from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

from cs_helpers import assess, session
from cs_helpers.roleplay import library
from cs_helpers.roleplay.analysis import random_walk
from cs_helpers.roleplay.responses import save_session
from tests import notebook_runner

ROOT = Path(__file__).resolve().parents[1]
GROUP = "東京 CS勉強会"
# Distinctive identities that must never appear on the projected summary.
PEOPLE = ["yamada_taro_x1", "suzuki_hanako_x2", "sato_jiro_x3", "kimura_saki_x4"]
FOLDERS = ["山田太郎の提出", "鈴木花子", "sato-jiro-folder", "木村さき"]


def cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "cs_helpers.cli", *args], capture_output=True, text=True,
                          env=full_env, timeout=300)


def new(tmp_path: Path, *extra: str, module: str = "05", date: str = "2026-06-10") -> Path:
    proc = cli("session", "new", "--group", GROUP, "--module", module, "--date", date, "--out", str(tmp_path), *extra)
    assert proc.returncode == 0, proc.stderr
    folders = [p for p in tmp_path.iterdir() if p.is_dir()]
    assert len(folders) == 1
    assert str(folders[0]) in proc.stdout
    return folders[0]


# --- session new ----------------------------------------------------------------------------------

def test_new_creates_a_parameterised_session(tmp_path):
    folder = new(tmp_path)
    assert folder.name == "2026-06-10_m05_東京_CS勉強会"
    meta = json.loads((folder / "session.json").read_text(encoding="utf-8"))
    assert meta["format"] == session.FORMAT
    assert (meta["group"], meta["module"], meta["date"]) == (GROUP, "05", "2026-06-10")
    assert meta["notebooks"] == [p.name for p in session.lessons_for("05")] == ["05_team_and_growth.ipynb"]
    assert (folder / "collected").is_dir()
    assert (folder / "facilitator.md").read_text(encoding="utf-8") == \
        (ROOT / "curriculum" / "facilitator" / "05_team_and_growth.md").read_text(encoding="utf-8")
    assert "cs-dojo session summary" in (folder / "README.md").read_text(encoding="utf-8")

    nb = nbformat.read(folder / "notebooks" / "05_team_and_growth.ipynb", as_version=4)
    assert nb.cells[0].cell_type == "markdown" and GROUP in nb.cells[0].source and "2026-06-10" in nb.cells[0].source
    tags = [c.metadata.get("tags", []) for c in nb.cells]
    params = [i for i, t in enumerate(tags) if "parameters" in t]
    injected = [i for i, t in enumerate(tags) if "injected-parameters" in t]
    assert len(params) == 1 and injected == [params[0] + 1]
    assert "learner_id = None" in nb.cells[params[0]].source  # each participant sets their own id
    source = nb.cells[injected[0]].source
    assert f"session_group = {GROUP!r}" in source and "session_date = '2026-06-10'" in source
    assert "learner_id" not in source
    assert nb.metadata["cs_dojo"]["session"]["session_group"] == GROUP
    # prepare only: nothing was executed
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")


def test_new_takes_every_lesson_of_the_module_with_a_parameters_cell(tmp_path):
    folder = new(tmp_path, module="3")
    meta = json.loads((folder / "session.json").read_text(encoding="utf-8"))
    expected = [p.name for p in session.lessons_for(3)]
    assert expected and meta["notebooks"] == expected
    assert sorted(p.name for p in (folder / "notebooks").iterdir()) == sorted(expected)


def test_lessons_without_parameters_cell_are_skipped(tmp_path):
    cur = tmp_path / "curriculum"
    cur.mkdir()
    with_params = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("learner_id = None")])
    with_params.cells[0].metadata["tags"] = ["parameters"]
    with_params.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(with_params, cur / "07_extra.ipynb")
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]), cur / "07.1_plain.ipynb")
    assert [p.name for p in session.lessons_for(7, cur)] == ["07_extra.ipynb"]
    folder = session.new_session(group="g", module=7, out=tmp_path / "out", date="2026-01-05", curriculum=cur)
    assert [p.name for p in (folder / "notebooks").iterdir()] == ["07_extra.ipynb"]
    assert not (folder / "facilitator.md").exists()


@pytest.mark.parametrize("args, message", [
    (["--group", "g", "--module", "42"], "見つかりません"),
    (["--group", "g", "--module", "five"], "番号"),
    (["--group", "g", "--module", "05", "--date", "2026/06/10"], "YYYY-MM-DD"),
    (["--group", "  ", "--module", "05"], "グループ名"),
])
def test_new_explains_bad_input(tmp_path, args, message):
    proc = cli("session", "new", *args, "--out", str(tmp_path))
    assert proc.returncode == 1
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert not any(tmp_path.iterdir())


def test_new_refuses_to_overwrite_without_force_and_keeps_collected(tmp_path):
    folder = new(tmp_path)
    handed_in = folder / "collected" / "someone" / "profiles" / "x.json"
    handed_in.parent.mkdir(parents=True)
    handed_in.write_text("{}", encoding="utf-8")
    again = cli("session", "new", "--group", GROUP, "--module", "05", "--date", "2026-06-10", "--out", str(tmp_path))
    assert again.returncode == 1 and "--force" in again.stderr
    forced = cli("session", "new", "--group", GROUP, "--module", "05", "--date", "2026-06-10", "--out", str(tmp_path),
                 "--force")
    assert forced.returncode == 0, forced.stderr
    assert handed_in.read_text(encoding="utf-8") == "{}"


def test_bare_session_command_shows_help():
    proc = cli("session")
    assert proc.returncode == 2
    assert "new" in proc.stdout and "summary" in proc.stdout


@pytest.mark.slow
def test_session_notebook_runs_offline_with_the_group(tmp_path):
    folder = new(tmp_path / "s")
    nb_path = folder / "notebooks" / "05_team_and_growth.ipynb"
    run = notebook_runner.execute(nb_path, folder / "notebooks")
    assert not run.network and not run.errors, run.errors
    printed = "".join(o.get("text", "") for c in run.notebook.cells for o in c.get("outputs", [])
                      if o.get("output_type") == "stream")
    assert f"勉強会: {GROUP} (2026-06-10)" in printed


# --- session summary --------------------------------------------------------------------------------

def _participant(base: Path, lid: str, seed: int, *, roleplay: bool = True, notes: str | None = "書いた",
                 scenario_id: str = "kickoff_hearing") -> None:
    if roleplay:
        walk = random_walk(library.load(scenario_id), random.Random(seed))
        save_session(walk, base=base, learner=lid, mode="practice")
    rng = random.Random(seed)
    comp = {g.key: {i.key: rng.randint(1, 5) for i in g.items} for g in assess.COMPETENCIES}
    prof = assess.Profile(lid, comp, {t: rng.randint(1, 5) for t in assess.TRAIT_KEYS},
                          taken_at="2026-06-10T10:00:00+09:00")
    (base / "profiles").mkdir(parents=True, exist_ok=True)
    (base / "profiles" / f"{lid}.json").write_text(json.dumps(prof.to_dict(), ensure_ascii=False), encoding="utf-8")
    if notes is not None:
        path = base / "notes" / lid / "05_team_and_growth.json"
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps({"format": assess.NOTES_FORMAT, "version": 1, "learner_id": lid,
                                    "module": "05_team_and_growth", "updated_at": "2026-06-10T11:00:00+09:00",
                                    "answers": {"gap": {"question": "q", "text": notes}}}, ensure_ascii=False),
                        encoding="utf-8")


def _zip_folder(folder: Path, archive: Path) -> None:
    with zipfile.ZipFile(archive, "w") as zf:
        for p in sorted(folder.rglob("*")):
            zf.write(p, p.relative_to(folder))


def test_summary_end_to_end_is_anonymous(tmp_path):
    folder = new(tmp_path / "s")
    col = folder / "collected"
    for i, (lid, name) in enumerate(zip(PEOPLE[:3], FOLDERS[:3])):
        _participant(col / name, lid, seed=i, notes=f"秘密のふりかえり {lid}" if i < 2 else "  ")
    # the fourth participant hands in a zip, and someone hands in a broken profile
    staging = tmp_path / "staging"
    _participant(staging, PEOPLE[3], seed=3, notes="書きました")
    _zip_folder(staging, col / f"{FOLDERS[3]}.zip")
    broken = col / "壊れた提出_tanaka" / "profiles"
    broken.mkdir(parents=True)
    (broken / "tanaka.json").write_text("{oops", encoding="utf-8")

    proc = cli("session", "summary", str(folder))
    assert proc.returncode == 0, proc.stderr
    assert "自己診断 4 人" in proc.stdout and "ふりかえり 3 人" in proc.stdout and "ロールプレイ記録 4 件" in proc.stdout
    assert "tanaka.json" in proc.stderr  # the organiser learns which file was skipped, on the terminal only

    html_text = (folder / "summary" / "summary.html").read_text(encoding="utf-8")
    assert "自己診断の平均 (4人)" in html_text
    assert '<p class="big">3人</p>' in html_text
    assert html_text.count("data:image/png;base64,") == 2
    assert "読み込めなかったファイル: 1件" in html_text
    images = sorted((folder / "summary").glob("*.png"))
    assert [p.name for p in images] == ["roleplay_kickoff_hearing.png", "self_assessment.png"]
    secrets = PEOPLE + FOLDERS + ["秘密のふりかえり", "tanaka", "壊れた提出", "書きました"]
    for secret in secrets:
        assert secret not in html_text, secret
        for image in images:
            assert secret.encode("utf-8") not in image.read_bytes()
    for image in images:
        assert image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the zip was read from a temporary copy: nothing extracted into the session folder
    assert not any(p.suffix == ".json" and "kimura" in p.name for p in folder.rglob("*") if "collected" not in p.parts)


def test_summary_hides_groups_smaller_than_three(tmp_path):
    folder = new(tmp_path / "s")
    for i in range(2):
        _participant(folder / "collected" / f"p{i}", PEOPLE[i], seed=i)
    proc = cli("session", "summary", str(folder))
    assert proc.returncode == 0, proc.stderr
    html_text = (folder / "summary" / "summary.html").read_text(encoding="utf-8")
    assert "2人分のため表示しません" in html_text and "2件のため表示しません" in html_text
    assert "data:image/png" not in html_text
    assert not list((folder / "summary").glob("*.png"))
    # the organiser may lower the threshold explicitly
    assert cli("session", "summary", str(folder), "--min-group", "2").returncode == 0
    assert sorted(p.name for p in (folder / "summary").glob("*.png")) == \
        ["roleplay_kickoff_hearing.png", "self_assessment.png"]


def test_summary_by_team_and_by_scenario(tmp_path):
    folder = new(tmp_path / "s")
    n = 0
    for team in ("Aチーム", "Bチーム"):
        for k in range(3):
            _participant(folder / "collected" / team / f"member{k}", f"{team[0].lower()}_member{k}", seed=n)
            n += 1
    for k in range(3):  # a second scenario, played by three of them
        walk = random_walk(library.load("overdemanding_request"), random.Random(100 + k))
        save_session(walk, base=folder / "collected" / "Aチーム" / f"member{k}", learner=f"a_member{k}")
    result = session.summarize(folder, teams=True)
    assert result.participants == 6
    assert result.groups == ["Aチーム", "Bチーム"]
    assert result.responses == {"kickoff_hearing": 6, "overdemanding_request": 3}
    assert sorted(p.name for p in result.images) == \
        ["roleplay_kickoff_hearing.png", "roleplay_overdemanding_request.png", "self_assessment.png"]


def test_summary_rejects_zip_that_escapes(tmp_path):
    folder = new(tmp_path / "s")
    evil = folder / "collected" / "evil.zip"
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("../../outside.json", "{}")
    proc = cli("session", "summary", str(folder))
    assert proc.returncode == 1 and "zip" in proc.stderr and "Traceback" not in proc.stderr
    assert not (folder / "outside.json").exists() and not (tmp_path / "outside.json").exists()


def test_summary_needs_a_session_folder(tmp_path):
    proc = cli("session", "summary", str(tmp_path))
    assert proc.returncode == 1 and "session.json" in proc.stderr
