"""``gateway conformance``: TradingView's acceptance checks, run against any broker server.

TradingView runs its tests only in its own environment, after a broker asks. These are the same
checks (``../shared/reference/tradingview-acceptance.md``, in our words and code), for any URL:
the gateway itself or a server written by hand. Each check is a function that raises
:class:`~gateway.conformance.model.CheckFailed` with the reason; the runner prints a line per
check and a summary, and writes JSON and JUnit XML reports for CI.
"""
