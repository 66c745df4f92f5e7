"""A real headless Chromium for tests, and a stand-in for TradingView's side of OAuth.

The browser is the system's Chromium (Debian package ``chromium``; ``.ci/services`` installs
it in CI) driven through Playwright's Python API. The ``playwright`` package is only the
driver: browsers are never downloaded (never run ``playwright install``). Without Chromium
or Playwright the browser tests skip on a laptop and fail under CI=true, like the database
tests (tests/servers.py).

A test module imports the fixtures it uses *and those they depend on*: pytest finds fixtures
in the module, and ``page`` needs ``new_context``, which needs ``browser``. The functions are
named ``*_fixture`` (the fixtures are ``browser``, ``new_context``, ``page``) so that a test's
``page`` parameter does not shadow an imported ``page`` (ruff F811)::

    from tests.browser import (
        NewContext,
        browser_fixture,  # noqa: F401 (fixtures: pytest finds them in the module)
        client_site,
        new_context_fixture,  # noqa: F401
        page_fixture,  # noqa: F401
    )

    def test_login(page: Page) -> None:
        with client_site() as site:
            page.goto(authorize_url(redirect_uri=site.callback_url))
            ...
            hit = site.wait_for(lambda h: "code" in h["query"])

    def test_german(new_context: NewContext) -> None:
        page = new_context(locale="de-DE").new_page()

``new_context(**kwargs)`` takes ``Browser.new_context``'s keyword arguments; its locale is
``en-US`` unless given, so a page's language never depends on the host's. Every context
(and its pages) is closed after the test.

ClientSite plays TradingView: the page the gateway redirects back to. The site ignores the
port, so ClientSite and a gateway both on 127.0.0.1 are the same site to the browser: the
gateway's cookies are first-party even inside ClientSite's iframe (silent refresh).
"""

from __future__ import annotations

import copy
import html
import os
import shutil
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, NoReturn

import pytest

from tests.servers import in_ci

if TYPE_CHECKING:
    # Annotations only: without playwright the browser fixture skips (fails under CI=true)
    # instead of breaking the import of every module that uses this one.
    from playwright.sync_api import Browser, BrowserContext, Page

NewContext = Callable[..., "BrowserContext"]
"""The ``new_context`` fixture: ``Browser.new_context``'s keyword arguments, a context."""

Hit = dict[str, Any]
"""A recorded callback: ``path``, ``query_string``, ``query``, ``fragment``,
``fragment_reported`` (whether the callback page has posted its fragment, even an empty one).
"""

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def chromium_path() -> str | None:
    """The Chromium to drive: ``$GATEWAY_CHROMIUM``, else the first one on PATH.

    A set ``GATEWAY_CHROMIUM`` is returned as is, even if wrong: launching then fails and
    says why, rather than silently testing another browser.
    """
    configured = os.environ.get("GATEWAY_CHROMIUM")
    if configured:
        return configured
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _unavailable(reason: str) -> NoReturn:
    """Skip on a laptop, fail under CI=true: CI must run every browser test."""
    if in_ci():
        pytest.fail(f"{reason}; CI must run the browser tests")
    pytest.skip(reason)


class _SharedBrowser:
    """One Playwright driver and one Chromium per process.

    Each test module that imports the ``browser`` fixture gets its own session-scoped copy of
    it, and Playwright's sync API refuses a second driver in the same thread: the copies
    share this one, and the last to be torn down closes it.
    """

    def __init__(self) -> None:
        self._users = 0
        self._browser: Browser | None = None
        self._stop: Callable[[], None] | None = None

    def acquire(self) -> Browser:
        if self._browser is None:
            self._browser, self._stop = _launch()
        self._users += 1
        return self._browser

    def release(self) -> None:
        self._users -= 1
        if self._users == 0 and self._stop is not None:
            stop, self._browser, self._stop = self._stop, None, None
            stop()


def _launch() -> tuple[Browser, Callable[[], None]]:
    """A started Chromium and the function that stops it and its driver."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        _unavailable(f"playwright is not installed ({exc}); pip install -e '.[test]'")
    path = chromium_path()
    if path is None:
        _unavailable(
            "no Chromium found (chromium, chromium-browser, google-chrome or $GATEWAY_CHROMIUM);"
            " apt-get install chromium"
        )
    playwright = sync_playwright().start()
    try:
        # --no-sandbox: CI runs as root in a container, where Chromium refuses to start its
        # sandbox (it needs user namespaces); the pages are our own, so nothing is lost.
        launched = playwright.chromium.launch(
            executable_path=path, headless=True, args=["--no-sandbox"]
        )
    except BaseException:
        playwright.stop()
        raise

    def stop() -> None:
        try:
            launched.close()
        finally:
            playwright.stop()

    return launched, stop


_shared = _SharedBrowser()

# The fixtures' functions are named *_fixture and their fixture names given explicitly, so a
# test module imports them without its parameters (``page``) shadowing the imported names
# (ruff F811); pytest registers them under the given names wherever they are imported.


@pytest.fixture(scope="session", name="browser")
def browser_fixture() -> Iterator[Browser]:
    """One headless Chromium for the whole session (tests isolate through contexts)."""
    launched = _shared.acquire()
    try:
        yield launched
    finally:
        _shared.release()


@pytest.fixture(name="new_context")
def new_context_fixture(browser: Browser) -> Iterator[NewContext]:
    """A factory of fresh browser contexts (own cookies and storage); closed after the test."""
    contexts: list[BrowserContext] = []

    def make(**kwargs: Any) -> BrowserContext:
        kwargs.setdefault("locale", "en-US")
        context = browser.new_context(**kwargs)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


@pytest.fixture(name="page")
def page_fixture(new_context: NewContext) -> Page:
    """A page in a fresh context (``page.context``), closed after the test."""
    return new_context().new_page()


# The callback page: the implicit flow answers in the URL fragment, which browsers never
# send, so the page posts it back (as text, a "simple" request: no CORS preflight).
# keepalive lets the post finish even if the test navigates away at once.
_CALLBACK_PAGE = """<!doctype html>
<html><head><title>callback</title></head><body><p>callback received</p>
<script>
fetch("/fragment?hit={hit}", {{method: "POST", body: location.hash.slice(1), keepalive: true}})
  .then(() => {{ document.title = "callback reported"; }});
</script></body></html>
"""
_LOGGED_OUT_PAGE = "<!doctype html><html><head><title>logged out</title></head>" + (
    "<body><p>logged out</p></body></html>"
)
_SILENT_PAGE = "<!doctype html><html><head><title>silent</title></head>" + (
    '<body><iframe hidden src="{src}"></iframe></body></html>'
)


class ClientSite:
    """TradingView's role in OAuth tests: records the redirects back to ``callback_url``.

    Not started by its constructor: use ``client_site()``.
    """

    def __init__(self) -> None:
        self._hits: list[Hit] = []
        self._changed = threading.Condition()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{port}"
        """The base URL (no trailing slash)."""
        self.callback_url = self.url + "/callback"
        """The redirect URI: every request to it is recorded in ``hits``."""
        self.logout_return_url = self.url + "/logged-out"
        """A page that says "logged out"."""
        self._thread = threading.Thread(
            target=self._server.serve_forever, name=f"client-site-{port}", daemon=True
        )

    @property
    def hits(self) -> list[Hit]:
        """A copy of the callbacks recorded so far, oldest first."""
        with self._changed:
            return copy.deepcopy(self._hits)

    def silent_url(self, src: str) -> str:
        """The page that loads ``src`` in a hidden iframe (OAuth silent refresh)."""
        return f"{self.url}/silent?src={urllib.parse.quote(src, safe='')}"

    def wait_for(self, predicate: Callable[[Hit], bool], timeout: float = 10) -> Hit:
        """The first recorded callback matching ``predicate``, waiting up to ``timeout`` s."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for hit in self._hits:
                    if predicate(hit):
                        return copy.deepcopy(hit)
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"no matching callback within {timeout} s; recorded: {self._hits}"
                    )
                self._changed.wait(left)

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def _record(self, path: str, query_string: str) -> int:
        with self._changed:
            self._hits.append(
                {
                    "path": path,
                    "query_string": query_string,
                    "query": _parse(query_string),
                    "fragment": {},
                    "fragment_reported": False,
                }
            )
            self._changed.notify_all()
            return len(self._hits) - 1

    def _record_fragment(self, index: int, fragment: str) -> bool:
        with self._changed:
            if not 0 <= index < len(self._hits):
                return False
            self._hits[index]["fragment"] = _parse(fragment)
            self._hits[index]["fragment_reported"] = True
            self._changed.notify_all()
            return True

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urllib.parse.urlsplit(self.path)
                if url.path == "/callback":
                    index = site._record(url.path, url.query)
                    self._send(_CALLBACK_PAGE.format(hit=index))
                elif url.path == "/logged-out":
                    self._send(_LOGGED_OUT_PAGE)
                elif url.path == "/silent":
                    src = _parse(url.query).get("src", "about:blank")
                    self._send(_SILENT_PAGE.format(src=html.escape(src, quote=True)))
                else:
                    self._send("not found", HTTPStatus.NOT_FOUND)

            def do_POST(self) -> None:
                url = urllib.parse.urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode("utf-8")
                hit = _parse(url.query).get("hit", "")
                known = url.path == "/fragment" and hit.isdigit()
                if known and site._record_fragment(int(hit), body):
                    self._send("", HTTPStatus.NO_CONTENT)
                else:
                    self._send("not found", HTTPStatus.NOT_FOUND)

            def _send(self, body: str, status: HTTPStatus = HTTPStatus.OK) -> None:
                data = body.encode("utf-8")
                self.send_response(status)
                if status != HTTPStatus.NO_CONTENT:
                    self.send_header("Content-Type", "text/html; charset=utf-8")
                    self.send_header("Content-Length", str(len(data)))
                # A callback seen twice must be requested twice, never served from cache.
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                if status != HTTPStatus.NO_CONTENT:
                    self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: ``hits`` is the record, stderr is not."""

        return Handler


def _parse(encoded: str) -> dict[str, str]:
    """A query string (or fragment) as a dict; a repeated name keeps its last value."""
    return dict(urllib.parse.parse_qsl(encoded, keep_blank_values=True))


@contextmanager
def client_site() -> Iterator[ClientSite]:
    """A started ClientSite on 127.0.0.1 (random port), shut down when the block ends."""
    site = ClientSite()
    site.start()
    try:
        yield site
    finally:
        site.close()
