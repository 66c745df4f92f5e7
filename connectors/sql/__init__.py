"""The sql connector: a broker's own database, served through declared queries and mappings."""

from connectors.sql.connector import SqlConnector

__all__ = ["SqlConnector"]
