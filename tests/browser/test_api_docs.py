"""/docs and /redoc render in Chromium with every request off the farm blocked.

FastAPI's defaults load Swagger UI and ReDoc from a CDN, so on a farm without internet
both pages were blank. Here the browser may reach only the farm itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from tests.stack import FarmStack

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.integration,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (/usr/bin/chromium)"),
]


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    stack = FarmStack(tmp_path_factory.mktemp("docs"), mode="embedded")
    try:
        stack.start_api()
        yield f"http://127.0.0.1:{stack.api_port}"
    finally:
        stack.close()


@pytest.fixture
def offline_page(api: str) -> Iterator[tuple[Any, list[str]]]:
    from playwright.sync_api import sync_playwright

    blocked: list[str] = []

    def only_the_farm(route: Any) -> None:
        if urlparse(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort("internetdisconnected")

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"])
        context = browser.new_context()
        context.route("**/*", only_the_farm)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        yield page, blocked
        browser.close()
    assert not errors, f"JavaScript errors: {errors}"


def test_swagger_ui_renders_every_operation_offline(api: str, offline_page: tuple[Any, list[str]]) -> None:
    page, blocked = offline_page
    page.goto(api + "/docs")
    page.wait_for_selector(".swagger-ui .opblock", timeout=30_000)
    assert page.locator(".opblock-summary-path", has_text="/api/v1/benchmarks").count() >= 1
    assert page.locator(".swagger-ui .info .title").inner_text().startswith("PhoneFarm")
    assert blocked == []


def test_redoc_renders_offline(api: str, offline_page: tuple[Any, list[str]]) -> None:
    page, blocked = offline_page
    page.goto(api + "/redoc")
    page.locator("h2", has_text="Submit a benchmark").first.wait_for(timeout=30_000)
    assert page.locator("h1", has_text="PhoneFarm").count() >= 1
    assert blocked == []
