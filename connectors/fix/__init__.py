"""``fix``: a FIX 4.4 upstream (orders, execution reports, market data) — see docs/fix.md."""

from connectors.fix.connector import FixConnector

__all__ = ["FixConnector"]
