"""nbgrader preprocessors used by the course's ``nbgrader_config.py``.

* ``LimitOutputChars`` — caps the characters kept per output (nbgrader's ``LimitOutput`` only counts lines, so a
  single ``print("x" * 10**7)`` would otherwise travel into the gradebook folders and the feedback HTML).
* ``HideHiddenTests`` — for feedback: removes hidden-test regions from test cells *and* hides the outputs of those
  cells (a failing hidden ``assert`` prints its own source line in the traceback).
"""
from __future__ import annotations

from nbconvert.preprocessors import Preprocessor
from nbformat.notebooknode import NotebookNode
from traitlets import Bool, Integer, Unicode

HIDDEN_NOTICE = "# (非公開テストはここに含まれています。内容は表示しません)"
HIDDEN_OUTPUT_FAIL = "このセルの非公開テストを含むいずれかのテストで不合格になりました ({ename})。問題文の条件を見直してみましょう。\n"
HIDDEN_OUTPUT_PASS = ""


class LimitOutputChars(Preprocessor):
    """Truncate each stream/text output to ``max_chars`` characters."""

    enabled = Bool(True).tag(config=True)
    max_chars = Integer(100_000, help="characters kept per output (-1: no limit)").tag(config=True)

    def _cut(self, text):
        if isinstance(text, list):
            text = "".join(text)
        if self.max_chars >= 0 and len(text) > self.max_chars:
            return text[: self.max_chars] + f"\n... 出力が長すぎるため {len(text) - self.max_chars} 文字を省略しました ...\n"
        return text

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                output["text"] = self._cut(output.get("text", ""))
            elif output.get("output_type") in {"execute_result", "display_data"}:
                data = output.get("data", {})
                for key in list(data):
                    if key.startswith("text/") and isinstance(data[key], (str, list)):
                        data[key] = self._cut(data[key])
        return cell, resources


class HideHiddenTests(Preprocessor):
    """Strip ``BEGIN/END HIDDEN TESTS`` regions and hide what such cells printed."""

    enabled = Bool(True).tag(config=True)
    begin = Unicode("BEGIN HIDDEN TESTS").tag(config=True)
    end = Unicode("END HIDDEN TESTS").tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        source = cell.get("source", "")
        if isinstance(source, list):
            source = "".join(source)
        if self.begin not in source:
            return cell, resources
        kept, inside, noted = [], False, False
        for line in source.split("\n"):
            if self.begin in line:
                inside = True
                if not noted:
                    indent = line[: len(line) - len(line.lstrip())]
                    kept.append(indent + HIDDEN_NOTICE)
                    noted = True
                continue
            if self.end in line:
                inside = False
                continue
            if not inside:
                kept.append(line)
        cell.source = "\n".join(kept)
        if cell.cell_type == "code":
            errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
            outputs = []
            if errors:
                outputs.append(NotebookNode(output_type="stream", name="stdout",
                                            text=HIDDEN_OUTPUT_FAIL.format(ename=errors[0].get("ename", "Error"))))
            cell.outputs = outputs
        return cell, resources
