"""Configuration: one YAML file validated into frozen, typed objects."""

from gateway.config.loader import ConfigError, load_config
from gateway.config.model import GatewayConfig

__all__ = ["ConfigError", "GatewayConfig", "load_config"]
