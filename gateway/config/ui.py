"""The broker's trading UI: account manager tables, durations, custom columns and dialog fields.

Field names are TradingView's own (camelCase in YAML) so that the spec reads as the reference.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from gateway.config._convert import option
from gateway.config.types import Text

OrderType = Literal["market", "stop", "limit", "stoplimit"]


def non_empty(value: Any) -> str | None:
    """A list that the spec requires to have at least one item."""
    return "must have at least one item" if len(value) == 0 else None


def _unique_ids(items: tuple[Any, ...] | None, key: str) -> Iterator[tuple[str, str]]:
    seen: set[str] = set()
    for i, item in enumerate(items or ()):
        if item.id in seen:
            yield f"{key}[{i}].id", f"duplicate id {item.id!r}"
        seen.add(item.id)


@dataclass(frozen=True)
class Column:
    """A column of an account manager table (the spec's AccountManagerColumn)."""

    __key_style__ = "camel"
    id: str = option(doc="Column id; custom field values are matched to it.")
    title: Text = option(doc="Column title (localizable).")
    tooltip: Text | None = option(None, doc="Tooltip of the column header.")
    alignment: Literal["left", "right"] | None = option(None, doc="Default left.")
    is_capitalize: bool | None = option(None, doc="Capitalize each word (default true).")


@dataclass(frozen=True)
class Table:
    """A table of the Account Summary tab (AccountManagerTable)."""

    __key_style__ = "camel"
    id: str = option(doc="Table id.")
    columns: tuple[Column, ...] = option(doc="The table's columns.", check=non_empty)
    title: Text | None = option(None, doc="Table title.")

    def validate(self) -> Iterator[tuple[str, str]]:
        """Column ids are unique."""
        yield from _unique_ids(self.columns, "columns")


@dataclass(frozen=True)
class SummaryRowItem:
    """An item of the account summary row."""

    __key_style__ = "camel"
    id: str = option(doc="Item id, unique.")
    title: Text = option(doc="Item title.")


@dataclass(frozen=True)
class OrderDuration:
    """An order duration (time in force) offered in the order ticket."""

    __key_style__ = "camel"
    id: str = option(doc="Duration id, echoed back as durationType (e.g. DAY, GTC).")
    title: Text = option(doc="Label in the ticket.")
    has_date_picker: bool | None = option(None, doc="Show a date control.")
    has_time_picker: bool | None = option(None, doc="Show a time control.")
    default: bool | None = option(None, doc="The default duration (at most one).")
    supported_order_types: tuple[OrderType, ...] | None = option(
        None, doc="Order types the duration applies to.", check=non_empty
    )


def _max_ms(limit: int) -> Any:
    def check(value: int) -> str | None:
        if value <= 0:
            return "must be a positive number of milliseconds"
        if value > limit:
            return f"must be at most {limit} ms (TradingView's maximum)"
        return None

    return check


@dataclass(frozen=True)
class PullingInterval:
    """How often TradingView polls each endpoint, in milliseconds."""

    __key_style__ = "camel"
    quotes: int | None = option(None, doc="/quotes and /depth (max 1000).", check=_max_ms(1000))
    orders: int | None = option(None, doc="/orders (max 1000).", check=_max_ms(1000))
    positions: int | None = option(None, doc="/positions (max 1500).", check=_max_ms(1500))
    account_manager: int | None = option(None, doc="/state (max 1500).", check=_max_ms(1500))
    balances: int | None = option(None, doc="/balances (max 1500).", check=_max_ms(1500))


@dataclass(frozen=True)
class ComboBoxItem:
    """One choice of a combo box."""

    __key_style__ = "camel"
    text: Text = option(doc="Label shown to the user.")
    value: str = option(doc="Value posted with the order.")


@dataclass(frozen=True)
class ComboBox:
    """A combo box in the order dialog (ComboBoxMetaInfo)."""

    __key_style__ = "camel"
    id: str = option(doc="Form field name the value is posted under.")
    title: Text = option(doc="Label.")
    items: tuple[ComboBoxItem, ...] = option(doc="Choices.", check=non_empty)
    save_to_settings: bool | None = option(None, doc="Remember the last value.")
    mutable: bool | None = option(None, doc="Editable when modifying (default true).")
    force_user_enter_initial_value: bool | None = option(None, doc="User must pick a value.")


@dataclass(frozen=True)
class CheckBox:
    """A check box in the order dialog (CheckBoxMetainfo)."""

    __key_style__ = "camel"
    id: str = option(doc="Form field name the value is posted under.")
    title: Text = option(doc="Label.")
    save_to_settings: bool | None = option(None, doc="Remember the last value.")
    help: Text | None = option(None, doc="Tooltip.")
    checked: bool | None = option(None, doc="Initial state.")
    mutable: bool | None = option(None, doc="Editable when modifying (default true).")


@dataclass(frozen=True)
class OrderDialogCustomFields:
    """Extra controls in the order dialog; their values arrive as extra form fields."""

    __key_style__ = "camel"
    combo_box: tuple[ComboBox, ...] | None = option(None, doc="Combo boxes.", check=non_empty)
    checkbox: tuple[CheckBox, ...] | None = option(None, doc="Check boxes.")

    def validate(self) -> Iterator[tuple[str, str]]:
        """Control ids are unique across both kinds (they are form field names)."""
        seen: set[str] = set()
        ids = [(f"comboBox[{i}].id", c.id) for i, c in enumerate(self.combo_box or ())]
        ids += [(f"checkbox[{i}].id", c.id) for i, c in enumerate(self.checkbox or ())]
        for where, control_id in ids:
            if control_id in seen:
                yield where, f"duplicate control id {control_id!r}"
            seen.add(control_id)


_COLUMN_LISTS = (
    "order_custom_fields", "order_history_custom_fields", "position_custom_fields",
    "net_position_custom_fields", "individual_position_custom_fields",
)  # fmt: skip


@dataclass(frozen=True)
class _TablesMixin:
    def _validate_tables(self) -> Iterator[tuple[str, str]]:
        yield from _unique_ids(getattr(self, "account_summary_row", None), "accountSummaryRow")
        yield from _unique_ids(getattr(self, "account_manager", None), "accountManager")
        durations = getattr(self, "durations", None)
        yield from _unique_ids(durations, "durations")
        if durations and sum(1 for d in durations if d.default) > 1:
            yield "durations", "at most one duration may be the default"
        for name in _COLUMN_LISTS:
            key = name.split("_")[0] + "".join(p.title() for p in name.split("_")[1:])
            yield from _unique_ids(getattr(self, name, None), key)


@dataclass(frozen=True)
class BrokerUi(_TablesMixin):
    """Broker-wide UI configuration, served as ``GET /config``."""

    __key_style__ = "camel"
    account_summary_row: tuple[SummaryRowItem, ...] | None = option(
        None, doc="Items of the summary row, least important first.", check=non_empty
    )
    account_manager: tuple[Table, ...] | None = option(
        None, doc="Tables of the Account Summary tab.", check=non_empty
    )
    durations: tuple[OrderDuration, ...] | None = option(
        None, doc="Order durations.", check=non_empty
    )
    order_custom_fields: tuple[Column, ...] | None = option(
        None, doc="Extra columns of the Orders table.", check=non_empty
    )
    order_history_custom_fields: tuple[Column, ...] | None = option(
        None, doc="Extra columns of the History table.", check=non_empty
    )
    position_custom_fields: tuple[Column, ...] | None = option(
        None, doc="Extra columns of the Positions table.", check=non_empty
    )
    net_position_custom_fields: tuple[Column, ...] | None = option(
        None, doc="Extra columns of the net positions table.", check=non_empty
    )
    individual_position_custom_fields: tuple[Column, ...] | None = option(
        None, doc="Extra columns of the individual positions table.", check=non_empty
    )
    pulling_interval: PullingInterval | None = option(None, doc="Polling periods (ms).")

    def validate(self) -> Iterator[tuple[str, str]]:
        """Ids unique in every list, at most one default duration."""
        yield from self._validate_tables()


@dataclass(frozen=True)
class AccountUi(_TablesMixin):
    """Per-account overrides of the broker UI (the spec's ``Account.ui``)."""

    __key_style__ = "camel"
    account_summary_row: tuple[SummaryRowItem, ...] | None = option(
        None, doc="Summary row items.", check=non_empty
    )
    account_manager: tuple[Table, ...] | None = option(
        None, doc="Account Summary tables.", check=non_empty
    )
    order_custom_fields: tuple[Column, ...] | None = option(None, doc="Order columns.")
    order_history_custom_fields: tuple[Column, ...] | None = option(None, doc="History columns.")
    position_custom_fields: tuple[Column, ...] | None = option(None, doc="Position columns.")
    net_position_custom_fields: tuple[Column, ...] | None = option(
        None, doc="Net position columns."
    )
    individual_position_custom_fields: tuple[Column, ...] | None = option(
        None, doc="Individual position columns."
    )
    order_dialog_custom_fields: OrderDialogCustomFields | None = option(
        None, doc="Order dialog controls for this account."
    )

    def validate(self) -> Iterator[tuple[str, str]]:
        """Ids unique in every list."""
        yield from self._validate_tables()
