"""The browser harness itself (tests/browser.py): a real Chromium against ClientSite."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from tests.browser import (
    PNG_SIGNATURE,
    NewContext,
    browser_fixture,  # noqa: F401 (fixtures: pytest finds them in the module)
    client_site,
    new_context_fixture,  # noqa: F401
    page_fixture,  # noqa: F401
)

if TYPE_CHECKING:
    # For annotations only: without playwright the tests skip (or fail under CI=true) in the
    # browser fixture instead of breaking collection.
    from playwright.sync_api import Page


def test_the_browser_opens_a_page_of_the_client_site(page: Page) -> None:
    with client_site() as site:
        response = page.goto(site.logout_return_url)
        assert response is not None and response.ok
        assert page.inner_text("body") == "logged out"


def test_a_fragment_is_recorded_decoded(page: Page) -> None:
    # The implicit flow's answer: in the fragment, which only the page's script can report.
    with client_site() as site:
        page.goto(site.callback_url + "#access_token=a%20b&state=xyz")
        hit = site.wait_for(lambda h: h["fragment_reported"])
    assert hit["path"] == "/callback"
    assert hit["query"] == {}
    assert hit["fragment"] == {"access_token": "a b", "state": "xyz"}


def test_a_query_callback_is_recorded(page: Page) -> None:
    with client_site() as site:
        page.goto(site.callback_url + "?code=c%2B1&state=s1")
        hit = site.wait_for(lambda h: h["fragment_reported"])
    assert hit["query_string"] == "code=c%2B1&state=s1"
    assert hit["query"] == {"code": "c+1", "state": "s1"}
    assert hit["fragment"] == {}
    assert len(site.hits) == 1


def test_the_silent_page_loads_its_hidden_iframe(page: Page) -> None:
    with client_site() as site:
        src = site.callback_url + "?prompt=none#access_token=t2&state=s2"
        page.goto(site.silent_url(src))
        hit = site.wait_for(lambda h: h["fragment_reported"])
        assert page.locator("iframe").is_hidden()
        assert [frame.url for frame in page.frames[1:]] == [src]
    assert hit["query"] == {"prompt": "none"}
    assert hit["fragment"] == {"access_token": "t2", "state": "s2"}


def test_contexts_are_isolated_and_take_a_locale(new_context: NewContext) -> None:
    german = new_context(locale="de-DE").new_page()
    default = new_context().new_page()
    assert german.evaluate("navigator.language") == "de-DE"
    assert default.evaluate("navigator.language") == "en-US"
    assert german.context is not default.context


def test_a_screenshot_is_a_png(page: Page, tmp_path: Path) -> None:
    shot = tmp_path / "page.png"
    with client_site() as site:
        page.goto(site.logout_return_url)
        page.screenshot(path=shot)
    data = shot.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    assert len(data) > len(PNG_SIGNATURE)
