"""Self-contained HTML pages (cohort report, study-session summary): one jinja2 template, figures as inline PNG.

Nothing is loaded from the network: styles are inline and every plot is embedded as a ``data:`` URI, so a page can
be mailed, opened offline or projected as it is.
"""
from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

TEMPLATES = Path(__file__).with_name("templates")


@dataclass(frozen=True)
class Section:
    heading: str
    html: str          # trusted HTML built by the caller (tables, <img>); text parts must be escaped by the caller


def figure_png(fig, *, dpi: int = 110, close: bool = True) -> bytes:
    """PNG bytes of a Matplotlib figure, with no metadata (the file carries nothing but pixels)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    if close:
        import matplotlib.pyplot as plt
        plt.close(fig)
    return buf.getvalue()


def png_data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def figure_data_uri(fig, *, dpi: int = 110) -> str:
    return png_data_uri(figure_png(fig, dpi=dpi))


def image_html(fig, alt: str) -> str:
    from html import escape
    return f'<img alt="{escape(alt)}" src="{figure_data_uri(fig)}">'


def table_html(df, columns: dict[str, str], empty: str = "該当なし") -> str:
    """``df[columns]`` as an escaped HTML table with Japanese headers; whole numbers without decimals."""
    from html import escape
    if df.empty:
        return f"<p>{escape(empty)}</p>"

    def fmt(value) -> str:
        if isinstance(value, float):
            return "" if value != value else f"{value:.0f}" if value.is_integer() else f"{value:.1f}"
        return str(value)

    shown = df[list(columns)].rename(columns=columns)
    return shown.to_html(index=False, escape=True, border=0, na_rep="", formatters={c: fmt for c in shown.columns})


@lru_cache(maxsize=1)
def _environment():
    import jinja2
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
                              keep_trailing_newline=True)


def render_page(title: str, sections: list[Section], *, intro: list[str] = (), footer: list[str] = (),
                width: str = "60em", font_size: str = "16px", accent: str = "#2e9d5b") -> str:
    """One self-contained page: a title, short notes, then each section with its heading."""
    return _environment().get_template("page.html.j2").render(
        title=title, sections=sections, intro=list(intro), footer=list(footer), width=width, font_size=font_size,
        accent=accent)
