"""Safe row filters: ``--where "z_flag >= 3 and z > 0"`` without running arbitrary code.

The expression is parsed with :mod:`ast` and only a small grammar is accepted:
column names, numbers, strings, True/False/None, comparisons (``== != < <= > >=``,
``in``/``not in`` a list), ``and``/``or``/``not`` (also ``& | ~``) and arithmetic
(``+ - * / ** %``). Anything else (calls, attributes, subscripts, lambdas) is refused.
It is evaluated column-wise with numpy, never with ``eval``.

Evaluation is bounded in time and memory whatever the expression: powers are
computed in float64 (``9 ** 9 ** 9`` is ``inf`` at once, not a Python integer of
hundreds of millions of digits), arithmetic on text or lists is refused (``'a' *
10**9`` would fill the memory), and an expression nested more than
:data:`MAX_NESTING` levels deep is refused.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from tsmaker.parameters import parameter_error

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

_COMPARISONS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}
_ARITHMETIC: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
    ast.Mod: operator.mod,
    ast.BitAnd: operator.and_,
    ast.BitOr: operator.or_,
}


#: Deepest nesting of operations a filter may have (``z > 0`` has 2 levels).
MAX_NESTING = 32


def parse_where(expression: str, columns: Iterable[str]) -> ast.Expression:
    """Parse and check a filter expression against the known columns.

    Raises
    ------
    InputError
        On a syntax error, a construct outside the grammar, an unknown column, or an
        expression nested deeper than :data:`MAX_NESTING`.
    """
    known = set(columns)
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError as error:
        raise parameter_error(
            "where",
            f"{{name}} {_shortened(expression)!r} is not a valid expression ({error.msg}); "
            'write it like "z_flag >= 3 and z > 0"'
        ) from None
    except (RecursionError, MemoryError, ValueError) as error:  # deep nesting, huge numbers
        raise parameter_error(
            "where",
            f"{{name}} {_shortened(expression)!r} is too large or too deeply nested to read "
            f"({type(error).__name__}); write a shorter filter"
        ) from None
    if _nesting(tree.body) > MAX_NESTING:
        raise parameter_error(
            "where",
            f"{{name}} {_shortened(expression)!r} is nested more than {MAX_NESTING} levels "
            "deep; write a simpler filter"
        )
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id not in known:
            raise parameter_error(
                "where",
                f"{{name}} {expression!r} names unknown column {node.id!r}; "
                f"columns are: {', '.join(sorted(known))}"
            )
        if not isinstance(node, _ALLOWED_NODES):
            raise parameter_error(
                "where",
                f"{{name}} {expression!r} uses {type(node).__name__}, which filters do "
                "not allow; use column names, numbers, comparisons, and/or/not"
            )
    return tree


_ALLOWED_NODES = (
    ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub,
    ast.UAdd, ast.Invert, ast.Compare, ast.BinOp, ast.Name, ast.Load, ast.Constant,
    ast.List, ast.Tuple, ast.In, ast.NotIn, *_COMPARISONS, *_ARITHMETIC,
)


def _nesting(node: ast.AST) -> int:
    """Levels of operations in an expression (names, numbers, lists count one)."""
    deepest, pending = 0, [(node, 1)]
    while pending:
        current, depth = pending.pop()
        deepest = max(deepest, depth)
        if not isinstance(current, ast.List | ast.Tuple):
            pending += [(child, depth + 1) for child in ast.iter_child_nodes(current)
                        if isinstance(child, ast.expr)]
    return deepest


def _shortened(expression: str, limit: int = 80) -> str:
    return expression if len(expression) <= limit else expression[: limit - 3] + "..."


def evaluate_where(expression: str, frame: pd.DataFrame) -> np.ndarray:
    """Evaluate a filter on a pandas DataFrame and return a boolean numpy mask.

    Missing values compare as False, so a row with a missing flag fails ``flag >= 3``.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"z": [0.1, -1.0, 0.5], "z_flag": [4, 4, 2]})
    >>> evaluate_where("z_flag >= 3 and z > 0", frame).tolist()
    [True, False, False]
    """
    import numpy as np

    tree = parse_where(expression, frame.columns)
    result = _evaluate(tree.body, frame, expression)
    mask = np.asarray(result)
    if mask.shape == ():
        mask = np.full(len(frame), bool(mask))
    if mask.dtype != bool:
        raise parameter_error(
            "where",
            f"{{name}} {expression!r} does not give True/False per row; "
            "compare columns with values, e.g. \"z > 0\""
        )
    return mask


def _evaluate(node: ast.AST, frame: pd.DataFrame, expression: str) -> Any:
    import numpy as np

    if isinstance(node, ast.Name):
        column = frame[node.id]
        if column.dtype.kind in "biuf":
            return column.to_numpy(dtype=float if column.hasnans else None, na_value=np.nan)
        return column.to_numpy(dtype=object)
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.List | ast.Tuple):
        return [_evaluate(element, frame, expression) for element in node.elts]
    if isinstance(node, ast.BoolOp):
        values = [_as_mask(_evaluate(v, frame, expression), expression) for v in node.values]
        combine = np.logical_and if isinstance(node.op, ast.And) else np.logical_or
        result = values[0]
        for value in values[1:]:
            result = combine(result, value)
        return result
    if isinstance(node, ast.UnaryOp):
        operand = _evaluate(node.operand, frame, expression)
        if isinstance(node.op, ast.Not | ast.Invert):
            return np.logical_not(_as_mask(operand, expression))
        return -operand if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.BinOp):
        left = _evaluate(node.left, frame, expression)
        right = _evaluate(node.right, frame, expression)
        if isinstance(node.op, ast.BitAnd | ast.BitOr):
            combine = np.logical_and if isinstance(node.op, ast.BitAnd) else np.logical_or
            return combine(_as_mask(left, expression), _as_mask(right, expression))
        for operand in (left, right):
            text = isinstance(operand, np.ndarray) and operand.dtype.kind in "OSU"
            if text or isinstance(operand, str | bytes | list):
                raise parameter_error(
                    "where",
                    f"{{name}} {expression!r}: cannot compute {ast.unparse(node)!r} on text or "
                    "lists; use arithmetic on numeric columns only"
                )
        try:
            if isinstance(node.op, ast.Pow):  # in float64: bounded time, overflow gives inf
                left = np.asarray(left, dtype=np.float64)
                right = np.asarray(right, dtype=np.float64)
            with np.errstate(all="ignore"):
                return _ARITHMETIC[type(node.op)](left, right)
        except (ArithmeticError, TypeError) as error:
            # e.g. 1 / 0 between constants, or a number added to a text column
            raise parameter_error(
                "where",
                f"{{name}} {expression!r}: cannot compute {ast.unparse(node)!r} ({error}); "
                "use arithmetic on numeric columns only"
            ) from None
    if isinstance(node, ast.Compare):
        return _compare(node, frame, expression)
    raise parameter_error(
        "where", f"{{name}} {expression!r}: unsupported construct {type(node).__name__}"
    )


def _compare(node: ast.Compare, frame: pd.DataFrame, expression: str) -> np.ndarray:
    import numpy as np

    result = None
    left = _evaluate(node.left, frame, expression)
    for op, comparator in zip(node.ops, node.comparators, strict=True):
        right = _evaluate(comparator, frame, expression)
        if isinstance(op, ast.In | ast.NotIn):
            if not isinstance(right, list):
                raise parameter_error(
                    "where",
                    f"{{name}} {expression!r}: 'in' needs a list, e.g. z_flag in [3, 4]"
                )
            step = np.isin(left, right)
            if isinstance(op, ast.NotIn):
                step = ~step
        else:
            try:
                with np.errstate(invalid="ignore"):
                    step = np.asarray(_COMPARISONS[type(op)](left, right))
            except TypeError as error:
                raise parameter_error(
                    "where",
                    f"{{name}} {expression!r} compares values of different kinds ({error}); "
                    "quote strings and compare numbers with numbers"
                ) from None
            if step.dtype == object:
                step = step.astype(bool)
        result = step if result is None else np.logical_and(result, step)
        left = right
    return result


def _as_mask(value: object, expression: str) -> np.ndarray:
    import numpy as np

    mask = np.asarray(value)
    if mask.dtype != bool:
        raise parameter_error(
            "where",
            f"{{name}} {expression!r} combines values that are not True/False with and/or; "
            "put a comparison on each side, e.g. \"z > 0 and z_flag >= 3\""
        )
    return mask
