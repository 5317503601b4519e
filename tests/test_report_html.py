"""The HTML report: its golden file, escaping of untrusted names, and the page in a real browser.

The browser tests drive Debian's chromium (/usr/bin/chromium) through Playwright, offline; they
skip on a developer machine without either and fail in CI.
"""

from __future__ import annotations

import os
from html.parser import HTMLParser
from pathlib import Path

import pytest

from conftest import assert_golden, rendered

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
# What tests/data/hostile_names.json holds, and how each must appear in the page.
HOSTILE = {
    "<img src=x onerror=alert(1)>": "&lt;img src=x onerror=alert(1)&gt;",
    "</script><script>alert(1)</script>": "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;",
    "\"quotes' & <ampersands>": "&#34;quotes&#39; &amp; &lt;ampersands&gt;",
}


def test_html_report_matches_its_golden_file(golden_result):
    assert_golden("report.html", rendered("html", golden_result))


def test_untrusted_names_are_escaped_everywhere(golden_result):
    page = rendered("html", golden_result)
    for raw, escaped in HOSTILE.items():
        assert raw not in page
        assert escaped in page
    assert "<img" not in page and "<script>alert" not in page


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def test_page_loads_nothing_and_runs_only_its_own_script(golden_result):
    page = rendered("html", golden_result)
    parser = _Tags()
    parser.feed(page)
    assert [tag for tag, _ in parser.tags].count("script") == 1
    assert not any(attrs.get("src") is not None for _, attrs in parser.tags)
    assert all(attrs["href"].startswith("#") for _, attrs in parser.tags if "href" in attrs)
    assert not any(name.startswith("on") for _, attrs in parser.tags for name in attrs)
    assert "@import" not in page and "url(" not in page
    # Defence in depth: the policy forbids every request and any script or style but the page's own.
    (policy,) = [attrs["content"] for tag, attrs in parser.tags if attrs.get("http-equiv") == "Content-Security-Policy"]
    assert policy.startswith("default-src 'none'; style-src 'sha256-")


# --- in a browser ---------------------------------------------------------------------------------


@pytest.fixture
def browser_page(golden_result, tmp_path):
    """The golden report opened from a file in headless chromium, with everything it does recorded."""
    require_browser()
    from playwright.sync_api import sync_playwright

    report = tmp_path / "report.html"
    report.write_text(rendered("html", golden_result), encoding="utf-8")
    log = {"requests": [], "errors": [], "dialogs": []}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("request", lambda request: log["requests"].append(request.url))
        # Anything but the report itself is aborted, should the page ever ask for more.
        page.route("**/*", lambda route: route.continue_() if route.request.url == report.as_uri() else route.abort())
        page.on("console", lambda message: message.type == "error" and log["errors"].append(message.text))
        page.on("pageerror", lambda error: log["errors"].append(str(error)))
        page.on("dialog", lambda dialog: (log["dialogs"].append(dialog.message), dialog.dismiss()))
        page.goto(report.as_uri())
        yield page, golden_result
        # Checked after each test's clicks and typing as well as after loading.
        assert log == {"requests": [report.as_uri()], "errors": [], "dialogs": []}
        browser.close()


def require_browser() -> None:
    """Like conftest.require: skipped without Playwright or chromium here, a failure in CI."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing = "the playwright package"
    else:
        missing = "" if CHROMIUM.is_file() else f"{CHROMIUM} (apt-get install chromium)"
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"browser tests need {missing}")
        pytest.skip(f"browser tests need {missing}")


def layer_rows(result) -> list[list[str]]:
    """Per audited artifact, the Layer column the table must show: a row per regularized slot."""
    return [
        [layer.path for layer in artifact.tree.layers() for _ in layer.regularizers or [None]]
        for artifact in result.artifacts
        if artifact.tree is not None
    ]


def column(section, index: int, visible_only: bool = False) -> list[str]:
    rows = section.locator("table.layers tbody tr" + (":visible" if visible_only else ""))
    return rows.evaluate_all(f"rows => rows.map(row => row.cells[{index}].textContent.trim())")


def section_of(page, path: str):
    return page.locator("section.artifact", has=page.get_by_role("heading", name=path, exact=True))


@pytest.mark.browser
def test_table_shows_every_layer_and_slot_of_every_artifact(browser_page):
    page, result = browser_page
    sections = page.locator("section.artifact:has(table.layers)")
    assert [column(section, 0) for section in sections.all()] == layer_rows(result)


@pytest.mark.browser
@pytest.mark.parametrize("header, index", [("Layer", 0), ("Origin", 7), ("Regularizer", 5)])
def test_clicking_a_header_sorts_and_clicking_again_reverses(browser_page, header, index):
    page, _ = browser_page
    section = section_of(page, "fixtures/models/k3_nested.keras")
    values = column(section, index)
    ascending = sorted(values, key=str.lower)  # the page compares lower-cased text
    assert values != ascending  # or the test would prove nothing
    button = section.get_by_role("button", name=header, exact=True)
    button.click()
    assert column(section, index) == ascending
    button.click()
    assert column(section, index) == sorted(values, key=str.lower, reverse=True)


@pytest.mark.browser
def test_typing_in_the_filter_keeps_only_matching_rows(browser_page):
    page, result = browser_page
    section = section_of(page, "fixtures/models/k3_nested.keras")
    section.get_by_role("searchbox").fill("lvl2")
    expected = [path for path in layer_rows(result)[2] if "lvl2" in path]
    assert column(section, 0, visible_only=True) == expected
    assert section.locator(".shown").text_content() == str(len(expected))

    hostile = section_of(page, "tests/data/hostile_names.json")
    hostile.get_by_role("searchbox").fill("<img")
    assert column(hostile, 0, visible_only=True) == ["<img src=x onerror=alert(1)>"]
    hostile.get_by_role("searchbox").fill("")
    hostile.get_by_role("combobox").select_option("none")
    assert column(hostile, 0, visible_only=True) == ["in"]


@pytest.mark.browser
def test_report_page_screenshot(browser_page, tmp_path, request):
    """A full-page screenshot as a test artifact; REGAUDIT_SCREENSHOT=PATH also saves the top of
    the page there (docs/html-report.png, shown in the README)."""
    page, _ = browser_page
    page.screenshot(path=tmp_path / "html-report.png", full_page=True)
    if target := os.environ.get("REGAUDIT_SCREENSHOT"):
        # Relative to where pytest was started: the golden fixture moves into the repository root.
        path = request.config.invocation_params.dir / target
        path.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=path)
