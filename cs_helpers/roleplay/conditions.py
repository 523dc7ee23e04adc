"""A small, safe condition language for scenario choices and branches (never ``eval``).

Grammar (keywords are lower-case; whitespace is free)::

    expr       := or_expr
    or_expr    := and_expr ("or" and_expr)*
    and_expr   := not_expr ("and" not_expr)*
    not_expr   := "not" not_expr | primary
    primary    := "(" expr ")" | comparison
    comparison := value [("==" | "!=" | "<" | "<=" | ">" | ">=") value]
    value      := NAME | INTEGER | "true" | "false"

Names refer to declared state variables. Type rules (checked by :func:`check`): an ``int`` variable must be
compared (``trust >= 3``); a ``bool`` variable may stand alone (``purpose_clear``) or be compared with
``==``/``!=``; ordering operators only apply to integers. Chained comparisons (``1 < a < 3``) are rejected.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping, Union

COMPARISON_OPS = ("==", "!=", "<=", ">=", "<", ">")
KEYWORDS = {"and", "or", "not", "true", "false"}
_TOKEN_RE = re.compile(r"""
    (?P<ws>\s+)
  | (?P<op>==|!=|<=|>=|<|>)
  | (?P<lpar>\()
  | (?P<rpar>\))
  | (?P<int>-?\d+)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
""", re.VERBOSE)


class ConditionError(ValueError):
    """A condition that cannot be parsed or does not type-check. ``position`` is a 0-based column."""

    def __init__(self, message: str, source: str = "", position: int | None = None):
        self.reason = message
        self.source = source
        self.position = position
        where = f"（{position + 1}文字目）" if position is not None else ""
        super().__init__(f"条件「{source}」{where}: {message}" if source else message)


@dataclass(frozen=True)
class Token:
    kind: str   # op, lpar, rpar, int, name, kw, end
    text: str
    pos: int


def tokenize(source: str) -> list[Token]:
    if not isinstance(source, str):
        raise ConditionError(f"条件は文字列で書いてください（{type(source).__name__} が渡されました）", str(source))
    tokens: list[Token] = []
    pos = 0
    while pos < len(source):
        m = _TOKEN_RE.match(source, pos)
        if not m:
            raise ConditionError(f"使えない文字「{source[pos]}」があります。使えるのは変数名・整数・"
                                 "true/false・比較演算子 (== != < <= > >=)・and/or/not・括弧です", source, pos)
        kind = m.lastgroup
        text = m.group()
        if kind == "name" and text in KEYWORDS:
            kind = "kw"
        elif kind == "name" and text.lower() in KEYWORDS:
            raise ConditionError(f"キーワードは小文字で書いてください（「{text}」→「{text.lower()}」）", source, pos)
        if kind != "ws":
            tokens.append(Token(kind, text, pos))
        pos = m.end()
    tokens.append(Token("end", "", len(source)))
    return tokens


# --- AST ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Literal:
    value: Union[int, bool]
    pos: int


@dataclass(frozen=True)
class Var:
    name: str
    pos: int


@dataclass(frozen=True)
class Compare:
    op: str
    left: Union[Literal, Var]
    right: Union[Literal, Var]
    pos: int


@dataclass(frozen=True)
class Not:
    operand: "Node"
    pos: int


@dataclass(frozen=True)
class BoolOp:
    op: str  # "and" | "or"
    operands: tuple
    pos: int


Node = Union[Literal, Var, Compare, Not, BoolOp]


MAX_NESTING = 50   # parentheses and "not"s; deeper conditions are refused instead of exhausting Python's stack


class _Parser:
    def __init__(self, source: str):
        self.source = source
        self.tokens = tokenize(source)
        self.i = 0
        self.depth = 0

    def nest(self, tok: Token) -> None:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise self.error(f"括弧や not の入れ子が深すぎます（{MAX_NESTING} 段まで）。条件を分けて書いてください", tok)

    def peek(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def error(self, message: str, tok: Token | None = None) -> ConditionError:
        tok = tok or self.peek()
        return ConditionError(message, self.source, tok.pos)

    def parse(self) -> Node:
        if self.peek().kind == "end":
            raise self.error("条件が空です")
        node = self.or_expr()
        tok = self.peek()
        if tok.kind != "end":
            if tok.kind == "op":
                raise self.error(f"比較は1つずつ書いてください（「{tok.text}」が続いています）。"
                                 "例: 1 < trust and trust < 4")
            if tok.kind == "rpar":
                raise self.error("閉じ括弧「)」に対応する「(」がありません")
            if tok.kind == "lpar":
                raise self.error("関数の呼び出し（len(...) など）は使えません。比較は「trust >= 2」のように、"
                                 "変数と整数・true/false で書いてください")
            if tok.kind == "name" and tok.text in ("is", "in"):
                raise self.error(f"「{tok.text}」は使えません。等しいかどうかは == で書いてください（例: promised == true）")
            raise self.error(f"「{tok.text}」の前に and / or が必要です")
        return node

    def or_expr(self) -> Node:
        first = self.peek()
        operands = [self.and_expr()]
        while self.peek().kind == "kw" and self.peek().text == "or":
            self.take()
            operands.append(self.and_expr())
        return operands[0] if len(operands) == 1 else BoolOp("or", tuple(operands), first.pos)

    def and_expr(self) -> Node:
        first = self.peek()
        operands = [self.not_expr()]
        while self.peek().kind == "kw" and self.peek().text == "and":
            self.take()
            operands.append(self.not_expr())
        return operands[0] if len(operands) == 1 else BoolOp("and", tuple(operands), first.pos)

    def not_expr(self) -> Node:
        tok = self.peek()
        if tok.kind == "kw" and tok.text == "not":
            self.take()
            self.nest(tok)
            node = Not(self.not_expr(), tok.pos)
            self.depth -= 1
            return node
        return self.primary()

    def primary(self) -> Node:
        tok = self.peek()
        if tok.kind == "lpar":
            self.take()
            self.nest(tok)
            node = self.or_expr()
            if self.peek().kind != "rpar":
                raise self.error("閉じ括弧「)」が足りません")
            self.take()
            self.depth -= 1
            return node
        left = self.value()
        if self.peek().kind == "op":
            op = self.take()
            right = self.value()
            return Compare(op.text, left, right, op.pos)
        return left

    def value(self) -> Union[Literal, Var]:
        tok = self.take()
        if tok.kind == "int":
            return Literal(int(tok.text), tok.pos)
        if tok.kind == "kw" and tok.text in ("true", "false"):
            return Literal(tok.text == "true", tok.pos)
        if tok.kind == "name":
            return Var(tok.text, tok.pos)
        if tok.kind == "end":
            raise self.error("条件が途中で終わっています（比較の右辺や and/or の後ろが足りません）", tok)
        raise self.error(f"ここには変数名・整数・true/false が来るはずですが「{tok.text}」があります", tok)


def parse(source: str) -> Node:
    """Parse ``source`` into an AST; raises :class:`ConditionError` with the column on bad syntax."""
    return _Parser(source).parse()


# --- type checking against declared state ---------------------------------------------------------

@dataclass(frozen=True)
class VarInfo:
    """What the checker needs to know about a state variable."""
    type: str            # "int" | "bool"
    min: int = 0
    max: int = 1


def _type_of(value: Union[Literal, Var], state: Mapping[str, VarInfo], source: str) -> str:
    if isinstance(value, Literal):
        return "bool" if isinstance(value.value, bool) else "int"
    info = state.get(value.name)
    if info is None:
        known = "、".join(sorted(state)) or "（なし）"
        raise ConditionError(f"状態変数「{value.name}」は state で宣言されていません（宣言済み: {known}）",
                             source, value.pos)
    return info.type


def check(node: Node, state: Mapping[str, VarInfo], source: str = "") -> list[str]:
    """Type-check ``node`` against declared ``state``. Raises :class:`ConditionError` on the first hard error
    and returns a list of softer problems (literals outside a variable's declared range)."""
    warnings: list[str] = []

    def visit(n: Node, want_bool: bool = True) -> None:
        if isinstance(n, BoolOp):
            for operand in n.operands:
                visit(operand)
        elif isinstance(n, Not):
            visit(n.operand)
        elif isinstance(n, Var):
            t = _type_of(n, state, source)
            if t != "bool":
                raise ConditionError(f"整数の状態変数「{n.name}」は単独では条件になりません。"
                                     f"比較してください（例: {n.name} >= 1）", source, n.pos)
        elif isinstance(n, Literal):
            if not isinstance(n.value, bool):
                raise ConditionError(f"整数 {n.value} だけでは条件になりません", source, n.pos)
        elif isinstance(n, Compare):
            lt = _type_of(n.left, state, source)
            rt = _type_of(n.right, state, source)
            if lt != rt:
                raise ConditionError(f"型の違うものを比べています（{lt} と {rt}）", source, n.pos)
            if lt == "bool" and n.op not in ("==", "!="):
                raise ConditionError(f"真偽値に「{n.op}」は使えません。== か != を使ってください", source, n.pos)
            if isinstance(n.left, Literal) and isinstance(n.right, Literal):
                raise ConditionError("定数どうしを比べています。状態変数を使ってください", source, n.pos)
            if lt == "int":
                for var, lit in ((n.left, n.right), (n.right, n.left)):
                    if isinstance(var, Var) and isinstance(lit, Literal):
                        info = state[var.name]
                        if not info.min <= lit.value <= info.max:
                            warnings.append(f"「{var.name}」は {info.min}〜{info.max} の範囲なので、"
                                            f"{lit.value} との比較は常に同じ結果になります")
    visit(node)
    return warnings


def variables(node: Node) -> set[str]:
    """Names of the state variables a condition reads."""
    out: set[str] = set()

    def visit(n: Node) -> None:
        if isinstance(n, Var):
            out.add(n.name)
        elif isinstance(n, Compare):
            visit(n.left)
            visit(n.right)
        elif isinstance(n, Not):
            visit(n.operand)
        elif isinstance(n, BoolOp):
            for o in n.operands:
                visit(o)
    visit(node)
    return out


# --- evaluation ---------------------------------------------------------------------------------

def _value(v: Union[Literal, Var], state: Mapping[str, Union[int, bool]]):
    return v.value if isinstance(v, Literal) else state[v.name]


def evaluate(node: Node, state: Mapping[str, Union[int, bool]]) -> bool:
    """Evaluate a checked AST against concrete state values."""
    if isinstance(node, BoolOp):
        if node.op == "and":
            return all(evaluate(o, state) for o in node.operands)
        return any(evaluate(o, state) for o in node.operands)
    if isinstance(node, Not):
        return not evaluate(node.operand, state)
    if isinstance(node, Var):
        return bool(state[node.name])
    if isinstance(node, Literal):
        return bool(node.value)
    a, b = _value(node.left, state), _value(node.right, state)
    op = node.op
    if op == "==":
        return a == b
    if op == "!=":
        return a != b
    if op == "<":
        return a < b
    if op == "<=":
        return a <= b
    if op == ">":
        return a > b
    return a >= b


@dataclass(frozen=True)
class Condition:
    """A parsed condition with its source text."""
    source: str
    ast: Node

    def __call__(self, state: Mapping[str, Union[int, bool]]) -> bool:
        return evaluate(self.ast, state)

    def __str__(self) -> str:
        return self.source


def compile_condition(source: str, state: Mapping[str, VarInfo] | None = None) -> Condition:
    """Parse (and, when ``state`` is given, type-check) a condition."""
    ast = parse(source)
    if state is not None:
        check(ast, state, source)
    return Condition(source, ast)
