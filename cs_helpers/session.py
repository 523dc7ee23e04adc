"""Study-session kit: ``cs-dojo session new`` and ``cs-dojo session summary``.

``new_session`` makes a folder for one study session of one group on one module::

    <out>/<date>_m<NN>_<group>/
        session.json          what this session is (group, module, date, notebooks)
        README.md             the organiser's checklist (Japanese)
        facilitator.md        the module's facilitator guide (copied from curriculum/facilitator/)
        notebooks/*.ipynb     the module's lessons, parameters injected with papermill (prepare only)
        collected/            participants' files go here after the session (see below)

Every lesson of the module that has a ``parameters``-tagged cell is copied with papermill in
prepare-only mode: the session's ``session_group`` / ``session_date`` / ``session_module`` are
injected when the lesson declares them (``learner_id`` is left for each participant to set), and a
banner cell naming the group and date is put on top. Nothing is executed.

``summarize`` reads what participants handed in under ``collected/`` — one folder or ``.zip`` per
person (or per team with ``teams=True``: ``collected/<team>/<person>/``) holding any of
``responses/<scenario_id>.json`` (roleplay), ``profiles/<learner_id>.json`` (module 01
self-assessment) and ``notes/<learner_id>/<module>.json`` (written reflections) — and writes an
anonymous view to project on screen: ``summary/summary.html`` (self-contained) and PNG charts.
No learner name, id or folder name reaches the HTML or the images; averages of fewer than
``min_group`` people are not shown.
"""
from __future__ import annotations

import argparse
import functools
import datetime as _dt
import html
import json
import re
import shutil
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import paths
from .fileio import ZipReadError, atomic_write_text, safe_extract
from .htmlpage import Section, figure_png, png_data_uri, render_page

FORMAT = "cs-dojo-session/1"
SESSION_PARAMETERS = ("session_group", "session_date", "session_module")
MIN_GROUP = 3
MAX_ZIP_BYTES = 50_000_000
_UNSAFE = re.compile(r"[\s/\\:*?\"<>|]+")
_LESSON = re.compile(r"^(\d\d)(\.\d+)?_.+\.ipynb$")


class SessionError(ValueError):
    """A problem the organiser can fix; the message says what, where and how (Japanese)."""


# --- helpers ------------------------------------------------------------------------------------

def _module_number(module: str | int) -> str:
    text = str(module).strip()
    m = re.match(r"^(\d{1,2})(?:_.*)?$", text)
    if not m:
        raise SessionError(f"モジュール「{module}」が読めません。00〜06 のような番号で指定してください (例: --module 05)。")
    return f"{int(m.group(1)):02d}"


def _date(value: str | None) -> str:
    if value is None:
        return _dt.date.today().isoformat()
    try:
        return _dt.date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise SessionError(f"日付「{value}」が読めません。2026-05-20 のように YYYY-MM-DD で指定してください。") from None


def _slug(group: str) -> str:
    text = _UNSAFE.sub("_", (group or "").strip()).strip("._")
    if not text:
        raise SessionError("グループ名が空です。--group に勉強会の名前を指定してください (例: --group 東京CS勉強会)。")
    return text[:60]


def lessons_for(module: str | int, curriculum: Path | None = None) -> list[Path]:
    """Lesson notebooks of ``module`` in ``curriculum/`` that have a ``parameters``-tagged cell."""
    import nbformat

    number = _module_number(module)
    folder = Path(curriculum) if curriculum is not None else paths.project_root() / "curriculum"
    found = []
    for path in sorted(folder.glob(f"{number}*.ipynb")):
        m = _LESSON.match(path.name)
        if not m or m.group(1) != number:
            continue
        nb = nbformat.read(path, as_version=4)
        if any("parameters" in c.get("metadata", {}).get("tags", []) for c in nb.cells):
            found.append(path)
    # 05_intro before 05.1_..., 05.2_...: the module's main lesson first
    return sorted(found, key=lambda p: (float(_LESSON.match(p.name).group(2) or 0), p.name))


def facilitator_guide(module: str | int, curriculum: Path | None = None) -> Path | None:
    number = _module_number(module)
    folder = (Path(curriculum) if curriculum is not None else paths.project_root() / "curriculum") / "facilitator"
    guides = sorted(folder.glob(f"{number}_*.md"))
    return guides[0] if guides else None


def _declared_parameters(path: Path) -> set[str]:
    import papermill

    return set(papermill.inspect_notebook(str(path)).keys())


# --- session new --------------------------------------------------------------------------------

def new_session(*, group: str, module: str | int, out: str | Path | None = None, date: str | None = None,
                force: bool = False, curriculum: str | Path | None = None) -> Path:
    """Create a study-session folder (see module docstring) and return its path."""
    import nbformat
    import papermill

    number = _module_number(module)
    day = _date(date)
    slug = _slug(group)
    curriculum = Path(curriculum) if curriculum is not None else paths.project_root() / "curriculum"
    lessons = lessons_for(number, curriculum)
    if not lessons:
        raise SessionError(f"モジュール {number} のレッスン (parameters タグのセルを持つ curriculum/{number}_*.ipynb) が"
                           f"見つかりません。場所: {curriculum}。番号を確かめてください。")
    root = Path(out) if out is not None else Path.cwd() / "sessions"
    folder = root / f"{day}_m{number}_{slug}"
    if folder.exists() and any(folder.iterdir()) and not force:
        raise SessionError(f"フォルダ「{folder}」はすでにあります。作り直すときは --force を付けてください "
                           "(collected/ の提出物は残します)。")
    notebooks = folder / "notebooks"
    if notebooks.exists():
        shutil.rmtree(notebooks)
    notebooks.mkdir(parents=True)
    (folder / "collected").mkdir(exist_ok=True)
    values = {"session_group": group.strip(), "session_date": day, "session_module": number}
    made = []
    for lesson in lessons:
        target = notebooks / lesson.name
        params = {k: v for k, v in values.items() if k in _declared_parameters(lesson)}
        nb = papermill.execute_notebook(str(lesson), None, parameters=params, prepare_only=True,
                                        progress_bar=False, log_output=False)
        for cell in nb.cells:  # papermill writes \uXXXX escapes; show Japanese as typed
            if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
                cell.source = "# Parameters (勉強会の設定)\n" + "".join(f"{k} = {v!r}\n" for k, v in params.items())
        banner = nbformat.v4.new_markdown_cell(
            f"> **勉強会: {html.escape(group.strip())}** ／ 日付: {day} ／ モジュール {number}\n>\n"
            "> 最初に受講者IDを設定してから (parameters のセルの `learner_id`、またはモジュール00の方法で)、"
            "上から順に実行してください。")
        banner.metadata["cs_dojo"] = {"session_banner": True}
        nb.cells.insert(0, banner)
        nb.metadata["cs_dojo"] = {"session": values}
        nbformat.write(nb, target)
        made.append(target.name)
    guide = facilitator_guide(number, curriculum)
    if guide is not None:
        shutil.copyfile(guide, folder / "facilitator.md")
    meta = {"format": FORMAT, "group": group.strip(), "module": number, "date": day,
            "created_at": _dt.datetime.now(_dt.timezone.utc).astimezone().isoformat(timespec="seconds"),
            "notebooks": made, "guide": "facilitator.md" if guide is not None else None}
    _write_json(folder / "session.json", meta)
    (folder / "README.md").write_text(_organiser_readme(meta, folder), encoding="utf-8")
    return folder


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)


def _organiser_readme(meta: dict, folder: Path) -> str:
    nbs = "\n".join(f"- `notebooks/{n}`" for n in meta["notebooks"])
    guide = "- 進行ガイド: `facilitator.md`\n" if meta.get("guide") else ""
    return f"""# 勉強会: {meta['group']} — モジュール {meta['module']} ({meta['date']})

{guide}## 配るノートブック
{nbs}

## 当日の流れ
1. 参加者にノートブックを配ります (JupyterHub なら各自のホームにコピー)。
2. 参加者は受講者IDを設定してから、上から順に実行します。
3. 終わったら、各自が次のものを **1人1フォルダ (または zip)** にまとめて `collected/` に置きます。
   - ノートブックの横にできた `responses/` フォルダ (ロールプレイの記録)
   - 作業フォルダ (`~/.cs_dojo`、または `CS_DOJO_HOME`) の `profiles/` と `notes/` フォルダ
   フォルダ名は何でも構いません (まとめ画面には表示されません)。
4. 次のコマンドで、匿名のまとめ画面を作って投影します。

```
cs-dojo session summary {folder}
```

チームごとに比べたいときは `collected/<チーム名>/<参加者>/` に置き、`--teams` を付けます。
チーム名は画面に表示されるので、個人名は使わないでください。
"""


# --- session summary ------------------------------------------------------------------------------

@dataclass
class Summary:
    folder: Path
    html: Path
    images: list[Path]
    participants: int
    profiles: int
    reflections: int
    responses: dict[str, int]
    groups: list[str] = field(default_factory=list)    # labels in the roleplay views (group name or teams)
    skipped: list[dict] = field(default_factory=list)  # {"file": ..., "reason": ...} for the organiser only


def _safe_extract(archive: Path, dest: Path) -> Path:
    """Extract a participant's zip without letting it write outside ``dest`` or blow up the disk."""
    try:
        _, refused = safe_extract(archive, dest, max_member_bytes=MAX_ZIP_BYTES, max_total_bytes=MAX_ZIP_BYTES)
    except ZipReadError as exc:
        raise SessionError(str(exc)) from None
    if refused:
        raise SessionError(f"{archive.name}: zip にフォルダの外を指す名前か大きすぎるファイルがあります ({refused[0]})。"
                           "responses・profiles・notes だけを入れて作り直してください。")
    return dest


def _find(root: Path) -> dict[str, list[Path]]:
    found: dict[str, list[Path]] = {"responses": [], "profiles": [], "notes": []}
    for path in sorted(root.rglob("*.json")):
        if any(part.startswith(".") for part in path.relative_to(root).parts):
            continue  # temporary or hidden files
        if path.parent.name == "responses":
            found["responses"].append(path)
        elif path.parent.name == "profiles":
            found["profiles"].append(path)
        elif path.parent.parent.name == "notes":
            found["notes"].append(path)
    return found


def _units(collected: Path, teams: bool, scratch: Path) -> list[tuple[str | None, Path]]:
    """(team label or None, folder) per participant; zips are extracted into ``scratch``."""
    def expand(entry: Path, n: int) -> Path | None:
        if entry.is_dir():
            return entry
        if entry.suffix.lower() == ".zip":
            return _safe_extract(entry, scratch / f"u{n}")
        return None

    units: list[tuple[str | None, Path]] = []
    entries = sorted(p for p in collected.iterdir() if not p.name.startswith("."))
    n = 0
    for entry in entries:
        if teams:
            if not entry.is_dir():
                continue
            for member in sorted(p for p in entry.iterdir() if not p.name.startswith(".")):
                n += 1
                folder = expand(member, n)
                if folder is not None:
                    units.append((entry.name, folder))
        else:
            n += 1
            folder = expand(entry, n)
            if folder is not None:
                units.append((None, folder))
    return units


def _profile_chart(frame, group_keys, trait_keys):
    import matplotlib.pyplot as plt

    from . import assess, plotting

    plotting.setup()
    means_g = frame[group_keys].mean()
    means_t = frame[trait_keys].mean()
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2), layout="constrained")
    axes[0].barh([assess.GROUPS[k].short for k in group_keys], means_g.to_numpy(), color="#4c72b0")
    axes[0].set_title("6つの基礎コンピテンシー (平均)")
    axes[1].barh([assess.TRAIT_SHORT[k] for k in trait_keys], means_t.to_numpy(), color="#dd8452")
    axes[1].set_title("CSに向く5つの特性 (平均)")
    for ax, means in ((axes[0], means_g), (axes[1], means_t)):
        ax.set_xlim(0, 5)
        ax.invert_yaxis()
        ax.set_xlabel("自己評価 (1〜5)")
        for y, v in enumerate(means.to_numpy()):
            ax.text(v + 0.05, y, f"{v:.1f}", va="center")
    fig.suptitle(f"自己診断の平均 ({len(frame)}人)")
    plt.close(fig)
    return fig


def summarize(session_dir: str | Path, *, teams: bool = False, min_group: int = MIN_GROUP,
              out: str | Path | None = None) -> Summary:
    """Build the anonymous group view of a session (see module docstring). Returns what was written."""
    from . import assess
    from .roleplay import group as rp_group

    folder = Path(session_dir)
    meta_path = folder / "session.json"
    if not meta_path.exists():
        raise SessionError(f"「{folder}」は勉強会のフォルダではありません (session.json がありません)。"
                           "cs-dojo session new で作ったフォルダを指定してください。")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise SessionError(f"「{meta_path}」を読めません。cs-dojo session new --force で作り直してください。") from None
    collected = folder / "collected"
    if not collected.is_dir():
        raise SessionError(f"「{collected}」がありません。参加者の提出物を collected/ に置いてください。")
    target = Path(out) if out is not None else folder / "summary"
    target.mkdir(parents=True, exist_ok=True)
    for old in target.glob("*.png"):
        old.unlink()
    module = str(meta.get("module", ""))
    skipped: list[dict] = []
    images: list[Path] = []
    sections: list[Section] = []
    with tempfile.TemporaryDirectory(prefix="cs-dojo-session-") as tmp:
        try:
            units = _units(collected, teams, Path(tmp))
        except (SessionError, zipfile.BadZipFile, OSError) as exc:
            raise SessionError(f"collected/ の読み込みに失敗しました: {exc}") from None
        # --- roleplay: one group view per scenario, reusing cs_helpers.roleplay.group ---------------
        by_scenario: dict[str, dict[str, list[Path]]] = {}
        for label, unit in units:
            for path in _find(unit)["responses"]:
                try:
                    sid = json.loads(path.read_text(encoding="utf-8")).get("scenario_id")
                except (OSError, ValueError, AttributeError):
                    sid = None
                if not isinstance(sid, str):
                    skipped.append({"file": str(path), "reason": "ロールプレイの記録として読めません。"})
                    continue
                by_scenario.setdefault(sid, {}).setdefault(label or str(meta.get("group") or "全員"), []).append(path)
        responses: dict[str, int] = {}
        labels: set[str] = set()
        rp_html = []
        for sid in sorted(by_scenario):
            files = by_scenario[sid]
            n_files = sum(len(v) for v in files.values())
            if n_files < min_group:
                rp_html.append(f"<p>「{html.escape(sid)}」: 記録が{n_files}件のため表示しません "
                               f"({min_group}件以上で表示します)。</p>")
                responses[sid] = n_files
                continue
            try:
                view = rp_group.collect(files)
            except (ValueError, KeyError, OSError) as exc:
                skipped.append({"file": sid, "reason": str(exc)})
                continue
            skipped += view.skipped
            responses[sid] = len(view.endings)
            if len(view.endings) < min_group:
                rp_html.append(f"<p>「{html.escape(view.scenario.title)}」: 確認できた記録が{len(view.endings)}件のため"
                               f"表示しません ({min_group}件以上で表示します)。</p>")
                continue
            labels.update(map(str, view.endings["group"].unique()))
            fig = rp_group.plot(view)
            png = figure_png(fig)
            name = f"roleplay_{sid}.png"
            (target / name).write_bytes(png)
            images.append(target / name)
            endings = view.endings["outcome_ja"].value_counts()
            ends = "・".join(f"{k} {v}人" for k, v in endings.items())
            rp_html.append(f"<h3>{html.escape(view.scenario.title)} ({len(view.endings)}件: {html.escape(ends)})</h3>"
                           f'<img alt="ロールプレイの選択の分布" src="{png_data_uri(png)}">')
        sections.append(Section("ロールプレイ: どの場面で何を選んだか",
                                "".join(rp_html) if rp_html else "<p>ロールプレイの記録はまだありません。</p>"))
        # --- self-assessment averages --------------------------------------------------------------
        profiles = {}
        for _label, unit in units:
            for path in _find(unit)["profiles"]:
                try:
                    prof = assess.load_profile(path=path)
                except assess.ProfileError as exc:
                    skipped.append({"file": str(path), "reason": str(exc)})
                    continue
                profiles[prof.learner_id] = prof  # one per person even if handed in twice
        frame = assess.profiles_frame(profiles)
        if len(frame) >= min_group:
            fig = _profile_chart(frame, list(assess.GROUPS), list(assess.TRAIT_KEYS))
            png = figure_png(fig)
            (target / "self_assessment.png").write_bytes(png)
            images.append(target / "self_assessment.png")
            sections.append(Section(f"自己診断の平均 ({len(frame)}人)",
                                    f'<img alt="自己診断の平均" src="{png_data_uri(png)}">'))
        else:
            sections.append(Section("自己診断の平均", f"<p>自己診断が{len(frame)}人分のため表示しません "
                                                     f"({min_group}人以上で表示します)。</p>"))
        # --- reflections: how many people wrote one for this module (never the text) ----------------
        writers = set()
        for _label, unit in units:
            for path in _find(unit)["notes"]:
                if not path.name.startswith(f"{module}") and module:
                    continue
                try:
                    data = json.loads(path.read_text(encoding="utf-8"))
                except (OSError, ValueError):
                    skipped.append({"file": str(path), "reason": "メモファイルを読めません。"})
                    continue
                answers = data.get("answers", {}) if isinstance(data, dict) else {}
                if any(isinstance(a, dict) and str(a.get("text", "")).strip() for a in answers.values()):
                    writers.add(str(data.get("learner_id") or path.parent.name))
        sections.append(Section("ふりかえり", f'<p class="big">{len(writers)}人</p>'
                                f"<p>モジュール {html.escape(module)} のふりかえりを書いて保存した人数です (内容は表示しません)。</p>"))
    page = _page(meta, len(units), sections, len(skipped))
    html_path = target / "summary.html"
    atomic_write_text(html_path, page)
    return Summary(folder, html_path, images, len(units), len(profiles), len(writers), responses, sorted(labels),
                   skipped)


def _page(meta: dict, participants: int, sections: list[Section], skipped: int) -> str:
    title = f"勉強会のまとめ — {meta.get('group', '')} ／ モジュール {meta.get('module', '')} ／ {meta.get('date', '')}"
    footer = [f"読み込めなかったファイル: {skipped}件 (詳細は主催者の端末に表示)"] if skipped else []
    footer.append("このページには参加者の名前やIDは含まれていません。人数が少ない集計は表示しません。")
    return render_page(title, sections, intro=[f"提出フォルダ: {participants} 件"], footer=footer,
                       width="1200px", font_size="20px", accent="#4c72b0")


# --- command line -------------------------------------------------------------------------------

NEW_EPILOG = """\
例 (examples):
  cs-dojo session new --group 東京CS勉強会 --module 05
      → ./sessions/<今日の日付>_m05_東京CS勉強会/ に notebooks/・facilitator.md・collected/ を作る
  cs-dojo session new --group "Aチーム" --module 3 --date 2026-06-10 --out ~/study
"""
SUMMARY_EPILOG = """\
例 (examples):
  cs-dojo session summary sessions/2026-06-10_m05_東京CS勉強会
      読む: collected/ (1人1フォルダまたは zip: responses/・profiles/・notes/)
      書く: summary/summary.html と summary/*.png (名前やIDは載りません)
  cs-dojo session summary SESSION_DIR --teams    collected/<チーム>/<参加者>/ をチームごとに比べる
"""


def _cmd_new(args: argparse.Namespace) -> int:
    try:
        folder = new_session(group=args.group, module=args.module, out=args.out, date=args.date, force=args.force)
    except SessionError as exc:
        print(f"エラー: {exc}", file=sys.stderr)
        return 1
    meta = json.loads((folder / "session.json").read_text(encoding="utf-8"))
    print(f"勉強会のフォルダを作りました: {folder}")
    for name in meta["notebooks"]:
        print(f"  notebooks/{name}")
    if meta.get("guide"):
        print("  facilitator.md (進行ガイド)")
    print("終わったら参加者の提出物を collected/ に置き、次を実行してください:")
    print(f"  cs-dojo session summary {folder}")
    return 0


def _cmd_summary(args: argparse.Namespace) -> int:
    try:
        result = summarize(args.session_dir, teams=args.teams, min_group=args.min_group)
    except SessionError as exc:
        print(f"エラー: {exc}", file=sys.stderr)
        return 1
    print(f"まとめを作りました: {result.html}")
    for image in result.images:
        print(f"  {image}")
    print(f"提出フォルダ {result.participants} 件・自己診断 {result.profiles} 人・ふりかえり {result.reflections} 人・"
          f"ロールプレイ記録 {sum(result.responses.values())} 件")
    for item in result.skipped:  # paths may name people: terminal only, never the HTML
        print(f"  読み込めなかったファイル: {item['file']} — {item['reason']}", file=sys.stderr)
    return 0


def register(subparsers) -> None:
    parser = subparsers.add_parser("session", help="勉強会キット: ノートブック一式の作成と匿名のまとめ (study-session kit)",
                                   description="勉強会 (study session) のフォルダを作り、終わったら匿名のまとめを作ります。")
    sub = parser.add_subparsers(dest="session_command", metavar="SUBCOMMAND")
    from .cli import print_help_of
    parser.set_defaults(func=functools.partial(print_help_of, parser))

    new = sub.add_parser("new", help="勉強会のフォルダとノートブックを作る", epilog=NEW_EPILOG,
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    new.add_argument("--group", required=True, metavar="NAME", help="グループ (勉強会) の名前。画面とフォルダ名に使われます")
    new.add_argument("--module", required=True, metavar="NN", help="モジュール番号 (00〜06)")
    new.add_argument("--out", type=Path, default=None, metavar="DIR", help="作成先 (既定: ./sessions)")
    new.add_argument("--date", default=None, metavar="YYYY-MM-DD", help="勉強会の日付 YYYY-MM-DD (既定: 今日)")
    new.add_argument("--force", action="store_true", help="同じフォルダがあっても作り直す (collected/ は残す)")
    new.set_defaults(func=_cmd_new)

    summary = sub.add_parser("summary", help="参加者の提出物から匿名のまとめ (HTML/PNG) を作る", epilog=SUMMARY_EPILOG,
                             formatter_class=argparse.RawDescriptionHelpFormatter)
    summary.add_argument("session_dir", type=Path, help="cs-dojo session new で作ったフォルダ")
    summary.add_argument("--teams", action="store_true", help="collected/<チーム>/<参加者>/ としてチームごとに集計する")
    summary.add_argument("--min-group", type=int, default=MIN_GROUP, metavar="N",
                         help=f"この人数未満の集計は表示しない (既定: {MIN_GROUP})")
    summary.set_defaults(func=_cmd_summary)
