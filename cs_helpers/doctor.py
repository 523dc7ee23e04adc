"""Environment check for learners (used by the orientation notebook): is everything the course needs here?"""
from __future__ import annotations

import importlib
import sys

import pandas as pd

REQUIRED = ["pandas", "seaborn", "matplotlib", "ipywidgets", "nbgrader", "papermill", "yaml", "matplotlib_fontja"]


def check_environment() -> pd.DataFrame:
    """One row per check with 結果 ✅/❌ and what to do when it fails."""
    py_ok = sys.version_info >= (3, 11)
    rows = [("Python 3.11 以上", py_ok, sys.version.split()[0],
             "" if py_ok else "Python 3.11 以上で make lab をやり直してください。")]
    for name in REQUIRED:
        try:
            module = importlib.import_module(name)
            rows.append((f"ライブラリ {name}", True, getattr(module, "__version__", "ok"), ""))
        except ImportError:
            rows.append((f"ライブラリ {name}", False, "未インストール", "ターミナルで make lab を実行し直してください。"))
    try:
        from . import plotting
        from matplotlib import font_manager

        family = plotting.setup()
        font_manager.findfont(family, fallback_to_default=False)
        rows.append(("日本語フォント", True, family, ""))
    except Exception as exc:  # noqa: BLE001 - any failure here means plots will show tofu
        rows.append(("日本語フォント", False, type(exc).__name__, "make lab を実行し直してください (matplotlib-fontja)。"))
    try:
        from . import data

        tables = data.load_all()
        rows.append(("同梱データ", True, f"{len(tables)} 表・顧客 {len(tables['accounts'])} 社", ""))
    except Exception as exc:  # noqa: BLE001 - report, do not crash the lesson
        rows.append(("同梱データ", False, str(exc).splitlines()[0][:60],
                     "datasets/ を変更していないか確認し、make data で作り直してください。"))
    df = pd.DataFrame(rows, columns=["確認項目", "ok", "詳細", "対処"])
    df.insert(1, "結果", df.pop("ok").map({True: "✅", False: "❌"}))
    return df
