"""Reporters render a finished :class:`AuditResult`; they never filter, read config or load files.

Each format is one module exposing ``render(result, context, stream)``. What a reporter needs
beyond the result (the catalog for rule documentation, and presentation settings resolved once
by the command line) comes in the :class:`ReportContext`.
"""

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, TextIO

from regaudit.catalog import Catalog
from regaudit.outcomes import AuditResult, Severity

if TYPE_CHECKING:
    from regaudit.diff import DiffResult

# Every format `--format` accepts, in the order the help lists them.
FORMATS = ("text", "concise", "json", "html", "sarif", "junit", "github", "markdown")
# The formats of `regaudit diff`, rendered by the diff_<format> module beside each format's reporter.
DIFF_FORMATS = ("text", "json", "markdown", "github")
# Width of the text report when standard output is not a terminal.
DEFAULT_WIDTH = 100


class ReportContext(NamedTuple):
    catalog: Catalog
    color: bool = False  # ANSI colour, for a terminal
    fail_on: Severity | None = Severity.ERROR  # the run's gate: JUnit failures follow it
    root: Path = Path(".")  # artifact paths are shown relative to this folder where they can be
    width: int = DEFAULT_WIDTH  # columns of the text report: the terminal's, or DEFAULT_WIDTH
    quiet: bool = False  # --quiet: only findings and unreadable inputs, one line each
    exit_zero: bool = False  # --exit-zero: findings never fail the run
    require_audit: bool = True  # False with --ignore-unknown: a run that audits nothing passes


def render(format: str, result: AuditResult, context: ReportContext, stream: TextIO) -> None:
    # Imported on demand: the text path must not pay for the others.
    module = importlib.import_module(f"regaudit.reporters.{format}")
    module.render(result, context, stream)


def render_diff(format: str, result: "DiffResult", context: ReportContext, stream: TextIO) -> None:
    """Render a `regaudit diff` result (regaudit.diff.DiffResult) in one of DIFF_FORMATS."""
    module = importlib.import_module(f"regaudit.reporters.diff_{format}")
    module.render(result, context, stream)
