"""Response files: a learner's path through one scenario, saved beside the notebook.

``responses/<scenario_id>.json`` is rewritten atomically (temporary file in the same folder + ``os.replace``)
after every choice, so a crash or a closed tab loses nothing. It stores choice ids, never a score: grading
replays the ids against the trainer's copy of the scenario. A checksum over the record catches naive hand edits
(it is not keyed: trust comes from replaying in the trainer's process). A graded-mode record does not name its
ending (``"ending": null``), because the learner can open the file and ending ids name the outcome.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

from ..fileio import atomic_write_json
from .engine import ReplayError, Session, Step, replay
from .schema import ID_RE, Scenario

FORMAT = "cs-dojo-roleplay-response/1"
RESPONSES_DIR = "responses"
MAX_BYTES = 1_000_000


class ResponseError(ValueError):
    """A response file that cannot be used; ``kind`` says why, the message (Japanese) says how to fix it."""

    def __init__(self, kind: str, message: str):
        self.kind = kind  # missing | unreadable | format | checksum | scenario | hash | path | unfinished
        super().__init__(message)


def now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).astimezone().isoformat(timespec="seconds")


def responses_dir(base: Union[str, Path, None] = None) -> Path:
    return Path(base if base is not None else Path.cwd()) / RESPONSES_DIR


def response_path(scenario_id: str, base: Union[str, Path, None] = None) -> Path:
    if not isinstance(scenario_id, str) or not ID_RE.match(scenario_id):
        raise ValueError(f"シナリオid「{scenario_id}」の形式が正しくありません（例: kickoff_hearing）")
    return responses_dir(base) / f"{scenario_id}.json"


def checksum(record: dict) -> str:
    body = {k: v for k, v in record.items() if k != "checksum"}
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def build_record(session: Session, *, learner: str, mode: str, started_at: str | None = None,
                 updated_at: str | None = None) -> dict:
    sc = session.scenario
    record = {
        "format": FORMAT,
        "scenario_id": sc.id,
        "scenario_hash": sc.structure_hash,
        "learner_id": learner,
        "mode": mode,
        "started_at": started_at or now(),
        "updated_at": updated_at or now(),
        "restarts": session.restarts,
        "path": [{"choice": s.choice, "node": s.node, "at": s.at} for s in session.steps],
        "ending": session.ending.id if session.ending and mode != "graded" else None,
        "finished": session.finished,
    }
    record["checksum"] = checksum(record)
    return record


def write_atomic(path: Path, data: dict) -> Path:
    """Write JSON to ``path`` via a temporary file in the same folder and ``os.replace``."""
    return atomic_write_json(path, data)


def save_session(session: Session, *, base: Union[str, Path, None] = None, learner: str | None = None,
                 mode: str = "graded", started_at: str | None = None) -> Path:
    if learner is None:
        from ..learner import learner_id

        learner = learner_id()
    path = response_path(session.scenario.id, base)
    return write_atomic(path, build_record(session, learner=learner, mode=mode, started_at=started_at))


def read_record(path: Union[str, Path]) -> dict:
    """Read and structurally check a response file (no scenario needed). Raises :class:`ResponseError`."""
    path = Path(path)
    name = f"{path.parent.name}/{path.name}"
    if not path.exists():
        raise ResponseError("missing", f"会話の記録 {name} が見つかりません。ロールプレイのウィジェットで最後まで"
                                       "進めると自動で保存されます。")
    try:
        if path.stat().st_size > MAX_BYTES:
            raise ResponseError("unreadable", f"{name} が大きすぎます。ウィジェットで保存し直してください。")
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        raise ResponseError("unreadable", f"{name} を読み取れません（壊れているか、手で編集された可能性があります）。"
                                          "ウィジェットで「やり直す」を押して、もう一度最後まで進めてください。") from None
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise ResponseError("format", f"{name} はロールプレイの記録の形式になっていません。"
                                      "ウィジェットで保存し直してください。")
    steps = record.get("path")
    if not isinstance(steps, list) or not all(isinstance(s, dict) and isinstance(s.get("choice"), str)
                                                 for s in steps):
        raise ResponseError("format", f"{name} の選択の記録 (path) が読めません。ウィジェットで保存し直してください。")
    if record.get("checksum") != checksum(record):
        raise ResponseError("checksum", f"{name} は保存後に書き換えられています（チェックサムが一致しません）。"
                                        "記録は手で編集せず、ウィジェットで「やり直す」から進め直してください。")
    return record


@dataclass
class Verified:
    record: dict
    session: Session


def verify_record(record: dict, scenario: Scenario, *, require_finished: bool = True) -> Verified:
    """Check a record against ``scenario`` and replay its path. Raises :class:`ResponseError`."""
    if record.get("scenario_id") != scenario.id:
        raise ResponseError("scenario", f"この記録は別のシナリオ「{record.get('scenario_id')}」のものです"
                                        f"（採点するのは「{scenario.id}」）。")
    # Records saved by earlier versions carry the hash of the whole content; an equal content hash means an
    # identical scenario, so they stay valid until the scenario's wording changes.
    if record.get("scenario_hash") not in (scenario.structure_hash, scenario.content_hash):
        raise ResponseError("hash", "記録したあとで、シナリオの構成（選択肢・行き先・条件・評価の配点・終わり方）が"
                                    "変わりました（シナリオのハッシュが違います）。文言の修正だけなら記録はそのまま使えます。"
                                    "最新の教材で、もう一度最後まで進めてください。")
    try:
        session = replay(scenario, [s["choice"] for s in record["path"]])
    except ReplayError as exc:
        raise ResponseError("path", f"記録された会話の流れを再現できません: {exc}") from None
    if require_finished and not session.finished:
        raise ResponseError("unfinished", f"会話がまだ終わっていません（{len(session.steps)} 回選択したところ）。"
                                          "ウィジェットで終わりの画面まで進めてください。")
    recorded_end = session.ending.id if session.ending and record.get("mode") != "graded" else None
    if bool(record.get("finished")) != session.finished or record.get("ending") != recorded_end:
        raise ResponseError("path", "記録された終わり方が、会話の流れと一致しません。")
    _restore_times(session, record)
    session.restarts = int(record.get("restarts") or 0) if isinstance(record.get("restarts"), int) else 0
    return Verified(record, session)


def _restore_times(session: Session, record: dict) -> None:
    for i, (step, saved) in enumerate(zip(session.steps, record["path"])):
        at = saved.get("at") if isinstance(saved.get("at"), str) else ""
        session.steps[i] = Step(step.node, step.choice, step.target, step.state_before, step.state_after, at)


def load_session(scenario: Scenario, base: Union[str, Path, None] = None) -> tuple[Session | None, dict | None, str]:
    """Resume a saved session for the widget. Returns ``(session, record, note)``; ``session`` is None when
    there is nothing usable to resume (``note`` then explains why, or is empty when no file exists)."""
    path = response_path(scenario.id, base)
    if not path.exists():
        return None, None, ""
    try:
        record = read_record(path)
        verified = verify_record(record, scenario, require_finished=False)
    except ResponseError as exc:
        return None, None, f"前回の記録は使えないため、最初から始めます（{exc}）"
    return verified.session, record, "前回の続きから再開しました。"


def summary(record: dict[str, Any]) -> dict[str, Any]:
    """Anonymisable facts of a record (no learner id)."""
    return {"scenario_id": record.get("scenario_id"), "ending": record.get("ending"),
            "choices": [s.get("choice") for s in record.get("path", [])], "restarts": record.get("restarts", 0)}
