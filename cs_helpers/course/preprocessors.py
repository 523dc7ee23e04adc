"""nbgrader preprocessors used by the course's ``nbgrader_config.py``.

* ``LimitOutputChars`` — caps the characters kept per output (nbgrader's ``LimitOutput`` only counts lines, so a
  single ``print("x" * 10**7)`` would otherwise travel into the gradebook folders and the feedback HTML).
* ``HideHiddenTests`` — for feedback: removes hidden-test regions from test cells *and* hides the outputs of those
  cells (a failing hidden ``assert`` prints its own source line in the traceback).
* ``AddRubric`` — for feedback: attaches the rubric's criteria (``rubrics/<assignment>.yaml`` in the workspace) to
  each manually graded answer, so the Japanese feedback page (``templates/feedback_ja``) can show what was assessed.
"""
from __future__ import annotations

import os
from pathlib import Path

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


class AddRubric(Preprocessor):
    """Copy each manually graded cell's rubric (title, criteria, top level) into ``metadata.cs_dojo_rubric``."""

    enabled = Bool(True).tag(config=True)
    rubrics_dir = Unicode("", help="folder of <assignment>.yaml rubrics (default: rubrics/ in the course root)").tag(
        config=True)

    def _questions(self, assignment: str) -> dict:
        import yaml
        folder = Path(self.rubrics_dir or os.path.join(os.getcwd(), "rubrics"))
        path = folder / f"{assignment}.yaml"
        if not assignment or not path.is_file():
            return {}
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return {q.get("grade_id"): q for q in data.get("questions", []) if isinstance(q, dict)}

    def preprocess(self, nb, resources):
        assignment = (resources.get("nbgrader") or {}).get("assignment", "")
        self._by_id = self._questions(assignment)
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        meta = cell.metadata.get("nbgrader") or {}
        question = self._by_id.get(meta.get("grade_id")) if meta.get("solution") and meta.get("grade") else None
        if question:
            criteria = []
            for criterion in question.get("criteria", []):
                levels = criterion.get("levels") or {}
                top = levels.get(max(levels)) if levels else ""
                criteria.append({"text": str(criterion.get("text", "")), "top": str(top or "")})
            cell.metadata["cs_dojo_rubric"] = {"title": str(question.get("title", "")), "criteria": criteria}
        return cell, resources
