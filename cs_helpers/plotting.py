"""Japanese-capable plotting: one font and one seaborn theme, applied once.

``setup()`` is idempotent and cheap after the first call. It registers the IPAexGothic font shipped by
``matplotlib-fontja`` (so no system font is needed and nothing is downloaded) and applies the course theme.
"""
from __future__ import annotations

import matplotlib

_DONE = False
FONT_FAMILY = "IPAexGothic"
PALETTE = {"green": "#2e9d5b", "yellow": "#e8b22a", "red": "#d9534f"}


def setup(context: str = "notebook") -> str:
    """Apply the Japanese font and the course's seaborn theme. Returns the font family name."""
    global _DONE
    if _DONE:
        return FONT_FAMILY
    import matplotlib_fontja  # noqa: F401  (registers IPAexGothic with matplotlib)
    import seaborn as sns

    sns.set_theme(context=context, style="whitegrid", palette="deep", font=FONT_FAMILY,
                  rc={"axes.unicode_minus": False, "figure.dpi": 100,
                      "font.family": [FONT_FAMILY, "sans-serif"]})
    matplotlib.rcParams["axes.unicode_minus"] = False
    _DONE = True
    return FONT_FAMILY


def band_palette() -> dict[str, str]:
    """Colours for health bands, keyed by the Japanese band labels used across the course."""
    return {"緑": PALETTE["green"], "黄": PALETTE["yellow"], "赤": PALETTE["red"],
            "green": PALETTE["green"], "yellow": PALETTE["yellow"], "red": PALETTE["red"]}
