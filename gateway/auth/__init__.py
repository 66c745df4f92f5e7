"""Authentication: password hashing, tokens, login throttling, identity from YAML."""
