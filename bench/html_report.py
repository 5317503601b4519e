"""How big the HTML report of ~1,000 artifacts is, and how long headless chromium takes to open it.

    python bench/html_report.py DIR [DIR...]   # each DIR: a folder of models, e.g. 10 copies of fixtures/models

Prints, per folder: artifacts, findings, layers, page size in bytes, and the time from navigation
to the load event (the page's script has run: tables sortable, open artifacts' pictures drawn),
best of three, in headless /usr/bin/chromium. Results are recorded in bench/HTML-REPORT.md.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"


def opening_times(page_file: Path, runs: int) -> list[float]:
    """Seconds from navigation to the load event, one per run, each in a new tab of one headless
    chromium (also used by bench.py for the 1,000-file zoo)."""
    from playwright.sync_api import sync_playwright

    timings = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox"])
        for _ in range(runs):
            page = browser.new_page()
            started = time.perf_counter()
            page.goto(page_file.as_uri(), wait_until="load")
            timings.append(time.perf_counter() - started)
            page.close()
        browser.close()
    return timings


def measure(folder: Path) -> None:
    import regaudit
    from regaudit.catalog import load_catalog
    from regaudit.reporters import ReportContext, render

    result = regaudit.audit([str(folder)], {"ignore": [], "respect-gitignore": False})  # bench/.cache is gitignored
    with tempfile.TemporaryDirectory() as scratch:
        page_file = Path(scratch) / "report.html"
        with open(page_file, "w", encoding="utf-8") as stream:
            render("html", result, ReportContext(catalog=load_catalog(), root=folder), stream)
        size = page_file.stat().st_size
        timings = opening_times(page_file, 3)
    layers = sum(len(list(a.tree.layers())) for a in result.artifacts if a.tree is not None)
    findings = sum(1 for _ in result.findings)
    print(f"{folder}: {len(result.artifacts)} artifacts, {findings} findings, {layers} layers, "
          f"{size:,} bytes, opened in {min(timings):.2f} s (best of 3)")


if __name__ == "__main__":
    for argument in sys.argv[1:]:
        measure(Path(argument))
