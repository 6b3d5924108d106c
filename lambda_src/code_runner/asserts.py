"""Assert-style tests (``assert f(1) == 2``) rewritten so the verdict is decided outside the sandbox.

A test file as found in popular datasets (MBPP, HumanEval) is split into top-level statements:

- ``assert <expr> <op> <literal>`` (or ``<literal> <op> <expr>``), op one of ``== != < <= > >= in``
  ``not in`` ``is`` ``is not`` (``is`` only against None/True/False): the sandbox evaluates ``<expr>``
  and reports its value; the runner compares it with the literal, which never enters the sandbox;
- ``assert <expr>`` / ``assert not <expr>``: the value is reported, its truthiness judged outside;
- ``assert math.isclose(<expr>, <literal>, ...)`` and ``assert abs(<expr> - <literal>) < <literal>``:
  numeric closeness, judged outside;
- ``def check(candidate): <asserts>`` followed by ``check(<name>)`` (HumanEval): the asserts inside are
  rewritten the same way with ``candidate`` bound to ``<name>``;
- any other statement (imports, helper functions, assignments) is *setup*, run in the sandbox before the
  tests, in the program's namespace;
- an assert of any other shape is run in the sandbox as is, and "it did not raise" is its verdict
  (``opaque``): an always-equal object or a patched builtin can defeat such a test. The runner reports how
  many tests were opaque, and the dataset validator warns about them.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Any

_COMPARE_OPS = {
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.In: "in",
    ast.NotIn: "not in",
    ast.Is: "is",
    ast.IsNot: "is not",
}
# literal op expr  ==  expr swapped(op) literal
_SWAPPED = {
    "==": "==",
    "!=": "!=",
    "<": ">",
    "<=": ">=",
    ">": "<",
    ">=": "<=",
    "is": "is",
    "is not": "is not",
}


@dataclass(frozen=True)
class AssertTest:
    """One test of an assert file. ``kind`` is "expr" (value compared outside) or "stmt" (opaque)."""

    kind: str
    source: str  # the expression to evaluate ("expr") or the statement to run ("stmt")
    op: str = ""  # "==", "<", ..., "truthy", "falsy", "isclose"
    expected: Any = None  # the literal (Python value) the value is compared with
    rel_tol: float = 1e-9
    abs_tol: float = 0.0
    line: int = 0


@dataclass(frozen=True)
class AssertFile:
    setup: str
    tests: tuple[AssertTest, ...]

    @property
    def opaque(self) -> int:
        return sum(1 for t in self.tests if t.kind == "stmt")


def parse_asserts(test_code: str, *, entry_point: str | None = None) -> AssertFile:
    """Split ``test_code`` into setup code and tests; raises SyntaxError for code that does not parse."""
    tree = ast.parse(test_code)
    setup: list[str] = []
    tests: list[AssertTest] = []
    checks: dict[str, ast.FunctionDef] = {}
    for node in tree.body:
        if isinstance(node, ast.Assert):
            tests.append(_rewrite(node, {}))
        elif isinstance(node, ast.FunctionDef) and _is_check(node):
            checks[node.name] = node
        elif (
            isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Name)
            and node.value.func.id in checks
            and len(node.value.args) == 1
            and not node.value.keywords
        ):
            check = checks[node.value.func.id]
            bound = {check.args.args[0].arg: node.value.args[0]}
            tests.extend(_rewrite(inner, bound) for inner in check.body if isinstance(inner, ast.Assert))
        else:
            setup.append(ast.get_source_segment(test_code, node) or ast.unparse(node))
    if checks and not tests and entry_point:
        # A check() never called in the file: call it on the entry point, as HumanEval's harness does.
        for check in checks.values():
            bound = {check.args.args[0].arg: ast.Name(entry_point, ast.Load())}
            tests.extend(_rewrite(inner, bound) for inner in check.body if isinstance(inner, ast.Assert))
    return AssertFile("\n".join(setup), tuple(tests))


def _is_check(node: ast.FunctionDef) -> bool:
    """``def check(candidate): <asserts, docstrings, pass>`` with exactly one positional argument."""
    args = node.args
    if len(args.args) != 1 or args.vararg or args.kwarg or args.kwonlyargs or node.decorator_list:
        return False
    return any(isinstance(s, ast.Assert) for s in node.body) and all(
        isinstance(s, (ast.Assert, ast.Pass))
        or (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))
        for s in node.body
    )


class _Bind(ast.NodeTransformer):
    def __init__(self, bound: dict[str, ast.expr]) -> None:
        self.bound = bound

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if node.id in self.bound and isinstance(node.ctx, ast.Load):
            return ast.copy_location(self.bound[node.id], node)
        return node


def _source(node: ast.AST, bound: dict[str, ast.expr]) -> str:
    if bound:
        node = _Bind(bound).visit(ast.parse(ast.unparse(node), mode="eval").body)
    return ast.unparse(node)


def _literal(node: ast.AST) -> tuple[bool, Any]:
    try:
        return True, ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False, None


def _rewrite(node: ast.Assert, bound: dict[str, ast.expr]) -> AssertTest:
    test, line = node.test, node.lineno
    opaque = AssertTest(
        "stmt",
        _source(ast.Assert(test=test, msg=None), bound) if not bound else "assert " + _source(test, bound),
        line=line,
    )
    close = _closeness(test, bound, line)
    if close is not None:
        return close
    if isinstance(test, ast.Compare) and len(test.ops) == 1:
        op = _COMPARE_OPS.get(type(test.ops[0]))
        left, right = test.left, test.comparators[0]
        right_ok, right_value = _literal(right)
        left_ok, left_value = _literal(left)
        if op is None or (right_ok and left_ok):
            return opaque
        if right_ok:
            expr, value = left, right_value
        elif left_ok and op in _SWAPPED:
            expr, value, op = right, left_value, _SWAPPED[op]
        else:
            return opaque
        if op in ("is", "is not") and value not in (None, True, False):
            return opaque
        return AssertTest("expr", _source(expr, bound), op, value, line=line)
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        if _literal(test.operand)[0]:
            return opaque
        return AssertTest("expr", _source(test.operand, bound), "falsy", None, line=line)
    if _literal(test)[0]:
        return opaque
    return AssertTest("expr", _source(test, bound), "truthy", None, line=line)


def _closeness(test: ast.expr, bound: dict[str, ast.expr], line: int) -> AssertTest | None:
    """``math.isclose(e, lit, rel_tol=, abs_tol=)`` or ``abs(e - lit) < tol`` (either order)."""
    if (
        isinstance(test, ast.Call)
        and ast.unparse(test.func) in ("math.isclose", "isclose")
        and len(test.args) == 2
    ):
        tolerances = {"rel_tol": 1e-9, "abs_tol": 0.0}
        for keyword in test.keywords:
            ok, value = _literal(keyword.value)
            if keyword.arg not in tolerances or not ok or not isinstance(value, (int, float)):
                return None
            tolerances[keyword.arg] = float(value)
        for expr, lit in ((test.args[0], test.args[1]), (test.args[1], test.args[0])):
            ok, value = _literal(lit)
            if ok and isinstance(value, (int, float)) and not _literal(expr)[0]:
                return AssertTest(
                    "expr",
                    _source(expr, bound),
                    "isclose",
                    value,
                    tolerances["rel_tol"],
                    tolerances["abs_tol"],
                    line=line,
                )
        return None
    if (
        isinstance(test, ast.Compare)
        and len(test.ops) == 1
        and isinstance(test.ops[0], (ast.Lt, ast.LtE))
        and isinstance(test.left, ast.Call)
        and isinstance(test.left.func, ast.Name)
        and test.left.func.id == "abs"
        and len(test.left.args) == 1
        and isinstance(test.left.args[0], ast.BinOp)
        and isinstance(test.left.args[0].op, ast.Sub)
    ):
        ok, tolerance = _literal(test.comparators[0])
        diff = test.left.args[0]
        for expr, lit in ((diff.left, diff.right), (diff.right, diff.left)):
            lit_ok, value = _literal(lit)
            numeric = isinstance(value, (int, float)) and isinstance(tolerance, (int, float))
            if ok and lit_ok and numeric and not _literal(expr)[0]:
                return AssertTest(
                    "expr", _source(expr, bound), "isclose", value, 0.0, float(tolerance), line=line
                )
    return None
