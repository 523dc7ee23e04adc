"""Measuring grouping against a labelled set: the adjusted Rand index and the trainer's actions.

Two ways to count actions (each is one decision a trainer makes; one-by-one grading is one action per answer):

* :func:`.cluster.trainer_actions` — group once, move every misplaced answer to its right group, grade each group;
* :func:`simulate_session` — the panel's workflow: grade the largest ungraded group (after moving out the answers
  that do not belong: they form a new group), regroup the rest with graded groups as anchors, repeat.
"""
from __future__ import annotations

from collections import Counter

from .cluster import DEFAULT_THRESHOLD, Answer, adjusted_rand_index, group_answers, trainer_actions


def labelled_answers(data: dict) -> tuple[list[Answer], dict[str, str]]:
    """(answers, gold intent per learner) from a labelled YAML document (see tests/fixtures/answers/)."""
    answers = [Answer.of(str(a["learner"]), str(a.get("text") or "")) for a in data["answers"]]
    gold = {str(a["learner"]): str(a["intent"]) for a in data["answers"]}
    return answers, gold


def ari_of(groups, gold: dict[str, str]) -> float:
    pred = {lid: g.id for g in groups for lid in g.learners}
    order = sorted(gold)
    return adjusted_rand_index([gold[x] for x in order], [pred[x] for x in order])


def simulate_session(answers: list[Answer], gold: dict[str, str], *, threshold: float = DEFAULT_THRESHOLD,
                     anchor_margin: float | None = None) -> dict:
    from .cluster import ANCHOR_MARGIN
    margin = ANCHOR_MARGIN if anchor_margin is None else anchor_margin
    anchors: dict[str, list[str]] = {}
    intent_of: dict[str, str] = {}  # graded anchor -> the intent its grade belongs to
    graded: set[str] = set()
    grades = moves = rounds = 0
    n_new = 0
    total = len(answers)
    while len(graded) < total:
        rounds += 1
        groups = group_answers(answers, threshold=threshold, anchors=anchors, anchor_margin=margin)
        todo = [g for g in groups if any(lid not in graded for lid in g.learners)]
        g = max(todo, key=lambda x: (sum(lid not in graded for lid in x.learners), x.id != "blank"))
        fresh = [lid for lid in g.learners if lid not in graded]
        intent = intent_of.get(g.id) or Counter(gold[x] for x in fresh).most_common(1)[0][0]
        for lid in [x for x in fresh if gold[x] != intent]:
            moves += 1  # into the graded group of its intent (its grade applies at once), else a new group
            for members in anchors.values():
                if lid in members:
                    members.remove(lid)
            home = next((gid for gid, it in intent_of.items() if it == gold[lid]), None)
            # else an ungraded group the trainer sees in the list whose answers are mostly of that intent
            other = next((x for x in groups if x.id != g.id and x.id not in intent_of and x.size > 1
                          and Counter(gold[y] for y in x.learners).most_common(1)[0][0] == gold[lid]), None)
            if home:
                anchors[home].append(lid)
                graded.add(lid)
            elif other is not None:
                anchors[other.id] = sorted(set(anchors.get(other.id, [])) | set(other.learners) | {lid})
            else:
                n_new += 1
                anchors[f"m{n_new:03d}"] = [lid]
        right = [lid for lid in fresh if gold[lid] == intent]
        grades += 1
        anchors[g.id] = sorted(set(anchors.get(g.id, [])) | set(g.learners) - (set(fresh) - set(right)))
        intent_of[g.id] = intent
        graded |= set(right)
        for gid in [k for k, v in anchors.items() if not v]:
            del anchors[gid]
    return {"grades": grades, "moves": moves, "actions": grades + moves, "rounds": rounds, "one_by_one": total,
            "ratio": round((grades + moves) / total, 3) if total else 0.0}


def evaluate(data: dict, *, threshold: float = DEFAULT_THRESHOLD) -> dict:
    answers, gold = labelled_answers(data)
    groups = group_answers(answers, threshold=threshold)
    return {"answers": len(answers), "intents": len(set(gold.values())), "groups": len(groups),
            "ari": round(ari_of(groups, gold), 3), "static": trainer_actions(groups, gold),
            "session": simulate_session(answers, gold, threshold=threshold)}
