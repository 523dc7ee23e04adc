"""The condition language: parsing, type checks against declared state, evaluation — and no eval."""
from __future__ import annotations

import pytest

from cs_helpers.roleplay.conditions import ConditionError, VarInfo, check, compile_condition, parse, variables

STATE = {"trust": VarInfo("int", 0, 5), "gap": VarInfo("int", 0, 3), "asked": VarInfo("bool"),
         "named": VarInfo("bool")}


@pytest.mark.parametrize("source, values, expected", [
    ("trust >= 3", {"trust": 3}, True),
    ("trust >= 3", {"trust": 2}, False),
    ("trust > gap", {"trust": 2, "gap": 1}, True),
    ("trust == 2 and not asked", {"trust": 2, "asked": False}, True),
    ("asked or named", {"asked": False, "named": False}, False),
    ("not (asked or named) and trust != 0", {"asked": False, "named": False, "trust": 1}, True),
    ("asked == false", {"asked": False}, True),
    ("named != asked", {"asked": True, "named": False}, True),
    ("trust < 2 or trust >= 4 and asked", {"trust": 4, "asked": False}, False),   # and binds tighter than or
    ("(trust < 2 or trust >= 4) and asked", {"trust": 1, "asked": True}, True),
    ("not not asked", {"asked": True}, True),
    ("trust>=1", {"trust": 1}, True),
    ("gap > -1", {"gap": 0}, True),
])
def test_evaluates(source, values, expected):
    state = {"trust": 0, "gap": 0, "asked": False, "named": False, **values}
    assert compile_condition(source, STATE)(state) is expected


@pytest.mark.parametrize("source, fragment", [
    ("", "空"),
    ("trust >> 3", "「>」"),
    ("1 < trust < 4", "1つずつ"),
    ("(asked", "閉じ括弧"),
    ("asked)", "対応する"),
    ("asked and", "途中で終わって"),
    ("trust", "単独では条件になりません"),
    ("mood >= 1", "宣言されていません"),
    ("asked < true", "== か != を"),
    ("trust == true", "型の違う"),
    ("1 == 1", "定数どうし"),
    ("3", "整数 3 だけ"),
    ("asked AND named", "小文字"),
    ("__import__('os').system('x')", "使えない文字"),
    ("trust.real > 1", "使えない文字"),
    ("trust + 1 > 2", "使えない文字"),
    ("asked named", "and / or"),
])
def test_rejects(source, fragment):
    with pytest.raises(ConditionError) as err:
        compile_condition(source, STATE)
    assert fragment in str(err.value)


def test_out_of_range_literal_is_reported():
    assert check(parse("trust >= 9"), STATE, "trust >= 9")
    assert not check(parse("trust >= 5"), STATE, "trust >= 5")


def test_variables_and_no_python_eval(monkeypatch):
    assert variables(parse("not asked and (trust > gap or named)")) == {"asked", "trust", "gap", "named"}
    import builtins

    def boom(*_a, **_k):
        raise AssertionError("eval must not be used")
    monkeypatch.setattr(builtins, "eval", boom)
    monkeypatch.setattr(builtins, "exec", boom)
    assert compile_condition("trust >= 1 and asked", STATE)({"trust": 1, "gap": 0, "asked": True, "named": False})


@pytest.mark.parametrize("source, fragment", [
    ("len(trust) > 0", "関数の呼び出し"),
    ("promised is true", "== で書いてください"),
    ("(" * 300 + "promised" + ")" * 300, "入れ子が深すぎます"),
    ("not " * 300 + "promised", "入れ子が深すぎます"),
])
def test_helpful_messages_and_no_crash_on_deep_nesting(source, fragment):
    from cs_helpers.roleplay.conditions import ConditionError, compile_condition, VarInfo

    with pytest.raises(ConditionError) as err:
        compile_condition(source, {"promised": VarInfo("bool", 0, 1), "trust": VarInfo("int", 0, 5)})
    assert fragment in str(err.value)


def test_forty_nested_parentheses_still_parse():
    from cs_helpers.roleplay.conditions import compile_condition, VarInfo

    cond = compile_condition("(" * 40 + "trust >= 2" + ")" * 40, {"trust": VarInfo("int", 0, 5)})
    assert cond({"trust": 3}) and not cond({"trust": 1})
