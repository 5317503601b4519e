"""The HTML report: one self-contained page (inline CSS, JS and SVG) for people and CI artifacts.

Everything that comes from a model file is untrusted: every value shows its control characters
as escapes (`_escape.visible`, which also keeps a lone surrogate from failing the page), jinja2
autoescapes it, and the page's script reads the rendered table instead of embedding data, so nothing from the file is
ever placed inside `<script>`. The page loads nothing from the network.
"""

from __future__ import annotations

import base64
import hashlib
import posixpath
import re
import textwrap
from functools import lru_cache
from itertools import groupby
from pathlib import Path

from regaudit._namedtuple import NamedTuple

# Imported at module level: this module itself is imported only for --format html, so no other
# format pays for jinja2.
import jinja2
from markupsafe import Markup, escape

from regaudit import __version__
from regaudit.describe import factor, regularizer_label
from regaudit.outcomes import ArtifactResult, AuditResult, Finding, Severity, Status
from regaudit.reporters._escape import visible
from regaudit.reporters._evidence import evidence_view
from regaudit.reporters._paths import locate
from regaudit.reporters._summary import STATUS_WORDS, plural, slot_rank, summary_parts
from regaudit.tree import Layer, ModelTree, Regularizer

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TextIO

TEMPLATES = Path(__file__).parent / "templates"


class Row(NamedTuple):
    """One row of the layer table: a layer with one of its regularizers, or with none."""

    layer: Layer
    regularizer: Regularizer | None
    # A weight-bearing layer with no weight penalty: highlighted, since that is what rules look for.
    uncovered: bool
    first: bool = True  # the layer's first row carries its anchor and its findings
    index: int = 0  # the layer's position in model order, from 1
    findings: tuple[tuple[int, Finding], ...] = ()  # (number in the findings list, finding)


def render(result: AuditResult, context: Any, stream: TextIO) -> None:
    located = [locate(artifact.path, context.root).path for artifact in result.artifacts]
    prefix = _common_folder(located)
    page = _template().render(
        result=result,
        # The text report's wording, on one line: a page is wider than a terminal.
        summary="; ".join(summary_parts(result.totals())),
        scanned=_scanned(located, prefix),
        prefix=prefix,
        artifacts=[_artifact(artifact, path[len(prefix) + 1:] if prefix else path, f"a{number}")
                   for number, (artifact, path) in enumerate(zip(result.artifacts, located), start=1)],
        any_audited=bool(result.with_status(Status.OK)),
        status_words={status.value: word for status, word in STATUS_WORDS.items()},
        documented=[context.catalog.rule(code) for code in _codes_reported(result)],
        severities=list(Severity),
        version=__version__,
    )
    stream.write(page if page.endswith("\n") else page + "\n")


@lru_cache(maxsize=None)
def _template() -> jinja2.Template:
    """The page template, compiled once per process however many reports are rendered."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        finalize=_shown,
    )
    environment.filters.update(prose=_prose, factors=_factors, label=regularizer_label, csp_hash=_csp_hash)
    environment.tests["link"] = _is_link
    return environment.get_template("report.html.j2")


def _common_folder(paths: list[str]) -> str:
    """The folder every artifact path starts with, shown once instead of on every row; "" when
    there is only one artifact or nothing in common."""
    if len(paths) < 2:
        return ""
    try:
        common = posixpath.commonpath(paths)
    except ValueError:  # absolute and relative paths mixed
        return ""
    return common if common and common not in paths else (posixpath.dirname(common) if common in paths else "")


def _scanned(paths: list[str], prefix: str) -> str:
    """What the page is about, for its title: the one artifact, or how many and where."""
    if len(paths) == 1:
        return paths[0]
    where = f" in {prefix}/" if prefix else ""
    return f"{plural(len(paths), 'artifact')}{where}"


def _artifact(artifact: ArtifactResult, path: str, artifact_id: str) -> dict[str, Any]:
    tree = artifact.tree
    counts = artifact.severity_counts()
    coverage = tree.coverage() if tree is not None else None
    rows = _rows(tree, artifact.findings) if tree is not None else []
    return {
        "result": artifact,
        "path": path,
        "ok": artifact.status is Status.OK,
        # Nothing to look at: collapsed at first, so that a large scan stays quick to open.
        "clean": artifact.status is Status.OK and not artifact.findings,
        "coverage": coverage,
        "table": Markup("\n".join(_layer_row(row, artifact_id) for row in rows)),
        "layer_rows": {row.layer.path: row.index for row in rows if row.first},
        "counts": counts,
        # With --weights: the penalty chart and table, rendered by templates/_weight_penalty.html.j2.
        "evidence": evidence_view(tree, artifact.evidence) if tree is not None and artifact.evidence else None,
    }


def _rows(tree: ModelTree, findings: list[Finding]) -> list[Row]:
    numbered: dict[str, list[tuple[int, Finding]]] = {}
    for number, finding in enumerate(findings, start=1):
        if finding.layer is not None:
            numbered.setdefault(finding.layer, []).append((number, finding))
    rows = []
    for index, layer in enumerate(tree.layers(), start=1):
        uncovered = layer.is_weight_bearing and not layer.is_covered
        # Slots in the text report's reading order, so that both reports list a layer alike.
        regularizers = sorted(layer.regularizers, key=slot_rank) or [None]
        on_layer = tuple(numbered.get(layer.path, ()))
        first = Row(layer, regularizers[0], uncovered, True, index, on_layer)
        rows.append(first)
        rows += [Row(layer, regularizer, uncovered, False, index) for regularizer in regularizers[1:]]
    return rows


def _layer_row(row: Row, artifact_id: str) -> str:
    """One row of an artifact's layer table, as compact as HTML allows: end tags are implied, and
    trailing empty cells are left out (a row's bottom border is drawn by the row, so a short row
    looks complete). The page's script gives each layer's first row its id (`a3-l2`), and reads
    the origin filter and the Factors sort key from the cells, so neither is written twice.

    Row classes, one letter each since a large model has thousands of rows: `u` a weight-bearing
    layer without a weight regularizer, `w` a layer without weights, `m` a layer's further slots.
    A layer with nothing to show but its name and class is a row of two cells without a class."""
    layer, regularizer = row.layer, row.regularizer
    parent, _, leaf = layer.path.rpartition("/")
    name = f'<span class="parent">{_text(parent)}/</span>{_text(leaf)}' if parent else _text(leaf)
    if regularizer is None and not row.findings and not layer.is_weight_bearing:
        # No weights, no regularizer, no finding: its name and class are all there is to show.
        return f"<tr><td>{name}<td>{_text(layer.class_name)}"
    cells = [name, _text(layer.class_name), "" if layer.trainable else "frozen"]
    if regularizer is not None:
        label = _text(regularizer_label(regularizer))
        if regularizer.origin.value == "registered" and regularizer.registered_name:
            label += f'<span class="note">registered as {_text(regularizer.registered_name)}</span>'
        if regularizer.problem:
            label += f'<span class="note">{_text(regularizer.problem)}</span>'
        cells += [_text(regularizer.slot), label, _text(_factors(regularizer)), _text(regularizer.origin.value)]
    else:
        cells += ["", "", "", ""]
    cells.append("".join(f'<a class="badge sev-{finding.severity.value}" href="#{artifact_id}-f{number}">'
                         f'{_text(finding.rule)}</a>' for number, finding in row.findings))
    while len(cells) > 2 and cells[-1] == "":
        cells.pop()
    classes = " ".join(name for name, wanted in (("m", not row.first), ("u", row.uncovered),
                                                 ("w", not row.uncovered and not layer.is_weight_bearing))
                       if wanted)
    return (f'<tr class="{classes}">' if classes else "<tr>") + "<td>" + "<td>".join(cells)


def _text(value: str) -> str:
    """A value from the model file as the template's `{{ value }}` writes it: visible, escaped."""
    return str(escape(visible(value)))


def _codes_reported(result: AuditResult) -> list[str]:
    """Every rule and diagnostic the page mentions, documented once at its end, in code order."""
    codes = {finding.rule for finding in result.findings}
    codes |= {artifact.error.code for artifact in result.artifacts if artifact.error is not None}
    return sorted(codes)


def _shown(value: Any) -> Any:
    """Every `{{ value }}` of the template: text as `visible` writes it; markup made here kept."""
    return visible(value) if isinstance(value, str) and not isinstance(value, Markup) else value


def _is_link(reference: str) -> bool:
    return reference.startswith(("https://", "http://"))


def _factors(regularizer: Regularizer) -> str:
    return ", ".join(f"{name}={factor(value)}" for name, value in regularizer.factors.items())


def _prose(text: str) -> Markup:
    """A catalog text as HTML: blank-line paragraphs, consecutive `- ` paragraphs as one list,
    indented code kept as it is, `code` spans."""
    html = []
    for is_item, paragraphs in groupby(text.strip().split("\n\n"), key=lambda p: p.startswith("- ")):
        if is_item:
            html.append("<ul>" + "".join(f"<li>{_inline(p[2:])}</li>" for p in paragraphs) + "</ul>")
        else:
            html += [_block(paragraph) for paragraph in paragraphs]
    return Markup("\n".join(html))


def _block(paragraph: str) -> str:
    if any(line.startswith("    ") for line in paragraph.splitlines()):
        # Newlines as character references: indenting the page's source cannot shift the code.
        code = str(escape(textwrap.dedent(paragraph).strip("\n")))
        return f"<pre>{code.replace(chr(10), '&#10;')}</pre>"
    return f"<p>{_inline(paragraph)}</p>"


def _inline(text: str) -> str:
    # Escaped first, so markup in the text can only show as text; str() because re.sub on
    # Markup would escape the <code> tags it inserts.
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", str(escape(" ".join(text.split()))))


def _csp_hash(source: str) -> Markup:
    """The page's Content-Security-Policy allows its own style and script by hash and nothing
    else: should escaping ever fail, an injected script or event handler still would not run."""
    digest = hashlib.sha256(str(source).encode()).digest()
    return Markup(f"'sha256-{base64.b64encode(digest).decode()}'")  # base64 needs no escaping
