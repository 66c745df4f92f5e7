"""A declared statement: its SQL with named bound parameters, and how columns map to fields.

Declared in YAML as::

    orders:
      sql: SELECT ord_id, sym, qty, side, st FROM orders WHERE acct_no = :account_id
      fields:
        id: "{{ row.ord_id | string }}"
        instrument: sym
        status: "{{ {'N': 'working', 'F': 'filled'}[row.st] }}"

Values reach the database only as bound parameters (``:name``); the SQL text is never built
from data. Each declaration remembers where it was written, so that checks made later against
the database (``gateway check --connect``) still point at the YAML line.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Any

import sqlalchemy as sa

from connectors.sql._expressions import Expression, ExpressionError
from gateway.config._convert import INVALID, Context, describe, report_duplicates, scalar_str
from gateway.config._yaml import Mark, YMap, YNode, YScalar

# The first keyword of a statement, after comments and whitespace.
_COMMENT = re.compile(r"(--[^\n]*\n?|/\*.*?\*/|\s+)", re.S)
_READ_KEYWORDS = ("select", "with", "values")
MAX_SQL = 20_000


def first_keyword(sql: str) -> str:
    """The statement's first word, lower-cased ('' for none)."""
    text = _COMMENT.sub(" ", sql).strip()
    return text.split(None, 1)[0].lower() if text else ""


def is_read(sql: str) -> bool:
    """A SELECT (or WITH … SELECT, VALUES): what a read endpoint may declare.

    The database enforces it as well: reads run in read-only transactions.
    """
    return first_keyword(sql) in _READ_KEYWORDS


@dataclass(frozen=True)
class Statement:
    """One declared statement with its field mapping and computed parameters."""

    sql: str
    fields: Mapping[str, Expression] = field(default_factory=lambda: MappingProxyType({}))
    params: Mapping[str, Expression] = field(default_factory=lambda: MappingProxyType({}))
    mark: Mark = field(default=Mark("?", 1, 1), compare=False)
    path: str = field(default="", compare=False)
    optional: bool = False
    """For a write: an UPDATE or DELETE that changes no row does not refuse the command (a
    statement that applies only sometimes, such as moving a bracket that may not exist)."""

    @cached_property
    def keyword(self) -> str:
        """The statement's first keyword, lower-cased (``select``, ``update``, ``call``…)."""
        return first_keyword(self.sql)

    @cached_property
    def text(self) -> sa.TextClause:
        """The SQL as SQLAlchemy text (bound parameters only); parsed once."""
        return sa.text(self.sql)

    @cached_property
    def bind_names(self) -> frozenset[str]:
        """The ``:name`` parameters the SQL uses."""
        return frozenset(self.text._bindparams)

    @cached_property
    def columns(self) -> frozenset[str]:
        """The columns the field mapping reads."""
        out: set[str] = set()
        for expression in self.fields.values():
            out |= expression.columns
        return frozenset(out)

    def where(self, rel: str = "") -> str:
        """``file:line:col: path`` of this declaration (or one of its keys)."""
        return f"{self.mark}: {self.path}{'.' + rel if rel else ''}"

    def map_row(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """The spec record of one result row (columns as they are without ``fields``)."""
        if not self.fields:
            return {k: v for k, v in row.items() if v is not None}
        out: dict[str, Any] = {}
        for name, read in self._readers:
            value = read(row)
            if value is not None:
                out[name] = value
        return out

    @cached_property
    def _readers(self) -> tuple[tuple[str, Callable[[Any], Any]], ...]:
        return tuple((name, expression.reader()) for name, expression in self.fields.items())

    @classmethod
    def parse_config(cls, node: YNode, path: str, ctx: Context) -> Any:
        """A mapping with ``sql`` and optional ``fields`` and ``params``."""
        if isinstance(node, YScalar) and isinstance(node.value, str):
            node = YMap(((YScalar("sql", node.mark), node),), node.mark)
        if not isinstance(node, YMap):
            ctx.report(
                node.mark, path, f"expected a mapping with sql and fields, got {describe(node)}"
            )
            return INVALID
        report_duplicates(node, path, ctx)
        bad = bool(node.duplicates)
        sql: str | None = None
        fields: dict[str, Expression] = {}
        params: dict[str, Expression] = {}
        optional = False
        for key, value in node.items:
            name = str(key.value)
            sub = f"{path}.{name}"
            ctx.marks[sub] = value.mark
            if name == "sql":
                sql = scalar_str(value, sub, ctx, "the SQL text")
                if sql is not None and (not sql.strip() or len(sql) > MAX_SQL):
                    ctx.report(value.mark, sub, f"must be 1 to {MAX_SQL} characters of SQL")
                    sql = None
                bad = bad or sql is None
            elif name in ("fields", "params"):
                target = fields if name == "fields" else params
                variables = frozenset({"row"}) if name == "fields" else frozenset({"form"})
                bad = not _expressions(value, sub, ctx, target, variables) or bad
            elif name == "optional":
                if isinstance(value, YScalar) and isinstance(value.value, bool):
                    optional = value.value
                else:
                    ctx.report(value.mark, sub, f"expected true or false, got {describe(value)}")
                    bad = True
            else:
                ctx.report(key.mark, sub, "unknown key (expected sql, fields, params, optional)")
                bad = True
        if sql is None and not bad:
            ctx.report(node.mark, f"{path}.sql", "missing required key")
            bad = True
        if bad or sql is None:
            return INVALID
        try:
            sa.text(sql)
        except Exception as exc:
            ctx.report(node.mark, f"{path}.sql", f"cannot be parsed: {exc}")
            return INVALID
        return cls(
            sql, MappingProxyType(fields), MappingProxyType(params), node.mark, path, optional
        )

    @classmethod
    def json_schema(cls) -> dict[str, Any]:
        """SQL text, or a mapping with sql, fields and params."""
        mapping = {"type": "object", "additionalProperties": {"type": "string"}}
        return {
            "anyOf": [
                {"type": "string"},
                {
                    "type": "object",
                    "properties": {
                        "sql": {"type": "string"},
                        "fields": mapping,
                        "params": mapping,
                        "optional": {"type": "boolean"},
                    },
                    "required": ["sql"],
                    "additionalProperties": False,
                },
            ]
        }


def _expressions(
    node: YNode,
    path: str,
    ctx: Context,
    target: dict[str, Expression],
    variables: frozenset[str],
) -> bool:
    if not isinstance(node, YMap):
        ctx.report(
            node.mark, path, f"expected a mapping of name to expression, got {describe(node)}"
        )
        return False
    report_duplicates(node, path, ctx)
    good = not node.duplicates
    for key, value in node.items:
        name = str(key.value)
        sub = f"{path}.{name}"
        ctx.marks[sub] = value.mark
        text = scalar_str(value, sub, ctx, "a column name or a {{ expression }}")
        if text is None:
            good = False
            continue
        try:
            target[name] = Expression.compile(text, variables)
        except ExpressionError as exc:
            ctx.report(value.mark, sub, str(exc))
            good = False
    return good
