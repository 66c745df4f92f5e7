"""The branded login page: a Jinja2 template rendered in a sandbox with autoescaping.

The page holds a login form and a sign-up link, nothing else (TradingView's rule). It works
without JavaScript; its texts come from YAML per ``lang``; every value is escaped, and the
template runs in Jinja2's sandbox so that nothing in it can reach Python internals.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from jinja2 import PackageLoader, StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from gateway.config.oauth import LoginPage
from gateway.config.types import Text

LANGS: dict[str, str] = {
    "ar": "ar_AE", "br": "br", "cs": "cs", "de": "de_DE", "el": "el", "en": "en", "es": "es",
    "fa": "fa_IR", "fr": "fr", "he": "he_IL", "hu": "hu_HU", "id": "id", "in": "in", "it": "it",
    "ja": "ja", "kr": "kr", "ms": "ms_MY", "nl": "nl_NL", "pl": "pl", "ro": "ro", "ru": "ru",
    "sv": "sv_SE", "th": "th_TH", "tr": "tr", "uk": "uk", "vi": "vi_VN", "zh": "zh_CN",
}  # fmt: skip
"""The ``lang`` values of TradingView's authorization request and the spec locale of each."""
_HTML_LANG = {"br": "pt-BR", "in": "hi", "kr": "ko", "zh": "zh-CN"}
_RTL = frozenset({"ar", "fa", "he"})


@dataclass(frozen=True)
class Language:
    """How a page is written for one ``lang``: texts' locale, HTML lang, direction."""

    lang: str
    locale: str
    html_lang: str
    rtl: bool


def language(lang: object) -> Language:
    """The page language for a ``lang`` parameter (English when missing or unknown)."""
    code = lang if isinstance(lang, str) and lang in LANGS else "en"
    return Language(code, LANGS[code], _HTML_LANG.get(code, code), code in _RTL)


@dataclass(frozen=True)
class Rendered:
    """A rendered page and the nonce its inline style needs in the CSP."""

    html: str
    nonce: str


class LoginPageRenderer:
    """Renders the login form, and the same page with only a message when there is no form."""

    def __init__(self, broker: str, page: LoginPage, logo_url: str | None) -> None:
        env = SandboxedEnvironment(
            loader=PackageLoader("gateway.auth.oauth", "templates"),
            autoescape=True,
            undefined=StrictUndefined,
        )
        self._template = env.get_template("login.html")
        self._broker = broker
        self._page = page
        self._logo_url = logo_url

    def render(
        self,
        lang: Language,
        *,
        action: str = "",
        hidden: Sequence[tuple[str, str]] = (),
        error: str | None = None,
        login: str = "",
        show_form: bool = True,
        heading: str | None = None,
    ) -> Rendered:
        """The page in ``lang``; ``show_form=False`` shows ``heading`` and ``error`` only."""
        page = self._page
        loc = lang.locale

        def text(value: Text | None) -> str:
            return value.get(loc) if value is not None else ""

        nonce = secrets.token_urlsafe(16)
        html = self._template.render(
            html_lang=lang.html_lang,
            rtl=lang.rtl,
            title=text(page.title) or self._broker,
            broker=self._broker,
            nonce=nonce,
            colours=page.colours,
            logo_url=self._logo_url,
            heading=heading if heading is not None else text(page.heading),
            error=error,
            show_form=show_form,
            action=action,
            hidden=list(hidden),
            login=login,
            login_label=text(page.login_label),
            login_placeholder=text(page.login_placeholder),
            password_label=text(page.password_label),
            password_placeholder=text(page.password_placeholder),
            submit=text(page.submit),
            signup_url=page.signup_url,
            signup_text=text(page.signup_text),
        )
        return Rendered(html, nonce)
