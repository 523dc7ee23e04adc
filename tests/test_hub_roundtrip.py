"""A cohort on a real JupyterHub (127.0.0.1) with nbgrader's exchange, driven through REST APIs.

Trainer and two learners are real Linux accounts; JupyterHub (deploy/jupyterhub/jupyterhub_config.py)
spawns each single-user server as its owner. The trainer releases, learners fetch/edit/submit with
the nbgrader Assignment List endpoints, the trainer collects, grades and releases feedback, and each
learner can fetch only their own feedback. A learner is then refused (by the operating system or
the hub) when reaching for the other learner's work or the gradebook.
"""
from __future__ import annotations

import copy
import json
import os
import re
import signal
import stat
import textwrap
import time
from pathlib import Path

import pytest
import requests

from tests.prereq import missing

from tests.hub import harness

pytestmark = [pytest.mark.hub, pytest.mark.slow]

FIXTURE = Path(__file__).parent / "fixtures" / "hub" / "source" / "hello" / "hello.ipynb"
ASSIGNMENT = "hello"
NOTEBOOK = "hello.ipynb"


def _skip_reason() -> str | None:
    reason = harness.prerequisites()
    if reason:
        return reason
    if os.geteuid() != 0:
        return "needs root: the test creates Linux accounts and JupyterHub spawns servers as them"
    return None


@pytest.fixture(scope="module")
def cohort():
    reason = _skip_reason()
    if reason:
        missing(reason)
    stale = harness.sweep_stale_accounts()
    if stale:
        print(f"removed accounts left by an interrupted earlier run: {stale}")
    run = harness.HubRun(learners=2, trainers=1)
    started = time.monotonic()

    def _interrupt(signum, frame):  # a SIGTERM (e.g. a CI time-out) still runs the clean-up below
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        run.create_accounts()
        run.start()
        run.start_servers([acc.name for acc in run.accounts])
        yield run
    finally:
        print("\n--- jupyterhub log (last lines) ---\n" + run.log_tail(40))
        problems = run.stop()
        signal.signal(signal.SIGTERM, previous)
        print(f"\nhub cohort: {time.monotonic() - started:.1f} s, {run.leftover_count} processes ended after the hub")
        assert not problems, problems


def _trainer_commands(run: harness.HubRun, commands: list[list[str]]) -> list[dict]:
    """Run trainer CLI commands (cs-dojo / nbgrader) in the course folder, in the trainer's own kernel."""
    trainer = run.server(run.account("trainer"))
    code = textwrap.dedent(
        f"""
        import json, os, subprocess, sys, time
        course = os.path.expanduser(os.environ.get("CS_DOJO_COURSE_ROOT", "~/course"))
        results = []
        for args in {commands!r}:
            exe = [os.path.join(os.path.dirname(sys.executable), args[0])] + args[1:]
            cwd = course if os.path.isdir(course) else os.path.expanduser("~")
            t0 = time.monotonic()
            p = subprocess.run(exe, cwd=cwd, capture_output=True, text=True)
            results.append({{"args": args, "rc": p.returncode, "out": p.stdout[-3000:], "err": p.stderr[-3000:],
                             "seconds": round(time.monotonic() - t0, 1)}})
            if p.returncode:
                break
        print(json.dumps(results))
        """
    )
    result = trainer.run_python(code, timeout=180)
    assert not result.error, result.error + result.stderr
    results = json.loads(result.stdout.strip().splitlines()[-1])
    for r in results:
        print(f"trainer: {' '.join(r['args'][:2])}: {r['seconds']} s")
        assert r["rc"] == 0, f"{' '.join(r['args'])} failed ({r['rc']}):\n{r['out']}\n{r['err']}"
    assert len(results) == len(commands)
    return results


def _formgrader(run: harness.HubRun, action: str) -> dict:
    """Press a formgrader button (Release / Collect / Release feedback) through its REST API, as the trainer."""
    r = run.server(run.account("trainer")).request("POST", f"/formgrader/api/assignment/{ASSIGNMENT}/{action}")
    assert r.status_code == 200, (action, r.status_code, r.text[:500])
    body = r.json()
    assert body.get("success"), f"formgrader {action} failed: {body.get('error') or body.get('log')}"
    return body


def _find(assignments: list[dict], status: str) -> dict:
    hits = [a for a in assignments if a["assignment_id"] == ASSIGNMENT and a["status"] == status]
    assert hits, f"no {ASSIGNMENT!r} with status {status!r} in {[(a['assignment_id'], a['status']) for a in assignments]}"
    return hits[0]


def _answer(nb: dict, body: str) -> dict:
    nb = copy.deepcopy(nb)
    cells = [c for c in nb["cells"] if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "q1_answer"]
    assert len(cells) == 1, "fixture notebook lost its answer cell"
    cells[0]["source"] = body
    return nb


def _probe(server: harness.ServerClient, paths: dict[str, str], listing: dict[str, str]) -> dict[str, str]:
    """For each path, what happens when this server's owner opens (or lists) it."""
    code = textwrap.dedent(
        f"""
        import json, os
        out = {{}}
        for key, path in {paths!r}.items():
            try:
                with open(path, "rb") as fh:
                    fh.read(16)
                out[key] = "read"
            except OSError as exc:
                out[key] = type(exc).__name__
        for key, path in {listing!r}.items():
            try:
                os.listdir(path)
                out[key] = "listed"
            except OSError as exc:
                out[key] = type(exc).__name__
        print(json.dumps(out))
        """
    )
    result = server.run_python(code)
    assert not result.error, result.error
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_cohort_round_trip_and_isolation(cohort: harness.HubRun):
    run = cohort
    course_id = run.course_id
    trainer_acc = run.account("trainer")
    alice_acc, bob_acc = run.account("learner", 1), run.account("learner", 2)
    trainer, alice, bob = run.server(trainer_acc), run.server(alice_acc), run.server(bob_acc)

    # --- the trainer makes a course workspace holding the fixture assignment and releases it to the exchange
    _trainer_commands(
        run,
        [
            ["cs-dojo", "init", "course", "--exercises", str(FIXTURE.parents[1]), "--no-sample"],
            ["cs-dojo", "release", ASSIGNMENT],
        ],
    )
    _formgrader(run, "release")  # = nbgrader release_assignment, in the trainer's running server
    assert trainer.request("GET", f"/api/contents/course/source/{ASSIGNMENT}/{NOTEBOOK}").status_code == 200
    assert stat.S_IMODE(run.exchange.stat().st_mode) == 0o1777, "exchange root must stay 1777"
    inbound = run.exchange / course_id / "inbound"
    assert not stat.S_IMODE(inbound.stat().st_mode) & 0o004, "learners must not be able to list inbound"

    # --- learners see it in the Assignment List, fetch, edit and submit
    answers = {
        alice_acc.name: f"def churn_rate(lost, start):\n    # answer by {alice_acc.name}\n    return lost / start",
        bob_acc.name: f"def churn_rate(lost, start):\n    # answer by {bob_acc.name}\n    return lost",
    }
    for acc, server in ((alice_acc, alice), (bob_acc, bob)):
        _find(server.assignments(course_id), "released")
        listed = server.assignment_action("fetch", course_id, ASSIGNMENT)
        assert listed["success"], listed
        fetched = _find(listed["value"], "fetched")
        assert [n["notebook_id"] for n in fetched["notebooks"]] == ["hello"]
        path = f"{ASSIGNMENT}/{NOTEBOOK}"
        nb = server.get_notebook(path)
        assert "BEGIN SOLUTION" not in json.dumps(nb), "released notebook leaked the solution"
        server.put_notebook(path, _answer(nb, answers[acc.name]))
        out = server.assignment_action("submit", course_id, ASSIGNMENT)
        assert out["success"], out.get("value")
        submitted = _find(out["value"], "submitted")
        assert submitted["submissions"], submitted

    # --- trainer: collect, grade, feedback, release feedback
    collected = _formgrader(run, "collect")  # = nbgrader collect
    assert alice_acc.name in collected["log"] and bob_acc.name in collected["log"], collected["log"]
    _trainer_commands(run, [["cs-dojo", "grade", ASSIGNMENT, "--quiet"], ["cs-dojo", "feedback", ASSIGNMENT]])
    _formgrader(run, "release_feedback")  # = nbgrader release_feedback

    # The gradebook (formgrader's API, trainer only) has one score per learner.
    r = trainer.request("GET", f"/formgrader/api/submissions/{ASSIGNMENT}")
    assert r.status_code == 200, r.text
    scores = {s["student"]: s["score"] for s in r.json()}
    assert scores == {alice_acc.name: 2.0, bob_acc.name: 0.0}, scores

    # --- each learner fetches feedback: their own only
    feedback_text = {}
    for acc, server in ((alice_acc, alice), (bob_acc, bob)):
        out = server.assignment_action("fetch_feedback", course_id, ASSIGNMENT)
        assert out["success"], out.get("value")
        subs = _find(out["value"], "submitted")["submissions"]
        local = [s["local_feedback_path"] for s in subs if s.get("local_feedback_path")]
        assert len(local) == 1, subs
        r = server.request("GET", f"/api/contents/{local[0]}/{NOTEBOOK.replace('.ipynb', '.html')}",
                           params={"type": "file", "format": "text"})
        assert r.status_code == 200, r.text
        feedback_text[acc.name] = r.json()["content"]
    assert f"answer by {alice_acc.name}" in feedback_text[alice_acc.name]
    assert f"answer by {bob_acc.name}" not in feedback_text[alice_acc.name]
    assert f"answer by {bob_acc.name}" in feedback_text[bob_acc.name]
    assert f"answer by {alice_acc.name}" not in feedback_text[bob_acc.name]

    # --- isolation: what bob may not reach
    import pwd

    alice_home = Path(pwd.getpwnam(alice_acc.name).pw_dir)
    course = Path(pwd.getpwnam(trainer_acc.name).pw_dir) / "course"
    alice_feedback = sorted((alice_home / ASSIGNMENT / "feedback").glob(f"*/{ASSIGNMENT}.html"))
    targets = {
        "alice_notebook": alice_home / ASSIGNMENT / NOTEBOOK,
        "alice_feedback": alice_feedback[0] if alice_feedback else alice_home / "missing",
        "gradebook": course / "gradebook.db",
        "collected_alice": course / "submitted" / alice_acc.name / ASSIGNMENT / NOTEBOOK,
        "autograded_alice": course / "autograded" / alice_acc.name / ASSIGNMENT / NOTEBOOK,
    }
    listings = {
        "inbound": run.exchange / course_id / "inbound",
        "feedback_outbox": run.exchange / course_id / "feedback",
        "alice_home": alice_home,
        "course": course,
    }
    for key, path in {**targets, **listings}.items():
        assert path.exists(), f"positive control: {key} should exist at {path}"
    # Positive control: alice reads her own notebook and feedback through the same probe.
    own = _probe(alice, {k: str(targets[k]) for k in ("alice_notebook", "alice_feedback")}, {})
    assert own == {"alice_notebook": "read", "alice_feedback": "read"}, own
    denied = _probe(bob, {k: str(v) for k, v in targets.items()}, {k: str(v) for k, v in listings.items()})
    assert denied == {k: "PermissionError" for k in {**targets, **listings}}, denied

    # The hub refuses bob's token on alice's server, and bob's server has no formgrader.
    r = requests.get(f"{run.url}/user/{alice_acc.name}/api/contents/{ASSIGNMENT}",
                     headers={"Authorization": f"token {bob_acc.token}"}, allow_redirects=False, timeout=30)
    assert r.status_code in (302, 403, 404) and ASSIGNMENT + "/" + NOTEBOOK not in r.text, r.status_code
    assert bob.request("GET", f"/formgrader/api/submissions/{ASSIGNMENT}").status_code == 404
    assert bob.request("GET", f"/api/contents/../{alice_acc.name}").status_code in (400, 403, 404)

    # --- logging in through the hub's page needs each account's own password
    _check_pam_login(run)


def _check_pam_login(cohort: harness.HubRun) -> None:
    """PAM login: a learner gets in with their password, not with another learner's (nor as root)."""
    alice, bob = cohort.account("learner", 1), cohort.account("learner", 2)

    def login(name: str, password: str) -> requests.Response:
        with requests.Session() as s:
            page = s.get(f"{cohort.url}/hub/login", timeout=30)
            page.raise_for_status()
            xsrf = re.search(r'name="_xsrf" value="([^"]+)"', page.text)
            data = {"username": name, "password": password}
            if xsrf:
                data["_xsrf"] = xsrf.group(1)
            return s.post(f"{cohort.url}/hub/login", data=data, allow_redirects=False, timeout=30)

    ok = login(alice.name, alice.password)
    assert ok.status_code == 302, (ok.status_code, ok.text[:300])
    wrong = login(alice.name, bob.password)
    assert wrong.status_code != 302 and "Invalid username or password" in wrong.text
    stranger = login("root", alice.password)
    assert stranger.status_code != 302
