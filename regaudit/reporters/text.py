"""The default human report: per artifact, the regularized layers, coverage, findings, a summary,
and a last line that says why the run failed.

The report fits `context.width` columns (the terminal's on a TTY, 100 otherwise). Nothing is
cut to fit: a cell too long for its column wraps onto the next lines, so a regularizer's factors
are always shown whole. Findings with the same rule, severity and message on several layers are
shown once, with every place they occur. With `context.quiet`, only the findings and the inputs
that could not be read are printed, one line each, as in the concise format.

Everything taken from a model file or a file name passes through `_escape.log_text` before it is
painted: control characters show as escapes, and no name acts on the terminal or the CI log.
Wrapping is linear in the length of the text, however long a name is.
"""

from __future__ import annotations

import re
from collections import defaultdict
from functools import lru_cache

from regaudit.describe import regularizer_label
from regaudit import reporters
from regaudit.outcomes import ArtifactResult, Finding, RunTotals, Severity, Status
from regaudit.reporters import DEFAULT_WIDTH, concise
from regaudit.reporters._escape import log_text
from regaudit.reporters._paths import place
from regaudit.reporters._summary import (
    NOTHING_AUDITED,
    STATUS_WORDS,
    counts,
    plural,
    slot_rank,
    summary_parts,
    verdict_line,
)
from regaudit.tree import ModelTree

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TextIO
    from regaudit.evidence import Evidence

INDENT = "  "
WIDTH = DEFAULT_WIDTH  # off a terminal; the command line passes the terminal's width in the context
MESSAGE_INDENT = INDENT * 4
_COLUMNS = ("layer", "class", "slot", "regularizer", "origin")
_GAP = "  "
# When a table is too wide, the class column gives way first (down to _CLASS_WIDTH), then the
# widest of layer and regularizer, down to _MIN_WIDTH; cells longer than their column wrap.
_CLASS_WIDTH = 16
_SHRINKABLE = (0, 3)
_MIN_WIDTH = 10
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_SEVERITY_STYLE = {Severity.ERROR: "red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}
_STATUS_STYLE = {Status.OK: "green", Status.SKIPPED: "yellow", Status.ERROR: "red"}


class Reporter(reporters.Reporter):
    """Each artifact's section as it arrives; the configuration findings and the summary at the end.
    With `context.quiet`, the concise format's finding lines instead."""

    def __init__(self, context: Any, stream: TextIO) -> None:
        super().__init__(context, stream)
        self.report = _Report(context)
        self.quiet = concise.Reporter(context, stream) if context.quiet else None

    def piece(self, artifact: ArtifactResult) -> str:
        if self.quiet is not None:
            return self.quiet.piece(artifact)
        return "\n".join(self.report.artifact(artifact)) + "\n\n"

    def end(self, totals: RunTotals) -> None:
        if self.quiet is not None:
            self.quiet.end(totals)
            return
        if totals.configuration:
            lines = [self.report.paint("configuration", "bold")]
            for finding, places in _grouped(totals.configuration):
                lines += self.report.finding(finding, places)
            self.stream.write("\n".join(lines) + "\n\n")
        self.stream.write(self.report.summary(totals) + "\n")


class _Report:
    def __init__(self, context: Any) -> None:
        self.width = max(context.width, 40)
        self.paint = _Painter(context.color)
        self.context = context

    def artifact(self, artifact: ArtifactResult) -> list[str]:
        lines = [self.heading(artifact)]
        if artifact.error is not None:
            return lines + self.wrapped(f"{artifact.error.code} {log_text(artifact.error.message)}", INDENT)
        assert artifact.tree is not None
        lines += self.regularizer_table(artifact.tree, artifact.evidence)
        coverage = artifact.tree.coverage()
        lines.append(
            f"{INDENT}{coverage.covered} of {coverage.weight_bearing} weight-bearing layers carry a weight regularizer"
        )
        if artifact.evidence is not None:
            lines += self.wrapped(_penalty_summary(artifact.evidence), INDENT)
        for finding, places in _grouped(artifact.findings):
            lines += self.finding(finding, places)
        tally = counts(artifact.severity_counts())
        if artifact.suppressed:
            tally += f"; {artifact.suppressed} suppressed by configuration or baseline"
        lines.append(INDENT + tally)
        return lines

    def heading(self, artifact: ArtifactResult) -> str:
        details = [log_text(artifact.format or "")]
        if artifact.keras_version:
            version = log_text(artifact.keras_version)
            details.append(f"Keras {version}" if version[:1].isdigit() else version)  # "tfjs-layers 4.22.0"
        status = ""
        if artifact.status is not Status.OK:
            status = " " + self.paint(STATUS_WORDS[artifact.status], _STATUS_STYLE[artifact.status])
        described = f"  ({', '.join(d for d in details if d)})" if artifact.format else ""
        return self.paint(log_text(artifact.path), "bold") + described + status

    def regularizer_table(self, tree: ModelTree, evidence: Evidence | None = None) -> list[str]:
        """With --weights (`evidence`), a last column gives the penalty Keras adds for each slot."""
        if evidence is not None:  # imported here: only --weights needs it
            from regaudit.reporters._evidence import penalty_cell
        rows = [
            tuple(map(log_text, (layer.path, layer.class_name, regularizer.slot, regularizer_label(regularizer),
                                 regularizer.origin.value)))
            + ((penalty_cell(evidence.slots.get((layer.path, regularizer.slot))),) if evidence is not None else ())
            for layer in tree.layers()
            for regularizer in sorted(layer.regularizers, key=slot_rank)
        ]
        if not rows:
            return [f"{INDENT}no regularizers"]
        columns = _COLUMNS + (("penalty",) if evidence is not None else ())
        widths = self.column_widths(rows, columns)
        header = INDENT + _GAP.join(name.upper().ljust(width) for name, width in zip(columns, widths)).rstrip()
        lines = [self.paint(header, "dim")]
        for row in rows:
            lines += _table_row(row, widths)
        return lines

    def column_widths(self, rows: list[tuple[str, ...]], columns: tuple[str, ...] = _COLUMNS) -> list[int]:
        widths = [max(len(header), *(len(row[i]) for row in rows)) for i, header in enumerate(columns)]
        budget = self.width - len(INDENT) - len(_GAP) * (len(columns) - 1)
        widths[1] = max(len(columns[1]), min(widths[1], _CLASS_WIDTH, widths[1] - (sum(widths) - budget)))
        _shrink_widest(widths, sum(widths) - budget)
        return widths

    def finding(self, finding: Finding, places: list[str]) -> list[str]:
        return _finding_lines(finding, self.paint, places, self.width)

    def summary(self, totals: RunTotals) -> str:
        artifacts, findings = summary_parts(totals)
        fits = len(artifacts) + len(findings) + 2 <= self.width
        lines = [self.paint(f"{artifacts}; {findings}" if fits else f"{artifacts}\n{findings}", "bold")]
        verdict = verdict_line(totals, self.context)
        if not totals.status_count(Status.OK) and not (verdict and "nothing was audited" in verdict):
            lines.append(self.paint(NOTHING_AUDITED, "bold"))
        if verdict:
            lines.append(self.paint(verdict, "red"))
        return "\n".join(lines)

    def wrapped(self, text: str, indent: str) -> list[str]:
        return _wrapped(text, indent, self.width)


def _penalty_summary(evidence: Evidence) -> str:
    if evidence.problem is not None:
        return f"weights not read: {evidence.problem}"
    text = f"weight penalty at the stored weights: {evidence.total_penalty:.6g}"
    if evidence.not_computed:
        text += f"; {plural(evidence.not_computed, 'slot')} not computed (n/a; the JSON report says why)"
    unmapped = sum(1 for _, weight in evidence.all_weights() if not weight.mapped)
    if unmapped:
        text += f"; {plural(unmapped, 'stored variable')} not mapped to a weight"
    return text


def _finding_lines(finding: Finding, paint: "_Painter", places: list[str] | None = None, width: int = WIDTH) -> list[str]:
    """`RA303 error   function-regularizer  d kernel_regularizer`, then the message, wrapped;
    with several places (grouped findings), `on 3: a ..., b ..., c ...` below the first line.
    Shared with the diff report."""
    places = [log_text(where) for where in places or [place(finding) or "(model)"]]
    severity = paint(finding.severity.value.ljust(7), _SEVERITY_STYLE[finding.severity])
    head = f"{INDENT}{finding.rule} {severity} {finding.name}"
    if len(places) > 1:
        lines = [head] + _wrapped(f"on {len(places)}: " + ", ".join(places), MESSAGE_INDENT, width)
    elif _visible_length(head) + 2 + len(places[0]) <= width:
        lines = [f"{head}  {places[0]}"]
    else:
        lines = [head] + _wrapped(places[0], MESSAGE_INDENT, width)
    return lines + _wrapped(log_text(finding.message), MESSAGE_INDENT, width)


def _wrapped(text: str, indent: str, width: int = WIDTH) -> list[str]:
    """Prose wrapped to `width`, every line indented; shared with the diff report."""
    lines = _wrapped_plainly(text, indent, width)
    if lines is not None:
        return lines
    wrapper = _linear_wrapper()(width, initial_indent=indent, subsequent_indent=indent, break_on_hyphens=False)
    return wrapper.wrap(text) or [indent.rstrip()]


# What textwrap would change or split on besides single spaces (its whitespace is ASCII's).
_NOT_PLAIN = ("  ", "\t", "\n", "\x0b", "\x0c", "\r")


def _wrapped_plainly(text: str, indent: str, width: int) -> list[str] | None:
    """What `_linear_wrapper` makes of the usual message, at a fraction of textwrap's cost: words
    that each fit on a line, one space between them. None for any other text (tabs, line breaks,
    runs of spaces, a word too long for a line, a word that str.strip reads as blank), which is
    left to textwrap. Greedy, as textwrap is: a line takes words while they fit with one space
    between, and the space at a break disappears."""
    if not text or text[0] == " " or text[-1] == " " or any(mark in text for mark in _NOT_PLAIN):
        return None
    room = width - len(indent)
    lines: list[str] = []
    line = ""
    for word in text.split(" "):
        if len(word) > room or not word.strip():
            return None
        if not line:
            line = word
        elif len(line) + 1 + len(word) <= room:
            line += " " + word
        else:
            lines.append(indent + line)
            line = word
    lines.append(indent + line)
    return lines


@lru_cache(maxsize=None)
def _linear_wrapper() -> type:
    """The wrapper class, made on first use: textwrap compiles its patterns at import, and only text
    that `_wrapped_plainly` leaves over needs it."""
    import textwrap

    class LinearWrapper(textwrap.TextWrapper):
        """textwrap, with each word longer than a line cut into line-long pieces up front.

        textwrap cuts a long word one line at a time and copies the rest of it each time, which is
        quadratic in the word's length (a 16 MB layer name took minutes). Pieces of exactly one line
        are never cut again, so wrapping is linear. A long word starts on a line of its own.
        """

        def _split(self, text: str) -> list[str]:
            room = max(1, self.width - len(self.subsequent_indent))
            chunks = []
            for chunk in super()._split(text):
                if len(chunk) <= room:
                    chunks.append(chunk)
                else:
                    chunks += [chunk[start : start + room] for start in range(0, len(chunk), room)]
            return chunks

    return LinearWrapper


def _shrink_widest(widths: list[int], excess: int) -> None:
    """Take `excess` columns from the wider of the two shrinkable columns, one at a time (the
    first on a tie), never below _MIN_WIDTH: computed at once rather than one step per column, as
    a 16 MB layer name would otherwise take 16 million steps."""
    first, second = _SHRINKABLE
    while excess > 0:
        wider, other = (first, second) if widths[first] >= widths[second] else (second, first)
        if widths[wider] <= _MIN_WIDTH:
            return
        if widths[wider] > widths[other]:  # down to the other's width first
            cut = min(excess, widths[wider] - max(widths[other], _MIN_WIDTH))
            widths[wider] -= cut
            excess -= cut
            continue
        pairs = min(excess // 2, widths[first] - _MIN_WIDTH)  # equal: both, in turn
        widths[first] -= pairs
        widths[second] -= pairs
        excess -= 2 * pairs
        if excess == 1 and widths[first] > _MIN_WIDTH:
            widths[first] -= 1
        return


def _grouped(findings: list[Finding]) -> list[tuple[Finding, list[str]]]:
    """Findings with the same rule, severity and message, once each, with every place they occur
    (in the order of their first occurrence)."""
    places: dict[tuple, list[str]] = defaultdict(list)
    first: dict[tuple, Finding] = {}
    for finding in findings:
        key = (finding.rule, finding.severity, finding.message)
        first.setdefault(key, finding)
        places[key].append(place(finding) or "(model)")
    return [(finding, places[key]) for key, finding in first.items()]


def _table_row(row: tuple[str, ...], widths: list[int]) -> list[str]:
    """One table row, each cell wrapped to its column: as many lines as its tallest cell."""
    if all(len(cell) <= width for cell, width in zip(row, widths)):  # the usual row: one line
        return [INDENT + _GAP.join(_one_line(cell).ljust(width) for cell, width in zip(row, widths)).rstrip()]
    cells = [_wrap_cell(cell, width) for cell, width in zip(row, widths)]
    height = max(len(cell) for cell in cells)
    lines = []
    for index in range(height):
        parts = [(cell[index] if index < len(cell) else "").ljust(width) for cell, width in zip(cells, widths)]
        lines.append(INDENT + _GAP.join(parts).rstrip())
    return lines


def _wrap_cell(text: str, width: int) -> list[str]:
    """Greedy lines of at most `width`, broken after a space or a `/` where possible
    (`L1L2(l1=0.01, ` / `l2=0.001)`, `block/` / `conv`), inside a word only when it is longer."""
    if len(text) <= width:  # the usual cell: one line, which _wrap_long_cell would leave whole
        return [_one_line(text)]
    return _wrap_long_cell(text, width)


def _one_line(text: str) -> str:
    """A cell that fits its column, as `_wrap_long_cell` writes it: trailing spaces dropped."""
    return text.rstrip() if text.strip() else ""


def _wrap_long_cell(text: str, width: int) -> list[str]:
    lines = [""]
    for token in re.findall(r"[^ /]*(?:/| +|$)", text):
        if not token:
            continue
        if len(lines[-1]) + len(token.rstrip()) > width and lines[-1]:
            lines[-1] = lines[-1].rstrip()
            lines.append("")
        # A word longer than the column is cut by position, never by copying what is left of it:
        # linear, however long the word.
        stripped, start = len(token.rstrip()), 0
        while len(lines[-1]) + stripped - start > width:
            room = width - len(lines[-1])
            lines[-1] += token[start : start + room]
            start += room
            lines.append("")
        lines[-1] += token[start:]
    return [line.rstrip() for line in lines if line.strip()] or [""]


def _visible_length(text: str) -> int:
    return len(_ANSI.sub("", text))


class _Painter:
    """ANSI styling, or none at all when colour is off."""

    _CODES = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33", "cyan": "36"}

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __call__(self, text: str, style: str) -> str:
        if not self.enabled or not text:
            return text
        return f"\x1b[{self._CODES[style]}m{text}\x1b[0m"
