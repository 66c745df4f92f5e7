"""The root of the configuration: server, store, auth, users, accounts, trading, connectors.

Gateway-owned settings use snake_case keys; objects that mirror a TradingView schema keep the
spec's camelCase so that the spec can be read as their reference.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from gateway.config._convert import (
    INVALID,
    Context,
    convert_object,
    describe,
    option,
    report_duplicates,
    suggest,
)
from gateway.config._yaml import YMap, YNode, YScalar
from gateway.config.accounts import Account
from gateway.config.cluster import Cluster
from gateway.config.instruments import Instrument
from gateway.config.market import Market
from gateway.config.oauth import OAuth
from gateway.config.symbols import Symbol
from gateway.config.trading import Trading
from gateway.config.types import Duration, OriginPattern, Secret, Text
from gateway.config.ui import BrokerUi, non_empty
from gateway.errors import CATALOGUE, check_override
from gateway.plugins.registry import PluginError, Registry

# TradingView's ceiling on a token's lifetime: a signed 32-bit count of milliseconds.
MAX_TOKEN_TTL = Duration(2_147_483_647 / 1000)
_SPEC = re.compile(r"^1\.(\d+)\.(\d+)$")


def spec_version(value: str) -> str | None:
    """Versions the gateway can speak: 1.3.0 up to 1.4.14."""
    m = _SPEC.match(value)
    if not m or (int(m[1]), int(m[2])) > (4, 14) or int(m[1]) < 3:
        return 'must be a spec version from 1.3.0 to 1.4.14, e.g. "1.4.14"'
    return None


@dataclass(frozen=True)
class Broker:
    """Who the broker is and which spec version TradingView tested it against."""

    name: str = option(doc="Broker name, shown in logs and the login page.")
    spec: str = option("1.4.14", doc="Spec version the answers follow.", check=spec_version)


def _default_origins() -> tuple[OriginPattern, ...]:
    return (OriginPattern("https://*.tradingview.com"), OriginPattern("https://*.xstaging.tv"))


def _at_least_one(value: int) -> str | None:
    return "must be at least 1" if value < 1 else None


def _cidr(value: str) -> str | None:
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        return f"{value!r} is not an IP address or network (e.g. 10.0.0.0/8)"
    return None


def _base_path(value: str) -> str | None:
    if value and not re.match(r"^(/[A-Za-z0-9._~-]+)+$", value):
        return "must be empty or start with '/' and not end with '/', e.g. /api"
    return None


def _max_age(value: Duration) -> str | None:
    return "must be at most 1d (browsers cap it lower)" if value.seconds > 86400 else None


@dataclass(frozen=True)
class Server:
    """HTTP behaviour: base path, CORS, proxies, limits."""

    base_path: str = option("", doc="Prefix of every route, e.g. /api.", check=_base_path)
    cors_origins: tuple[OriginPattern, ...] = option(
        doc="Origins allowed to call the trading API from a browser.", factory=_default_origins
    )
    cors_max_age: Duration = option(
        Duration(7200), doc="How long browsers may cache a pre-flight answer.", check=_max_age
    )
    trusted_proxies: tuple[str, ...] = option(
        (), doc="Load balancers whose X-Forwarded-For is believed (IPs or CIDRs)."
    )
    max_body_bytes: int = option(
        65536, doc="Largest accepted request body, in bytes.", check=_at_least_one
    )

    def validate(self) -> Iterator[tuple[str, str]]:
        """Each proxy entry is an address or a network."""
        for i, item in enumerate(self.trusted_proxies):
            problem = _cidr(item)
            if problem:
                yield f"trusted_proxies[{i}]", problem


@dataclass(frozen=True)
class Store:
    """The gateway's own SQL store (tokens; later orders and bars)."""

    url: Secret = option(
        Secret("sqlite:///gateway.db"),
        doc="SQLAlchemy URL; relative SQLite paths are relative to this file.",
    )


def _ttl(value: Duration) -> str | None:
    if value.seconds < 60:
        return "must be at least 1m"
    if value > MAX_TOKEN_TTL:
        return "must be at most 24d20h31m23s (TradingView's maximum token lifetime)"
    return None


@dataclass(frozen=True)
class TradingAuth:
    """How browsers authenticate to the trading half."""

    mode: Literal["password_bearer", "oauth2"] = option(
        "password_bearer",
        doc="password_bearer (POST /authorize) or oauth2 (Code or Implicit flow, auth.oauth).",
    )
    token_ttl: Duration = option(
        Duration(900),
        doc="Access token lifetime (TradingView recommends 15 to 30 minutes).",
        check=_ttl,
    )


@dataclass(frozen=True)
class DataAuth:
    """How TradingView's servers authenticate to the data half."""

    mode: Literal["none", "password_bearer", "server_oauth2"] = option(
        "none",
        doc="none; password_bearer (POST /authorize); or server_oauth2 (JWT assertions of "
        "TradingView's data servers, auth.oauth.servers).",
    )
    token_ttl: Duration = option(
        Duration(900), doc="Lifetime of a server_oauth2 access token.", check=_ttl
    )


@dataclass(frozen=True)
class LoginThrottle:
    """Limits on failed logins, shared by every worker through the store."""

    max_failures_per_login: int = option(
        5, doc="Failures of one login per window.", check=_at_least_one
    )
    max_failures_per_address: int = option(
        50, doc="Failures from one client address per window.", check=_at_least_one
    )
    window: Duration = option(Duration(900), doc="The sliding window.")


@dataclass(frozen=True)
class Auth:
    """Authentication of both halves of the API."""

    trading: TradingAuth = option(doc="Trading half.", factory=TradingAuth)
    data: DataAuth = option(doc="Data half.", factory=DataAuth)
    login_throttle: LoginThrottle = option(doc="Failed-login limits.", factory=LoginThrottle)
    identity: str | None = option(
        None, doc="Connector with the identity role; default: the users listed in this file."
    )
    oauth: OAuth | None = option(
        None, doc="OAuth2 clients, data servers and the login page (modes oauth2, server_oauth2)."
    )

    def validate(self) -> Iterator[tuple[str, str]]:
        """The OAuth modes need their clients."""
        if self.trading.mode == "oauth2" and not (self.oauth and self.oauth.clients):
            yield "trading.mode", "oauth2 needs at least one client in auth.oauth.clients"
        if self.data.mode == "server_oauth2" and not (self.oauth and self.oauth.servers):
            yield "data.mode", "server_oauth2 needs at least one entry in auth.oauth.servers"


_PASSWORD_HASH = re.compile(
    r"^(\$argon2(id|i|d)\$v=\d+\$m=\d+,t=\d+,p=\d+\$\S+|pbkdf2_sha256\$\d+\$\S+"
    r"|\$pbkdf2-sha256\$\d+\$\S+|\$2[aby]\$\d\d\$\S+)$"
)


def _password_hash(value: Secret) -> str | None:
    if not _PASSWORD_HASH.match(value.reveal()):
        return "not a password hash; create one with `gateway hash-password`"
    return None


@dataclass(frozen=True)
class User:
    """A user who may log in with a password (until a connector provides identity)."""

    login: str = option(doc="Login name.")
    password_hash: Secret = option(
        doc="Salted hash from `gateway hash-password` (Argon2id), or one a broker's systems "
        "made: bcrypt, Argon2, PBKDF2-SHA256 in Django's or passlib's format.",
        check=_password_hash,
    )
    accounts: tuple[str, ...] = option(
        doc="Ids of the accounts this user may use.", check=non_empty
    )
    groups: tuple[str, ...] = option((), doc="Data groups this user may see (/permissions).")


_GROUP = re.compile(r"^[a-z_]+$")


@dataclass(frozen=True)
class Group:
    """A data-access group (``/groups``)."""

    id: str = option(doc="Lower-case letters and '_', with the broker prefix, e.g. acme_fx.")

    def validate(self) -> Iterator[tuple[str, str]]:
        """TradingView's naming rule."""
        if not _GROUP.match(self.id):
            yield "id", "must be lower-case latin letters and '_' only"


@dataclass(frozen=True)
class ConnectorSpec:
    """A configured connector: its kind and its options, validated by the kind's own schema."""

    type: str
    options: Any

    @classmethod
    def parse_config(cls, node: YNode, path: str, ctx: Context) -> Any:
        """Look the kind up in the registry and convert the rest of the mapping."""
        if not isinstance(node, YMap):
            ctx.report(node.mark, path, f"expected a mapping with a type, got {describe(node)}")
            return INVALID
        type_node = node.get("type")
        if not (isinstance(type_node, YScalar) and isinstance(type_node.value, str)):
            where = type_node.mark if type_node else node.mark
            ctx.report(where, f"{path}.type", "missing connector type")
            return INVALID
        registry: Registry = ctx.services["registry"]
        try:
            kind_cls = registry.get(type_node.value)
        except PluginError as exc:
            ctx.report(type_node.mark, f"{path}.type", str(exc))
            return INVALID
        rest = YMap(
            tuple((k, v) for k, v in node.items if k.value != "type"), node.mark, node.duplicates
        )
        options = convert_object(rest, kind_cls.Options, path, ctx)  # type: ignore[attr-defined]
        return INVALID if options is INVALID else cls(type_node.value, options)

    @classmethod
    def json_schema(cls) -> dict[str, Any]:
        """Refined per installed kind by :mod:`gateway.config.jsonschema`."""
        return {"type": "object", "required": ["type"]}


class Messages(Mapping[str, Text]):
    """Error-message overrides by catalogue code, each a localizable text (read-only)."""

    def __init__(self, texts: Mapping[str, Text] | None = None) -> None:
        self._texts = dict(texts or {})

    def __getitem__(self, code: str) -> Text:
        return self._texts[code]

    def __iter__(self) -> Iterator[str]:
        return iter(self._texts)

    def __len__(self) -> int:
        return len(self._texts)

    @classmethod
    def parse_config(cls, node: YNode, path: str, ctx: Context) -> Any:
        """Check codes and placeholders where they are written."""
        if not isinstance(node, YMap):
            ctx.report(
                node.mark, path, f"expected a mapping of message codes, got {describe(node)}"
            )
            return INVALID
        out: dict[str, Text] = {}
        bad = bool(node.duplicates)
        report_duplicates(node, path, ctx)
        for key, val in node.items:
            code = str(key.value)
            sub = f"{path}.{code}"
            ctx.marks[sub] = val.mark
            if code not in CATALOGUE:
                ctx.report(key.mark, sub, f"unknown message{suggest(code, CATALOGUE)}")
                bad = True
                continue
            text = Text.parse_config(val, sub, ctx)
            if text is INVALID:
                bad = True
                continue
            for locale, template in text.translations.items():
                problem = check_override(code, template)
                if problem:
                    ctx.report_at(f"{sub}.{locale}" if isinstance(val, YMap) else sub, problem)
                    bad = True
            out[code] = text
        return INVALID if bad else cls(out)

    @classmethod
    def json_schema(cls) -> dict[str, Any]:
        """Known codes to texts."""
        return {
            "type": "object",
            "propertyNames": {"enum": sorted(CATALOGUE)},
            "additionalProperties": Text.json_schema(),
        }


def _empty_connectors() -> Mapping[str, ConnectorSpec]:
    return MappingProxyType({})


def _empty_messages() -> Messages:
    return Messages()


@dataclass(frozen=True)
class GatewayConfig:
    """The whole configuration file."""

    version: Literal[1] = option(doc="Configuration format version; must be 1.")
    broker: Broker = option(doc="Broker identity.")
    accounts: tuple[Account, ...] = option(
        (), doc="Trading accounts (at least one here or in account_profiles)."
    )
    account_profiles: tuple[Account, ...] = option(
        (),
        doc="Templates for the accounts an identity connector lists without an entry in "
        "accounts: the listing's profile column names one by id (else the profile default); "
        "the listing's name, currency and type replace the profile's.",
    )
    server: Server = option(doc="HTTP behaviour.", factory=Server)
    store: Store = option(doc="The gateway's SQL store.", factory=Store)
    auth: Auth = option(doc="Authentication.", factory=Auth)
    users: tuple[User, ...] = option((), doc="Users who log in with a password.")
    ui: BrokerUi = option(doc="Broker-wide trading UI, served as /config.", factory=BrokerUi)
    instruments: tuple[Instrument, ...] = option((), doc="Tradable instruments.")
    groups: tuple[Group, ...] = option((), doc="Data-access groups (/groups, /permissions).")
    symbols: tuple[Symbol, ...] = option(
        (), doc="Chart symbols for TradingView's data servers (/symbol_info)."
    )
    market: Market = option(doc="Market data: feeds and streaming settings.", factory=Market)
    trading: Trading = option(
        doc="Managed trading: the venue that works orders, and trading stream timing.",
        factory=Trading,
    )
    cluster: Cluster = option(
        doc="Scale-out: the Redis bus between worker processes and instances.", factory=Cluster
    )
    messages: Messages = option(
        doc="Translations and rewordings of error messages, by code.", factory=_empty_messages
    )
    connectors: Mapping[str, ConnectorSpec] = option(
        doc="Connector instances by name.", factory=_empty_connectors
    )
    base_dir: Path = field(default=Path("."), metadata={"internal": True})
    """Directory of the configuration file (relative paths are resolved against it)."""
