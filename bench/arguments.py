"""Argument types shared by the suites' command lines: a clear message for each mistake."""

from __future__ import annotations

import argparse


def positive_int(text: str) -> int:
    """A whole number of at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text!r}")
    return value


def positive(text: str) -> float:
    """A number above 0."""
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return value


def non_negative(text: str) -> float:
    """A number of seconds, 0 or more."""
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected a number of seconds >= 0, got {text!r}")
    return value


def parts(text: str, known: tuple[str, ...]) -> tuple[str, ...]:
    """A comma-separated choice among ``known`` (at least one)."""
    values = tuple(v.strip() for v in text.split(",") if v.strip())
    unknown = set(values) - set(known)
    if unknown or not values:
        raise argparse.ArgumentTypeError(f"parts are {', '.join(known)}; got {text!r}")
    return values
