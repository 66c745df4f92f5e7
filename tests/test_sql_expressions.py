"""The sql connector's field mappings: columns and sandboxed Jinja2 expressions."""

from __future__ import annotations

import datetime as dt
import decimal
import time
from typing import Any

import pytest
import sqlalchemy as sa

from connectors.sql._expressions import FILTERS, MAX_SIZE, Expression, ExpressionError

ROW: dict[str, Any] = {
    "status": "F",
    "qty": 250,
    "first": "Ada",
    "last": "Lovelace",
    "price": 1.234567891,
    "side": "B",
    "note": None,
    "name": "EURUSD",
}


def evaluate(text: str, **row: Any) -> Any:
    return Expression.compile(text).evaluate(row={**ROW, **row})


# -- what mappings compute ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{ {'F': 'filled', 'W': 'working'}[row.status] }}", "filled"),
        ("{{ {'F': 'filled', 'W': 'working'}[row['status']] }}", "filled"),
        ("{{ {'B': 'buy', 'S': 'sell'}[row.side] }}", "buy"),
        ("{{ {'F': 2, 'W': 6}[row.status] }}", 2),
        ("{{ row.qty / 100 }}", 2.5),
        ("{{ row.qty // 100 }}", 2),
        ("{{ -row.qty * 2 }}", -500),
        ("{{ row.qty % 7 }}", 5),
        ("{{ 2 ** 10 }}", 1024),
        ("{{ row.first ~ ' ' ~ row.last }}", "Ada Lovelace"),
        ("{{ row.first + row.last }}", "AdaLovelace"),
        ("{{ '%.2f' % row.price }}", "1.23"),
        ("{{ '{}-{}'.format(row.first, row.qty) }}", "Ada-250"),
        ("{{ row.price | round(5) }}", 1.23457),
        ("{{ row.price | round(2, 'floor') }}", 1.23),
        ("{{ row.qty | string }}", "250"),
        ("{{ row.first | lower }}", "ada"),
        ("{{ row.first | upper }}", "ADA"),
        ("{{ row.note | default('none given', true) }}", "none given"),
        ("{{ row.absent | default('none given') }}", "none given"),
        ("{{ row.name[:3] }}", "EUR"),
        ("{{ row.name | replace('USD', '/USD') }}", "EUR/USD"),
        ("{{ row.name | length }}", 6),
        ("{{ row.first.upper() }}", "ADA"),
        ("{{ 'buy' if row.side == 'B' else 'sell' }}", "buy"),
        ("{{ row.qty > 100 and row.status == 'F' }}", True),
        ("{{ row.note is none }}", True),
        ("{{ row.absent is defined }}", False),
        ("{{ [row.qty, row.side] }}", [250, "B"]),
        ("{{ row.qty if row.note is none else row.note }}", 250),
        ("{{ none }}", None),
        ("  {{ row.qty }}  ", 250),  # YAML's surrounding spaces
        ("{{- row.qty -}}", 250),  # whitespace control is no syntax error
    ],
)
def test_expressions_compute_native_values(text: str, expected: Any) -> None:
    result = evaluate(text)
    assert result == expected
    assert type(result) is type(expected)  # native values, not their text


def test_a_bare_column_is_the_row_value_as_is() -> None:
    value = decimal.Decimal("1.10")
    assert Expression.compile("price").evaluate(row={"price": value}) is value
    assert Expression.compile("note").evaluate(row={"note": None}) is None
    assert Expression.compile("_id").evaluate(row={"_id": 7}) == 7  # _ allowed when bare


def test_values_keep_their_python_types() -> None:
    when = dt.datetime(2024, 5, 1, 12, tzinfo=dt.UTC)
    assert evaluate("{{ row.ts }}", ts=when) is when
    assert evaluate("{{ row.ts.year }}", ts=when) == 2024
    assert evaluate("{{ row.amount * 2 }}", amount=decimal.Decimal("1.25")) == decimal.Decimal(
        "2.50"
    )
    # Unlike jinja2.nativetypes, the value is never re-parsed: text that looks like a number or
    # a list stays text.
    assert evaluate("{{ row.x }}", x="123") == "123"
    assert evaluate("{{ row.x }}", x="[1, 2]") == "[1, 2]"


def test_row_attributes_are_columns_even_when_named_like_mapping_methods() -> None:
    row = {"keys": "k", "items": 3, "count": 4, "get": "g", "values": "v"}
    for name, expected in row.items():
        assert Expression.compile(f"{{{{ row.{name} }}}}").evaluate(row=row) == expected
    with pytest.raises(ExpressionError, match="no key 'items'"):
        Expression.compile("{{ row.items }}").evaluate(row={"x": 1})


def test_sqlalchemy_row_mappings_are_rows() -> None:
    engine = sa.create_engine("sqlite://")
    with engine.connect() as connection:
        row = connection.execute(
            sa.text("SELECT 'F' AS status, 250 AS qty, 'k' AS keys, NULL AS note")
        ).mappings()
        mapping = row.one()
    assert Expression.compile("qty").evaluate(row=mapping) == 250
    assert Expression.compile("{{ row.keys }}").evaluate(row=mapping) == "k"
    assert Expression.compile("{{ {'F': 'filled'}[row.status] }}").evaluate(row=mapping) == (
        "filled"
    )
    assert Expression.compile("{{ row.note | default(0, true) }}").evaluate(row=mapping) == 0
    with pytest.raises(ExpressionError, match="no column 'absent'"):
        Expression.compile("absent").evaluate(row=mapping)
    with pytest.raises(ExpressionError, match="no key 'absent'"):
        Expression.compile("{{ row.absent }}").evaluate(row=mapping)


# -- errors while evaluating ----------------------------------------------------------------


def test_a_value_missing_from_an_enum_map_names_the_expression_and_the_value() -> None:
    text = "{{ {'F': 'filled', 'W': 'working'}[row.status] }}"
    with pytest.raises(ExpressionError) as info:
        evaluate(text, status="X")
    message = str(info.value)
    assert message.startswith(text[:40])
    assert "no key 'X'" in message


@pytest.mark.parametrize(
    ("text", "row", "reason"),
    [
        ("{{ row.absent }}", {}, "no key 'absent'"),
        ("{{ row.note / 100 }}", {}, "TypeError"),  # None from a NULL column
        ("{{ row.qty / 0 }}", {}, "ZeroDivisionError"),
        ("{{ row.first + row.qty }}", {}, "TypeError"),
        ("{{ [row.absent] }}", {}, "no key 'absent'"),  # not an Undefined inside a list
        ("{{ {'a': row.absent} }}", {}, "no key 'absent'"),
        ("{{ row.name.nope() }}", {}, "nope"),
        ("absent", {}, "no column 'absent'"),
        ("{{ row.first.upper }}", {}, r"a function \(missing \(\)\?\)"),
    ],
)
def test_evaluation_errors_are_expression_errors(
    text: str, row: dict[str, Any], reason: str
) -> None:
    with pytest.raises(ExpressionError, match=reason):
        evaluate(text, **row)


def test_messages_quote_little_data_on_one_line() -> None:
    secret = "s3cret\n" + "x" * 5000
    for text in ("{{ {'F': 1}[row.v] }}", "{{ row.v + 1 }}", "{{ row.v | int + row.v }}"):
        with pytest.raises(ExpressionError) as info:
            evaluate(text, v=secret)
        message = str(info.value)
        assert "\n" not in message
        assert len(message) <= 2 * 80 + 2  # the expression and the reason, each clipped
        assert "x" * 81 not in message
        assert info.value.__cause__ is None  # no chained exception carrying the value


def test_a_long_expression_is_clipped_in_messages() -> None:
    text = "{{ {" + ", ".join(f"'K{i}': {i}" for i in range(100)) + "}[row.status] }}"
    with pytest.raises(ExpressionError) as info:
        evaluate(text)
    assert len(str(info.value)) < 200


# -- data is never code ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "{{ ''.__class__ }}",
        "{{ 7 * 7 }}",
        "{% for x in range(10) %}{{ x }}{% endfor %}",
        "{% for %}",
        "{{",
        "${7*7}",
        "{# comment #}",
    ],
)
def test_row_values_are_returned_as_is_never_evaluated(value: str) -> None:
    assert Expression.compile("v").evaluate(row={"v": value}) == value
    assert evaluate("{{ row.v }}", v=value) == value
    assert evaluate("{{ row.v ~ '!' }}", v=value) == value + "!"
    assert evaluate("{{ row.v | lower }}", v=value) == value.lower()


def test_data_used_as_a_key_cannot_reach_attributes() -> None:
    # A key computed from data goes through the sandbox at run time, where _-names are refused.
    for key in ("__class__", "_asdict", "__globals__"):
        with pytest.raises(ExpressionError, match=r"no key|unsafe"):
            evaluate("{{ row[row.k] }}", k=key)
        with pytest.raises(ExpressionError, match=r"unsafe|has no attribute"):
            evaluate("{{ ''[row.k] }}", k=key)
        with pytest.raises(ExpressionError, match=r"unsafe|has no attribute"):
            evaluate("{{ (''[row.k])[row.k] }}", k=key)


# -- the sandbox ----------------------------------------------------------------------------

ESCAPES = [
    "{{ ''.__class__.__mro__ }}",
    "{{ ''.__class__ }}",
    "{{ row.__class__ }}",
    "{{ row._asdict }}",
    "{{ row['_asdict'] }}",
    "{{ row.__getitem__ }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ lipsum.__globals__ }}",
    "{{ lipsum }}",
    "{{ joiner }}",
    "{{ namespace }}",
    "{{ dict(a=1) }}",
    "{{ self }}",
    "{{ self._TemplateReference__context }}",
    "{{ config }}",
    "{{ request }}",
    "{{ range(10**9) | list }}",
    "{{ range(10) }}",
    "{{ row.get.__self__ }}",
    "{{ ().__class__.__base__.__subclasses__() }}",
    "{{ (1).__class__ }}",
    "{{ row.price.real.__class__ }}",
    "{{ row | attr('__class__') }}",
    "{{ row | map('upper') | list }}",
    "{{ [row] | selectattr('x') | list }}",
    "{{ 'x' | center(10**9) }}",
    "{{ '%s' | format(row) }}",
    "{{ row | pprint }}",
    "{{ loop }}",
    "{{ caller }}",
    "{{ kwargs }}",
    "{{ varargs }}",
    "{{ row.first.format }}",
    "{{ ''['__cla' ~ 'ss__'] }}",
    "{{ row[('_' ~ '_class__')] }}",
    "{{ 'x' * 10**9 }}",
    "{{ row.first * 10**9 }}",
    "{{ [0] * 10**9 }}",
    "{{ 10 ** (10 ** 10) }}",
    "{{ 2 ** 100000 }}",
    "{{ '%01000000000d' % 1 }}",
    "{{ '%*d' % (1000000000, 1) }}",
    "{{ '%(a)01000000000d' % {'a': 1} }}",
    "{{ '{:>1000000000}'.format(1) }}",
    "{{ '{:>{w}}'.format(1, w=1000000000) }}",
    "{{ '{0.__class__}'.format(row) }}",
    "{{ '{0[_x]}'.format(row) }}",
    "{{ 'x'.center(10**9) }}",
    "{{ 'x'.ljust(10**9) }}",
    "{{ '1'.zfill(10**9) }}",
    "{{ ('\t' * 90000).expandtabs(90000) }}",
    "{{ row.long.replace('', row.long) }}",
    "{{ row.long | replace('', 'yy' * 50000) }}",
    "{{ [1].append(2) }}",
    "{{ {'a': 1}.update(b=2) }}",
    "{{ {'a': 1}.items() }}",
    "{{ {'a': 1}['items'] }}",
    "{{ row.clear() }}",
]


@pytest.mark.parametrize("text", ESCAPES)
def test_escapes_are_refused_at_compile_time_or_evaluation(text: str) -> None:
    row = {**ROW, "long": "a" * 1000}
    started = time.monotonic()
    try:
        expression = Expression.compile(text)
    except ExpressionError:
        pass
    else:
        with pytest.raises(ExpressionError):
            expression.evaluate(row=row)
    # Neither a hang nor a large allocation (some of these would take minutes or gigabytes).
    assert time.monotonic() - started < 5
    assert row == {**ROW, "long": "a" * 1000}  # nothing mutated


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{{ ''.__class__.__mro__ }}", "'__class__': names starting with _"),
        ("{{ row.__class__ }}", "'__class__': names starting with _"),
        ("{{ row._asdict }}", "'_asdict': names starting with _ .* bare name"),
        ("{{ row['_asdict'] }}", "'_asdict': names starting with _"),
        ("{{ cycler.__init__.__globals__ }}", "unknown name 'cycler'"),
        ("{{ lipsum.__globals__ }}", "unknown name 'lipsum'"),
        ("{{ self }}", "unknown name 'self'"),
        ("{{ config }}", "unknown name 'config'"),
        ("{{ request }}", "unknown name 'request'"),
        ("{{ range(10**9) | list }}", "unknown name 'range'"),
        ("{{ row.get.__self__ }}", "'__self__'"),
        ("{{ ().__class__.__base__.__subclasses__() }}", "'__class__'"),
        ("{{ row | attr('x') }}", "filter 'attr' is not allowed"),
        ("{{ row.x | center(9) }}", "filter 'center' is not allowed"),
        ("{{ row.x | nope }}", "filter 'nope' is not allowed"),
        ("{{ row.x is nope }}", "syntax error: No test named 'nope'"),
        ("{{ form.x }}", r"unknown name 'form' \(variables: row\)"),
    ],
)
def test_compile_time_refusals_say_why(text: str, reason: str) -> None:
    with pytest.raises(ExpressionError, match=reason):
        Expression.compile(text)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{{ 'x' * 10**9 }}", f"more than {MAX_SIZE} items"),
        ("{{ 10 ** (10 ** 10) }}", "more than 4096 bits"),
        ("{{ '%01000000000d' % 1 }}", "format width above 999"),
        ("{{ '{:>1000000000}'.format(1) }}", "format width above 999"),
        ("{{ 'x'.ljust(10**9) }}", "str.ljust would pad"),
        ("{{ row.first | replace('', 'y' * 100000) }}", "replace would add"),
        ("{{ ''['__class__'] }}", "names starting with _"),  # constant: at compile time
        ("{{ ''[row.k] }}", "access to attribute '__class__' of 'str' object is unsafe"),
        ("{{ [1].append(2) }}", "'append' of 'list' object is unsafe"),
    ],
)
def test_the_sandbox_says_why(text: str, reason: str) -> None:
    with pytest.raises(ExpressionError, match=reason):
        Expression.compile(text).evaluate(row={**ROW, "k": "__class__"})


def test_bounds_leave_ordinary_sizes_alone() -> None:
    assert evaluate("{{ '-' * 10 }}") == "-" * 10
    assert evaluate("{{ 2 ** 64 }}") == 2**64
    assert evaluate("{{ 1.5 ** 2 }}") == 2.25
    assert evaluate("{{ '%08.3f' % row.price }}") == "0001.235"
    assert evaluate("{{ '{:>8}'.format(row.first) }}") == "     Ada"
    assert evaluate("{{ (row.qty | string).zfill(8) }}") == "00000250"
    assert evaluate("{{ row.name.replace('USD', '-USD') }}") == "EUR-USD"
    assert evaluate("{{ row.when.replace(year=2020).year }}", when=dt.date(2024, 1, 2)) == 2020


def test_jinja_folds_constants_while_compiling_so_bounds_apply_there_too() -> None:
    # Jinja2 computes constant sub-expressions at compile time; without the intercepted
    # operators, this would allocate a gigabyte while the configuration loads.
    started = time.monotonic()
    expression = Expression.compile("{{ 'x' * 1000000000 }}")
    assert time.monotonic() - started < 1
    with pytest.raises(ExpressionError):
        expression.evaluate(row={})


# -- compile-time errors --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{{ row.qty ", "expected a column name"),
        ("row.qty", "expected a column name"),
        ("order id", "expected a column name"),
        ("", "expected a column name"),
        ("1qty", "expected a column name"),
        ("{{ }}", "syntax error"),
        ("{{ row.qty + }}", "syntax error"),
        ("{{ row.qty ) }}", "syntax error"),
        ("{{ row.qty }}\n{{ row.side }}", "exactly one"),
        ("{{ row.qty }} units", "expected a column name"),
        ("{{ row.qty }} {{ row.qty }}", "exactly one"),
        ("{% if row.qty %}{{ row.qty }}{% endif %}", r"statements \({% %}\) are not allowed"),
        ("{{ row.qty }}{% if 1 %}{% endif %}{{ 1 }}", r"statements \({% %}\) are not allowed"),
        ("{% set x = 1 %}", r"statements \({% %}\) are not allowed"),
        ("{{ " + "(" * 600 + "1" + ")" * 600 + " }}", "nested too deeply"),
    ],
)
def test_malformed_mappings_are_refused_in_one_line(text: str, reason: str) -> None:
    with pytest.raises(ExpressionError, match=reason) as info:
        Expression.compile(text)
    assert "\n" not in str(info.value)


def test_expression_error_is_a_value_error() -> None:
    assert issubclass(ExpressionError, ValueError)


# -- columns, variables, caching ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "columns"),
    [
        ("ord_id", {"ord_id"}),
        ("{{ row.qty / 100 }}", {"qty"}),
        ("{{ row['qty'] / row.mult }}", {"qty", "mult"}),
        ("{{ {'F': 'filled'}[row.st] }}", {"st"}),
        ("{{ row.first ~ ' ' ~ row.last | upper }}", {"first", "last"}),
        ("{{ row.a if row.b else row.c | default(row.d) }}", {"a", "b", "c", "d"}),
        ("{{ row.ts.year }}", {"ts"}),  # .year is an attribute of the value, not a column
        ("{{ {'a': 1}[row.k] }}", {"k"}),  # a key of the map, not of the row
        ("{{ row[row.kind] }}", {"kind"}),  # a computed key cannot be known
        ("{{ row[0] }}", set()),
        ("{{ 'constant' }}", set()),
    ],
)
def test_columns_lists_the_row_keys_read(text: str, columns: set[str]) -> None:
    assert Expression.compile(text).columns == frozenset(columns)


def test_other_variables() -> None:
    form = frozenset({"form"})
    assert Expression.compile("qty", form).evaluate(form={"qty": 3}) == 3  # the only variable
    expression = Expression.compile("{{ form.qty * 100 }}", form)
    assert expression.evaluate(form={"qty": 3}) == 300
    assert expression.columns == {"qty"}
    with pytest.raises(ExpressionError, match="unknown name 'row'"):
        Expression.compile("{{ row.qty }}", form)
    both = frozenset({"row", "form"})
    assert (
        Expression.compile("{{ row.a + form.b }}", both).evaluate(row={"a": 1}, form={"b": 2}) == 3
    )
    assert Expression.compile("{{ row.a + form.b }}", both).columns == {"a"}
    with pytest.raises(ExpressionError, match="bare name needs a row"):
        Expression.compile("qty", frozenset({"a", "b"}))
    with pytest.raises(ExpressionError, match="'row' is undefined"):
        Expression.compile("{{ row.a }}").evaluate()


def test_compiled_expressions_are_cached_and_compare_by_text() -> None:
    text = "{{ row.qty / 100 }}"
    assert Expression.compile(text) is Expression.compile(text)
    assert Expression.compile(text) == Expression.compile(text, frozenset({"row"}))
    assert Expression.compile(text) != Expression.compile("{{ row.qty / 10 }}")
    assert hash(Expression.compile("qty")) == hash(Expression.compile("qty"))
    assert Expression.compile(text).text == text
    assert repr(Expression.compile("qty")) == "Expression('qty')"


def test_an_expression_runs_many_rows_independently() -> None:
    # Performance note: a bare column is a dict lookup; an expression runs Jinja2's compiled
    # code with a new context per row. No timing is asserted here; only that rows do not leak
    # into each other.
    expression = Expression.compile("{{ {'F': 'filled', 'W': 'working'}[row.status] }}")
    statuses = ["F", "W"] * 500
    assert [expression.evaluate(row={"status": s}) for s in statuses] == [
        "filled" if s == "F" else "working" for s in statuses
    ]


def test_the_filter_list_is_what_the_environment_offers() -> None:
    assert {"round", "string", "lower", "default"} <= FILTERS
    for name in sorted(FILTERS):
        text = f"{{{{ row.name | {name} }}}}"
        try:
            Expression.compile(text).evaluate(row=ROW)
        except ExpressionError as exc:  # wrong argument types are fine, unknown filters not
            assert "not allowed" not in str(exc)
            assert "No filter named" not in str(exc)


@pytest.mark.parametrize(
    "text",
    [
        "{{ row.st }}",
        "{{ row['st'] }}",
        "{{ row.n | string }}",
        "{{ row.st | lower }}",
        "{{ row.st | upper }}",
        "{{ {'F': 'filled', 'N': 'working', 1: 'one'}[row.st] }}",
        "{{ {'F': 'filled', 'N': 'working', 1: 'one'}[row.n] }}",
    ],
)
@pytest.mark.parametrize(
    "row", [{"st": "F", "n": 1}, {"st": "N", "n": 1.0}, {"st": "X", "n": None}, {"n": 2}]
)
def test_the_fast_shapes_agree_with_the_sandbox(text: str, row: dict[str, object]) -> None:
    # The common shapes run as plain Python; the template itself must give the same answer,
    # and fail where it fails.
    expression = Expression.compile(text)
    template = expression._run  # comparing the two ways of running it
    assert template is not None
    try:
        expected: object = template(row=row)
        jinja_failed = type(expected).__name__.endswith("Undefined")
    except Exception:  # whatever the template raises counts as a failure
        jinja_failed = True
    if jinja_failed:
        with pytest.raises(ExpressionError):
            expression.evaluate(row=row)
        with pytest.raises(ExpressionError):
            expression.reader()(row)
    else:
        assert expression.evaluate(row=row) == expected
        assert expression.reader()(row) == expected
