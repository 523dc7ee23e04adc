"""Bounded loopback load check: how many learners' servers one machine starts, and the hub's memory.

Run as root from the checkout (it creates throw-away Linux accounts and deletes them afterwards)::

    .venv/bin/python deploy/jupyterhub/loadcheck.py --steps 5,10,20 [--kernels] [--json out.json]

For each step it adds learner accounts up to N, asks the hub (deploy/jupyterhub/jupyterhub_config.py on
127.0.0.1) to start all of their servers at once, waits until every server is ready, checks each one
answers a REST call through the proxy, optionally starts one Python kernel per learner that imports what lessons use (pandas, seaborn,
widgets, cs_helpers), and records
the wall time and resident memory (psutil RSS) of the hub, the proxy and the single-user servers.
Everything is local (127.0.0.1), the number of learners is capped, and every process and account is
removed at the end, also on Ctrl-C or an error.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.hub import harness  # noqa: E402

MAX_LEARNERS = 40  # hard cap: this is a check of one machine, not a stress test
KERNEL_CODE = "import pandas, numpy, matplotlib.pyplot, seaborn, ipywidgets, cs_helpers.checks"


def _rss_of_uids(uids: set[int]) -> tuple[int, int]:
    total, count = 0, 0
    for p in psutil.process_iter(["uids", "memory_info"]):
        try:
            if p.info["uids"] and p.info["uids"].real in uids:
                total += p.info["memory_info"].rss
                count += 1
        except (psutil.Error, TypeError):
            pass
    return total, count


def run(steps: list[int], kernels: bool) -> dict:
    import cs_dojo_hub

    hub = harness.HubRun(learners=0, trainers=1)
    results: list[dict] = []
    try:
        hub.create_accounts()
        hub.start()
        idle_rss = hub.hub_rss()
        made = 0
        for target in steps:
            new = []
            while made < target:
                made += 1
                acc = harness.Account(f"cdl{hub.tag}l{made}", "learner", "unused-password")
                hub.accounts.append(acc)
                cs_dojo_hub.ensure_system_user(cs_dojo_hub.RosterEntry(acc.name, "learner"))
                new.append(acc)
            # The roster is read at start-up; learners added later are created through the hub API.
            for acc in new:
                r = hub.api("POST", f"/users/{acc.name}")
                if r.status_code not in (201, 409):
                    raise RuntimeError(f"add {acc.name}: {r.status_code} {r.text}")
            learners = [a for a in hub.accounts if a.role == "learner"]
            spawn_s = hub.start_servers([a.name for a in new], timeout=60 + 15 * len(new))
            answered = 0
            for acc in learners:
                if hub.server(acc).request("GET", "/api/status").status_code == 200:
                    answered += 1
            if kernels:
                # Like a learner who opened a lesson: a kernel with the course's usual imports done.
                for acc in new:
                    out = hub.server(acc).run_python(KERNEL_CODE, timeout=300, keep_kernel=True)
                    if out.error:
                        raise RuntimeError(f"kernel of {acc.name}: {out.error}")
            user_rss, user_procs = _rss_of_uids(hub.uids() - {_uid(hub.account("trainer").name)})
            row = {
                "learners": len(learners),
                "spawn_seconds_for_new": round(spawn_s, 1),
                "servers_answering": answered,
                "hub_rss_mb": round(hub.hub_rss() / 2**20, 1),
                "proxy_rss_mb": round(hub.proxy_rss() / 2**20, 1),
                "learner_processes": user_procs,
                "learner_rss_mb": round(user_rss / 2**20, 1),
                "learner_rss_mb_each": round(user_rss / 2**20 / max(1, len(learners)), 1),
                "kernels": kernels,
                "mem_available_gb": round(psutil.virtual_memory().available / 2**30, 1),
            }
            results.append(row)
            print(json.dumps(row, ensure_ascii=False), flush=True)
        return {"hub_idle_rss_mb": round(idle_rss / 2**20, 1), "steps": results}
    finally:
        problems = hub.stop()
        if problems:
            print("cleanup problems: " + "; ".join(problems), file=sys.stderr)


def _uid(name: str) -> int:
    import pwd

    return pwd.getpwnam(name).pw_uid


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", default="5,10,20", help="comma-separated learner counts, increasing (max 40)")
    parser.add_argument("--kernels", action="store_true", help="also one kernel per learner with the lessons' imports")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    args = parser.parse_args(argv)
    try:
        steps = [int(s) for s in args.steps.split(",") if s.strip()]
    except ValueError:
        parser.error("--steps takes numbers such as 5,10,20")
    if not steps or steps != sorted(set(steps)) or steps[0] < 1 or steps[-1] > MAX_LEARNERS:
        parser.error(f"--steps must increase, from 1 up to {MAX_LEARNERS}")
    reason = harness.prerequisites()
    if reason:
        print(f"cannot run: {reason}", file=sys.stderr)
        return 2
    started = time.monotonic()
    out = run(steps, args.kernels)
    out["total_seconds"] = round(time.monotonic() - started, 1)
    out["cpu_count"] = psutil.cpu_count()
    out["mem_total_gb"] = round(psutil.virtual_memory().total / 2**30, 1)
    print(json.dumps(out, ensure_ascii=False, indent=1))
    if args.json:
        args.json.write_text(json.dumps(out, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
