"""Accounts as ``GET /accounts`` serves them: identity, flags (with the spec's defaults), UI."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, fields
from typing import Literal

from gateway.config._convert import option, yaml_key
from gateway.config.types import Text
from gateway.config.ui import AccountUi, OrderDuration, non_empty


def _flag(default: bool, doc: str, key: str | None = None) -> bool:
    result: bool = option(default, doc=f"{doc} (spec default: {str(default).lower()})", key=key)
    return result


@dataclass(frozen=True)
class AccountFlags:
    """The spec's AccountFlags (``Account.config``); every flag carries its spec default."""

    __key_style__ = "camel"
    __deprecated_keys__ = {  # noqa: RUF012 - read-only class table
        "supportBrackets": "deprecated by TradingView: use supportOrderBrackets and "
        "supportPositionBrackets",
        "supportModifyOrder": "deprecated by TradingView: use supportModifyOrderPrice, "
        "supportEditAmount and supportModifyBrackets",
    }
    support_order_brackets: bool = _flag(False, "Stop-loss/take-profit brackets on orders")
    support_add_brackets_to_existing_order: bool = _flag(True, "Brackets on placed orders")
    support_market_brackets: bool = _flag(True, "Brackets on market orders")
    support_position_brackets: bool = _flag(False, "Brackets on positions")
    support_positions: bool = _flag(True, "Positions tab")
    support_multiposition: bool = _flag(False, "Several positions per instrument")
    support_close_position: bool = _flag(False, "Close a position without an order")
    support_partial_close_position: bool = _flag(False, "Partial close (amount)")
    support_reverse_position: bool = _flag(True, "Reverse button")
    support_native_reverse_position: bool = _flag(False, "Reverse through modifyPosition side")
    support_market_orders: bool = _flag(True, "Market orders")
    support_limit_orders: bool = _flag(True, "Limit orders")
    support_stop_orders: bool = _flag(True, "Stop orders")
    support_stop_limit_orders: bool = _flag(False, "Stop-limit orders")
    support_trailing_stop: bool = _flag(False, "Trailing-stop brackets")
    support_guaranteed_stop: bool = _flag(False, "Guaranteed-stop brackets")
    support_stop_orders_in_both_directions: bool = _flag(False, "Stop as market-if-touched")
    support_stop_limit_orders_in_both_directions: bool = _flag(False, "Stop-limit both ways")
    support_partial_order_execution: bool = _flag(False, "Filled Qty column")
    support_modify_order_price: bool = _flag(True, "Price editable when modifying")
    support_edit_amount: bool = _flag(True, "Quantity editable when modifying")
    support_modify_brackets: bool = _flag(True, "Brackets editable")
    support_modify_duration: bool = _flag(False, "Duration editable")
    support_crypto_exchange_order_ticket: bool = _flag(False, "Crypto-exchange ticket")
    support_digital_signature: bool = _flag(False, "Digital signature input")
    support_place_order_preview: bool = _flag(False, "Preview before placing")
    support_modify_order_preview: bool = _flag(False, "Preview before modifying")
    show_quantity_instead_of_amount: bool = _flag(False, "Label Quantity instead of Amount")
    support_balances: bool = _flag(False, "Use /balances")
    support_orders_history: bool = _flag(False, "Use /ordersHistory")
    support_executions: bool = _flag(False, "Use /executions")
    support_leverage: bool = _flag(False, "Leverage endpoints")
    support_leverage_button: bool = _flag(True, "Leverage button in the order widget")
    support_dom: bool = _flag(True, "DOM widget", key="supportDOM")
    support_level2_data: bool = _flag(False, "DOM levels from /depth")
    support_pl_update: bool = _flag(True, "Broker supplies unrealizedPl", key="supportPLUpdate")
    support_display_broker_name_in_symbol_search: bool = _flag(True, "Broker names in search")
    support_logout: bool = _flag(False, "Call /logout")
    support_custom_account_summary_row: bool = _flag(False, "Custom summary row")
    support_position_custom_fields: bool = _flag(False, "Extra position columns")
    support_order_custom_fields: bool = _flag(False, "Extra order columns")
    support_order_history_custom_fields: bool = _flag(False, "Extra history columns")
    support_track_latency: bool = _flag(False, "/trackLatency and transaction ids")
    support_position_netting: bool = _flag(False, "Net and individual positions")
    support_individual_position_brackets: bool = _flag(False, "Brackets on individual positions")
    support_partial_close_individual_position: bool = _flag(False, "Partial close individual")
    support_strict_checking_limit_order_price: bool = _flag(False, "Strict limit price check")

    def validate(self) -> Iterator[tuple[str, str]]:
        """Flags that only mean something together with another flag."""
        needs = (
            ("support_partial_close_position", "support_close_position"),
            ("support_order_history_custom_fields", "support_orders_history"),
            ("support_individual_position_brackets", "support_position_netting"),
            ("support_partial_close_individual_position", "support_position_netting"),
            ("support_level2_data", "support_dom"),
            ("support_stop_limit_orders_in_both_directions", "support_stop_limit_orders"),
        )
        for flag, required in needs:
            if getattr(self, flag) and not getattr(self, required):
                yield _key(flag), f"requires {_key(required)}: true"

    def wire(self) -> dict[str, bool]:
        """All flags with their effective values, keyed as the spec spells them."""
        return {yaml_key(AccountFlags, f): getattr(self, f.name) for f in fields(self)}


def _key(name: str) -> str:
    return yaml_key(AccountFlags, AccountFlags.__dataclass_fields__[name])


_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def positive_finite(value: float) -> str | None:
    """Amounts of money: above zero, and not YAML's .inf or .nan."""
    if not math.isfinite(value) or value <= 0:
        return "must be a finite number greater than 0"
    return None


def account_id(value: str) -> str | None:
    """Account ids go into URL paths: a conservative character set keeps them routable."""
    if not _ID.match(value):
        return "must be 1-64 characters of letters, digits, '.', '_', ':' or '-'"
    return None


@dataclass(frozen=True)
class Account:
    """An account (sub-account) a user trades in."""

    __key_style__ = "camel"
    id: str = option(doc="Account id, used in /accounts/{id}/... paths.", check=account_id)
    name: Text = option(doc="Name in the account menu.")
    type: Literal["live", "demo"] = option(doc="live or demo.")
    currency: str | None = option(None, doc="Account currency code, e.g. USD.")
    currency_sign: str | None = option(None, doc="Currency sign, e.g. $.")
    flags: AccountFlags = option(
        doc="Feature flags (the spec's AccountFlags), served as config.",
        factory=AccountFlags,
        wire=False,
    )
    ui: AccountUi | None = option(None, doc="Per-account UI overrides.")
    durations: tuple[OrderDuration, ...] | None = option(
        None, doc="Per-account order durations.", check=non_empty
    )
    prefix: str | None = option(None, doc="Instrument prefix, e.g. NASDAQ.")
    is_verified: bool | None = option(None, doc="User passed KYC.")
    instruments: tuple[str, ...] | None = option(
        None, doc="Names of the instruments tradable here (default: all).", wire=False
    )
    initial_balance: float = option(
        100000.0,
        doc="Starting balance in the account currency (managed trading).",
        wire=False,
        check=positive_finite,
    )
