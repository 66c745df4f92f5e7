"""Rewrite the generated reference in docs/configuration.md from the code.

.venv/bin/python tools/regenerate_docs.py
"""

from __future__ import annotations

from pathlib import Path

from gateway.config.reference import config_reference

BEGIN, END = "<!-- BEGIN GENERATED REFERENCE -->\n", "<!-- END GENERATED REFERENCE -->"


def main() -> None:
    """Replace the text between the markers."""
    path = Path(__file__).resolve().parent.parent / "docs" / "configuration.md"
    text = path.read_text(encoding="utf-8")
    head, rest = text.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    path.write_text(head + BEGIN + config_reference() + END + tail, encoding="utf-8")


if __name__ == "__main__":
    main()
