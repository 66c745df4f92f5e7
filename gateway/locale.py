"""The locales of TradingView's broker API and how a request's locale is chosen."""

from __future__ import annotations

LOCALES: tuple[str, ...] = (
    "ar_AE", "br", "cs", "de_DE", "el", "en", "es", "fa_IR", "fr", "he_IL", "hu_HU", "id", "in",
    "it", "ja", "kr", "ms_MY", "nl_NL", "pl", "ro", "ru", "sv_SE", "th_TH", "tr", "uk", "vi_VN",
    "zh_CN", "zh_TW",
)  # fmt: skip
"""The 28 values of the spec's ``Locale`` enum (identical in 1.3.27 and 1.4.14)."""

DEFAULT_LOCALE = "en"
_KNOWN = frozenset(LOCALES)


def negotiate(value: object) -> str:
    """The locale to answer in: the requested one if the spec knows it, else English.

    The spec marks ``locale`` required but also 'for trading integration only'; TradingView's
    data servers omit it. A missing or unknown value is therefore not an error.
    """
    if isinstance(value, str) and value in _KNOWN:
        return value
    return DEFAULT_LOCALE
