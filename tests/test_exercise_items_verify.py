"""cs_helpers.verify: the footing hidden tests stand on (exact types, fresh helper copies, the learner id and data
folder as the kernel started)."""
from __future__ import annotations

import os
import subprocess
import sys
import types

import numpy as np
import pytest

from cs_helpers import data, verify


class AlwaysEqual:
    def __eq__(self, other):
        return True

    __hash__ = object.__hash__


class YesDict(dict):
    def __eq__(self, other):
        return True

    __hash__ = None


class SneakyFloat(float):
    def __sub__(self, other):
        return 0.0


def test_same_accepts_plain_values_and_rejects_impostors():
    assert verify.same({1: "CS", 2: "サポート"}, {2: "サポート", 1: "CS"})
    assert verify.same({"M2": {"a"}, "M3": frozenset({"b", "c"})}, {"M2": {"a"}, "M3": {"c", "b"}})
    assert verify.same((1, np.int64(2)), (1, 2))
    assert not verify.same(YesDict({1: "CS"}), {1: "CS"})          # dict subclass, even with the right items
    assert not verify.same(AlwaysEqual(), {1: "CS"})
    assert not verify.same({1: AlwaysEqual()}, {1: "CS"})
    assert not verify.same([(1, "CS")], {1: "CS"})                  # a list of pairs is not a dict
    assert not verify.same({1: "CS"}, {1: "CS", 2: "サポート"})
    assert not verify.same(np.str_("x"), "x")                        # numpy strings are not exact str


def test_numbers_and_sets_by_exact_type():
    assert verify.close(0.1234, 0.1235, 0.001) and verify.close(np.float64(0.5), 0.5, 0)
    assert not verify.close(SneakyFloat(0.9), 0.1, 0.001)
    assert not verify.close(True, 1.0, 0.1) and not verify.close(float("nan"), 0.0, 1.0)
    assert not verify.close("0.5", 0.5, 0.1) and not verify.close(AlwaysEqual(), 0.5, 0.1)
    assert verify.integer(3) and verify.integer(np.int64(3)) and not verify.integer(True) and not verify.integer(3.0)
    assert verify.as_set(["R1", "R3"]) == frozenset({"R1", "R3"})

    class YesSet(set):
        def __eq__(self, other):
            return True
        __hash__ = None
    assert verify.as_set(YesSet({"R1"})) is None and verify.as_set({AlwaysEqual()}) is None


def test_module_is_a_fresh_copy_that_patches_do_not_reach(monkeypatch):
    monkeypatch.setattr(data, "load", lambda *a, **k: "patched")
    fake = types.ModuleType("cs_helpers.data")
    fake.load = lambda *a, **k: "fake"
    monkeypatch.setitem(sys.modules, "cs_helpers.data", fake)
    trusted = verify.module("data")
    assert trusted is not data and trusted.load is not data.load
    frame = verify.load("accounts")
    assert len(frame) == 600 and str(frame["contract_start"].dtype).startswith("datetime64")


def test_original_env_ignores_later_changes(monkeypatch):
    monkeypatch.setenv("CS_DOJO_VERIFY_NEVER_SET_AT_START", "later")
    if os.path.exists("/proc/self/environ"):
        assert verify.original_env("CS_DOJO_VERIFY_NEVER_SET_AT_START") is None
    assert verify.original_env("PATH")  # set when the process started


def test_learner_id_is_the_one_the_kernel_started_with():
    """A real subprocess started as learner 'honest_1' changes os.environ to a friend's id: verify still says
    'honest_1' and its seed, while cs_helpers.learner follows the change."""
    code = ("import os\nfrom cs_helpers import learner, verify\n"
            "os.environ['CS_DOJO_LEARNER_ID'] = 'friend_9'\n"
            "print(verify.learner_id(), verify.seed('01_mindset') == learner.learner_seed('01_mindset', 'honest_1'),"
            " learner.learner_id())\n")
    env = {**os.environ, "CS_DOJO_LEARNER_ID": "honest_1"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    if os.path.exists("/proc/self/environ"):
        assert out.stdout.split() == ["honest_1", "True", "friend_9"]
    else:  # pragma: no cover - without /proc the current environment is all there is
        pytest.skip("no /proc on this platform")
