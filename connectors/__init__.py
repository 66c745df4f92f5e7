"""Built-in connector plugins.

Each connector lives in its own module and registers in ``pyproject.toml`` under the
``broker_gateway.connectors`` entry-point group, exactly as a third-party package would. The core
(``gateway``) never imports this package.
"""
