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
from regaudit.catalog import load_catalog

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
    # In-page anchors, and the catalog's references, which are links a reader follows (navigation,
    # not something the page loads).
    references = {reference for rule in load_catalog().rules.values() for reference in rule.references}
    assert all(attrs["href"].startswith("#") or attrs["href"] in references
               for _, attrs in parser.tags if "href" in attrs)
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
    """A column's text; rows of layers without weights have only their name and class cells."""
    rows = section.locator("table.layers tbody tr" + (":visible" if visible_only else ""))
    return rows.evaluate_all(f"rows => rows.map(row => row.cells[{index}] ? row.cells[{index}].textContent.trim() : '')")


def section_of(page, path: str):
    return page.locator("section.artifact", has=page.get_by_role("heading", name=path, exact=True))


@pytest.mark.browser
def test_table_shows_every_layer_and_slot_of_every_artifact(browser_page):
    page, result = browser_page
    sections = page.locator("section.artifact:has(table.layers)")
    assert [column(section, 0) for section in sections.all()] == layer_rows(result)


@pytest.mark.browser
@pytest.mark.parametrize("header, index", [("Layer", 0), ("Origin", 6), ("Regularizer", 4)])
def test_clicking_a_header_sorts_and_clicking_again_reverses(browser_page, header, index):
    page, _ = browser_page
    section = section_of(page, "fixtures/models/k3_nested.keras")
    values = column(section, index)
    filled = [value for value in values if value]
    empty = [value for value in values if not value]
    ascending = sorted(filled, key=str.lower) + empty  # lower-cased text; empty cells last
    assert values != ascending  # or the test would prove nothing
    button = section.get_by_role("button", name=header, exact=True)
    button.click()
    assert column(section, index) == ascending
    button.click()
    assert column(section, index) == sorted(filled, key=str.lower, reverse=True) + empty


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


# --- links, the network picture, the overview, collapsed sections ----------------------------------


def open_report(tmp_path, html: str):
    """A context manager giving a page with the report loaded and a log of its errors."""
    import contextlib

    require_browser()
    from playwright.sync_api import sync_playwright

    @contextlib.contextmanager
    def opened():
        report = tmp_path / "page.html"
        report.write_text(html, encoding="utf-8")
        errors: list[str] = []
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.route("**/*", lambda route: route.continue_() if route.request.url == report.as_uri() else route.abort())
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on("console", lambda message: message.type == "error" and errors.append(message.text))
            page.goto(report.as_uri())
            yield page
            assert errors == []
            browser.close()

    return opened()


@pytest.fixture
def zoo(tmp_path, monkeypatch):
    """models/: a clean model, one with findings on a layer named with a `/`, and a broken file."""
    import json

    import regaudit
    from conftest import dense

    models = tmp_path / "project" / "models"
    models.mkdir(parents=True)
    l2 = {"class_name": "L2", "config": {"l2": 0.01}}

    def model(name, layers):
        (models / name).write_text(json.dumps({"class_name": "Sequential", "keras_version": "2.15.0",
                                               "config": {"name": "m", "layers": layers}}))

    model("clean.json", [dense("a", kernel_initializer={}, kernel_regularizer=l2)])
    model("caffe.json", [
        {"class_name": "InputLayer", "config": {"name": "input", "batch_input_shape": [None, 4]}},
        dense("conv1/7x7_s2", kernel_initializer={}, kernel_regularizer="my_fn"),
        dense("fc", kernel_initializer={}, kernel_regularizer={"class_name": "L2", "config": {"l2": 1e-5}},
              bias_initializer={}, bias_regularizer={"class_name": "L1", "config": {"l1": 0.5}}),
        dense("head"),
    ])
    (models / "broken.keras").write_bytes(b"PK\x03\x04 not really")
    monkeypatch.chdir(tmp_path / "project")
    result = regaudit.audit(["models"])
    return result, rendered("html", result, root=tmp_path / "project")


def test_title_names_what_was_scanned_and_the_common_folder_is_shown_once(zoo):
    result, html = zoo
    assert "<title>regaudit: 3 artifacts in models/</title>" in html
    assert '<a href="#a1">broken.keras</a>' in html  # the overview drops the common folder
    single = rendered("html", _single(result), root=Path.cwd())
    assert "<title>regaudit: models/clean.json</title>" in single


def _single(result):
    from regaudit.outcomes import AuditResult

    one = AuditResult()
    one.artifacts = [artifact for artifact in result.artifacts if artifact.path.endswith("clean.json")]
    return one


def test_rule_references_are_links_and_rule_docs_appear_once(zoo):
    _, html = zoo
    assert html.count('id="rule-RA303"') == 1
    assert '<a href="https://' in html and 'rel="noreferrer noopener"' in html


@pytest.mark.browser
def test_findings_link_to_their_rows_and_rows_show_their_findings(zoo, tmp_path):
    _, html = zoo
    with open_report(tmp_path, html) as page:
        section = page.locator("section.artifact", has=page.get_by_role("heading", name="caffe.json", exact=True))
        finding = section.locator("ol.findings li", has_text="RA303")
        finding.get_by_role("link", name="conv1%2F7x7_s2").click()
        target = page.evaluate("location.hash")
        row = section.locator(f"tr{target}")
        assert row.is_visible() and row.locator("td").first.text_content() == "conv1%2F7x7_s2"
        badge = row.get_by_role("link", name="RA303")
        badge.click()
        assert page.evaluate("location.hash") == "#" + finding.get_attribute("id")
        fc = section.locator("tr", has_text="fc").first
        assert sorted(fc.locator("a.badge").all_text_contents()) == ["RA103", "RA105"]


@pytest.mark.browser
def test_clean_artifacts_start_collapsed_and_the_picture_is_drawn_when_opened(zoo, tmp_path):
    result, html = zoo
    with open_report(tmp_path, html) as page:
        clean = page.locator("section.artifact", has=page.get_by_role("heading", name="clean.json", exact=True))
        caffe = page.locator("section.artifact", has=page.get_by_role("heading", name="caffe.json", exact=True))
        assert clean.locator("details").evaluate("d => d.open") is False
        assert caffe.locator("details").evaluate("d => d.open") is True
        assert clean.locator(".network svg").count() == 0  # drawn only when opened
        bars = caffe.locator(".network svg rect.bar")
        assert bars.count() == 4  # every layer, in model order
        classes = bars.evaluate_all("bars => bars.map(bar => bar.getAttribute('class'))")
        assert classes == ["bar r-none", "bar r-other", "bar r-L2", "bar r-none"]
        heights = bars.evaluate_all("bars => bars.map(bar => Number(bar.getAttribute('height')))")
        assert heights[2] > heights[0] and heights[2] < 50  # 1e-5 on a log scale from 1e-7 to 1
        marks = caffe.locator(".network svg rect.mark").evaluate_all("m => m.map(x => x.getAttribute('class'))")
        assert marks == ["mark m-error", "mark m-warning"]  # RA303 on conv1/7x7_s2; RA103 (worst of fc's two)
        clean.locator("summary").click()
        # The picture is drawn on the `toggle` event, which the browser fires in a later task.
        clean.locator(".network svg rect.bar").wait_for(state="attached")
        assert clean.locator(".network svg rect.bar").count() == 1
        caffe.locator(".network svg a rect.bar").first.click()  # a bar links to its layer row (the input has none)
        assert page.evaluate("location.hash") == "#" + caffe.locator("tbody tr").nth(1).get_attribute("id")


@pytest.mark.browser
def test_factors_sort_numerically_with_empty_cells_last(zoo, tmp_path):
    _, html = zoo
    with open_report(tmp_path, html) as page:
        section = page.locator("section.artifact", has=page.get_by_role("heading", name="caffe.json", exact=True))
        button = section.get_by_role("button", name="Factors", exact=True)
        button.click()
        assert column(section, 5) == ["l2=1e-05", "l1=0.5", "", "", ""]
        button.click()
        assert column(section, 5) == ["l1=0.5", "l2=1e-05", "", "", ""]


@pytest.mark.browser
def test_the_overview_sorts_and_filters_by_status_and_severity(zoo, tmp_path):
    _, html = zoo
    with open_report(tmp_path, html) as page:
        overview = page.locator("#overview")
        paths = lambda: overview.locator("tbody tr:visible td:first-child").all_text_contents()  # noqa: E731
        assert paths() == ["broken.keras", "caffe.json", "clean.json"]
        overview.get_by_role("button", name="Warnings", exact=True).click()
        overview.get_by_role("button", name="Warnings", exact=True).click()  # descending
        assert paths()[0] == "caffe.json"
        overview.get_by_label("Status").select_option("error")
        assert paths() == ["broken.keras"]
        overview.get_by_label("Status").select_option("")
        overview.get_by_label("Severity").select_option("error")
        assert paths() == ["caffe.json"]
        assert overview.locator(".shown").text_content() == "1"


@pytest.mark.browser
def test_about_links_open_the_collapsed_rule_documentation(zoo, tmp_path):
    _, html = zoo
    with open_report(tmp_path, html) as page:
        documentation = page.locator("#rule-RA303 details")
        assert documentation.evaluate("d => d.open") is False
        page.get_by_role("link", name="About RA303").click()
        # The rule's docs are opened on `hashchange`, which the browser fires in a later task.
        page.wait_for_function("() => document.querySelector('#rule-RA303 details').open", timeout=5000)
        assert documentation.evaluate("d => d.open") is True


def test_a_thousand_clean_artifacts_stay_well_under_two_megabytes(zoo):
    """Clean artifacts are collapsed summaries with their table; rule docs are written once."""
    result, _ = zoo
    from regaudit.outcomes import AuditResult

    (clean,) = [artifact for artifact in result.artifacts if artifact.path.endswith("clean.json")]
    many = AuditResult()
    for index in range(1000):
        copy = type(clean)(f"models/group_{index // 100}/model_{index}.json", clean.status, format=clean.format,
                           keras_version=clean.keras_version, tree=clean.tree, findings=[])
        many.artifacts.append(copy)
    page = rendered("html", many)
    assert len(page.encode()) < 1_000_000
