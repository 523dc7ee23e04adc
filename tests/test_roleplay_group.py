"""Group view: anonymised frames and plot of choices per node and endings per group."""
from __future__ import annotations

import json
import warnings

import pytest

from cs_helpers.roleplay import trainer
from cs_helpers.roleplay import group


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    base = tmp_path_factory.mktemp("group")
    return base, group.simulate("kickoff_hearing", per_group=5, base=base, seed=3)


def test_group_view_is_anonymised(sample):
    base, files = sample
    view = group.group_view(files)
    learner_ids = {json.loads(f.read_text("utf-8"))["learner_id"] for fs in files.values() for f in fs}
    dump = view.choices.to_csv() + view.endings.to_csv() + view.shares.to_csv()
    assert learner_ids and not any(lid in dump for lid in learner_ids)
    assert "learner_id" not in view.choices.columns and "learner_id" not in view.endings.columns
    assert set(view.endings["group"]) == {"Aチーム", "Bチーム", "Cチーム"}
    assert len(view.endings) == 15 and not view.skipped


def test_shares_add_up_per_node_and_group(sample):
    _base, files = sample
    view = group.collect(files)
    shares = view.shares
    nodes = [label.split(":")[0] for label in shares.index]
    for g in shares.columns:
        per_node = shares[g].groupby(nodes).sum()
        assert all(v == pytest.approx(1.0) or v == pytest.approx(0.0) for v in per_node), per_node
    # the counts behind the shares match the files
    total_steps = sum(len(json.loads(f.read_text("utf-8"))["path"]) for fs in files.values() for f in fs)
    assert len(view.choices) == total_steps


def test_flat_list_gets_neutral_labels_and_bad_files_are_skipped(sample, tmp_path):
    _base, files = sample
    flat = files["Aチーム"] + files["Bチーム"]
    bad = tmp_path / "bad.json"
    bad.write_text("{}", encoding="utf-8")
    other = trainer.record_path("overdemanding_request", ["op_b", "cr_a"], base=tmp_path)
    view = group.collect(flat + [bad, other])
    assert sorted(view.endings["group"]) == [f"参加者{i:02d}" for i in range(1, 11)]
    assert {s["file"] for s in view.skipped} == {str(bad), str(other)}


def test_plot_has_heatmap_and_endings_without_warnings(sample):
    _base, files = sample
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        view = group.group_view(files, "kickoff_hearing")
    axes = view.figure.axes
    assert len(axes) >= 3  # heatmap, its colour bar, endings
    assert "終わり方の分布" in [a.get_title() for a in axes]
    assert view.figure.get_axes()[0].get_xlabel() == "グループ"


def test_nothing_to_show_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="集計できる記録がありません"):
        group.collect([tmp_path / "missing.json"])
