"""Japanese labels render with the course font and no missing-glyph warnings."""
from __future__ import annotations

import warnings

import matplotlib

matplotlib.use("Agg")


def test_japanese_plot_renders_without_warnings(tmp_path):
    import matplotlib.pyplot as plt
    from matplotlib import font_manager

    from cs_helpers import plotting

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        family = plotting.setup()
        fig, ax = plt.subplots()
        ax.bar(["製造", "医療・介護", "IT・ソフトウェア"], [3, -1, 2])
        ax.set(title="業界別の解約率 — ヘルススコア", xlabel="業界", ylabel="件数 (−は減少)")
        out = tmp_path / "plot.png"
        fig.savefig(out)
        plt.close(fig)
    assert out.stat().st_size > 5000
    path = font_manager.findfont(family, fallback_to_default=False)
    assert "ipaex" in path.lower()


def test_default_font_would_warn(tmp_path):
    """Without setup() the same labels produce missing-glyph warnings (so the test above can fail)."""
    import matplotlib.pyplot as plt

    with matplotlib.rc_context({"font.family": ["DejaVu Sans"]}):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fig, ax = plt.subplots()
            ax.set_title("業界別の解約率")
            fig.savefig(tmp_path / "tofu.png")
            plt.close(fig)
    assert any("missing from font" in str(w.message) or "Glyph" in str(w.message) for w in caught)
