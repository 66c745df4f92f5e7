"""Checks of trading requests: every rule of the spec and the account's flags.

They run before any change. A failure raises :class:`ApiError` with a message the trader can
act on.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

from gateway.config.accounts import Account
from gateway.config.instruments import Instrument
from gateway.config.model import GatewayConfig
from gateway.config.ui import OrderDialogCustomFields, OrderDuration
from gateway.errors import ApiError
from gateway.http.forms import Form
from gateway.trading.model import (
    BracketSpec,
    Order,
    OrderEdit,
    OrderSpec,
    Position,
    Side,
    direction,
)
from gateway.trading.money import Prices

_TYPES = ("market", "limit", "stop", "stoplimit")
_TYPE_FLAGS = {
    "market": "support_market_orders",
    "limit": "support_limit_orders",
    "stop": "support_stop_orders",
    "stoplimit": "support_stop_limit_orders",
}
_DEFAULT_MAX_QTY = 1e9
_BRACKET_FIELDS = ("stopLoss", "takeProfit", "trailingStopPips", "guaranteedStop")
_LATEST_TIME = 253_402_300_799  # 9999-12-31T23:59:59Z: larger values overflow stores and dates


def number(form: Form, name: str, *, required: bool = False) -> float | None:
    """A finite number field (blank counts as absent)."""
    raw = form.get(name)
    if raw is None or raw.strip() == "":
        if required:
            raise ApiError("missing_field", field=name)
        return None
    try:
        value = float(raw)
    except ValueError:
        raise ApiError("invalid_field", field=name, reason="not a number") from None
    if not math.isfinite(value):
        raise ApiError("invalid_field", field=name, reason="not a finite number")
    return value


def positive(form: Form, name: str, *, required: bool = False) -> float | None:
    """A number field that must be above zero."""
    value = number(form, name, required=required)
    if value is not None and value <= 0:
        raise ApiError("invalid_field", field=name, reason="must be greater than 0")
    return value


def choice(form: Form, name: str, allowed: tuple[str, ...], *, required: bool = True) -> str | None:
    """A field from a fixed set of values."""
    raw = form.get(name)
    if raw is None or raw == "":
        if required:
            raise ApiError("missing_field", field=name)
        return None
    if raw not in allowed:
        raise ApiError("invalid_field", field=name, reason="expected " + " or ".join(allowed))
    return raw


def _multiple(value: float, step: float) -> bool:
    """Whether ``value`` is a whole, positive number of ``step``s (within float noise)."""
    n = round(value / step)
    return n >= 1 and abs(n * step - value) <= 1e-9 * max(1.0, abs(value))


def tick_at(instrument: Instrument, price: float) -> float:
    """The tick size at ``price`` (``variableMinTick`` when configured)."""
    if instrument.variable_min_tick:
        parts = [float(p) for p in instrument.variable_min_tick.split()]
        tick = parts[0]
        for limit, next_tick in zip(parts[1::2], parts[2::2], strict=False):
            if price >= limit:
                tick = next_tick
        return tick
    return instrument.min_tick


def _fmt(value: float) -> str:
    """A number as a trader writes it: 0.00001, not 1e-05."""
    if abs(value) >= 1e15 or (value != 0 and abs(value) < 1e-10):
        return f"{value:g}"
    text = f"{value:.10f}".rstrip("0").rstrip(".")
    return text or "0"


class Validator:
    """Turns request forms into validated specs for the trading engine."""

    def __init__(self, config: GatewayConfig, prices: Prices, clock: Callable[[], float]) -> None:
        self._config = config
        self._prices = prices
        self._clock = clock
        self._instruments: Mapping[str, Instrument] = {i.name: i for i in config.instruments}

    @property
    def prices(self) -> Prices:
        """The quotes orders are checked against."""
        return self._prices

    # -- lookups -------------------------------------------------------------------------

    def instrument(self, account: Account, name: str) -> Instrument:
        """An instrument tradable in the account."""
        instrument = self._instruments.get(name)
        if instrument is None or (
            account.instruments is not None and name not in account.instruments
        ):
            raise ApiError("unknown_instrument", instrument=name)
        return instrument

    def _market(self, instrument: Instrument, form: Form) -> tuple[float | None, float | None]:
        """(bid, ask): the feed's, else what the ticket showed."""
        sides = self._prices.sides(instrument.name)
        if sides is not None:
            return sides
        return number(form, "currentBid"), number(form, "currentAsk")

    # -- new orders ------------------------------------------------------------------------

    def new_order(self, account: Account, form: Form) -> OrderSpec:
        """A placeOrder / previewOrder body."""
        name = form.get("instrument") or ""
        if not name:
            raise ApiError("missing_field", field="instrument")
        instrument = self.instrument(account, name)
        side = choice(form, "side", ("buy", "sell"))
        kind = choice(form, "type", _TYPES)
        assert side is not None and kind is not None
        if not getattr(account.flags, _TYPE_FLAGS[kind]):
            raise ApiError("order_type_disabled", type=kind)
        qty = self._qty(instrument, form)
        bid, ask = self._market(instrument, form)
        limit, stop = self._prices_of(account, instrument, kind, side, form, bid, ask)
        reference = self._reference(kind, side, limit, stop, bid, ask)
        brackets = self._brackets(account, instrument, kind, side, form, reference, bid, ask)
        duration, until = self._duration(account, kind, form)
        return OrderSpec(
            instrument=instrument.name,
            side=side,  # type: ignore[arg-type]
            type=kind,  # type: ignore[arg-type]
            qty=qty,
            limit_price=limit,
            stop_price=stop,
            duration_type=duration,
            duration_datetime=until,
            brackets=brackets,
            custom_fields=self._custom(account, instrument, form),
            ask=ask,
            bid=bid,
        )

    def _qty(self, instrument: Instrument, form: Form) -> float:
        qty = positive(form, "qty", required=True)
        assert qty is not None
        low = instrument.min_qty or 0.0
        high = instrument.max_qty or _DEFAULT_MAX_QTY
        if qty < low - 1e-12 or qty > high:
            raise ApiError("qty_out_of_range", qty=_fmt(qty), min=_fmt(low or qty), max=_fmt(high))
        if instrument.qty_step and not _multiple(qty, instrument.qty_step):
            raise ApiError("qty_step", qty=_fmt(qty), step=_fmt(instrument.qty_step))
        return qty

    def _price(self, instrument: Instrument, form: Form, name: str) -> float:
        price = positive(form, name, required=True)
        assert price is not None
        self._on_tick(instrument, name, price)
        return price

    def _on_tick(self, instrument: Instrument, name: str, price: float) -> None:
        tick = tick_at(instrument, price)
        if not _multiple(price, tick):
            raise ApiError("price_tick", field=name, price=_fmt(price), tick=_fmt(tick))

    def _prices_of(
        self,
        account: Account,
        instrument: Instrument,
        kind: str,
        side: str,
        form: Form,
        bid: float | None,
        ask: float | None,
    ) -> tuple[float | None, float | None]:
        flags = account.flags
        limit = self._price(instrument, form, "limitPrice") if "limit" in kind else None
        stop = self._price(instrument, form, "stopPrice") if "stop" in kind else None
        current = ask if side == "buy" else bid
        both_ways = (kind == "stop" and flags.support_stop_orders_in_both_directions) or (
            kind == "stoplimit" and flags.support_stop_limit_orders_in_both_directions
        )
        wrong_side = (
            stop is not None and current is not None and direction(side) * (stop - current) <= 0
        )
        if wrong_side and not both_ways:
            assert stop is not None and current is not None
            relation = "above" if side == "buy" else "below"
            raise ApiError(
                "price_side",
                field="stopPrice",
                price=_fmt(stop),
                relation=relation,
                current=_fmt(current),
            )
        if (
            kind == "limit"
            and limit is not None
            and current is not None
            and flags.support_strict_checking_limit_order_price
            and direction(side) * (limit - current) > 0
        ):
            relation = "at or below" if side == "buy" else "at or above"
            raise ApiError(
                "price_side",
                field="limitPrice",
                price=_fmt(limit),
                relation=relation,
                current=_fmt(current),
            )
        rules = self._rules(instrument)
        if current is not None and not (
            flags.support_stop_orders_in_both_directions
            or flags.support_stop_limit_orders_in_both_directions
        ):
            if stop is not None:
                self._rule(rules, "stopPercent", "stopPrice", stop, current, "the current price")
            if limit is not None:
                self._rule(rules, "limitPercent", "limitPrice", limit, current, "the current price")
        return limit, stop

    @staticmethod
    def _rules(instrument: Instrument) -> dict[str, tuple[float, float]]:
        rules = instrument.ui.validation_rules if instrument.ui else None
        return {r.id: (r.options.min, r.options.max) for r in rules or ()}

    @staticmethod
    def _rule(
        rules: Mapping[str, tuple[float, float]],
        rule: str,
        field: str,
        price: float,
        reference: float,
        what: str,
    ) -> None:
        bounds = rules.get(rule)
        if bounds is None or reference <= 0:
            return
        percent = abs(price - reference) / reference * 100
        if percent < bounds[0] - 1e-9 or percent > bounds[1] + 1e-9:
            raise ApiError(
                "price_rule",
                field=field,
                price=_fmt(price),
                min=_fmt(bounds[0]),
                max=_fmt(bounds[1]),
                reference=what,
                current=_fmt(reference),
            )

    @staticmethod
    def _reference(
        kind: str,
        side: str,
        limit: float | None,
        stop: float | None,
        bid: float | None,
        ask: float | None,
    ) -> float | None:
        """The price brackets are measured from: the order's own price, else the market."""
        if kind in ("limit", "stoplimit"):
            return limit
        if kind == "stop":
            return stop
        return ask if side == "buy" else bid

    def _brackets(
        self,
        account: Account,
        instrument: Instrument,
        kind: str,
        side: str,
        form: Form,
        reference: float | None,
        bid: float | None,
        ask: float | None,
        *,
        flag: bool | None = None,
        reference_name: str = "the order price",
    ) -> tuple[BracketSpec, ...]:
        tp = positive(form, "takeProfit")
        sl = positive(form, "stopLoss")
        trailing = positive(form, "trailingStopPips")
        gs = positive(form, "guaranteedStop")
        if tp is None and sl is None and trailing is None and gs is None:
            return ()
        flags = account.flags
        allowed = flags.support_order_brackets if flag is None else flag
        if not allowed:
            raise ApiError("not_supported", feature="brackets")
        if kind == "market" and flag is None and not flags.support_market_brackets:
            raise ApiError("not_supported", feature="brackets on market orders")
        if trailing is not None and not flags.support_trailing_stop:
            raise ApiError("not_supported", feature="trailing stops")
        if gs is not None and not flags.support_guaranteed_stop:
            raise ApiError("not_supported", feature="guaranteed stops")
        if gs is not None and (sl is not None or trailing is not None):
            raise ApiError("bracket_conflict")
        if reference is None:
            raise ApiError("no_price", instrument=instrument.name)
        rules = self._rules(instrument)
        out: list[BracketSpec] = []
        if tp is not None:
            self._on_tick(instrument, "takeProfit", tp)
            self._bracket_side("takeProfit", tp, side, reference, reference_name, above=True)
            self._rule(rules, "tpPercent", "takeProfit", tp, reference, reference_name)
            out.append(BracketSpec("take_profit", tp))
        if trailing is not None:
            distance = trailing * instrument.pip_size
            start = sl if sl is not None else reference - direction(side) * distance
            tick = tick_at(instrument, start)
            start = round(round(start / tick) * tick, 10)
            if start <= 0:
                raise ApiError("invalid_field", field="trailingStopPips", reason="too large")
            out.append(BracketSpec("stop_loss", start, trailing_pips=trailing))
        elif sl is not None:
            self._on_tick(instrument, "stopLoss", sl)
            self._bracket_side("stopLoss", sl, side, reference, reference_name, above=False)
            self._rule(rules, "slPercent", "stopLoss", sl, reference, reference_name)
            out.append(BracketSpec("stop_loss", sl))
        elif gs is not None:
            self._on_tick(instrument, "guaranteedStop", gs)
            self._bracket_side("guaranteedStop", gs, side, reference, reference_name, above=False)
            current = ask if side == "buy" else bid
            if current is not None:
                self._rule(rules, "gsPercent", "guaranteedStop", gs, current, "the current price")
            out.append(BracketSpec("stop_loss", gs, guaranteed=True))
        return tuple(out)

    @staticmethod
    def _bracket_side(
        field: str, price: float, side: str, reference: float, what: str, above: bool
    ) -> None:
        """Take-profit beyond the price in the trade's favour, stop-loss on the other side."""
        sign = direction(side) * (1 if above else -1)
        if sign * (price - reference) <= 0:
            relation = "above" if sign > 0 else "below"
            raise ApiError(
                "bracket_side",
                field=field,
                price=_fmt(price),
                relation=relation,
                what=what,
                reference=_fmt(reference),
            )

    def _durations(self, account: Account) -> tuple[OrderDuration, ...]:
        return account.durations or self._config.ui.durations or ()

    def _duration(self, account: Account, kind: str, form: Form) -> tuple[str | None, int | None]:
        wanted = form.get("durationType") or None
        if wanted is None:
            return None, None
        known = {d.id: d for d in self._durations(account)}
        duration = known.get(wanted)
        if duration is None:
            reason = "unknown duration" + (f" (known: {', '.join(known)})" if known else "")
            raise ApiError("invalid_field", field="durationType", reason=reason)
        if (
            duration.supported_order_types is not None
            and kind not in duration.supported_order_types
        ):
            raise ApiError(
                "invalid_field", field="durationType", reason=f"not available for {kind} orders"
            )
        until = number(form, "durationDateTime")
        if duration.has_date_picker or duration.has_time_picker:
            if until is None:
                raise ApiError("missing_field", field="durationDateTime")
            if until <= self._clock():
                raise ApiError("invalid_field", field="durationDateTime", reason="in the past")
        if until is not None and until > _LATEST_TIME:
            raise ApiError("invalid_field", field="durationDateTime", reason="after the year 9999")
        return wanted, int(until) if until is not None else None

    def _custom(
        self, account: Account, instrument: Instrument, form: Form
    ) -> tuple[tuple[str, str], ...]:
        """Values of the order dialog's own controls, checked against their definitions."""
        fields: OrderDialogCustomFields | None = None
        if instrument.ui and instrument.ui.order_dialog_custom_fields:
            fields = instrument.ui.order_dialog_custom_fields
        elif account.ui and account.ui.order_dialog_custom_fields:
            fields = account.ui.order_dialog_custom_fields
        if fields is None:
            return ()
        out: list[tuple[str, str]] = []
        for combo in fields.combo_box or ():
            value = form.get(combo.id)
            if value is None:
                continue
            allowed = [item.value for item in combo.items]
            if value not in allowed:
                raise ApiError(
                    "invalid_field", field=combo.id, reason="expected " + " or ".join(allowed)
                )
            out.append((combo.id, value))
        for box in fields.checkbox or ():
            value = form.get(box.id)
            if value is None:
                continue
            if value.lower() not in ("true", "false", "1", "0", "on", "off"):
                raise ApiError("invalid_field", field=box.id, reason="expected true or false")
            out.append((box.id, "true" if value.lower() in ("true", "1", "on") else "false"))
        return tuple(out)

    # -- modifications ---------------------------------------------------------------------

    def edit(self, account: Account, order: Order, form: Form) -> OrderEdit:
        """A modifyOrder body for ``order``."""
        flags = account.flags
        instrument = self.instrument(account, order.instrument)
        qty = self._qty(instrument, form)
        if abs(qty - order.qty) > 1e-9 and not flags.support_edit_amount:
            raise ApiError("not_supported", feature="changing the quantity")
        bid, ask = self._market(instrument, form)
        if order.bracket is None:
            limit, stop = self._prices_of(
                account, instrument, order.type, order.side, form, bid, ask
            )
        else:
            # A bracket's price is checked against its parent's when it is set, and a bracket
            # may legitimately sit close to the market: only the tick applies here.
            limit = stop = None
            if order.type in ("limit", "stoplimit"):
                limit = self._price(instrument, form, "limitPrice")
            if order.type in ("stop", "stoplimit"):
                stop = self._price(instrument, form, "stopPrice")
        moved = (limit is not None and abs(limit - (order.limit_price or 0)) > 1e-12) or (
            stop is not None and abs(stop - (order.stop_price or 0)) > 1e-12
        )
        if moved and not flags.support_modify_order_price and order.bracket is None:
            raise ApiError("not_supported", feature="changing the price")
        duration, until = (None, None)
        if form.get("durationType"):
            duration, until = self._duration(account, order.type, form)
            if duration != order.duration_type and not flags.support_modify_duration:
                raise ApiError("not_supported", feature="changing the duration")
        brackets: tuple[BracketSpec, ...] | None = None
        if order.bracket is None and flags.support_order_brackets and flags.support_modify_brackets:
            reference = self._reference(order.type, order.side, limit, stop, bid, ask)
            brackets = self._brackets(
                account, instrument, order.type, order.side, form, reference, bid, ask
            )
        elif (
            order.bracket is None
            and not flags.support_order_brackets
            and any(form.get(f) for f in _BRACKET_FIELDS)
        ):
            raise ApiError("not_supported", feature="brackets")
        return OrderEdit(
            qty=qty,
            limit_price=limit,
            stop_price=stop,
            duration_type=duration,
            duration_datetime=until,
            brackets=brackets,
            custom_fields=self._custom(account, instrument, form),
        )

    def position_change(
        self, account: Account, position: Position, form: Form, *, individual: bool
    ) -> tuple[tuple[BracketSpec, ...] | None, Side | None]:
        """A modifyPosition / modifyIndividualPosition body: brackets and reversal side."""
        flags = account.flags
        instrument = self.instrument(account, position.instrument)
        side = None if individual else choice(form, "side", ("buy", "sell"), required=False)
        if side is not None and side != position.side:
            if not (flags.support_native_reverse_position and flags.support_reverse_position):
                raise ApiError("not_supported", feature="reversing a position")
            return None, side  # type: ignore[return-value]
        allowed = (
            flags.support_individual_position_brackets
            if individual
            else flags.support_position_brackets
        )
        if not allowed:
            if any(form.get(f) for f in _BRACKET_FIELDS):
                raise ApiError("not_supported", feature="brackets")
            return None, None
        bid, ask = self._market(instrument, form)
        current = bid if position.side == "buy" else ask
        brackets = self._brackets(
            account,
            instrument,
            "market",
            position.side,
            form,
            current,
            bid,
            ask,
            flag=allowed,
            reference_name="the current price",
        )
        return brackets, None

    def close_amount(
        self, account: Account, position: Position, form: Form, *, individual: bool
    ) -> float | None:
        """The ``amount`` of a partial close, when the account allows one."""
        amount = positive(form, "amount")
        if amount is None:
            return None
        step = self.instrument(account, position.instrument).qty_step
        if step and not _multiple(amount, step):
            raise ApiError("qty_step", qty=_fmt(amount), step=_fmt(step))
        flags = account.flags
        allowed = (
            flags.support_partial_close_individual_position
            if individual
            else flags.support_partial_close_position
        )
        if not allowed:
            raise ApiError("not_supported", feature="partial closes")
        return amount
