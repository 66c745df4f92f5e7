"""The gateway's own SQL store: tokens and login throttling now; orders and bars later."""

from gateway.store.database import Database

__all__ = ["Database"]
