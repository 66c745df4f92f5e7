"""Falcon resources, one module per area of the spec; thin: parse, call the core, render."""
