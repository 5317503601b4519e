"""Untrusted text at the boundary of every report: the one place where names from model files are
made safe for the terminal, CI log, pull-request comment, XML reader or browser that shows them.

Layer, class and module names, versions, messages that quote them, and file names can hold any
character: a model file is JSON or HDF5, and a file name on Linux is any bytes (Python hands the
bytes that are not UTF-8 over as lone surrogates, U+DC80 to U+DCFF). Every reporter passes such text
through one of the functions below just before it is written:

- :func:`visible` for plain text (HTML, and inside every other escaper): control characters, lone
  surrogates, line and paragraph separators and bidirectional overrides become visible escapes
  (`\\n`, `\\x1b`, `\\u202e`, `\\udcff`), so a name cannot end a line, move the cursor, set a
  terminal's title, reorder what is shown, or make writing the report fail. A backslash is left as
  it is (Windows paths), so a name that holds the text `\\n` looks like one that held a newline;
  both are shown on one line.
- :func:`log_text` for the text report, which goes to terminals and CI logs: `visible`, and no
  GitHub Actions workflow command can be formed (see there).
- :func:`workflow_data`, :func:`workflow_lines` and :func:`workflow_property` for GitHub Actions
  workflow commands.
- :func:`markdown_text`, :func:`markdown_code` and :func:`markdown_html` for GitHub Markdown.
- :func:`xml_text` for JUnit XML.
- :func:`json_for_logs` for JSON documents (JSON and SARIF), which are often printed to CI logs.

JSON and SARIF keep names exactly (they are data, and `json` escapes what JSON must), and SARIF URIs
percent-encode a file name's bytes (`_paths.Located.uri`).
"""

from __future__ import annotations

import re

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Sequence


class _Deferred:
    """A regular expression compiled when first used. Each report format needs only some of the
    patterns below, and compiling them all cost ~2.5 ms at import (the XML one alone ~1.7 ms)."""

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self._pattern = pattern
        self._flags = flags

    def __getattr__(self, name: str):
        # Only reached until the first compile: then sub and findall are the compiled pattern's own.
        compiled = re.compile(self._pattern, self._flags)
        self.sub = compiled.sub
        self.findall = compiled.findall
        return getattr(compiled, name)


# C0 and C1 controls, DEL, lone surrogates, the Unicode line and paragraph separators, and the
# bidirectional marks, embeddings, overrides and isolates ("Trojan Source", CVE-2021-42574).
_FORMAT_CONTROLS = "\x7f-\x9f\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_INVISIBLE = _Deferred(f"[\x00-\x1f\ud800-\udfff{_FORMAT_CONTROLS}]")
_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def visible(text: str) -> str:
    """`text` with every character that acts instead of showing written as an escape.

    Linear in the length of `text`; returns `text` itself when nothing needs escaping.
    """
    if text.isascii() and text.isprintable():  # no C0 control or DEL: the pattern cannot match
        return text
    return _INVISIBLE.sub(_escape_character, text)


def _escape_character(match: re.Match[str]) -> str:
    character = match.group()
    code = ord(character)
    return _SHORT.get(character) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


# The GitHub Actions runner executes a log line as a workflow command when, after leading spaces,
# it starts with `::` (`::error::`, `::add-mask::`, `::stop-commands::`), or when it holds the
# legacy `##[command]` anywhere (ActionCommand.TryParseV2 and TryParse in actions/runner,
# src/Runner.Common/ActionCommand.cs, tried in that order by ActionCommandManager). A name can
# start a line of the text report (a table row, a wrapped message), so every `::` and `##[` in
# untrusted text gets its second character written as an escape.
_COMMAND_MARKS = _Deferred(r"::|##\[")
_MARK_ESCAPES = {"::": ":\\x3a", "##[": "#\\x23["}


def log_text(text: str) -> str:
    """Untrusted text for a terminal or CI log: `visible`, with no workflow command in it."""
    if text.isascii() and text.isprintable() and "::" not in text and "##[" not in text:
        return text  # the usual name: nothing to escape (printable ASCII has no control character)
    return _log_text_escaped(text)


def _log_text_escaped(text: str) -> str:
    return _COMMAND_MARKS.sub(lambda match: _MARK_ESCAPES[match.group()], visible(text))


def json_for_logs(document: str) -> str:
    """A JSON document, as `json.dumps` wrote it, that forms no legacy `##[command]` in a CI log.

    A JSON line never starts with `::`, but a name may hold `##[`, which can only be inside a JSON
    string there: its second `#` is written `\\u0023`, which every JSON reader reads back as `#`.
    """
    return document.replace("##[", "#\\u0023[")


# --- GitHub Actions workflow commands -------------------------------------------------------------
# As @actions/core escapes them (packages/core/src/command.ts in actions/toolkit): `%`, CR and LF
# in the message become %25, %0D and %0A; property values also escape `:` and `,`. After
# `visible` no CR or LF is left, but the encoding stays complete on its own.


def workflow_data(text: str) -> str:
    """A workflow command's message: one line, whatever the text holds."""
    return visible(text).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def workflow_lines(lines: Sequence[str]) -> str:
    """A workflow command's message of several lines (the annotation shows each on its own)."""
    return "%0A".join(map(workflow_data, lines))


def workflow_property(text: str) -> str:
    """A workflow command's property value (`file=`, `title=`)."""
    return workflow_data(text).replace(":", "%3A").replace(",", "%2C")


# --- GitHub Markdown ------------------------------------------------------------------------------
# GitHub turns `@user` and `@org/team` into mentions that notify, and bare `http://`, `https://`,
# `www.`, `mailto:`, e-mail addresses and `#123` into links. An entity such as `&#64;` does not stop
# that: GitHub finds mentions and links in the rendered text. A WORD JOINER (U+2060, invisible)
# after `@`, `#`, `:` of `://` and `www` breaks each pattern; code spans and `<code>` are never
# searched, so identifiers are written as code.

_PROSE_SPECIAL = _Deferred(r"[\\`*_\[\]|~&<>]")
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_LIVE = _Deferred(r"@|#(?=\w)|:(?=//)|www(?=\.)|(?:mailto|xmpp)(?=:)", re.IGNORECASE)
_WORD_JOINER = "\u2060"
_BACKTICKS = _Deferred(r"`+")


def markdown_text(text: str) -> str:
    """Untrusted text as plain Markdown on one line: no emphasis, links, HTML, code, table breaks,
    mentions or autolinks."""
    escaped = _PROSE_SPECIAL.sub(lambda match: _ENTITIES.get(match.group(), "\\" + match.group()), visible(text))
    return _LIVE.sub(lambda match: match.group() + _WORD_JOINER, escaped)


def markdown_code(text: str) -> str:
    """Untrusted text as a code span in a table cell (GFM takes `\\|` there as a literal pipe)."""
    text = visible(text).replace("|", "\\|")
    fence = "`" * (max((len(run) for run in _BACKTICKS.findall(text)), default=0) + 1)
    padding = " " if text.startswith(("`", " ")) or text.endswith(("`", " ")) else ""
    return f"{fence}{padding}{text}{padding}{fence}"


def markdown_html(text: str) -> str:
    """Untrusted text inside an HTML element of a Markdown document (`<summary><code>`)."""
    from html import escape  # here: html imports html.entities (~1 ms), which only this needs

    return escape(visible(text))


# --- XML (JUnit) ----------------------------------------------------------------------------------
# XML 1.0 holds tab, LF, CR and most of Unicode, but no other C0 control and no surrogate: those,
# and what `visible` escapes besides (DEL, C1, separators, bidirectional controls), are written as
# `visible` writes them; tab, LF and CR stay, as the report's own line breaks. GitLab turns `[[ATTACHMENT|path]]` in test output
# into a link to a job artifact; a `[` followed by another `[` gets a space, so no run of brackets
# (`[[[` included) is left.

_NOT_XML = _Deferred(f"[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]|[{_FORMAT_CONTROLS}]")
_DOUBLE_BRACKET = _Deferred(r"\[(?=\[)")


def xml_text(text: str) -> str:
    """Text that XML 1.0 can hold and GitLab does not read as an attachment link."""
    return _DOUBLE_BRACKET.sub("[ ", _NOT_XML.sub(_escape_character, text))
