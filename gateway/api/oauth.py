"""The OAuth2 endpoints: authorization (login page), token, logout, and the page's logo.

Not operations of the spec: TradingView is given their URLs (authorization URI, token URI,
logout URI) when the integration is set up. Authlib does the protocol; these resources read
the request, run the login page, and write Authlib's answer.
"""

from __future__ import annotations

import hmac
import logging
import math
import secrets
import urllib.parse
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import falcon
from authlib.oauth2.base import OAuth2Error

from gateway.auth.oauth.clients import BrowserClient
from gateway.auth.oauth.login_page import Language, Rendered, language
from gateway.auth.oauth.server import GatewayRequest, Response
from gateway.auth.oauth.setup import AUTHORIZE_PATH, TOKEN_PATH, OAuthRuntime
from gateway.auth.oauth.storage import new_grant_id
from gateway.auth.tokens import token_hash
from gateway.errors import ApiError
from gateway.http.client import client_address
from gateway.http.forms import read_form
from gateway.plugins.records import Principal
from gateway.services import Services

log = logging.getLogger("gateway.auth")

# The parameters of an authorization request that the login form carries through its POST.
OAUTH_PARAMS = ("response_type", "client_id", "redirect_uri", "scope", "state", "lang", "prompt")
MAX_QUERY = 8192
MAX_STATE = 2048


def _runtime(services: Services) -> OAuthRuntime:
    if services.oauth is None:  # routes are only added when auth.oauth is configured
        raise ApiError("not_found", status=404, path=AUTHORIZE_PATH)
    return services.oauth


def _write(resp: falcon.Response, answer: Response) -> None:
    status, body, headers = answer
    resp.status = status
    for name, value in headers:
        if name.lower() != "content-type":
            resp.set_header(name, value)
    resp.set_header("Cache-Control", "no-store")
    resp.set_header("Pragma", "no-cache")
    if isinstance(body, dict):
        resp.media = body
    elif body:
        resp.text = str(body)


class _Problem(Exception):  # noqa: N818 - control flow inside this module
    """An authorization request that cannot be answered by a redirect: shown as a page."""

    def __init__(self, code: str, status: int, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.status = status
        self.params = {k: str(v) for k, v in params.items()}


class AuthorizationEndpoint:
    """``GET`` shows the login page or answers at once; ``POST`` is the login form."""

    auth: ClassVar[str | None] = None

    def __init__(self, services: Services) -> None:
        self._s = services
        self._o = _runtime(services)
        self._action = services.config.server.base_path + AUTHORIZE_PATH

    # GET: an authorization request from TradingView -----------------------------------------

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Authorization request (RFC 6749 §4.1.1 / §4.2.1) with TradingView's prompt and lang."""
        lang = language(req.get_param("lang"))
        try:
            if len(req.query_string) > MAX_QUERY or "%00" in req.query_string:
                raise _Problem("oauth_invalid_request", 400, reason="malformed parameters")
            params = urllib.parse.parse_qs(req.query_string, keep_blank_values=True)
            self._authorize(req, resp, params, lang, via_form=False)
        except _Problem as problem:
            self._problem_page(req, resp, lang, problem)

    # POST: the login form ---------------------------------------------------------------------

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """The submitted login form: CSRF, throttle, credentials, then the redirect."""
        try:
            form = read_form(req, self._s.config.server.max_body_bytes)
        except ApiError as error:
            self._problem_page(req, resp, language(None), _Problem(error.code, 400, **error.params))
            return
        lang = language(form.get("lang"))
        params = {k: [form[k]] for k in OAUTH_PARAMS if k in form}
        try:
            self._authorize(req, resp, params, lang, via_form=True, form=form)
        except _Problem as problem:
            self._problem_page(req, resp, lang, problem)

    def _authorize(
        self,
        req: falcon.Request,
        resp: falcon.Response,
        params: Mapping[str, Sequence[str]],
        lang: Language,
        *,
        via_form: bool,
        form: Mapping[str, str] | None = None,
    ) -> None:
        server = self._o.server
        request = GatewayRequest("GET", self._o.settings.public_url + AUTHORIZE_PATH, params)
        try:
            grant = server.get_consent_grant(request)
        except OAuth2Error as error:
            if error.redirect_uri:  # validated by Authlib against the client's whitelist
                _write(resp, server.handle_error_response(request, error))
                return
            # Unknown client or redirect URI not whitelisted: never redirect (no open redirect).
            raise _Problem(
                "oauth_invalid_request", 400, reason=error.description or error.error
            ) from None
        except ValueError:
            # Authlib refuses to put characters outside RFC 6749's set into an error
            # description; it quotes request values there, so hostile input lands here.
            raise _Problem("oauth_invalid_request", 400, reason="malformed parameters") from None
        state = request.payload.state
        if not state or len(state) > MAX_STATE:
            reason = "state is required" if not state else "state is too long"
            _write(resp, self._redirect_error(request, grant, "invalid_request", reason))
            return
        prompt = (request.payload.data.get("prompt") or "").split()
        if "none" in prompt and len(prompt) > 1:
            _write(resp, self._redirect_error(request, grant, "invalid_request", "bad prompt"))
            return
        if via_form:
            assert form is not None
            self._login(req, resp, request, grant, lang, form)
            return
        cookie = req.get_cookie_values(self._o.session_cookie)
        session = cookie[0] if cookie else None
        login = self._o.store.session_login(session) if session else None
        principal = self._s.identity.lookup(login) if login else None
        if "none" in prompt:
            if principal is None or session is None:
                # OpenID Connect's answer to a silent request without a session.
                error_answer = self._redirect_error(request, grant, "login_required", None)
                _write(resp, error_answer)
                return
            self._issue(resp, request, grant, principal, session)
            return
        if principal is not None and session is not None and "login" not in prompt:
            self._issue(resp, request, grant, principal, session)
            return
        self._form_page(req, resp, lang, params)

    def _login(
        self,
        req: falcon.Request,
        resp: falcon.Response,
        request: GatewayRequest,
        grant: Any,
        lang: Language,
        form: Mapping[str, str],
    ) -> None:
        params = request.payload.datalist
        cookie = req.get_cookie_values(self._o.csrf_cookie)
        sent = form.get("csrf", "")
        if not cookie or not sent or not hmac.compare_digest(cookie[0], sent):
            log.warning("login form without a valid CSRF token [client %s]", self._address(req))
            self._form_page(req, resp, lang, params, error="login_form_expired", status=403)
            return
        login = form.get("login", "")
        password = form.get("password", "")
        if not login or not password or len(login) > 255 or len(password) > 1024:
            self._form_page(req, resp, lang, params, error="invalid_credentials", login=login)
            return
        address = self._address(req)
        wait = self._s.throttle.retry_after(login, address)
        if wait is not None:
            log.warning("login refused while throttled [client %s]", address)
            self._s.metrics.login_failures.labels("throttled").inc()
            minutes = max(1, math.ceil(wait / 60))
            self._form_page(
                req, resp, lang, params, error="login_throttled", status=429, minutes=minutes
            )
            return
        principal = self._s.identity.authenticate(login, password)
        if principal is None:
            self._s.throttle.record_failure(login, address)
            log.info("failed login on the OAuth page [client %s]", address)
            self._s.metrics.login_failures.labels("invalid").inc()
            self._form_page(req, resp, lang, params, error="invalid_credentials", login=login)
            return
        self._s.throttle.clear_login(login)
        session = self._o.store.new_session(principal.login, self._o.settings.session_ttl.seconds)
        self._set_session_cookie(resp, session)
        self._issue(resp, request, grant, principal, session)

    # Answers ----------------------------------------------------------------------------------

    def _issue(
        self,
        resp: falcon.Response,
        request: GatewayRequest,
        grant: Any,
        principal: Principal,
        session: str,
    ) -> None:
        request.grant_id = new_grant_id()
        request.session_hash = token_hash(session)
        answer = self._o.server.create_authorization_response(
            request, grant_user=principal, grant=grant
        )
        _write(resp, answer)

    def _redirect_error(
        self, request: GatewayRequest, grant: Any, error: str, description: str | None
    ) -> Response:
        failure = OAuth2Error(
            description=description,
            error=error,
            state=request.payload.state,
            redirect_uri=grant.redirect_uri,
            redirect_fragment=request.payload.response_type == "token",
        )
        answer: Response = self._o.server.handle_error_response(request, failure)
        return answer

    def _form_page(
        self,
        req: falcon.Request,
        resp: falcon.Response,
        lang: Language,
        params: Mapping[str, Sequence[str]],
        *,
        error: str | None = None,
        status: int = 200,
        login: str = "",
        **error_params: object,
    ) -> None:
        csrf = secrets.token_urlsafe(32)
        resp.set_cookie(
            self._o.csrf_cookie,
            csrf,
            path="/",
            secure=self._o.settings.secure,
            http_only=True,
            same_site="Strict",
        )
        hidden = [(k, params[k][0]) for k in OAUTH_PARAMS if params.get(k)]
        hidden.append(("csrf", csrf))
        message = self._message(error, lang, **error_params) if error else None
        page = self._o.page.render(
            lang, action=self._action, hidden=hidden, error=message, login=login
        )
        redirect_uri = params.get("redirect_uri", [""])[0]
        self._html(resp, page, status, form_target=redirect_uri)

    def _problem_page(
        self, req: falcon.Request, resp: falcon.Response, lang: Language, problem: _Problem
    ) -> None:
        message = self._message(problem.code, lang, **problem.params)
        page = self._o.page.render(lang, show_form=False, error=message)
        self._html(resp, page, problem.status)

    def _message(self, code: str, lang: Language, **params: object) -> str:
        return self._s.messages.text(code, lang.locale, {k: str(v) for k, v in params.items()})

    def _html(
        self, resp: falcon.Response, page: Rendered, status: int, form_target: str = ""
    ) -> None:
        # The form posts to this server, which then redirects to the client's (whitelisted)
        # redirect URI; Chromium applies form-action to that redirect too.
        targets = "'self'"
        origin = _origin(form_target)
        if origin:
            targets += " " + origin
        resp.status = status
        resp.content_type = "text/html; charset=utf-8"
        resp.text = page.html
        resp.set_header(
            "Content-Security-Policy",
            f"default-src 'none'; img-src 'self' data:; style-src 'nonce-{page.nonce}'; "
            f"form-action {targets}; frame-ancestors 'none'; base-uri 'none'",
        )
        resp.set_header("X-Frame-Options", "DENY")
        resp.set_header("X-Content-Type-Options", "nosniff")
        resp.set_header("Referrer-Policy", "no-referrer")
        resp.set_header("Cache-Control", "no-store")

    def _set_session_cookie(self, resp: falcon.Response, session: str) -> None:
        secure = self._o.settings.secure
        resp.set_cookie(
            self._o.session_cookie,
            session,
            max_age=int(self._o.settings.session_ttl.seconds),
            path="/",
            secure=secure,
            http_only=True,
            # The silent refresh runs in TradingView's hidden iframe, a third-party context:
            # only SameSite=None cookies reach it, and browsers accept those only with Secure.
            same_site="None" if secure else "Lax",
        )

    def _address(self, req: falcon.Request) -> str:
        return client_address(req, self._s.proxies)


def _origin(uri: str) -> str | None:
    try:
        parts = urllib.parse.urlsplit(uri)
    except ValueError:
        return None
    if parts.scheme in ("http", "https") and parts.netloc:
        return f"{parts.scheme}://{parts.netloc}"
    return None


class TokenEndpoint:
    """Token requests: authorization_code, refresh_token and the data servers' assertion."""

    auth: ClassVar[str | None] = None

    def __init__(self, services: Services) -> None:
        self._s = services
        self._o = _runtime(services)

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Token request (RFC 6749 §3.2); errors in RFC 6749 §5.2's shape."""
        try:
            form = read_form(req, self._s.config.server.max_body_bytes)
        except ApiError as error:
            message = self._s.messages.text(error.code, "en", error.params)
            body = {"error": "invalid_request", "error_description": message}
            _write(resp, (400, body, []))
            return
        params = {k: [v] for k, v in form.items()}
        request = GatewayRequest(
            "POST",
            self._o.settings.public_url + TOKEN_PATH,
            params,
            req.get_header("Authorization"),
        )
        _write(resp, self._o.server.create_token_response(request))


class LogoutEndpoint:
    """TradingView's logout URI: ends the browser session, revokes its tokens, returns."""

    auth: ClassVar[str | None] = None

    def __init__(self, services: Services) -> None:
        self._s = services
        self._o = _runtime(services)

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """``?client_id=…&returnTo=…``; returnTo must be whitelisted for that client."""
        lang = language(req.get_param("lang"))
        client_id = req.get_param("client_id") or ""
        return_to = req.get_param("returnTo")
        client = self._o.server.query_client(client_id)
        if not isinstance(client, BrowserClient):
            self._page(resp, lang, "oauth_invalid_request", 400, reason="unknown client_id")
            return
        if return_to is not None and return_to not in client.config.logout_return_to:
            self._page(resp, lang, "oauth_invalid_request", 400, reason="returnTo not allowed")
            return
        cookie = req.get_cookie_values(self._o.session_cookie)
        if cookie:
            revoked = self._o.store.end_session(cookie[0])
            log.info("logout: session ended, %d tokens revoked [client %s]", revoked, client_id)
        resp.unset_cookie(self._o.session_cookie, path="/")
        resp.set_header("Cache-Control", "no-store")
        if return_to is None:
            self._page(resp, lang, "signed_out", 200)
            return
        resp.status = falcon.HTTP_302
        resp.set_header("Location", return_to)

    def _page(
        self, resp: falcon.Response, lang: Language, code: str, status: int, **params: str
    ) -> None:
        message = self._s.messages.text(code, lang.locale, params)
        if status == 200:
            page = self._o.page.render(lang, show_form=False, heading=message)
        else:
            page = self._o.page.render(lang, show_form=False, error=message)
        resp.status = status
        resp.content_type = "text/html; charset=utf-8"
        resp.text = page.html
        resp.set_header(
            "Content-Security-Policy",
            f"default-src 'none'; img-src 'self'; style-src 'nonce-{page.nonce}'; "
            "frame-ancestors 'none'; base-uri 'none'",
        )


class LogoResource:
    """The login page's logo, from the configuration."""

    auth: ClassVar[str | None] = None

    def __init__(self, services: Services) -> None:
        self._o = _runtime(services)

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """The image, cacheable for a day."""
        logo = self._o.logo
        if logo is None:
            raise ApiError("not_found", status=404, path=req.path)
        resp.content_type = logo.content_type
        resp.data = logo.body
        resp.set_header("Cache-Control", "public, max-age=86400")
        # An SVG can hold scripts: served as an image, it must never run them.
        resp.set_header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
        resp.set_header("X-Content-Type-Options", "nosniff")
