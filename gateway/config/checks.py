"""Checks that span several parts of the configuration (references, uniqueness, drivers)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy.engine
import sqlalchemy.exc

from gateway.config._convert import Context, suggest
from gateway.config.model import GatewayConfig
from gateway.config.trading import ACCOUNT_METRICS
from gateway.config.ui import AccountUi, BrokerUi
from gateway.plugins.registry import Registry
from gateway.plugins.roles import Role

_DRIVER_EXTRAS = {"psycopg": "postgres", "psycopg2": "postgres", "pymysql": "mysql"}
MAX_GROUPS = 10
"""TradingView's limit on data groups per integration."""
MAX_SYMBOLS_PER_GROUP = 10_000
"""TradingView's limit on the symbols of one group."""


def _unique(items: Iterable[Any], attr: str, path: str, ctx: Context) -> set[str]:
    seen: set[str] = set()
    for i, item in enumerate(items):
        value = getattr(item, attr)
        if value in seen:
            ctx.report_at(f"{path}[{i}].{attr}", f"duplicate {attr} {value!r}")
        seen.add(value)
    return seen


def check_references(cfg: GatewayConfig, ctx: Context, registry: Registry) -> None:
    """Report every broken cross-reference and every duplicate id."""
    accounts = _unique(cfg.accounts, "id", "accounts", ctx)
    _unique(cfg.account_profiles, "id", "account_profiles", ctx)
    instruments = _unique(cfg.instruments, "name", "instruments", ctx)
    groups = _unique(cfg.groups, "id", "groups", ctx)
    _unique(cfg.users, "login", "users", ctx)

    for section, listed in (("accounts", cfg.accounts), ("account_profiles", cfg.account_profiles)):
        for i, account in enumerate(listed):
            for j, name in enumerate(account.instruments or ()):
                if name not in instruments:
                    ctx.report_at(
                        f"{section}[{i}].instruments[{j}]",
                        f"unknown instrument {name!r}{suggest(name, instruments)}",
                    )
    _check_profiles(cfg, ctx)
    for i, user in enumerate(cfg.users):
        for j, acc in enumerate(user.accounts):
            if acc not in accounts:
                ctx.report_at(
                    f"users[{i}].accounts[{j}]", f"unknown account {acc!r}{suggest(acc, accounts)}"
                )
        for j, grp in enumerate(user.groups):
            if grp not in groups:
                ctx.report_at(
                    f"users[{i}].groups[{j}]", f"unknown group {grp!r}{suggest(grp, groups)}"
                )
    _check_group_prefix(cfg, ctx)
    _check_symbols(cfg, groups, ctx)
    _check_identity(cfg, ctx, registry)
    _check_feeds(cfg, ctx, registry)
    _check_trading(cfg, ctx, registry)
    _check_store(cfg, ctx)
    _check_login_page(cfg, ctx)


def _check_profiles(cfg: GatewayConfig, ctx: Context) -> None:
    """Accounts come from the YAML or, through profiles, from an identity connector."""
    if not cfg.accounts and not cfg.account_profiles:
        ctx.report_at("accounts", "list at least one account (or account_profiles)")
    if not cfg.account_profiles:
        return
    if cfg.auth.identity is None:
        ctx.report_at(
            "account_profiles",
            "profiles serve the accounts an identity connector lists: set auth.identity",
        )
    elif cfg.trading.venue is not None:
        # Managed trading keeps a ledger per configured account (initialBalance…).
        ctx.report_at(
            "account_profiles",
            "managed trading (trading.venue) needs each account listed under accounts; "
            "profiles serve mapped mode (trading.mapped)",
        )


def _check_group_prefix(cfg: GatewayConfig, ctx: Context) -> None:
    if not cfg.groups:
        return
    first = cfg.groups[0].id
    if "_" not in first.strip("_"):
        ctx.report_at(
            "groups[0].id", "group ids must start with the broker's prefix and '_', e.g. acme_forex"
        )
        return
    prefix = first.split("_")[0] + "_"
    for i, group in enumerate(cfg.groups[1:], start=1):
        if not group.id.startswith(prefix) or group.id == prefix:
            ctx.report_at(
                f"groups[{i}].id",
                f"all group ids must share the prefix {prefix!r} of the first one",
            )


def _check_symbols(cfg: GatewayConfig, groups: set[str], ctx: Context) -> None:
    """Unique names and tickers; group membership within TradingView's limits."""
    for i in range(MAX_GROUPS, len(cfg.groups)):
        ctx.report_at(f"groups[{i}].id", f"TradingView allows at most {MAX_GROUPS} groups")
    names = {s.symbol: i for i, s in reversed(list(enumerate(cfg.symbols)))}
    seen_names: set[str] = set()
    tickers: set[str] = set()
    counts: dict[str, int] = {}
    for i, sym in enumerate(cfg.symbols):
        if sym.symbol in seen_names:
            ctx.report_at(f"symbols[{i}].symbol", f"duplicate symbol {sym.symbol!r}")
        seen_names.add(sym.symbol)
        if sym.ticker is not None:
            other = names.get(sym.ticker, i)
            if sym.ticker in tickers:
                ctx.report_at(f"symbols[{i}].ticker", f"duplicate ticker {sym.ticker!r}")
            elif other != i:
                ctx.report_at(
                    f"symbols[{i}].ticker",
                    f"{sym.ticker!r} is the name of symbols[{other}]: data requests would not "
                    "know which one is meant",
                )
            tickers.add(sym.ticker)
        where = f"symbols[{i}].group"
        if not groups:
            if sym.group is not None:
                ctx.report_at(where, "no groups are configured: list it under groups or remove it")
        elif sym.group is None:
            known = ", ".join(g.id for g in cfg.groups)
            ctx.report_at(where, f"required when groups are configured (one of {known})")
        elif sym.group not in groups:
            ctx.report_at(where, f"unknown group {sym.group!r}{suggest(sym.group, groups)}")
        else:
            counts[sym.group] = counts.get(sym.group, 0) + 1
            if counts[sym.group] == MAX_SYMBOLS_PER_GROUP + 1:
                ctx.report_at(
                    where,
                    f"group {sym.group!r} has more than {MAX_SYMBOLS_PER_GROUP} symbols "
                    "(TradingView's limit per group)",
                )


def _check_feeds(cfg: GatewayConfig, ctx: Context, registry: Registry) -> None:
    for i, name in enumerate(cfg.market.feeds):
        where = f"market.feeds[{i}]"
        spec = cfg.connectors.get(name)
        if spec is None:
            known = ", ".join(cfg.connectors) or "none"
            ctx.report_at(
                where, f"unknown connector {name!r}{suggest(name, cfg.connectors)} (known: {known})"
            )
        elif Role.MARKET_DATA not in registry.get(spec.type).roles:  # type: ignore[attr-defined]
            ctx.report_at(
                where, f"connector {name!r} ({spec.type}) does not have the market_data role"
            )
    if cfg.market.feeds and not cfg.symbols:
        ctx.report_at("market.feeds", "market data needs symbols: list them under symbols")


def _check_identity(cfg: GatewayConfig, ctx: Context, registry: Registry) -> None:
    name = cfg.auth.identity
    if name is None:
        if not cfg.users:
            ctx.report_at(
                "users",
                "nobody can log in: list users, or set auth.identity to a "
                "connector with the identity role",
            )
        return
    spec = cfg.connectors.get(name)
    if spec is None:
        ctx.report_at(
            "auth.identity",
            f"unknown connector {name!r}{suggest(name, cfg.connectors)} "
            f"(known: {', '.join(cfg.connectors) or 'none'})",
        )
        return
    roles = registry.get(spec.type).roles  # type: ignore[attr-defined]
    if Role.IDENTITY not in roles:
        ctx.report_at(
            "auth.identity", f"connector {name!r} ({spec.type}) does not have the identity role"
        )


def _check_mapped(cfg: GatewayConfig, ctx: Context, registry: Registry) -> None:
    name = cfg.trading.mapped
    if name is None:
        return
    if cfg.trading.venue is not None:
        ctx.report_at("trading.mapped", "choose one: venue (managed) or mapped")
    spec = cfg.connectors.get(name)
    if spec is None:
        ctx.report_at(
            "trading.mapped",
            f"unknown connector {name!r}{suggest(name, cfg.connectors)} "
            f"(known: {', '.join(cfg.connectors) or 'none'})",
        )
    elif Role.ACCOUNT_DATA not in registry.get(spec.type).roles:  # type: ignore[attr-defined]
        ctx.report_at(
            "trading.mapped",
            f"connector {name!r} ({spec.type}) does not have the account_data role",
        )


def _check_trading(cfg: GatewayConfig, ctx: Context, registry: Registry) -> None:
    """Managed trading needs an execution venue, prices for every instrument, known metrics."""
    _check_mapped(cfg, ctx, registry)
    name = cfg.trading.venue
    if name is None:
        return  # no managed trading: the trading endpoints answer trading_unavailable
    spec = cfg.connectors.get(name)
    if spec is None:
        ctx.report_at(
            "trading.venue",
            f"unknown connector {name!r}{suggest(name, cfg.connectors)} "
            f"(known: {', '.join(cfg.connectors) or 'none'})",
        )
    elif Role.EXECUTION not in registry.get(spec.type).roles:  # type: ignore[attr-defined]
        ctx.report_at(
            "trading.venue", f"connector {name!r} ({spec.type}) does not have the execution role"
        )
    if not cfg.market.feeds:
        ctx.report_at(
            "trading.venue",
            "managed trading prices orders from market data: list the connectors that feed "
            "it under market.feeds",
        )
    symbols = {s.symbol for s in cfg.symbols}
    for i, instrument in enumerate(cfg.instruments):
        market_symbol = instrument.symbol or instrument.name
        if market_symbol in symbols:
            continue
        hint = suggest(market_symbol, symbols)
        if instrument.symbol is None:
            ctx.report_at(
                f"instruments[{i}].name",
                f"no symbol {market_symbol!r} in symbols{hint}: managed trading prices "
                f"instruments from market data (set instruments[{i}].symbol)",
            )
        else:
            ctx.report_at(
                f"instruments[{i}].symbol",
                f"no symbol {market_symbol!r} in symbols{hint}: managed trading prices "
                "instruments from market data",
            )
    _check_metrics(cfg.ui, "ui", ctx)
    for section, listed in (("accounts", cfg.accounts), ("account_profiles", cfg.account_profiles)):
        for i, account in enumerate(listed):
            if account.ui is not None:
                _check_metrics(account.ui, f"{section}[{i}].ui", ctx)


def _check_metrics(ui: BrokerUi | AccountUi, path: str, ctx: Context) -> None:
    """Managed mode fills summary cells by id, so each id must name a metric it computes."""
    ids = [
        (f"{path}.accountSummaryRow[{i}].id", item.id)
        for i, item in enumerate(ui.account_summary_row or ())
    ]
    for i, table in enumerate(ui.account_manager or ()):
        ids += [
            (f"{path}.accountManager[{i}].columns[{j}].id", column.id)
            for j, column in enumerate(table.columns)
        ]
    for where, metric in ids:
        if metric not in ACCOUNT_METRICS:
            ctx.report_at(
                where,
                f"unknown account metric {metric!r}{suggest(metric, ACCOUNT_METRICS)} "
                f"(known: {', '.join(ACCOUNT_METRICS)})",
            )


def _check_store(cfg: GatewayConfig, ctx: Context) -> None:
    try:
        url = sqlalchemy.engine.make_url(cfg.store.url.reveal())
    except sqlalchemy.exc.ArgumentError:
        ctx.report_at(
            "store.url",
            "not a database URL, e.g. sqlite:///gateway.db or postgresql+psycopg://user@host/db",
        )
        return
    try:
        url.get_dialect().import_dbapi()
    except sqlalchemy.exc.NoSuchModuleError:
        ctx.report_at("store.url", f"unknown database kind {url.drivername!r}")
    except ImportError:
        driver = url.get_dialect().driver
        extra = _DRIVER_EXTRAS.get(driver)
        hint = f": pip install 'broker-gateway[{extra}]'" if extra else ""
        ctx.report_at("store.url", f"the database driver {driver!r} is not installed{hint}")


LOGO_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".svg": "image/svg+xml",
}
"""Logo formats of the login page, by file extension."""
MAX_LOGO_BYTES = 256 * 1024


def _check_login_page(cfg: GatewayConfig, ctx: Context) -> None:
    logo = cfg.auth.oauth.login_page.logo if cfg.auth.oauth else None
    if logo is None:
        return
    where = "auth.oauth.login_page.logo"
    path = ctx.base_dir / logo
    if path.suffix.lower() not in LOGO_TYPES:
        ctx.report_at(where, f"must be one of {', '.join(sorted(LOGO_TYPES))}")
    elif not path.is_file():
        ctx.report_at(where, f"no such file: {path}")
    elif path.stat().st_size > MAX_LOGO_BYTES:
        ctx.report_at(where, f"larger than {MAX_LOGO_BYTES // 1024} KB")
