"""Renderers for the catalog and the configuration: `regaudit rules`, `rule CODE` and `config`."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Mapping
from enum import Enum
from pathlib import Path

from regaudit.catalog import Catalog, RuleDoc
from regaudit.config import Settings, option_help, option_keys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TextIO

WIDTH = 88


def rule_list(catalog: Catalog, format_: str, stream: TextIO) -> None:
    rules = list(catalog.rules.values())
    if format_ == "json":
        _dump([_rule_summary(rule) for rule in rules], stream)
        return
    if format_ == "markdown":
        stream.write("| Code | Name | Severity | What it flags |\n| --- | --- | --- | --- |\n")
        stream.writelines(f"| {r.code} | `{r.name}` | {r.severity.value} | {r.summary} |\n" for r in rules)
        return
    for rule in rules:
        stream.write(f"{rule.code}  {rule.severity.value:<7}  {rule.name:<38} {rule.summary}\n")


def rule_doc(rule: RuleDoc, format_: str, stream: TextIO) -> None:
    if format_ == "json":
        _dump({**_rule_summary(rule), "what": rule.what, "why": rule.why, "fix": rule.fix,
               "references": list(rule.references), "added": rule.added}, stream)
        return
    stream.write(f"{rule.code} {rule.name} ({rule.severity.value}, {_kind_phrase(rule)})\n{rule.summary}\n")
    for title, body in (("What it flags", rule.what), ("Why it matters", rule.why), ("How to fix", rule.fix)):
        stream.write(f"\n{title}\n{_indented(body)}\n")
    if rule.references:
        stream.write("\nReferences\n" + "".join(f"  - {reference}\n" for reference in rule.references))
    stream.write(f"\nAdded in regaudit {rule.added}.\n")


def settings(values: Settings, config_file: Path | None, format_: str, stream: TextIO) -> None:
    rows = [(key, _plain(getattr(values, name)), values.source(key)) for key, name in option_keys().items()]
    if format_ == "json":
        options = {key: {"value": value, "source": source} for key, value, source in rows}
        _dump({"config_file": str(config_file) if config_file else None, "options": options}, stream)
        return
    stream.write(f"# configuration file: {config_file or 'none found; defaults apply'}\n")
    for key, value, source in rows:
        assignment = f"{key} = {_toml(value)}" if value is not None else f"# {key} is not set"
        stream.write(f"\n# {option_help(key)}\n{assignment}  # from {source}\n")


def _rule_summary(rule: RuleDoc) -> dict[str, Any]:
    return {"code": rule.code, "name": rule.name, "severity": rule.severity.value, "kind": rule.kind,
            "summary": rule.summary}


def _kind_phrase(rule: RuleDoc) -> str:
    return {"rule": "rule", "diagnostic": "diagnostic, never silent", "configuration": "about the configuration"}[rule.kind]


def _indented(text: str) -> str:
    paragraphs = text.split("\n\n")
    return "\n\n".join(_indent_paragraph(paragraph) for paragraph in paragraphs)


def _indent_paragraph(paragraph: str) -> str:
    # Indented lines (code examples) keep their layout; prose is rewrapped.
    if any(line.startswith("    ") for line in paragraph.splitlines()):
        return textwrap.indent(paragraph, "  ")
    return textwrap.fill(" ".join(paragraph.split()), WIDTH, initial_indent="  ", subsequent_indent="  ")


def _plain(value: Any) -> Any:
    """A configuration value as JSON/TOML would spell it."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "_asdict"):  # a policy table
        return {key: _plain(item) for key, item in value._asdict().items()}
    if isinstance(value, (tuple, list)):
        return [_plain(item) for item in value]
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    return value


def _toml(value: Any) -> str:
    """A value in TOML syntax, so that the printed configuration can be pasted into a file."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(item) for item in value) + "]"
    pairs = ", ".join(f"{json.dumps(key) if not key.isidentifier() else key} = {_toml(item)}"
                      for key, item in value.items() if item is not None)
    return "{" + pairs + "}"


def _dump(document: Any, stream: TextIO) -> None:
    stream.write(json.dumps(document, indent=2) + "\n")
