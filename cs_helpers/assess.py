"""Self-assessment: the six BABOK foundational competencies applied to CSMs, and five CS traits.

Module 01 teaches these; the learner rates every item from 1 to 5 in a widget, the result is saved as a
*profile* file and drawn as a radar chart. Module 05 (CSM–customer fit) and the study-session summary read
the same files, so the format below is a contract: change it only with a new ``version``.

Profile file
============
Where: ``profile_dir() / f"{learner_id}.json"``, i.e. ``$CS_DOJO_HOME/profiles/<learner_id>.json`` (or
``~/.cs_dojo/profiles/<learner_id>.json`` when ``CS_DOJO_HOME`` is unset). UTF-8 JSON, written atomically
(temporary file in the same folder, then ``os.replace``), so a reader never sees half a file::

    {
      "format": "cs-dojo/self-assessment",      # fixed tag
      "version": 1,                              # bump when the shape changes
      "learner_id": "tanaka_h",                  # same rules as cs_helpers.learner.validate_learner_id
      "taken_at": "2026-10-01T09:30:00+09:00",   # ISO 8601 with offset; when the scores were saved
      "scale": [1, 5],                           # every score is an int in this closed range
      "competencies": {                          # group key -> item key -> score; keys from COMPETENCIES
        "analytical": {"creative_thinking": 3, "decision_making": 4, ...},
        "behavioural": {...}, "business": {...}, "communication": {...}, "interaction": {...},
        "tools": {...}
      },
      "traits": {"empathy": 4, "logic": 3, "relationship": 3, "diversity": 5, "frontier": 4},
      "note": "free text (optional)",
      "history": [                               # earlier assessments, oldest first (at most MAX_HISTORY)
        {"taken_at": "...", "competencies": {...}, "traits": {...}}
      ]
    }

Items may be missing (not rated yet); unknown group, item or trait keys are an error, so a typo never
passes silently. Group scores are the mean of the rated items of that group (``Profile.group_scores``).
Readers should use ``load_profile`` / ``load_profiles`` rather than parsing the JSON themselves; they
validate the file and explain problems in Japanese (``ProfileError``).

The module also holds ``NotesWidget``, the small "write and save" widget lessons use for written
answers (mindset questions, reflections). Notes go to ``notes_path(module)`` =
``$CS_DOJO_HOME/notes/<learner_id>/<module>.json``; format documented on ``save_notes``.
"""
from __future__ import annotations

import base64
import json
import math
from dataclasses import dataclass, field
from datetime import datetime, timezone, timedelta
from pathlib import Path
from typing import Any, Iterable, Mapping

from .fileio import atomic_write_json
from . import learner as _learner

FORMAT = "cs-dojo/self-assessment"
VERSION = 1
SCALE = (1, 5)
MAX_HISTORY = 24
NOTES_FORMAT = "cs-dojo/notes"
JST = timezone(timedelta(hours=9))


@dataclass(frozen=True)
class Item:
    key: str
    name: str          # Japanese label (shown on sliders and charts)
    description: str   # what it looks like in CS work, Japanese
    new_in_v3: bool = False  # added in BABOK v3: growing in importance


@dataclass(frozen=True)
class Group:
    key: str
    name: str
    short: str         # short label for radar charts
    description: str
    items: tuple[Item, ...]


I = Item
COMPETENCIES: tuple[Group, ...] = (
    Group("analytical", "分析的思考と問題解決", "分析・問題解決",
          "顧客の課題を分解し、自社のサービスで解けるかを見極め、関係者が決められる形に整理する力。", (
              I("creative_thinking", "創造的思考", "前例のない課題に、既存の機能や運用を組み合わせた新しい解き方を考えられる。"),
              I("decision_making", "意思決定", "選択肢と判断基準を並べて自分で決め、顧客にも決めてもらえるよう材料をそろえる。"),
              I("learning", "学習", "新機能や顧客の業務を短期間で学び、すぐ仕事に使える形にする。"),
              I("problem_solving", "問題解決", "症状ではなく原因を特定し、打ち手を比べて実行まで運ぶ。"),
              I("systems_thinking", "システム思考", "顧客の組織・業務・ツールのつながりを見て、一か所の変更が全体に与える影響を考える。"),
              I("conceptual_thinking", "概念的思考", "ばらばらの要望や事実から共通するパターンを抜き出し、一段抽象化して語れる。",
                True),
              I("visual_thinking", "ビジュアル思考", "複雑な状況を図や表に落とし、相手が一目で理解できるように示す。", True),
          )),
    Group("behavioural", "行動特性", "行動特性",
          "どの職種にも必要だが、顧客と長く仕事を進めるCSでは特に欠かせない、仕事への向き合い方。", (
              I("ethics", "倫理", "短期の売上より、顧客と自社にとって公正なことを選ぶ。できないことはできないと伝える。"),
              I("personal_accountability", "個人的アカウンタビリティ",
                "顧客の課題を自分の課題として引き受け、約束したことの結果と経緯を自分の言葉で説明する。"),
              I("trustworthiness", "信頼されること", "言ったことを守り続け、顧客や同僚から「任せて大丈夫」と思われている。"),
              I("organisation_time", "仕事の整理と時間管理", "多数の顧客と社内依頼を優先順位で並べ、期限を落とさずに進める。"),
              I("adaptability", "適応力", "顧客の体制変更や製品の変化に合わせて、やり方を柔軟に変えられる。"),
          )),
    Group("business", "ビジネス知識", "ビジネス知識",
          "自社製品に詳しいだけでは価値は届かない。顧客の事業がどう儲かり、どこで困るのかを知る力。", (
              I("business_acumen", "ビジネス感覚", "売上・コスト・利益の観点で、顧客にとっての投資対効果を語れる。"),
              I("industry_knowledge", "業界の知識", "担当顧客の業界の商習慣・繁忙期・規制・よく使われる言葉を知っている。"),
              I("organisation_knowledge", "組織の知識", "顧客社内の部署の役割や意思決定の流れ、誰が何に困っているかを把握している。"),
              I("solution_knowledge", "ソリューション知識", "自社製品の機能・制約・最新の変更を深く理解し、回避策まで示せる。"),
              I("methodology_knowledge", "方法論の知識", "導入の進め方やプロジェクト管理の型を知り、顧客に合わせて選べる。", True),
          )),
    Group("communication", "コミュニケーションスキル", "コミュニケーション",
          "顧客のメッセージを取りこぼさずに受け取り、必要な相手に必要な形で伝える力。", (
              I("verbal", "言語コミュニケーション", "会議や電話で、要点を相手の立場に合わせて簡潔に話せる。"),
              I("non_verbal", "非言語コミュニケーション",
                "表情・沈黙・返信の遅れ・出席者の変化など、言葉にならない不満や解約の兆しに気づける。", True),
              I("written", "文書コミュニケーション", "メール・議事録・提案書で、読み手が次に何をすればよいか分かる文章を書ける。"),
              I("listening", "傾聴", "話をさえぎらず、質問で本音や背景を引き出してから答える。", True),
          )),
    Group("interaction", "人間関係のスキル", "人間関係",
          "顧客や社内の関係者を巻き込み、立場の違う人と一緒に成果へ向かう力。", (
              I("facilitation", "ファシリテーション", "会議の目的とゴールを示し、参加者の意見を引き出して結論までまとめる。"),
              I("leadership_influence", "リーダーシップと影響力", "権限のない相手 (他部署や顧客の責任者) にも納得してもらい、動いてもらえる。"),
              I("teamwork", "チームワーク", "営業・サポート・開発と情報を共有し、自分だけで抱え込まない。"),
              I("negotiation", "交渉と対立の解消", "利害がぶつかる場面で、双方が受け入れられる落としどころを探れる。", True),
              I("teaching", "教えるスキル", "顧客が自分たちで使いこなせるよう、相手の理解度に合わせて教えられる。"),
          )),
    Group("tools", "ツールとテクノロジー", "ツール・技術",
          "仕事の道具を使いこなす力。CSでは自社製品そのものを誰よりも使いこなすことも含めて考える。", (
              I("office_tools", "オフィスツール", "表計算・資料作成・文書作成ツールで、分析や報告を素早く形にできる。"),
              I("analysis_tools", "分析・可視化ツール", "BIやノートブックでデータを集計・可視化し、ヘルススコアなどを自分で確かめられる。"),
              I("communication_tools", "コミュニケーションツール", "ビデオ会議・チャット・メール配信を、相手と目的に合わせて使い分けられる。"),
          )),
)

TRAITS: tuple[Item, ...] = (
    I("empathy", "共感力", "顧客が何に困り、その先で何を実現したいのかを、不安や期待といった気持ちも含めて想像し、行動に移せる。お客様の成功を自分のことのように願う情熱がある。"),
    I("logic", "感情より論理とデータ", "声の大きい一社の要望に流されず、データと長期の視点、同じ課題を抱える他の顧客まで考えて決める。"),
    I("relationship", "長期の関係と全体への目配り",
      "目先の売上より顧客生涯価値を大切にし、決裁者・管理者・利用者それぞれの立場や、自社の他部門の事情にも気を配る。"),
    I("diversity", "違うタイプの人との協働",
      "自分と違う経歴や考えの人と関わるのを楽しみ、権限がなくても社内外の人を巻き込んで成果を出す。"),
    I("frontier", "未知への好奇心", "前例のない状況や変わり続ける製品を面白がり、学び続けられる。自社製品が好きである。"),
)

TRAIT_SHORT = {"empathy": "共感力", "logic": "論理とデータ", "relationship": "長期・全体の視点",
               "diversity": "多様な人との協働", "frontier": "未知への好奇心"}

SCALE_LABELS = {
    1: "まだ意識したことがない",
    2: "知ってはいるが、実践はまだ少ない",
    3: "必要な場面では実践できる",
    4: "安定して実践し、成果につながっている",
    5: "人に教えられる・チームの型にできる",
}

GROUPS: dict[str, Group] = {g.key: g for g in COMPETENCIES}
TRAIT_KEYS: tuple[str, ...] = tuple(t.key for t in TRAITS)


def item_names() -> dict[str, str]:
    """Every competency item's Japanese name keyed by ``"group.item"``."""
    return {f"{g.key}.{i.key}": i.name for g in COMPETENCIES for i in g.items}


def find_item(name_or_key: str) -> tuple[Group, Item]:
    """Look up a competency item by its key (``"listening"`` or ``"communication.listening"``) or Japanese name."""
    wanted = (name_or_key or "").strip()
    for g in COMPETENCIES:
        for i in g.items:
            if wanted in (i.key, f"{g.key}.{i.key}", i.name):
                return g, i
    raise KeyError(f"「{name_or_key}」というコンピテンシー項目はありません。assess.item_names() で一覧を確認してください。")


def competency_table():
    """The six groups and their items as a DataFrame (group, item, description, new in v3)."""
    import pandas as pd

    rows = [{"グループ": g.name, "項目": i.name, "CSでの姿": i.description, "v3で追加": "★" if i.new_in_v3 else ""}
            for g in COMPETENCIES for i in g.items]
    return pd.DataFrame(rows)


def traits_table():
    import pandas as pd

    return pd.DataFrame([{"特性": t.name, "どういうことか": t.description} for t in TRAITS])


# --------------------------------------------------------------------------------------------------
# profile: validation, load, save
# --------------------------------------------------------------------------------------------------
class ProfileError(ValueError):
    """A profile file or value that cannot be used; the message says what, where and how to fix it."""


def _now() -> str:
    return datetime.now(JST).isoformat(timespec="seconds")


def _check_score(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or isinstance(value, float) and (
            not math.isfinite(value) or value != int(value)):
        raise ProfileError(f"{where}: 点数「{value!r}」は {SCALE[0]}〜{SCALE[1]} の整数にしてください。")
    value = int(value)
    if not SCALE[0] <= value <= SCALE[1]:
        raise ProfileError(f"{where}: 点数 {value} が範囲外です。{SCALE[0]}〜{SCALE[1]} の整数にしてください。")
    return value


def _check_competencies(data: Any, where: str) -> dict[str, dict[str, int]]:
    if not isinstance(data, Mapping):
        raise ProfileError(f"{where}: competencies は {{グループ: {{項目: 点数}}}} の形にしてください。")
    out: dict[str, dict[str, int]] = {}
    for gkey, items in data.items():
        if gkey not in GROUPS:
            raise ProfileError(f"{where}: グループ「{gkey}」は存在しません。使えるのは {', '.join(GROUPS)} です。")
        if not isinstance(items, Mapping):
            raise ProfileError(f"{where}: グループ「{gkey}」の中身は {{項目: 点数}} の形にしてください。")
        known = {i.key for i in GROUPS[gkey].items}
        out[gkey] = {}
        for ikey, score in items.items():
            if ikey not in known:
                raise ProfileError(f"{where}: グループ「{gkey}」に項目「{ikey}」はありません。使えるのは "
                                   f"{', '.join(sorted(known))} です。")
            out[gkey][ikey] = _check_score(score, f"{where} {gkey}.{ikey}")
    return out


def _check_traits(data: Any, where: str) -> dict[str, int]:
    if not isinstance(data, Mapping):
        raise ProfileError(f"{where}: traits は {{特性: 点数}} の形にしてください。")
    out = {}
    for key, score in data.items():
        if key not in TRAIT_KEYS:
            raise ProfileError(f"{where}: 特性「{key}」は存在しません。使えるのは {', '.join(TRAIT_KEYS)} です。")
        out[key] = _check_score(score, f"{where} traits.{key}")
    return out


@dataclass
class Profile:
    """One learner's self-assessment (the current scores plus earlier ones in ``history``)."""

    learner_id: str
    competencies: dict[str, dict[str, int]] = field(default_factory=dict)
    traits: dict[str, int] = field(default_factory=dict)
    taken_at: str = ""
    note: str = ""
    history: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        try:
            self.learner_id = _learner.validate_learner_id(self.learner_id)
        except ValueError as exc:
            raise ProfileError(str(exc)) from None
        self.competencies = _check_competencies(self.competencies, "自己診断")
        self.traits = _check_traits(self.traits, "自己診断")

    # --- derived views ------------------------------------------------------------------------
    def group_scores(self) -> dict[str, float]:
        """Mean score of the rated items per group (NaN when a group has no rated item), in group order."""
        out = {}
        for g in COMPETENCIES:
            vals = list(self.competencies.get(g.key, {}).values())
            out[g.key] = sum(vals) / len(vals) if vals else float("nan")
        return out

    def trait_scores(self) -> dict[str, float]:
        return {t: float(self.traits[t]) if t in self.traits else float("nan") for t in TRAIT_KEYS}

    def is_complete(self) -> bool:
        return all(len(self.competencies.get(g.key, {})) == len(g.items) for g in COMPETENCIES) and \
            len(self.traits) == len(TRAITS)

    def previous(self) -> "Profile | None":
        """The most recent earlier assessment as a Profile (for "then vs now" charts), or None."""
        if not self.history:
            return None
        h = self.history[-1]
        return Profile(self.learner_id, h.get("competencies", {}), h.get("traits", {}), h.get("taken_at", ""))

    # --- serialisation ------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, "version": VERSION, "learner_id": self.learner_id,
                "taken_at": self.taken_at or _now(), "scale": list(SCALE),
                "competencies": self.competencies, "traits": self.traits, "note": self.note,
                "history": self.history[-MAX_HISTORY:]}

    @classmethod
    def from_dict(cls, data: Any, where: str = "自己診断ファイル") -> "Profile":
        if not isinstance(data, Mapping):
            raise ProfileError(f"{where}: 中身が JSON オブジェクトではありません。")
        if data.get("format") != FORMAT:
            raise ProfileError(f"{where}: 自己診断ファイルではありません (format が「{FORMAT}」ではありません)。")
        if data.get("version") != VERSION:
            raise ProfileError(f"{where}: version {data.get('version')!r} には対応していません (対応: {VERSION})。"
                               "cs-dojo を更新するか、自己診断をやり直してください。")
        history = data.get("history", [])
        if not isinstance(history, list):
            raise ProfileError(f"{where}: history はリストにしてください。")
        for n, h in enumerate(history, 1):
            if not isinstance(h, Mapping):
                raise ProfileError(f"{where}: history の{n}件目が正しい形ではありません。")
            _check_competencies(h.get("competencies", {}), f"{where} history {n}件目")
            _check_traits(h.get("traits", {}), f"{where} history {n}件目")
        try:
            return cls(learner_id=str(data.get("learner_id", "")), competencies=data.get("competencies", {}),
                       traits=data.get("traits", {}), taken_at=str(data.get("taken_at", "")),
                       note=str(data.get("note", "") or ""), history=list(history))
        except ProfileError as exc:
            raise ProfileError(f"{where}: {exc}") from None


def profile_dir() -> Path:
    return _learner.home_dir() / "profiles"


def profile_path(learner: str | None = None) -> Path:
    return _learner.learner_file("profiles", learner)





def _read_json(path: Path, what: str) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProfileError(f"{what}「{path}」が見つかりません。") from None
    except OSError as exc:
        raise ProfileError(f"{what}「{path}」を読めません ({exc.strerror})。") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProfileError(f"{what}「{path}」の {exc.lineno} 行目が JSON として読めません。"
                           "手で編集した場合は元に戻すか、ファイルを削除して保存し直してください。") from None


def load_profile(learner: str | None = None, *, path: str | Path | None = None) -> Profile:
    """Load one profile (by learner id, default the current learner, or by file path)."""
    p = Path(path) if path is not None else profile_path(learner)
    return Profile.from_dict(_read_json(p, "自己診断ファイル"), where=f"自己診断ファイル「{p}」")


def save_profile(profile: Profile, *, keep_history: bool = True) -> Path:
    """Write ``profile`` atomically to its learner's file. Returns the path.

    With ``keep_history`` the scores already on disk (if any, and if different) move into ``history``,
    so a learner who re-assesses each month can compare "then" and "now".
    """
    path = profile_path(profile.learner_id)
    if keep_history and path.exists():
        try:
            old = load_profile(path=path)
        except ProfileError:
            old = None  # an unreadable old file is replaced, not merged
        if old is not None:
            history = list(old.history)
            if (old.competencies, old.traits) != (profile.competencies, profile.traits):
                history.append({"taken_at": old.taken_at, "competencies": old.competencies, "traits": old.traits})
            profile.history = history[-MAX_HISTORY:]
    profile.taken_at = _now()
    atomic_write_json(path, profile.to_dict())
    return path


def load_profiles(directory: str | Path | None = None, *, skipped: list | None = None) -> dict[str, Profile]:
    """All profiles in ``directory`` (default ``profile_dir()``), keyed by learner id, sorted by id.

    A bad file raises ``ProfileError`` naming the file — unless a list is passed as ``skipped``: then the
    problem is appended as ``(path, message)`` and the other profiles are still returned, so one broken
    file never stops a group summary.
    """
    folder = Path(directory) if directory is not None else profile_dir()
    out: dict[str, Profile] = {}
    if not folder.is_dir():
        return out
    for path in sorted(folder.glob("*.json")):
        try:
            prof = load_profile(path=path)
            if prof.learner_id != path.stem:
                raise ProfileError(f"自己診断ファイル「{path}」: 中の learner_id「{prof.learner_id}」が"
                                   "ファイル名と一致しません。ファイル名を「<受講者ID>.json」にしてください。")
        except ProfileError as exc:
            if skipped is None:
                raise
            skipped.append((path, str(exc)))
            continue
        out[prof.learner_id] = prof
    return out


def profiles_frame(profiles: Mapping[str, Profile] | Iterable[Profile]) -> "Any":
    """One row per learner: group means (group keys) and trait scores (trait keys) as columns."""
    import pandas as pd

    items = profiles.values() if isinstance(profiles, Mapping) else profiles
    rows = []
    for p in items:
        row = {"learner_id": p.learner_id, "taken_at": p.taken_at}
        row.update(p.group_scores())
        row.update(p.trait_scores())
        rows.append(row)
    cols = ["learner_id", "taken_at", *GROUPS, *TRAIT_KEYS]
    return pd.DataFrame(rows, columns=cols).set_index("learner_id")


def example_profile() -> Profile:
    """A fictional new CSM three months in (used in the lesson to show how to read the chart)."""
    comp = {
        "analytical": {"creative_thinking": 3, "decision_making": 2, "learning": 4, "problem_solving": 3,
                       "systems_thinking": 2, "conceptual_thinking": 2, "visual_thinking": 3},
        "behavioural": {"ethics": 4, "personal_accountability": 4, "trustworthiness": 3, "organisation_time": 2,
                        "adaptability": 4},
        "business": {"business_acumen": 2, "industry_knowledge": 1, "organisation_knowledge": 2,
                     "solution_knowledge": 3, "methodology_knowledge": 2},
        "communication": {"verbal": 4, "non_verbal": 2, "written": 3, "listening": 4},
        "interaction": {"facilitation": 2, "leadership_influence": 2, "teamwork": 4, "negotiation": 2,
                        "teaching": 3},
        "tools": {"office_tools": 4, "analysis_tools": 2, "communication_tools": 4},
    }
    traits = {"empathy": 5, "logic": 2, "relationship": 3, "diversity": 4, "frontier": 4}
    return Profile("example_csm", comp, traits, taken_at="2026-07-01T09:00:00+09:00")


# --------------------------------------------------------------------------------------------------
# radar chart
# --------------------------------------------------------------------------------------------------
def _radar(ax, labels: list[str], series: list[tuple[str, list[float]]]) -> None:
    import numpy as np

    n = len(labels)
    angles = np.linspace(0, 2 * np.pi, n, endpoint=False).tolist()
    angles_closed = angles + angles[:1]
    for label, values in series:
        vals = [v if v == v else 0.0 for v in values]  # NaN (not rated) drawn at the centre
        vals = vals + vals[:1]
        ax.plot(angles_closed, vals, linewidth=2, label=label)
        ax.fill(angles_closed, vals, alpha=0.15)
    ax.set_theta_offset(np.pi / 2)  # first label at the top, then clockwise
    ax.set_theta_direction(-1)
    ax.set_xticks(angles)
    ax.set_xticklabels(labels)
    ax.set_ylim(0, SCALE[1])
    ax.set_yticks(range(1, SCALE[1] + 1))
    ax.set_yticklabels([str(v) for v in range(1, SCALE[1] + 1)], fontsize=8, color="grey")


def radar_chart(profile: Profile, *, compare: Profile | None = None, labels: tuple[str, str] = ("今回", "前回"),
                title: str | None = None):
    """Two radar charts side by side: the six competency groups and the five traits. Returns the figure.

    ``compare`` (e.g. ``profile.previous()`` or a team average) is drawn underneath for "then vs now".
    """
    import matplotlib.pyplot as plt

    from .plotting import setup

    setup()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.8), subplot_kw={"polar": True})
    group_labels = [g.short for g in COMPETENCIES]
    trait_labels = [TRAIT_SHORT[t.key] for t in TRAITS]
    g_series, t_series = [], []
    if compare is not None:
        g_series.append((labels[1], list(compare.group_scores().values())))
        t_series.append((labels[1], list(compare.trait_scores().values())))
    g_series.append((labels[0], list(profile.group_scores().values())))
    t_series.append((labels[0], list(profile.trait_scores().values())))
    _radar(axes[0], group_labels, g_series)
    axes[0].set_title("6つの基礎コンピテンシー (平均)", pad=18)
    _radar(axes[1], trait_labels, t_series)
    axes[1].set_title("CSに向く5つの特性", pad=18)
    if compare is not None:
        axes[1].legend(loc="upper right", bbox_to_anchor=(1.3, 1.12))
    fig.suptitle(title or f"自己診断: {profile.learner_id}", y=1.02)
    fig.tight_layout()
    return fig


def strengths_and_gaps(profile: Profile, n: int = 3) -> tuple[list[str], list[str]]:
    """Japanese names of the ``n`` highest and ``n`` lowest rated competency items (ties: course order).

    Both lists are empty when every rated item has the same score (nothing stands out yet).
    """
    rated = [(profile.competencies[g.key][i.key], idx, i.name)
             for idx, (g, i) in enumerate((g, i) for g in COMPETENCIES for i in g.items)
             if i.key in profile.competencies.get(g.key, {})]
    if len({score for score, _, _ in rated}) < 2:
        return [], []
    top = [name for _, _, name in sorted(rated, key=lambda r: (-r[0], r[1]))[:n]]
    low = [name for _, _, name in sorted(rated, key=lambda r: (r[0], r[1]))[:n]]
    return top, low


# --------------------------------------------------------------------------------------------------
# widgets
# --------------------------------------------------------------------------------------------------
class SelfAssessmentWidget:
    """Sliders 1–5 for every competency item and trait, a save button and a radar chart.

    ``SelfAssessmentWidget(learner="tanaka_h")`` starts from the learner's saved profile when there is one
    (so re-opening shows last time's answers), otherwise from 3 everywhere. Nothing is written until the
    save button is clicked (or ``save()`` is called). Display it by leaving it as the last expression.
    """

    def __init__(self, learner: str | None = None, default: int = 3):
        import ipywidgets as w

        self.learner = _learner.validate_learner_id(learner or _learner.learner_id())
        self.saved_path: Path | None = None
        start: Profile | None = None
        try:
            start = load_profile(self.learner) if profile_path(self.learner).exists() else None
        except ProfileError:
            start = None
        self._start = start
        self.sliders: dict[str, Any] = {}
        style = {"description_width": "190px"}  # one label width, so the sliders line up
        pages, titles = [], []
        for g in COMPETENCIES:
            rows = [w.HTML(f"<div style='color:#555'>{g.description}</div>")]
            for i in g.items:
                value = (start.competencies.get(g.key, {}).get(i.key, default) if start else default)
                s = w.IntSlider(value=value, min=SCALE[0], max=SCALE[1], step=1,
                                description=i.name + (" ★" if i.new_in_v3 else ""), style=style,
                                layout=w.Layout(width="430px", min_width="430px"), tooltip=i.description)
                self.sliders[f"{g.key}.{i.key}"] = s
                rows.append(w.HBox([s, w.HTML(f"<span style='color:#666;font-size:90%'>{i.description}</span>")]))
            pages.append(w.VBox(rows))
            titles.append(g.short)
        trait_rows = []
        for t in TRAITS:
            value = start.traits.get(t.key, default) if start else default
            s = w.IntSlider(value=value, min=SCALE[0], max=SCALE[1], step=1, description=t.name, style=style,
                            layout=w.Layout(width="430px", min_width="430px"), tooltip=t.description)
            self.sliders[f"traits.{t.key}"] = s
            trait_rows.append(w.HBox([s, w.HTML(f"<span style='color:#666;font-size:90%'>{t.description}</span>")]))
        pages.append(w.VBox(trait_rows))
        titles.append("5つの特性")
        self.tabs = w.Tab(children=pages, titles=titles)
        legend = "　".join(f"{k}: {v}" for k, v in SCALE_LABELS.items())
        self.note = w.Textarea(placeholder="メモ (任意): 点数をつけた理由や、思い浮かんだ具体的な場面",
                               layout=w.Layout(width="95%", height="60px"),
                               value=start.note if start else "")
        self.save_button = w.Button(description="保存してグラフを表示", button_style="primary", icon="save",
                                    layout=w.Layout(width="auto"))
        self.chart_button = w.Button(description="グラフだけ表示", icon="line-chart", layout=w.Layout(width="auto"))
        self.status = w.HTML()
        self.output = w.Output()
        self.save_button.on_click(lambda _b: self.save())
        self.chart_button.on_click(lambda _b: self.show_chart())
        self.widget = w.VBox([w.HTML(f"<b>目盛り</b>　{legend}<br>★ は BABOK 第3版で加わった項目"), self.tabs,
                              self.note, w.HBox([self.save_button, self.chart_button]), self.status, self.output])

    def profile(self) -> Profile:
        """The current slider values as a Profile (not saved)."""
        comp: dict[str, dict[str, int]] = {}
        traits: dict[str, int] = {}
        for key, s in self.sliders.items():
            group, item = key.split(".", 1)
            if group == "traits":
                traits[item] = int(s.value)
            else:
                comp.setdefault(group, {})[item] = int(s.value)
        history = list(self._start.history) if self._start else []
        return Profile(self.learner, comp, traits, note=self.note.value.strip(), history=history)

    def set_scores(self, scores: Mapping[str, int]) -> None:
        """Set sliders by ``"group.item"`` / ``"traits.key"`` (used by tests and facilitators)."""
        for key, value in scores.items():
            if key not in self.sliders:
                raise KeyError(f"「{key}」というスライダーはありません。")
            self.sliders[key].value = _check_score(value, key)

    def save(self) -> Path:
        prof = self.profile()
        try:
            self.saved_path = save_profile(prof)
        except OSError as exc:
            self.status.value = (f"<span style='color:#c62828'>❌ 保存できませんでした ({exc.strerror})。"
                                 "保存先フォルダに書き込めるか確認してください。</span>")
            raise
        self.status.value = f"<span style='color:#2e7d32'>✅ 保存しました: {self.saved_path}</span>"
        self._start = load_profile(path=self.saved_path)
        self.show_chart(self._start)
        return self.saved_path

    def show_chart(self, profile: Profile | None = None) -> None:
        """Draw the radar chart (and last time's scores, if any) into the widget's output area."""

        prof = profile or self.profile()
        from .htmlpage import figure_png

        png = figure_png(radar_chart(prof, compare=prof.previous()))
        top, low = strengths_and_gaps(prof)
        # append_* work with or without a running kernel (tests drive the widget directly)
        self.output.outputs = ({"output_type": "display_data", "metadata": {},
                                "data": {"image/png": base64.b64encode(png).decode("ascii"),
                                         "text/plain": "<自己診断のレーダーチャート>"}},)
        if top:
            self.output.append_stdout(f"高めの項目: {'、'.join(top)}\n伸びしろの項目: {'、'.join(low)}\n")
        else:
            self.output.append_stdout("すべて同じ点数です。差をつけてみると、強みと伸びしろが見えてきます。\n")

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)


def notes_path(module: str, learner: str | None = None) -> Path:
    return _learner.learner_file("notes", learner, module)


def load_notes(module: str, learner: str | None = None) -> dict[str, str]:
    """Saved answers for ``module`` as ``{question key: text}`` (empty when nothing was saved)."""
    path = notes_path(module, learner)
    if not path.exists():
        return {}
    data = _read_json(path, "メモファイル")
    if not isinstance(data, Mapping) or data.get("format") != NOTES_FORMAT:
        raise ProfileError(f"メモファイル「{path}」の形式が違います。ファイルを削除して保存し直してください。")
    return {k: str(v.get("text", "")) for k, v in data.get("answers", {}).items() if isinstance(v, Mapping)}


def save_notes(module: str, answers: Mapping[str, tuple[str, str]], learner: str | None = None) -> Path:
    """Save written answers atomically to ``notes_path(module)``; ``answers`` maps key -> (question, text).

    Answers already saved under other keys are kept, so several widgets of one lesson share one file.

    File format::

        {"format": "cs-dojo/notes", "version": 1, "learner_id": "...", "module": "01_mindset",
         "updated_at": "<ISO 8601>", "answers": {"<key>": {"question": "...", "text": "..."}}}
    """
    lid = _learner.validate_learner_id(learner if learner is not None else _learner.learner_id())
    path = notes_path(module, lid)
    merged: dict[str, Any] = {}
    if path.exists():
        try:
            old = _read_json(path, "メモファイル")
            if isinstance(old, Mapping) and old.get("format") == NOTES_FORMAT and isinstance(old.get("answers"), Mapping):
                merged.update(old["answers"])
        except ProfileError:
            pass  # an unreadable file is replaced
    merged.update({k: {"question": q, "text": t} for k, (q, t) in answers.items()})
    data = {"format": NOTES_FORMAT, "version": 1, "learner_id": lid, "module": module, "updated_at": _now(),
            "answers": merged}
    atomic_write_json(path, data)
    return path


class NotesWidget:
    """Text areas for written answers plus a save button; loads what was saved before.

    ``NotesWidget("01_mindset", {"expected": "何を期待されていますか?"}, learner="tanaka_h")``. Saving an
    all-empty form is refused with a message, so running a lesson top to bottom writes nothing.
    """

    def __init__(self, module: str, questions: Mapping[str, str], learner: str | None = None,
                 height: str = "90px"):
        import ipywidgets as w

        self.module = module
        self.questions = dict(questions)
        self.learner = _learner.validate_learner_id(learner or _learner.learner_id())
        try:
            saved = load_notes(module, self.learner)
        except ProfileError:
            saved = {}
        self.areas = {k: w.Textarea(value=saved.get(k, ""), layout=w.Layout(width="95%", height=height))
                      for k in self.questions}
        self.button = w.Button(description="保存する", button_style="primary", icon="save", layout=w.Layout(width="auto"))
        self.status = w.HTML()
        self.button.on_click(lambda _b: self.save())
        rows = []
        for k, q in self.questions.items():
            rows += [w.HTML(f"<b>{q}</b>"), self.areas[k]]
        self.widget = w.VBox(rows + [w.HBox([self.button]), self.status])
        self.saved_path: Path | None = None

    def answers(self) -> dict[str, str]:
        return {k: a.value.strip() for k, a in self.areas.items()}

    def save(self) -> Path | None:
        answers = self.answers()
        if not any(answers.values()):
            self.status.value = "<span style='color:#c62828'>❌ まだ何も書かれていません。一言でもよいので書いてから保存しましょう。</span>"
            return None
        self.saved_path = save_notes(self.module, {k: (self.questions[k], t) for k, t in answers.items()},
                                     self.learner)
        self.status.value = f"<span style='color:#2e7d32'>✅ 保存しました: {self.saved_path}</span>"
        return self.saved_path

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)
