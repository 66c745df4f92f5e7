"""Market data in the core: session calendars, the tick bus, bars and their store."""
