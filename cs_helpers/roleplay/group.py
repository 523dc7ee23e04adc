"""Group view for study sessions: which choice each group took at each node, and how the endings spread.

The view is anonymised: learner ids never reach the DataFrames or the plot. Give either a flat list of response
files (each becomes 「参加者01」, 「参加者02」… in an order unrelated to names) or a mapping from a group label
(e.g. 「Aチーム」) to its files. Files that cannot be verified against the trainer's scenario are left out and
listed in ``skipped`` (with their paths, for the facilitator only).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Union

import pandas as pd

from .responses import ResponseError, read_record, verify_record
from .schema import OUTCOME_LABELS, Scenario

PathLike = Union[str, Path]
OUTCOME_ORDER = ["success", "partial", "fail", "unfinished"]
OUTCOME_JA = {**OUTCOME_LABELS, "unfinished": "途中"}


@dataclass
class GroupView:
    scenario: Scenario
    choices: pd.DataFrame            # one row per choice taken: group, step, node, choice, labels
    endings: pd.DataFrame            # one row per response: group, ending, outcome
    skipped: list[dict] = field(default_factory=list)
    figure: object | None = None

    @property
    def shares(self) -> pd.DataFrame:
        """Share of each group's visits to a node that went to each choice (rows: node/choice, columns: group)."""
        return choice_shares(self.choices, self.scenario)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        if self.figure is not None:
            display(self.figure)
        if self.skipped:
            print(f"検証できなかった記録 {len(self.skipped)} 件は集計から除きました。")


def _short(text: str, n: int = 18) -> str:
    text = text.strip().strip("「」")
    return text if len(text) <= n else text[: n - 1] + "…"


def _inputs(files) -> list[tuple[str | None, Path]]:
    if isinstance(files, Mapping):
        return [(str(label), Path(f)) for label, group in files.items() for f in group]
    return [(None, Path(f)) for f in files]


def collect(files: Union[Iterable[PathLike], Mapping[str, Iterable[PathLike]]],
            scenario: Scenario | None = None) -> GroupView:
    """Verify and tabulate response files. ``scenario`` defaults to the shipped one named in the files."""
    from . import library

    rows, ends, skipped = [], [], []
    verified = []
    for label, path in _inputs(files):
        try:
            record = read_record(path)
            sc = scenario or library.load(str(record.get("scenario_id")))
            if scenario is None:
                scenario = sc
            v = verify_record(record, sc, require_finished=False)
        except (ResponseError, KeyError, ValueError) as exc:
            skipped.append({"file": str(path), "reason": str(exc)})
            continue
        verified.append((label, record["checksum"], v))
    if scenario is None:
        raise ValueError("集計できる記録がありません（ファイルの場所とシナリオを確認してください）。"
                         + (f" 除外: {len(skipped)} 件" if skipped else ""))
    # Anonymous labels: order by checksum, which says nothing about who the learner is.
    unnamed = sorted((v for v in verified if v[0] is None), key=lambda v: v[1])
    names = {id(v): f"参加者{i + 1:02d}" for i, v in enumerate(unnamed)}
    for item in verified:
        label, _checksum, v = item
        group = label if label is not None else names[id(item)]
        s = v.session
        for i, step in enumerate(s.steps):
            ch = scenario.choices[step.choice]
            rows.append({"group": group, "step": i + 1, "node": step.node, "choice": step.choice,
                         "choice_text": ch.text, "label": f"{step.node}: {_short(ch.text)}"})
        outcome = s.ending.outcome if s.ending else "unfinished"
        ends.append({"group": group, "ending": s.ending.id if s.ending else None, "outcome": outcome,
                     "outcome_ja": OUTCOME_JA[outcome], "title": s.ending.title if s.ending else "途中"})
    choices = pd.DataFrame(rows, columns=["group", "step", "node", "choice", "choice_text", "label"])
    endings = pd.DataFrame(ends, columns=["group", "ending", "outcome", "outcome_ja", "title"])
    return GroupView(scenario, choices, endings, skipped)


def choice_shares(choices: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    if choices.empty:
        return pd.DataFrame()
    counts = choices.groupby(["node", "choice", "group"]).size().rename("n").reset_index()
    visits = choices.groupby(["node", "group"]).size().rename("visits").reset_index()
    counts = counts.merge(visits, on=["node", "group"])
    counts["share"] = counts["n"] / counts["visits"]
    order = [c.id for n in scenario.nodes.values() for c in n.choices]
    labels = {c.id: f"{c.node}: {_short(c.text)}" for c in scenario.choices.values()}
    table = counts.pivot_table(index="choice", columns="group", values="share", fill_value=0.0)
    table = table.reindex([c for c in order if c in table.index])
    table.index = [labels[c] for c in table.index]
    table.index.name = "場面: 選択"
    table.columns.name = "グループ"
    return table


def plot(view: GroupView, *, figsize: tuple[float, float] | None = None):
    """Heatmap of choice shares per group (left) and the spread of endings per group (right)."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    from ..plotting import PALETTE, setup

    setup()
    shares = view.shares
    n_rows = max(len(shares), 1)
    groups = sorted(view.endings["group"].unique()) if not view.endings.empty else []
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=figsize or (12, max(4.0, 0.32 * n_rows + 1.5)),
                                   gridspec_kw={"width_ratios": [3, 2]}, layout="constrained")
    if shares.empty:
        ax1.text(0.5, 0.5, "集計できる記録がありません", ha="center", va="center")
        ax1.set_axis_off()
    else:
        sns.heatmap(shares, ax=ax1, vmin=0, vmax=1, cmap="Blues", annot=len(shares.columns) <= 8, fmt=".0%",
                    cbar_kws={"label": "その場面での選択の割合"}, linewidths=0.5)
        ax1.set_title(f"どの場面で何を選んだか — {view.scenario.title}", fontsize=11)
        ax1.set_xlabel("グループ")
        ax1.set_ylabel("")
    colours = {"success": PALETTE["green"], "partial": PALETTE["yellow"], "fail": PALETTE["red"],
               "unfinished": "#9e9e9e"}
    if groups:
        table = (view.endings.groupby(["group", "outcome"]).size().unstack(fill_value=0)
                 .reindex(index=groups, columns=OUTCOME_ORDER, fill_value=0))
        left = pd.Series(0, index=table.index, dtype=float)
        for outcome in OUTCOME_ORDER:
            if table[outcome].sum() == 0:
                continue
            ax2.barh(table.index, table[outcome], left=left, color=colours[outcome], label=OUTCOME_JA[outcome])
            left += table[outcome]
        ax2.invert_yaxis()
        ax2.set_xlabel("人数")
        ax2.set_title("終わり方の分布", fontsize=11)
        ax2.legend(loc="upper center", bbox_to_anchor=(0.5, -0.07), ncol=3, fontsize=9, frameon=False)
    else:
        ax2.set_axis_off()
    plt.close(fig)
    view.figure = fig
    return fig


def group_view(files: Union[Iterable[PathLike], Mapping[str, Iterable[PathLike]]],
               scenario_id: str | None = None) -> GroupView:
    """Collect, verify and plot; returns the view (``.figure``, ``.shares``, ``.choices``, ``.endings``)."""
    from . import library

    view = collect(files, library.load(scenario_id) if scenario_id else None)
    plot(view)
    return view


def simulate(scenario_id: str, groups: Iterable[str] = ("Aチーム", "Bチーム", "Cチーム"), per_group: int = 4,
             *, base: PathLike, seed: int = 0) -> dict[str, list[Path]]:
    """Write response files of simulated participants (random choices) under ``base``, for demos and tests.
    Returns ``{group label: [response files]}``, ready for :func:`group_view`."""
    import random

    from . import library
    from .analysis import random_walk
    from .responses import save_session

    scenario = library.load(scenario_id)
    out: dict[str, list[Path]] = {}
    for g, label in enumerate(groups):
        files = []
        for i in range(per_group):
            rng = random.Random(f"{seed}|{label}|{i}")
            session = random_walk(scenario, rng)
            files.append(save_session(session, base=Path(base) / f"g{g}_{i}", learner=f"sample{g}{i}",
                                      mode="practice"))
        out[label] = files
    return out
