"""KPI cascade (company → product → CS department → me) and the team's lagging indicators.

A cascade is *one line* from the company down to a single CSM, not the whole company's KPI list: each of
the four levels has a statement (vision, product brand, CS mission, my mindset) and the KPIs on the path.

What "linked" means (``check_cascade``)
=======================================
Every KPI says which way is good for it (``direction``: ``"up"`` or ``"down"``). Every KPI below the top
names the KPI it serves one level up (``serves``) and what a *rise* of its own metric does to that upper
metric (``effect``: ``"raises"`` or ``"lowers"``). The checker then runs these checks, each pass or fail:

* ``level``    — per level: the statement is written and the level has at least one KPI.
* ``link``     — per KPI below the company level: ``serves`` names an existing KPI exactly one level up,
  ``effect`` is given, and improving this KPI moves the upper one in *its* good direction, i.e.
  ``sign(direction) × sign(effect) == sign(upper direction)`` with up/raises = +1, down/lowers = −1.
  Example: "share of red-health accounts" (down is good) serves GRR (up is good); more red accounts
  lower GRR, so effect = lowers; improving it: down (−1) × lowers (−1) = +1 = GRR's direction: linked.
* ``leading``  — per personal KPI: it is a leading indicator the person moves with their own actions
  (``kind="leading"``). Lagging indicators such as churn or retention are judged at team level.

``CascadeReport.score`` (整合度) = passed checks ÷ all checks, from 0 to 1; ``report.checks`` lists every
check, so the score can always be recomputed by hand.

Not a check: *coverage*. A cascade is one person's line, so most KPIs of the department or the product are
supported by *other* people's KPIs. A KPI that nothing one level below serves is listed in
``report.unsupported`` (with a note in ``report.notes``) for the learner to judge — keep it in the line because a
colleague owns it, or drop it — but it is never counted as broken and never lowers the score.

Lagging indicators
==================
``lagging_indicators(accounts)`` computes gross logo churn and gross revenue retention (GRR) for the
accounts active at the start of a window (default: the 12 months up to the data set's snapshot date).
"""
from __future__ import annotations

import html
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Mapping

from . import learner as _learner

LEVELS: tuple[str, ...] = ("company", "product", "cs", "personal")
LEVEL_LABELS = {
    "company": {"name": "企業", "statement": "ビジョン", "kpi": "企業KPI", "kpi_short": "企業KPI", "prefix": "C"},
    "product": {"name": "製品・事業", "statement": "製品ブランド (事業として目指す姿)", "kpi": "事業KPI", "kpi_short": "事業KPI", "prefix": "P"},
    "cs": {"name": "CS部門", "statement": "CS部門のミッション", "kpi": "部門KPI", "kpi_short": "部門KPI", "prefix": "S"},
    "personal": {"name": "自分", "statement": "マインド (どうありたいか)", "kpi": "個人KPI (どうなればそう言えるか)",
                 "kpi_short": "個人KPI", "prefix": "M"},
}
_LEVEL_ALIASES = {
    "company": "company", "企業": "company", "会社": "company",
    "product": "product", "事業": "product", "製品": "product", "製品・事業": "product",
    "cs": "cs", "CS": "cs", "CS部門": "cs", "部門": "cs",
    "personal": "personal", "個人": "personal", "自分": "personal",
}
_DIRECTION_ALIASES = {"up": "up", "上げたい": "up", "上げる": "up", "高いほど良い": "up", "↑": "up",
                      "down": "down", "下げたい": "down", "下げる": "down", "低いほど良い": "down", "↓": "down"}
_EFFECT_ALIASES = {"raises": "raises", "上げる": "raises", "上がる": "raises", "↑": "raises",
                   "lowers": "lowers", "下げる": "lowers", "下がる": "lowers", "↓": "lowers"}
_KIND_ALIASES = {"leading": "leading", "先行": "leading", "先行指標": "leading",
                 "lagging": "lagging", "遅行": "lagging", "遅行指標": "lagging"}
DIRECTION_JA = {"up": "上げたい", "down": "下げたい"}
EFFECT_JA = {"raises": "上げる", "lowers": "下げる"}
KIND_JA = {"leading": "先行指標", "lagging": "遅行指標"}
CASCADE_FORMAT = "cs-dojo/kpi-cascade"


class CascadeError(ValueError):
    """A cascade that cannot even be checked (bad field value, duplicate id); message in Japanese."""


def _blank(value: Any) -> bool:
    """None, an empty string or NaN (an empty cell of a DataFrame)."""
    return value is None or (isinstance(value, str) and not value.strip()) or value != value


def _norm(value: Any, aliases: Mapping[str, str], what: str, where: str, allow_none: bool = False) -> str | None:
    if _blank(value):
        if allow_none:
            return None
        raise CascadeError(f"{where}: {what}が空です。")
    key = str(value).strip()
    if key in aliases:
        return aliases[key]
    if key.lower() in aliases:
        return aliases[key.lower()]
    options = "、".join(dict.fromkeys(aliases))
    raise CascadeError(f"{where}: {what}「{value}」は使えません。次のいずれかにしてください: {options}")


@dataclass(frozen=True)
class KPI:
    """One KPI in the cascade. Japanese values are accepted (e.g. ``direction="下げたい"``)."""

    id: str
    level: str
    name: str
    direction: str
    serves: str | None = None
    effect: str | None = None
    kind: str = "leading"

    def __post_init__(self) -> None:
        kid = "" if _blank(self.id) else str(self.id).strip()
        if not kid:
            raise CascadeError(f"KPI「{self.name}」: id が空です。C1, P1, S1, M1 のような短い id をつけてください。")
        where = f"KPI「{kid}」"
        object.__setattr__(self, "id", kid)
        object.__setattr__(self, "level", _norm(self.level, _LEVEL_ALIASES, "段 (level)", where))
        name = "" if _blank(self.name) else str(self.name).strip()
        if not name:
            raise CascadeError(f"{where}: 指標名 (name) が空です。")
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "direction", _norm(self.direction, _DIRECTION_ALIASES, "目指す向き (direction)", where))
        serves = self.serves
        serves = None if _blank(serves) else str(serves).strip()
        object.__setattr__(self, "serves", serves)
        object.__setattr__(self, "effect", _norm(self.effect, _EFFECT_ALIASES, "上の段への効き方 (effect)", where,
                                                 allow_none=True))
        object.__setattr__(self, "kind", _norm("leading" if _blank(self.kind) else self.kind, _KIND_ALIASES,
                                               "指標の種類 (kind)", where))
        if self.level == "company" and self.serves is not None:
            raise CascadeError(f"{where}: 企業KPIはいちばん上の段なので、serves (つながり先) は空にしてください。")


@dataclass
class Cascade:
    """Statements per level plus KPIs. ``Cascade.from_records(statements, rows)`` accepts dicts or a DataFrame."""

    statements: dict[str, str] = field(default_factory=dict)
    kpis: list[KPI] = field(default_factory=list)

    def __post_init__(self) -> None:
        statements = {}
        for level, text in dict(self.statements or {}).items():
            statements[_norm(level, _LEVEL_ALIASES, "段", "ステートメント")] = str(text or "").strip()
        self.statements = statements
        seen: set[str] = set()
        for k in self.kpis:
            if not isinstance(k, KPI):
                raise CascadeError(f"kpis には KPI(...) を入れてください (渡されたもの: {type(k).__name__})。")
            if k.id in seen:
                raise CascadeError(f"KPI の id「{k.id}」が重複しています。1つずつ別の id にしてください。")
            seen.add(k.id)

    @classmethod
    def from_records(cls, statements: Mapping[str, str], records: Any) -> "Cascade":
        if hasattr(records, "to_dict"):
            records = records.to_dict("records")
        kpis = []
        for n, row in enumerate(records, 1):
            if not isinstance(row, Mapping):
                raise CascadeError(f"{n}件目の KPI が辞書 (dict) ではありません。")
            unknown = set(row) - {"id", "level", "name", "direction", "serves", "effect", "kind"}
            if unknown:
                raise CascadeError(f"{n}件目の KPI に知らない項目があります: {', '.join(sorted(map(str, unknown)))}。"
                                   "使えるのは id, level, name, direction, serves, effect, kind です。")
            kpis.append(KPI(**{k: row.get(k) for k in ("id", "level", "name", "direction", "serves", "effect", "kind")}))
        return cls(dict(statements), kpis)

    def at(self, level: str) -> list[KPI]:
        level = _norm(level, _LEVEL_ALIASES, "段", "Cascade.at")
        return [k for k in self.kpis if k.level == level]

    def get(self, kpi_id: str) -> KPI | None:
        return next((k for k in self.kpis if k.id == kpi_id), None)

    def to_dict(self) -> dict[str, Any]:
        return {"format": CASCADE_FORMAT, "version": 1, "statements": dict(self.statements),
                "kpis": [asdict(k) for k in self.kpis]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Cascade":
        if data.get("format") != CASCADE_FORMAT:
            raise CascadeError("KPIカスケードのファイルではありません (format が違います)。")
        return cls.from_records(data.get("statements", {}), data.get("kpis", []))

    def frame(self):
        """The KPIs as a DataFrame with Japanese column names (for display)."""
        import pandas as pd

        rows = [{"id": k.id, "段": LEVEL_LABELS[k.level]["name"], "指標": k.name, "目指す向き": DIRECTION_JA[k.direction],
                 "つながり先": k.serves or "", "上がると上の段を": EFFECT_JA.get(k.effect, "") if k.effect else "",
                 "種類": KIND_JA[k.kind]} for k in self.kpis]
        return pd.DataFrame(rows, columns=["id", "段", "指標", "目指す向き", "つながり先", "上がると上の段を", "種類"])


_VERB_JA = {"up": "上げる", "down": "下げる"}
_SIGN = {"up": 1, "down": -1, "raises": 1, "lowers": -1}


@dataclass(frozen=True)
class Check:
    kind: str       # "level" | "link" | "leading"; "coverage" only in CascadeReport.notes
    target: str     # level key or KPI id
    ok: bool
    message: str    # Japanese; empty when ok


@dataclass
class CascadeReport:
    cascade: Cascade
    checks: list[Check]
    notes: list[Check] = field(default_factory=list)  # coverage observations: not checks, not scored

    @property
    def passed(self) -> int:
        return sum(c.ok for c in self.checks)

    @property
    def total(self) -> int:
        return len(self.checks)

    @property
    def score(self) -> float:
        """整合度: passed checks / all checks (0–1). An empty cascade scores 0."""
        return self.passed / self.total if self.total else 0.0

    @property
    def broken(self) -> set[str]:
        """Ids of KPIs with at least one failed check (link or leading)."""
        return {c.target for c in self.checks if not c.ok and c.kind != "level"}

    @property
    def unsupported(self) -> set[str]:
        """Ids of KPIs above the personal level that no KPI one level below serves in this line (a judgement
        for the learner, not an error: a colleague's KPI may support them)."""
        return {c.target for c in self.notes if not c.ok}

    @property
    def problems(self) -> list[str]:
        return [c.message for c in self.checks if not c.ok]

    def frame(self):
        import pandas as pd

        return pd.DataFrame([{"チェック": _CHECK_JA[c.kind], "対象": c.target, "結果": "✅" if c.ok else "❌",
                              "内容": c.message} for c in self.checks])

    @property
    def remarks(self) -> list[str]:
        return [c.message for c in self.notes if not c.ok]

    def summary(self) -> str:
        head = f"整合度 {self.score:.0%} ({self.total}件中{self.passed}件のチェックに合格)"
        text = head + ("。会社から自分まで一本の線でつながっています。" if not self.problems
                       else "\n" + "\n".join(f"・{p}" for p in self.problems))
        if self.remarks:
            text += "\n参考 (整合度には数えません):\n" + "\n".join(f"・{r}" for r in self.remarks)
        return text

    def _repr_html_(self) -> str:
        colour = "#2e7d32" if not self.problems else "#c62828"
        items = "".join(f"<li>{html.escape(p)}</li>" for p in self.problems)
        body = (f"<div style='font-weight:bold;color:{colour}'>整合度 {self.score:.0%} "
                f"({self.total}件中{self.passed}件のチェックに合格)</div>")
        body += f"<ul>{items}</ul>" if items else "<div>会社から自分まで一本の線でつながっています。</div>"
        if self.remarks:
            notes = "".join(f"<li>{html.escape(r)}</li>" for r in self.remarks)
            body += f"<div style='color:#555'>参考 (整合度には数えません):</div><ul style='color:#555'>{notes}</ul>"
        return body

    def __repr__(self) -> str:
        return self.summary()


_CHECK_JA = {"level": "段の記入", "link": "上の段とのつながり", "coverage": "下の段からの支え", "leading": "先行指標か"}


def check_cascade(cascade: Cascade | Mapping[str, Any]) -> CascadeReport:
    """Run every check described in the module docstring. Pure: reads nothing, writes nothing."""
    if isinstance(cascade, Mapping):
        cascade = Cascade.from_dict(cascade)
    checks: list[Check] = []
    by_id = {k.id: k for k in cascade.kpis}
    for level in LEVELS:
        lab = LEVEL_LABELS[level]
        missing = []
        if not cascade.statements.get(level):
            missing.append(f"{lab['statement']}が書かれていません")
        if not cascade.at(level):
            missing.append(f"{lab['kpi']}が1つもありません")
        checks.append(Check("level", level, not missing, f"{lab['name']}の段: " + "、".join(missing) + "。" if missing else ""))
    for k in cascade.kpis:
        idx = LEVELS.index(k.level)
        if idx == 0:
            continue
        upper_level = LEVELS[idx - 1]
        up_lab = LEVEL_LABELS[upper_level]
        msg = ""
        if k.serves is None:
            msg = f"{k.id}「{k.name}」: どの{up_lab['kpi_short']}を支えるのか (serves) が書かれていません。"
        elif k.serves not in by_id:
            msg = f"{k.id}「{k.name}」: つながり先「{k.serves}」というKPIがありません。"
        elif by_id[k.serves].level != upper_level:
            other = by_id[k.serves]
            msg = (f"{k.id}「{k.name}」: つながり先 {other.id} は{LEVEL_LABELS[other.level]['name']}の段のKPIです。"
                   f"1つ上の段 ({up_lab['name']}) のKPIにつなげてください。")
        elif k.effect is None:
            msg = f"{k.id}「{k.name}」: この指標が上がると {k.serves} がどう動くか (effect) が書かれていません。"
        else:
            upper = by_id[k.serves]
            if _SIGN[k.direction] * _SIGN[k.effect] != _SIGN[upper.direction]:
                moved = "上がり" if _SIGN[k.direction] * _SIGN[k.effect] > 0 else "下がり"
                msg = (f"{k.id}「{k.name}」: この指標を目標どおり{_VERB_JA[k.direction]}と、"
                       f"{upper.id}「{upper.name}」は{moved}ます。{upper.id} は{DIRECTION_JA[upper.direction]}指標なので、"
                       "頑張るほど上の段の目標から遠ざかります。")
        checks.append(Check("link", k.id, not msg, msg))
    notes: list[Check] = []
    for k in cascade.kpis:
        idx = LEVELS.index(k.level)
        if idx == len(LEVELS) - 1:
            continue
        lower_level = LEVELS[idx + 1]
        supported = any(c.serves == k.id for c in cascade.at(lower_level))
        msg = "" if supported else (
            f"{k.id}「{k.name}」を支える{LEVEL_LABELS[lower_level]['kpi_short']}は、この線の中にはありません。"
            "同僚のKPIが支えているなら残し、誰も動かさないなら線から外すか、下の段に指標を足すかを判断してください。")
        notes.append(Check("coverage", k.id, supported, msg))
    for k in cascade.at("personal"):
        ok = k.kind == "leading"
        msg = "" if ok else (f"{k.id}「{k.name}」は遅行指標です。個人KPIには自分の行動で動かせる先行指標を置き、"
                             "遅行指標はチーム全体で追いましょう。")
        checks.append(Check("leading", k.id, ok, msg))
    return CascadeReport(cascade, checks, notes)


# --------------------------------------------------------------------------------------------------
# examples used by the lesson
# --------------------------------------------------------------------------------------------------
EXAMPLE_STATEMENTS = {
    "company": "中小企業の事務作業を減らし、誰もが本業に集中できる社会をつくる",
    "product": "ITが得意でない現場でも、導入したその月から回り始める業務クラウド",
    "cs": "顧客が自分たちの力で成果を出し続けられる状態 (自走) をつくる",
    "personal": "担当顧客の課題を自分ごととして引き受け、顧客が自分たちで回せるよう支える",
}


def example_cascade() -> Cascade:
    """A consistent cascade for a fictional SaaS company (score 1.0)."""
    K = KPI
    return Cascade(dict(EXAMPLE_STATEMENTS), [
        K("C1", "company", "ARR (年間経常収益)", "up", kind="lagging"),
        K("P1", "product", "GRR (グロス・レベニュー・リテンション)", "up", "C1", "raises", "lagging"),
        K("P2", "product", "既存顧客からの拡大ARR", "up", "C1", "raises", "lagging"),
        K("S1", "cs", "契約後90日以内のオンボーディング完了率", "up", "P1", "raises"),
        K("S2", "cs", "ヘルススコアが赤の顧客の割合", "down", "P1", "lowers"),
        K("S3", "cs", "主要機能を4つ以上使っている顧客の割合", "up", "P2", "raises"),
        K("M1", "personal", "キックオフ後30日以内に操作研修を終えた担当顧客の割合", "up", "S1", "raises"),
        K("M2", "personal", "赤になった担当顧客に7日以内に連絡した割合", "up", "S2", "lowers"),
        K("M3", "personal", "担当顧客に紹介した活用事例の数 (月)", "up", "S3", "raises"),
    ])


def broken_example() -> Cascade:
    """The example with two typical mistakes (for practice): a lagging personal KPI that also skips a level,
    and an over-serving KPI that pulls its upper KPI the wrong way. Two department KPIs are then left without
    a personal KPI of this line (``report.unsupported``), which is a judgement, not an error."""
    base = [k for k in example_cascade().kpis if k.id not in ("M2", "M3")]
    return Cascade(dict(EXAMPLE_STATEMENTS), base + [
        KPI("M2", "personal", "担当顧客の解約率", "down", "P1", "lowers", "lagging"),
        KPI("M3", "personal", "顧客の代わりに自分が行った設定作業の件数", "up", "S1", "lowers"),
    ])


def save_cascade(cascade: Cascade, learner: str | None = None) -> Path:
    """Save atomically to ``$CS_DOJO_HOME/kpi/<learner_id>.json``."""
    from .fileio import atomic_write_json

    path = _learner.learner_file("kpi", learner)
    atomic_write_json(path, cascade.to_dict())
    return path


def load_cascade(learner: str | None = None) -> Cascade | None:
    path = _learner.learner_file("kpi", learner)
    if not path.exists():
        return None
    try:
        return Cascade.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, AttributeError) as exc:
        raise CascadeError(f"KPIカスケードのファイル「{path}」を読めません: {exc}。"
                           "手で編集した場合は元に戻すか、ファイルを削除して作り直してください。") from None


# --------------------------------------------------------------------------------------------------
# lagging indicators from the accounts table
# --------------------------------------------------------------------------------------------------
def lagging_indicators(accounts, as_of: Any = None, months: int = 12, *, industry: str | None = None) -> dict:
    """Gross logo churn and GRR over the ``months`` up to ``as_of`` (default: the data's snapshot date).

    Cohort = accounts under contract at the window start (started on or before it and not churned by then).
    Churned = cohort accounts whose ``churn_date`` falls in (start, as_of]. ARR is the contracted ARR, so this
    GRR only sees churn (``revenue.account_churn``; module 06 computes GRR and NRR from ARR movements).
    """
    import pandas as pd

    from .revenue import account_churn, churn_summary
    from .data import SNAPSHOT

    as_of = pd.Timestamp(as_of) if as_of is not None else SNAPSHOT
    start = as_of - pd.DateOffset(months=months)
    df = accounts if industry is None else accounts[accounts["industry"] == industry]
    s = churn_summary(account_churn(df, start, as_of))
    n, logo = s["accounts_at_start"], s["logo_churn_rate"]
    return {
        "window_start": start.date(), "as_of": as_of.date(), "accounts_at_start": n,
        "churned_accounts": s["churned_accounts"], "logo_churn_rate": logo,
        "monthly_logo_churn_rate": 1 - (1 - logo) ** (1 / months) if n else float("nan"),
        "arr_at_start": s["arr_at_start"], "churned_arr": s["churned_arr"], "grr": s["grr"],
    }


# --------------------------------------------------------------------------------------------------
# builder widget
# --------------------------------------------------------------------------------------------------
class CascadeBuilder:
    """Edit a cascade level by level in the notebook, check it, and save it.

    ``CascadeBuilder(example_cascade())`` starts from the example; ``CascadeBuilder()`` starts from the
    learner's saved cascade, or an empty one. ``cascade()`` returns what is on screen; ``check()`` runs
    ``check_cascade`` and shows the report; nothing is written until ``save()`` (the save button).
    """

    def __init__(self, initial: Cascade | None = None, learner: str | None = None):
        import ipywidgets as w

        self._w = w
        self.learner = _learner.validate_learner_id(learner or _learner.learner_id())
        if initial is None:
            try:
                initial = load_cascade(self.learner)
            except CascadeError:
                initial = None
        initial = initial or Cascade()
        self.statements = {lv: w.Textarea(value=initial.statements.get(lv, ""), placeholder=LEVEL_LABELS[lv]["statement"],
                                          layout=w.Layout(width="95%", height="48px")) for lv in LEVELS}
        self.rows: dict[str, list[dict[str, Any]]] = {lv: [] for lv in LEVELS}
        self.boxes = {lv: w.VBox() for lv in LEVELS}
        self._counter = {lv: 0 for lv in LEVELS}
        for k in initial.kpis:
            self.add_kpi(k.level, k.name, k.direction, k.serves, k.effect, k.kind, kpi_id=k.id, refresh=False)
        sections = []
        for lv in LEVELS:
            lab = LEVEL_LABELS[lv]
            add = w.Button(description=f"{lab['kpi_short']}を追加", icon="plus", layout=w.Layout(width="auto"))
            add.on_click(lambda _b, lv=lv: self.add_kpi(lv))
            sections.append(w.VBox([w.HTML(f"<h4 style='margin:8px 0 2px'>{lab['name']}: {lab['statement']}</h4>"),
                                    self.statements[lv], w.HTML(f"<b>{lab['kpi']}</b>"), self.boxes[lv], w.HBox([add])]))
        self.check_button = w.Button(description="つながりをチェック", button_style="primary", icon="check",
                                     layout=w.Layout(width="auto"))
        self.save_button = w.Button(description="保存する", icon="save", layout=w.Layout(width="auto"))
        self.output = w.Output()
        self.status = w.HTML()
        self.check_button.on_click(lambda _b: self.check())
        self.save_button.on_click(lambda _b: self.save())
        self.widget = w.VBox(sections + [w.HBox([self.check_button, self.save_button]), self.status, self.output])
        self._refresh_all()

    # --- rows ---------------------------------------------------------------------------------
    def _next_id(self, level: str) -> str:
        used = {r["id"] for rows in self.rows.values() for r in rows}
        while True:
            self._counter[level] += 1
            candidate = f"{LEVEL_LABELS[level]['prefix']}{self._counter[level]}"
            if candidate not in used:
                return candidate

    def add_kpi(self, level: str, name: str = "", direction: str = "up", serves: str | None = None,
                effect: str | None = "raises", kind: str = "leading", *, kpi_id: str | None = None,
                refresh: bool = True) -> str:
        w = self._w
        level = _norm(level, _LEVEL_ALIASES, "段", "add_kpi")
        kid = kpi_id or self._next_id(level)
        row: dict[str, Any] = {"id": kid, "level": level}
        row["name"] = w.Text(value=name, placeholder="指標名", layout=w.Layout(width="300px"))
        row["direction"] = w.Dropdown(options=[("上げたい", "up"), ("下げたい", "down")],
                                      value=_norm(direction, _DIRECTION_ALIASES, "向き", kid), layout=w.Layout(width="100px"))
        row["kind"] = w.Dropdown(options=[("先行指標", "leading"), ("遅行指標", "lagging")],
                                 value=_norm(kind, _KIND_ALIASES, "種類", kid), layout=w.Layout(width="110px"))
        parts = [w.HTML(f"<code>{kid}</code>"), row["name"], row["direction"], row["kind"]]
        if level != "company":
            row["serves"] = w.Dropdown(options=[("(つながり先)", None)], value=None, layout=w.Layout(width="260px"))
            row["_wanted_serves"] = serves
            row["effect"] = w.Dropdown(options=[("上げる", "raises"), ("下げる", "lowers")],
                                       value=_norm(effect or "raises", _EFFECT_ALIASES, "効き方", kid),
                                       layout=w.Layout(width="90px"))
            parts += [w.HTML("→"), row["serves"], w.HTML("を"), row["effect"]]
        remove = w.Button(icon="trash", tooltip="このKPIを削除", layout=w.Layout(width="40px"))
        parts.append(remove)
        row["box"] = w.HBox(parts)
        remove.on_click(lambda _b, kid=kid: self.remove_kpi(kid))
        row["name"].observe(lambda _c, lv=level: self._refresh_serves(lv), names="value")
        self.rows[level].append(row)
        self.boxes[level].children = tuple(r["box"] for r in self.rows[level])
        if refresh:
            self._refresh_all()
        return kid

    def remove_kpi(self, kpi_id: str) -> None:
        for lv in LEVELS:
            before = len(self.rows[lv])
            self.rows[lv] = [r for r in self.rows[lv] if r["id"] != kpi_id]
            if len(self.rows[lv]) != before:
                self.boxes[lv].children = tuple(r["box"] for r in self.rows[lv])
                self._refresh_serves(lv)
                return
        raise KeyError(f"KPI「{kpi_id}」はありません。")

    def row(self, kpi_id: str) -> dict[str, Any]:
        for rows in self.rows.values():
            for r in rows:
                if r["id"] == kpi_id:
                    return r
        raise KeyError(f"KPI「{kpi_id}」はありません。")

    def _refresh_serves(self, upper_level: str) -> None:
        idx = LEVELS.index(upper_level)
        if idx == len(LEVELS) - 1:
            return
        options = [("(つながり先)", None)] + [(f"{r['id']}: {r['name'].value or '(名前未入力)'}", r["id"])
                                            for r in self.rows[upper_level]]
        valid = {v for _, v in options}
        for r in self.rows[LEVELS[idx + 1]]:
            dd = r["serves"]
            keep = r.pop("_wanted_serves", dd.value)
            dd.options = options
            dd.value = keep if keep in valid else None

    def _refresh_all(self) -> None:
        for lv in LEVELS[:-1]:
            self._refresh_serves(lv)

    # --- actions ------------------------------------------------------------------------------
    def cascade(self) -> Cascade:
        """The cascade currently on screen; KPIs without a name are left out."""
        kpis = []
        for lv in LEVELS:
            for r in self.rows[lv]:
                if not r["name"].value.strip():
                    continue
                kpis.append(KPI(r["id"], lv, r["name"].value, r["direction"].value,
                                r["serves"].value if "serves" in r else None,
                                r["effect"].value if "effect" in r else None, r["kind"].value))
        return Cascade({lv: t.value for lv, t in self.statements.items()}, kpis)

    def check(self) -> CascadeReport:
        try:
            report = check_cascade(self.cascade())
        except CascadeError as exc:
            self.status.value = f"<span style='color:#c62828'>❌ {html.escape(str(exc))}</span>"
            raise
        self.status.value = ""
        # append_* work with or without a running kernel (tests drive the widget directly)
        self.output.outputs = ()
        self.output.append_display_data(report)
        self.output.append_display_data(cascade_html(report.cascade, report))
        return report

    def save(self) -> Path:
        path = save_cascade(self.cascade(), self.learner)
        self.status.value = f"<span style='color:#2e7d32'>✅ 保存しました: {html.escape(str(path))}</span>"
        return path

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)


def cascade_html(cascade: Cascade, report: CascadeReport | None = None):
    """The cascade drawn as four stacked bands of cards (HTML), failed KPIs outlined in red."""
    from IPython.display import HTML

    report = report or check_cascade(cascade)
    broken = report.broken
    bands = []
    for lv in LEVELS:
        lab = LEVEL_LABELS[lv]
        cards = []
        for k in cascade.at(lv):
            border = "#c62828" if k.id in broken else "#2e7d32"
            arrow = "↑" if k.direction == "up" else "↓"
            link = (f"<div style='font-size:85%;color:#555'>→ {html.escape(k.serves or '?')} を"
                    f"{EFFECT_JA.get(k.effect, '?') if k.effect else '?'}</div>") if lv != "company" else ""
            cards.append(f"<div style='border:2px solid {border};border-radius:6px;padding:4px 8px;margin:3px;"
                         f"display:inline-block;min-width:150px;vertical-align:top'>"
                         f"<b>{html.escape(k.id)}</b> {html.escape(k.name)} {arrow}"
                         f"<div style='font-size:85%;color:#555'>{KIND_JA[k.kind]}</div>{link}</div>")
        statement = html.escape(cascade.statements.get(lv, "") or "(未記入)")
        bands.append(f"<div style='border-left:6px solid #5c6bc0;padding:4px 10px;margin:6px 0;background:#f7f8fc'>"
                     f"<div><b>{lab['name']}</b> — {lab['statement']}: {statement}</div>{''.join(cards)}</div>")
    return HTML("".join(bands))
