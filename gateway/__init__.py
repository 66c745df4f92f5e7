"""The broker gateway: TradingView's REST API for brokers, served from one YAML file."""

__version__ = "0.1.0"
