"""Reporters render finished results; they never filter, read config or load files.

A report is written as a run goes: a :class:`Reporter` is given `begin()`, then `artifact(a)` for
each artifact's finished result in input order (suppressions applied), then `end(totals)` with
the run's :class:`RunTotals` (counts for the summary, configuration findings, the gate). The
command line feeds its reporters from the engine's stream (`regaudit.engine.Audit`), so that
each artifact is rendered while the next ones are examined, and then forgotten: memory stays
flat with the number of files. `render(format, result, ...)` feeds the same reporter from a
finished :class:`AuditResult`, for library callers: one rendering code per format serves both.

Each format is one module exposing a ``Reporter`` class (a subclass of :class:`Reporter`): one
that writes each artifact's part as it arrives (text, concise, JSON), or one whose layout needs
something of the whole run first (SARIF's rules list, JUnit's counts, Markdown's outcome) and so
keeps each artifact's part as compact text and writes the document at its end. A module that
needs whole artifacts until the end exposes ``render(result, context, stream)`` instead, and is
given a finished AuditResult (:class:`WholeRun` keeps the artifacts until then; HTML). With
`--jobs`, `Pieces` has the workers render each artifact's parts. What a reporter needs beyond the
results (the catalog for rule documentation, and presentation settings resolved once by the
command line) comes in the :class:`ReportContext`.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from regaudit._namedtuple import NamedTuple
from regaudit.catalog import Catalog
from regaudit.outcomes import ArtifactResult, AuditResult, RunTotals, Severity

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Iterable, Sequence, TextIO
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


class Reporter:
    """One report being written to `stream`: `begin()`, `artifact(a)` per finished artifact in
    input order, then `end(totals)`. A subclass keeps only what its end needs.

    `piece(artifact)` is the artifact's part of the report, rendered from the artifact and the
    context alone, so that a worker process can render it (see `Pieces`); `artifact()` is then
    given the piece, and an artifact without its tree and evidence.
    """

    spec: tuple[str, ReportContext, dict[str, Any]]  # set by `reporter()`: how to make it again
    # Whether `piece()` can be rendered in a worker process: from the artifact and context alone.
    in_workers = True

    def __init__(self, context: ReportContext, stream: TextIO) -> None:
        self.context = context
        self.stream = stream

    def begin(self) -> None:
        """Called once, before the first artifact."""

    def piece(self, artifact: ArtifactResult) -> Any:
        """The artifact's part of the report: its text, or for a report that assembles its parts
        at the end, any picklable value; None for a report that renders nothing per artifact."""
        raise NotImplementedError

    def artifact(self, artifact: ArtifactResult, piece: Any = None) -> None:
        """Take one finished artifact, with its piece when a worker rendered it already."""
        self.stream.write(self.piece(artifact) if piece is None else piece)

    def end(self, totals: RunTotals) -> None:
        raise NotImplementedError


class WholeRun(Reporter):
    """A format that needs the whole run before its first artifact: the artifacts are kept, and
    the module's `render(result, context, stream)` is given the finished AuditResult at the end.
    Memory grows with the run, as it did before the reports were streamed; no piece is rendered
    ahead."""

    in_workers = False

    def __init__(self, context: ReportContext, stream: TextIO, render: Callable[..., None]) -> None:
        super().__init__(context, stream)
        self.render = render
        self.result = AuditResult()

    def artifact(self, artifact: ArtifactResult, piece: Any = None) -> None:
        self.result.artifacts.append(artifact)

    def end(self, totals: RunTotals) -> None:
        self.result.configuration = totals.configuration
        self.result.fail_on = totals.fail_on
        self.render(self.result, self.context, self.stream)


def reporter(format: str, context: ReportContext, stream: TextIO | None, **options: Any) -> Reporter:
    """The reporter of `format` (one of FORMATS, or "statistics"), writing to `stream`."""
    # Imported on demand: the text path must not pay for the others.
    module = importlib.import_module(f"regaudit.reporters.{format}")
    if hasattr(module, "Reporter"):
        made = module.Reporter(context, stream, **options)
    else:
        made = WholeRun(context, stream, module.render)
    made.spec = (format, context, options)  # what a worker needs to make the same reporter
    return made


class Pieces:
    """Renders an artifact's piece of each of a run's reports, in a worker process: a picklable
    list of (format, context, options), whose reporters are made once per process, without a
    stream. Returns one piece per report, in the reports' order."""

    def __init__(self, reporters: Sequence[Reporter]) -> None:
        self.specs = [each.spec for each in reporters]
        self.reporters: list[Reporter] | None = None

    @classmethod
    def of(cls, reporters: Sequence[Reporter]) -> "Pieces | None":
        """The pieces of these reports, or None when one of them cannot render its pieces in a
        worker (WholeRun, which keeps whole artifacts; a report that counts across the run)."""
        return cls(reporters) if all(each.in_workers for each in reporters) else None

    def __call__(self, artifact: ArtifactResult) -> tuple[Any, ...]:
        if self.reporters is None:
            self.reporters = [reporter(format, context, None, **options) for format, context, options in self.specs]
        return tuple(each.piece(artifact) for each in self.reporters)

    def __getstate__(self) -> dict[str, Any]:
        return {"specs": self.specs, "reporters": None}


def feed(reporters: Sequence[Any], artifacts: Iterable[ArtifactResult], totals: Callable[[], RunTotals]) -> None:
    """Give every reporter each artifact as it comes, then the run's totals (`totals()` is called
    once the artifacts are exhausted: a streaming run knows them only then). An artifact that
    carries `pieces` (rendered by a worker, see `Pieces`) hands the first reporters theirs."""
    for each in reporters:
        each.begin()
    for artifact in artifacts:
        pieces = artifact.pieces or ()
        for index, each in enumerate(reporters):
            each.artifact(artifact, pieces[index] if index < len(pieces) else None)
    finished = totals()
    for each in reporters:
        each.end(finished)


def render(format: str, result: AuditResult, context: ReportContext, stream: TextIO) -> None:
    """Render a finished result: the format's reporter fed from it."""
    feed([reporter(format, context, stream)], result.artifacts, result.totals)


def render_diff(format: str, result: "DiffResult", context: ReportContext, stream: TextIO) -> None:
    """Render a `regaudit diff` result (regaudit.diff.DiffResult) in one of DIFF_FORMATS."""
    module = importlib.import_module(f"regaudit.reporters.diff_{format}")
    module.render(result, context, stream)
