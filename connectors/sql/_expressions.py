"""Field mappings: a bare column name, or one Jinja2 expression run in a sandbox.

A mapping value is either a column name (``ord_id``), read as ``row[name]`` with no template
engine involved, or exactly one ``{{ expression }}``::

    status: "{{ {'F': 'filled', 'W': 'working'}[row.status] }}"
    qty: "{{ row.qty / 100 }}"
    name: "{{ row.first ~ ' ' ~ row.last }}"

Expressions come from the configuration only. Row values are data: they are passed to the
compiled expression as values and are never parsed, so a value such as ``{{ 7 * 7 }}`` stays
that string. Evaluation returns the native Python value (an int stays an int), not text.

Confinement has two layers. When the configuration loads, the expression's syntax tree is
checked: it may name only its declared variables (no ``range``, ``lipsum``, ``cycler``,
``self``...), no attribute or key starting with ``_``, and only the filters of
:data:`FILTERS`. At run time Jinja2's immutable sandbox refuses private and internal attributes
and mutating methods; on top of it, this module's environment reads mappings (the row, enum
maps) by key only (``row.keys`` is the column ``keys``, never the dict method) and bounds the
operations that build large values from small expressions (``'x' * 10**9``, ``10**(10**10)``,
padding widths), which Jinja2 would otherwise even fold while compiling. An expression is not
made cheap by all this: like the SQL beside it, it is trusted configuration, confined so that
it cannot reach Python's internals and so that a typo fails loudly rather than strangely.

Compiled expressions are cached by text, and a bare column costs one dict lookup per row.
"""

from __future__ import annotations

import functools
import re
import string
from collections.abc import Callable, Mapping
from typing import Any

from jinja2 import StrictUndefined, TemplateError, nodes
from jinja2.environment import TemplateExpression
from jinja2.exceptions import SecurityError, TemplateSyntaxError
from jinja2.runtime import Context, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

__all__ = ["FILTERS", "MAX_SIZE", "Expression", "ExpressionError"]

COLUMN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
"""A bare column name (the whole mapping value)."""

FILTERS = frozenset(
    {
        "abs",
        "capitalize",
        "count",
        "d",
        "default",
        "first",
        "float",
        "int",
        "join",
        "last",
        "length",
        "list",
        "lower",
        "max",
        "min",
        "replace",
        "reverse",
        "round",
        "sort",
        "string",
        "sum",
        "title",
        "trim",
        "truncate",
        "unique",
        "upper",
    }
)
"""The filters an expression may use. Left out on purpose: filters that take a name and apply
it (``map``, ``select``, ``attr``...), which would bypass this list; padding and layout filters
(``center``, ``indent``, ``format``, ``wordwrap``...), whose width is an unbounded allocation;
``random``; and filters that return HTML markup."""

MAX_SIZE = 100_000
"""The most characters or items a repetition (``*``), ``replace`` or padding may add."""

MAX_WIDTH = 999
"""The widest field a ``%`` or ``str.format`` specification may ask for."""

MAX_POWER_BITS = 4096
"""The largest integer (in bits) that ``**`` may compute."""

LABEL = 80
"""Messages quote at most this many characters of an expression or of data."""

_PADDING = frozenset({"center", "ljust", "rjust", "zfill", "expandtabs"})
_PRINTF = re.compile(r"%%|%(?:\([^)]*\))?[#0 +-]*(\*|\d+)?(?:\.(\*|\d+))?")


class ExpressionError(ValueError):
    """An expression that cannot be compiled or failed on a row; the message is one line."""


def _clip(text: str, limit: int = LABEL) -> str:
    """``text`` on one line and at most ``limit`` characters."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class _Sandbox(ImmutableSandboxedEnvironment):
    """Jinja2's immutable sandbox, reading mappings by key and bounding large constructions."""

    intercepted_binops = frozenset({"*", "**", "%"})

    def __init__(self) -> None:
        # StrictUndefined: a missing column or enum key is an error, never a silent None.
        super().__init__(undefined=StrictUndefined, autoescape=False)
        self.filters = {name: self.filters[name] for name in FILTERS}
        self.filters["replace"] = _replace
        self.globals.clear()  # range, lipsum, cycler, dict... are refused at compile anyway

    def getattr(self, obj: Any, attribute: str) -> Any:
        """``mapping.name`` reads the key ``name``, never a method of the mapping.

        A column called ``keys`` or ``count`` must not turn into a dict method, and the
        mapping's methods stay out of reach.
        """
        if isinstance(obj, Mapping):
            return self.getitem(obj, attribute)
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        """A mapping's key, without the sandbox's fallback to an attribute of the same name."""
        if isinstance(obj, Mapping):
            try:
                return obj[argument]
            except (LookupError, TypeError):
                return self.undefined(hint=f"no key {_clip(repr(argument), 40)}")
        return super().getitem(obj, argument)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        """Bound ``*`` (repetition), ``**`` and ``%`` (printf widths) before computing them."""
        if operator == "**":
            if (
                isinstance(left, int)
                and isinstance(right, int)
                and right > 0
                and max(abs(left).bit_length(), 1) * right > MAX_POWER_BITS
            ):
                raise SecurityError(
                    f"** would compute an integer of more than {MAX_POWER_BITS} bits"
                )
        elif operator == "*":
            for seq, times in ((left, right), (right, left)):
                if (
                    isinstance(seq, str | bytes | list | tuple)
                    and isinstance(times, int)
                    and len(seq) * times > MAX_SIZE
                ):
                    raise SecurityError(f"* would build more than {MAX_SIZE} items")
        elif operator == "%" and isinstance(left, str):
            for match in _PRINTF.finditer(left):
                _check_widths(match.groups())
        return super().call_binop(context, operator, left, right)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """The sandbox's ``str.format``, refusing field widths above :data:`MAX_WIDTH`."""
        wrapped = super().wrap_str_format(value)
        if wrapped is not None:
            for _, _, spec, _ in string.Formatter().parse(value.__self__):
                if spec and "{" in spec:
                    raise SecurityError("str.format: nested fields in a format spec")
                _check_widths(re.findall(r"\d+", spec or ""))
        return wrapped

    def call(self, context: Context, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        """Bound the str methods whose arguments size their result (padding, replace)."""
        name = getattr(obj, "__name__", None)
        if name in _PADDING or name == "replace":
            text = getattr(obj, "__self__", None)
            if isinstance(text, str):
                if name == "replace":
                    _check_replace(text, *args, **kwargs)
                else:
                    # expandtabs pads every tab: its width counts once per tab.
                    times = text.count("\t") + 1 if name == "expandtabs" else 1
                    sizes = (a * times for a in (*args, *kwargs.values()) if isinstance(a, int))
                    if any(size > MAX_SIZE for size in sizes):
                        raise SecurityError(f"str.{name} would pad to more than {MAX_SIZE}")
        return super().call(context, obj, *args, **kwargs)


def _check_widths(numbers: Any) -> None:
    for number in numbers:
        # Digit count rather than int(): a 5000-digit width must not reach int()'s own limit.
        if number == "*" or (number and len(number) > len(str(MAX_WIDTH))):
            raise SecurityError(f"a format width above {MAX_WIDTH}")


def _check_replace(text: str, old: Any = "", new: Any = "", count: Any = -1) -> None:
    if not (isinstance(old, str) and isinstance(new, str) and isinstance(count, int)):
        return  # str.replace raises its own TypeError
    hits = text.count(old) if old else len(text) + 1
    if count >= 0:
        hits = min(hits, count)
    if hits * (len(new) - len(old)) > MAX_SIZE:
        raise SecurityError(f"replace would add more than {MAX_SIZE} characters")


def _replace(value: Any, old: Any, new: Any, count: int | None = None) -> str:
    """Jinja2's ``replace`` filter (without autoescape), bounded like ``str.replace``."""
    text, old, new = str(value), str(old), str(new)
    limit = -1 if count is None else count
    _check_replace(text, old, new, limit)
    return text.replace(old, new, limit)


_ENV = _Sandbox()


class Expression:
    """A compiled field mapping: a bare column, or one sandboxed Jinja2 expression.

    Immutable; equal when text and variables are equal. Build with :meth:`compile`.
    """

    __slots__ = (
        "_column",
        "_fast",
        "_label",
        "_run",
        "_source",
        "columns",
        "text",
        "variables",
    )

    text: str
    """The mapping as written in the configuration."""
    variables: frozenset[str]
    """The names the expression may use."""
    columns: frozenset[str]
    """The keys the expression reads from its source variable (``row``) by a constant name
    (``row.x``, ``row['x']``, or the bare column): what the query must return. Keys computed at
    run time (``row[row.kind]``) are not known here."""

    def __init__(
        self,
        text: str,
        variables: frozenset[str],
        columns: frozenset[str],
        *,
        column: str | None,
        source: str,
        run: TemplateExpression | None,
        fast: Callable[[Any], Any] | None = None,
    ) -> None:
        """Internal: use :meth:`compile`."""
        self.text = text
        self.variables = variables
        self.columns = columns
        self._column = column
        self._source = source
        self._run = run
        self._fast = fast
        self._label = _clip(text)

    @classmethod
    def compile(cls, text: str, variables: frozenset[str] = frozenset({"row"})) -> Expression:
        """Compile a mapping value; :class:`ExpressionError` says what is wrong with it.

        A bare name reads from ``row`` (or from the only variable when ``row`` is not one).
        The result is cached: the same text and variables give the same object.
        """
        return _compile(text, variables)

    def evaluate(self, **variables: Any) -> Any:
        """The native value for one set of variables (``row=...``).

        Raises :class:`ExpressionError` for a missing key, a wrong type, an unsafe operation...
        naming the expression and quoting at most :data:`LABEL` characters of data.
        """
        if self._column is not None:
            try:
                return variables[self._source][self._column]
            except LookupError:
                raise ExpressionError(f"{self._label}: no column {self._column!r}") from None
        if self._fast is not None and self._source in variables:
            try:
                return self._fast(variables[self._source])
            except _Missing as exc:
                raise ExpressionError(f"{self._label}: no key {_clip(repr(exc.key))}") from None
        assert self._run is not None
        try:
            value = self._run(**variables)
        except Exception as exc:  # filters and the methods of data values raise anything
            # `from None`: a chained KeyError or ValueError would carry whole data values into
            # logs; the message below is the clipped account of it.
            raise ExpressionError(f"{self._label}: {_reason(exc)}") from None
        _refuse_undefined(self._label, value)
        if callable(value):  # `row.name.upper` without (): a method is never a field value
            raise ExpressionError(f"{self._label}: the value is a function (missing ()?)")
        if isinstance(value, list | tuple):
            for item in value:
                _refuse_undefined(self._label, item)
        elif isinstance(value, dict):
            for item in value.values():
                _refuse_undefined(self._label, item)
        return value

    def reader(self) -> Callable[[Any], Any]:
        """:meth:`evaluate` as a function of the source variable (``row``) alone.

        For the per-row loop: no keyword packing, no checks a fast shape cannot need.
        """
        column, fast, label = self._column, self._fast, self._label
        if column is not None:

            def read_column(row: Any) -> Any:
                try:
                    return row[column]
                except LookupError:
                    raise ExpressionError(f"{label}: no column {column!r}") from None

            return read_column
        if fast is not None:

            def read_fast(row: Any) -> Any:
                try:
                    return fast(row)
                except _Missing as exc:
                    raise ExpressionError(f"{label}: no key {_clip(repr(exc.key))}") from None

            return read_fast
        source = self._source
        return lambda row: self.evaluate(**{source: row})

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Expression):
            return NotImplemented
        return (self.text, self.variables) == (other.text, other.variables)

    def __hash__(self) -> int:
        return hash((self.text, self.variables))

    def __repr__(self) -> str:
        return f"Expression({self.text!r})"


def _reason(exc: BaseException) -> str:
    message = str(exc)
    if isinstance(exc, TemplateError) and message:
        return _clip(message)  # the sandbox's own words: "no key 'X'", "... is unsafe"
    return _clip(f"{type(exc).__name__}: {message}" if message else type(exc).__name__)


def _refuse_undefined(label: str, value: Any) -> None:
    # With undefined_to_none=False a missing key comes back as the Undefined object itself
    # (the sandbox returns one instead of raising, also for refused attributes); str() makes
    # it raise its UndefinedError or SecurityError, whose message is the reason.
    if isinstance(value, Undefined):
        try:
            str(value)
        except TemplateError as exc:
            raise ExpressionError(f"{label}: {_reason(exc)}") from None
        raise ExpressionError(f"{label}: undefined")  # pragma: no cover - StrictUndefined


@functools.lru_cache(maxsize=4096)
def _compile(text: str, variables: frozenset[str]) -> Expression:
    # Where a bare name reads from: the row, or the only variable (``form`` for parameters).
    source = "row" if "row" in variables else next(iter(variables)) if len(variables) == 1 else ""
    if COLUMN.fullmatch(text):
        if not source:
            raise ExpressionError(f"{_clip(text)}: a bare name needs a row to read from")
        return Expression(text, variables, frozenset({text}), column=text, source=source, run=None)
    stripped = text.strip()
    if not (stripped.startswith("{{") and stripped.endswith("}}")):
        if "{%" in text:
            raise ExpressionError("statements ({% %}) are not allowed: write one {{ expression }}")
        raise ExpressionError(
            f"expected a column name (letters, digits, _) or one {{{{ expression }}}}, "
            f"got {_clip(repr(text))}"
        )
    try:
        expr = _parse(stripped)
        columns = _check(expr, variables, source)
        # Before compiling: Jinja's optimizer rewrites the tree in place (a dict of constants
        # becomes one constant).
        fast = _fast_path(expr, source)
        # Compiled from the tree just checked (what compile_expression does after parsing), so
        # that what runs is exactly what was checked.
        body = [nodes.Assign(nodes.Name("result", "store"), expr, lineno=1)]
        template = _ENV.from_string(nodes.Template(body, lineno=1))
    except TemplateSyntaxError as exc:
        where = f" (line {exc.lineno})" if exc.lineno and exc.lineno > 1 else ""
        raise ExpressionError(f"syntax error{where}: {_clip(exc.message or '')}") from None
    except RecursionError:
        raise ExpressionError("the expression is nested too deeply") from None
    return Expression(
        text,
        variables,
        columns,
        column=None,
        source=source,
        run=TemplateExpression(template, undefined_to_none=False),
        fast=fast,
    )


# Filters whose meaning on a column value is plain Python (Jinja's own: soft_str, then the
# method), so that the commonest mappings run without a template context per value.
_FAST_FILTERS: dict[str, Callable[[Any], Any]] = {
    "string": str,
    "lower": lambda value: str(value).lower(),
    "upper": lambda value: str(value).upper(),
}


class _Missing(Exception):  # noqa: N818 - control flow of the fast path
    def __init__(self, key: Any) -> None:
        super().__init__()
        self.key = key


def _get(row: Any, key: Any) -> Any:
    try:
        return row[key]
    except (LookupError, TypeError):
        raise _Missing(key) from None


def _column_of(node: nodes.Expr, source: str) -> str | None:
    """``row.x`` or ``row['x']``: the column; anything else None."""
    if isinstance(node, nodes.Getattr) and isinstance(node.node, nodes.Name):
        return node.attr if node.node.name == source else None
    if isinstance(node, nodes.Getitem) and isinstance(node.node, nodes.Name):
        key = _constant_key(node.arg)
        return key if node.node.name == source else None
    return None


def _fast_path(expr: nodes.Expr, source: str) -> Callable[[Any], Any] | None:
    """A plain-Python equivalent of the common shapes, or None (the sandbox runs the rest).

    The shapes are a column (``row.x``), a column through ``string``/``lower``/``upper``, and
    an enum map of constants indexed by a column (``{'F': 'filled'}[row.st]``): exactly what
    the template would compute, without building a template context for every value.
    """
    if not source:
        return None
    column = _column_of(expr, source)
    if column is not None:
        return lambda row: _get(row, column)
    if (
        isinstance(expr, nodes.Filter)
        and expr.name in _FAST_FILTERS
        and expr.node is not None
        and not expr.args
        and not expr.kwargs
        and expr.dyn_args is None
        and expr.dyn_kwargs is None
    ):
        column = _column_of(expr.node, source)
        convert = _FAST_FILTERS[expr.name]
        if column is not None:
            return lambda row: convert(_get(row, column))
    if isinstance(expr, nodes.Getitem) and isinstance(expr.node, nodes.Dict):
        column = _column_of(expr.arg, source)
        pairs = expr.node.items
        constant = all(
            isinstance(p.key, nodes.Const) and isinstance(p.value, nodes.Const) for p in pairs
        )
        if column is not None and constant:
            table = {p.key.value: p.value.value for p in pairs}  # type: ignore[attr-defined]
            return lambda row: _get(table, _get(row, column))
    return None


def _parse(text: str) -> nodes.Expr:
    """The one expression of ``{{ … }}``, or :class:`ExpressionError`."""
    tree = _ENV.parse(text)
    if any(not isinstance(node, nodes.Output) for node in tree.body):
        raise ExpressionError("statements ({% %}) are not allowed: write one {{ expression }}")
    parts = [part for output in tree.body for part in output.iter_child_nodes()]
    if len(parts) != 1 or isinstance(parts[0], nodes.TemplateData):
        raise ExpressionError("expected exactly one {{ expression }} and nothing around it")
    part = parts[0]
    assert isinstance(part, nodes.Expr)
    return part


def _check(expr: nodes.Expr, variables: frozenset[str], source: str) -> frozenset[str]:
    """Refuse what could leave the sandbox; the constant keys read from ``source``."""
    columns: set[str] = set()
    # Iterative (a deeply nested expression must not exhaust the stack here), and checked in
    # reverse: children before parents, left to right, so the first problem as read is named.
    stack: list[nodes.Node] = [expr]
    order: list[nodes.Node] = []
    while stack:
        node = stack.pop()
        order.append(node)
        stack.extend(node.iter_child_nodes())
    for node in reversed(order):
        if isinstance(node, nodes.Name):
            if node.name not in variables:
                allowed = ", ".join(sorted(variables)) or "none"
                raise ExpressionError(f"unknown name {node.name!r} (variables: {allowed})")
        elif isinstance(node, nodes.Getattr | nodes.Getitem):
            key = node.attr if isinstance(node, nodes.Getattr) else _constant_key(node.arg)
            if key is None:
                continue
            on_source = isinstance(node.node, nodes.Name) and node.node.name == source
            if key.startswith("_"):
                hint = " (map such a column by its bare name)" if on_source else ""
                raise ExpressionError(
                    f"{_clip(key, 40)!r}: names starting with _ are not allowed in expressions"
                    + hint
                )
            if on_source:
                columns.add(key)
        elif isinstance(node, nodes.Filter) and node.name not in FILTERS:
            raise ExpressionError(
                f"filter {node.name!r} is not allowed (allowed: {', '.join(sorted(FILTERS))})"
            )
    return frozenset(columns)


def _constant_key(node: nodes.Expr) -> str | None:
    if isinstance(node, nodes.Const) and isinstance(node.value, str):
        return node.value
    return None
