"""The shared page renderer and the one zip extractor used by `collect` and `session summary`."""
from __future__ import annotations

import zipfile

import pandas as pd
import pytest

from cs_helpers import fileio, htmlpage


class _LegacyName(zipfile.ZipInfo):
    """A member written the way Japanese Windows' built-in zip does: cp932 bytes, no UTF-8 flag."""

    def _encodeFilenameFlags(self):  # zipfile's hook for the stored name
        return self.filename.encode("cp437"), self.flag_bits


def _zip(path, members: dict[str, bytes], *, cp932: bool = False):
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            kind = _LegacyName if cp932 else zipfile.ZipInfo
            info = kind(name.encode("cp932").decode("cp437") if cp932 else name, (2026, 4, 1, 9, 30, 0))
            zf.writestr(info, data)
    return path


def test_safe_extract_decodes_japanese_windows_names_and_keeps_time(tmp_path):
    archive = _zip(tmp_path / "a.zip", {"提出物/佐藤.ipynb": b"{}"}, cp932=True)
    written, refused = fileio.safe_extract(archive, tmp_path / "out", max_member_bytes=100, max_total_bytes=100)
    assert refused == [] and [p.relative_to(tmp_path / "out").as_posix() for p in written] == ["提出物/佐藤.ipynb"]
    assert written[0].stat().st_mtime == pytest.approx(
        pd.Timestamp("2026-04-01 09:30:00").to_pydatetime().timestamp())


def test_safe_extract_refuses_escapes_and_oversized_members(tmp_path):
    archive = _zip(tmp_path / "b.zip", {"../../outside.json": b"{}", "/abs.json": b"{}", "C:/win.json": b"{}",
                                        "big.bin": b"x" * 50, "ok.json": b"{}"})
    written, refused = fileio.safe_extract(archive, tmp_path / "out", max_member_bytes=10, max_total_bytes=100)
    assert [p.name for p in written] == ["ok.json"]
    assert len(refused) == 4 and any("too large" in r for r in refused)
    assert not (tmp_path / "outside.json").exists()


def test_safe_extract_names_a_broken_archive(tmp_path):
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"not a zip")
    with pytest.raises(fileio.ZipReadError, match="bad.zip"):
        fileio.safe_extract(bad, tmp_path / "out", max_member_bytes=10, max_total_bytes=10)


def test_table_and_page_escape_text_and_keep_numbers_readable():
    df = pd.DataFrame({"name": ["<script>x</script>"], "rate": [75.0], "avg": [61.25]})
    table = htmlpage.table_html(df, {"name": "氏名", "rate": "得点率", "avg": "平均"})
    assert "&lt;script&gt;" in table and "<script>" not in table
    assert ">75<" in table and ">61.2<" in table and "<th>氏名</th>" in table
    page = htmlpage.render_page("<b>題</b>", [htmlpage.Section("見出し", table)], intro=["a & b"])
    assert "&lt;b&gt;題&lt;/b&gt;" in page and "<h2>見出し</h2>" in page and "a &amp; b" in page
    assert "http://" not in page and "https://" not in page
    assert htmlpage.table_html(df.iloc[0:0], {"name": "氏名"}) == "<p>該当なし</p>"
