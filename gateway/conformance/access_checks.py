"""Who may call the trading endpoints: the CORS matrix and the 401 matrix.

TradingView's web page calls the trading half from ``https://*.tradingview.com`` origins, so
each endpoint must answer the browser's pre-flight (``OPTIONS`` with
``Access-Control-Request-Method``) and its real request with ``Access-Control-Allow-Origin``.
A server that echoes any origin hands the user's session to every web site: that fails too. And
each endpoint refuses a request without a valid token with 401, which is what makes TradingView
log the user in again.
"""

from __future__ import annotations

import secrets

from gateway.conformance.client import Answer
from gateway.conformance.model import Check, CheckFailed, Context
from gateway.conformance.trading_setup import TradingRun, params, run_of

SUITE = "trading"
TRADINGVIEW_ORIGIN = "https://www.tradingview.com"
FOREIGN_ORIGIN = "https://conformance-foreign.example"


def _endpoints(run: TradingRun) -> list[tuple[str, str]]:
    """(method, path) of the trading endpoints TradingView's page calls for this account."""
    any_order = run.path("/orders/conformance-0")
    listed = [
        ("GET", "/config"),
        ("GET", "/accounts"),
        ("GET", run.path("/instruments")),
        ("GET", run.path("/state")),
        ("GET", run.path("/orders")),
        ("POST", run.path("/orders")),
        ("PUT", any_order),
        ("DELETE", any_order),
        ("GET", "/quotes"),
    ]
    if run.flag("supportPositionNetting"):
        listed += [("GET", run.path("/netPositions")), ("GET", run.path("/individualPositions"))]
    elif run.flag("supportPositions"):
        listed.append(("GET", run.path("/positions")))
    if run.flag("supportExecutions"):
        listed.append(("GET", run.path("/executions")))
    if run.flag("supportOrdersHistory"):
        listed.append(("GET", run.path("/ordersHistory")))
    if run.flag("supportBalances"):
        listed.append(("GET", run.path("/balances")))
    if run.flag("supportLogout"):
        listed.append(("POST", "/logout"))
    return listed


def _preflight(ctx: Context, method: str, path: str, origin: str) -> Answer:
    headers = {
        "Origin": origin,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "authorization,content-type",
    }
    return ctx.client.request("OPTIONS", path, params(), auth=False, headers=headers)


def _tokens(value: str) -> set[str]:
    return {part.strip().lower() for part in value.split(",") if part.strip()}


def cors(ctx: Context) -> None:
    """Every trading endpoint answers a pre-flight from TradingView's origin, and no other's.

    For each (method, path): ``OPTIONS`` from ``https://www.tradingview.com`` answers 2xx, allows
    that origin (or ``*``), the method and the ``Authorization`` header; a real ``GET /accounts``
    from that origin carries the origin back. The same pre-flight from a foreign origin must not
    be allowed by name: echoing any origin would let every site use the user's token.
    """
    run = run_of(ctx)
    wrong = []
    for method, path in _endpoints(run):
        got = _preflight(ctx, method, path, TRADINGVIEW_ORIGIN)
        where = f"OPTIONS {path} ({method})"
        allowed = got.headers.get("access-control-allow-origin")
        methods = _tokens(got.headers.get("access-control-allow-methods", ""))
        headers = _tokens(got.headers.get("access-control-allow-headers", ""))
        if not 200 <= got.status < 300:
            wrong.append(f"{where}: HTTP {got.status}")
        elif allowed not in (TRADINGVIEW_ORIGIN, "*"):
            wrong.append(f"{where}: Access-Control-Allow-Origin is {allowed!r}")
        elif method.lower() not in methods and "*" not in methods:
            wrong.append(f"{where}: {method} not in Access-Control-Allow-Methods {sorted(methods)}")
        elif "authorization" not in headers:
            wrong.append(f"{where}: Authorization not in Access-Control-Allow-Headers")
        foreign = _preflight(ctx, method, path, FOREIGN_ORIGIN)
        if foreign.headers.get("access-control-allow-origin") == FOREIGN_ORIGIN:
            wrong.append(f"{where}: allows the foreign origin {FOREIGN_ORIGIN}")
    real = ctx.client.request("GET", "/accounts", params(), headers={"Origin": TRADINGVIEW_ORIGIN})
    if real.headers.get("access-control-allow-origin") not in (TRADINGVIEW_ORIGIN, "*"):
        wrong.append("GET /accounts from TradingView's origin: no Access-Control-Allow-Origin")
    if wrong:
        raise CheckFailed(f"{len(wrong)} CORS problems: " + "; ".join(wrong[:4]))


def unauthorized(ctx: Context) -> None:
    """Every trading endpoint answers 401 without a token and with a token it never issued.

    Writes are sent with a body that would be valid, so a server that forgot the token check
    would act on them: the check then fails and names the endpoint.
    """
    run = run_of(ctx)
    stranger = f"conformance-{secrets.token_hex(16)}"
    form = {"instrument": run.instrument or "X", "qty": 1, "side": "buy", "type": "limit",
            "limitPrice": 1, "currentAsk": 1, "currentBid": 1}  # fmt: skip
    wrong = []
    saved = ctx.client.token
    try:
        for token in (None, stranger):
            ctx.client.token = token
            for method, path in _endpoints(run):
                if method in ("POST", "PUT") and path != "/logout":
                    got = ctx.client.send_form(method, path, form, params())
                else:
                    got = ctx.client.request(method, path, params(accountId=run.account))
                if got.status != 401:
                    label = "without a token" if token is None else "with an unknown token"
                    wrong.append(f"{method} {path} {label}: HTTP {got.status}")
    finally:
        ctx.client.token = saved
    if wrong:
        raise CheckFailed(f"{len(wrong)} endpoints not 401: " + "; ".join(wrong[:4]))


CHECKS = (
    Check(SUITE, "trading.cors", cors),
    Check(SUITE, "trading.unauthorized", unauthorized),
)
