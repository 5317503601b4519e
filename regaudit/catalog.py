"""The rule catalog: one TOML file per rule in the top-level `rules/` folder, shipped in the wheel.

The catalog holds what a rule *is* (code, name, default severity, documentation, cases); the
logic lives in `regaudit.checks`. Codes are forever: retired codes stay listed in
`rules/retired.toml` and are never reused.
"""

from __future__ import annotations

import json
import os
import re
import sys
from functools import lru_cache
from pathlib import Path

from regaudit._namedtuple import NamedTuple
from regaudit.outcomes import Severity
from regaudit.tree import EMPTY

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Mapping

RETIRED_FILE = "retired.toml"


class Expected(NamedTuple):
    layer: str | None
    argument: str | None = None


class Case(NamedTuple):
    """A model snippet (or a file) and the findings the rule must report on it (none to pass).

    Rules are run on `document`, or on the tree read from the SavedModel metadata entries in
    `saved_model` (rules about SavedModels). Diagnostics and configuration findings come from auditing a file:
    `file` names it, written from `content` (parts of text, each repeated a number of times, so
    that a case can hold a 100,000-deep JSON) or from `document`, or a SavedModel directory written
from `saved_model`; with none of them, the file is absent.
    """

    title: str
    fires: tuple[Expected, ...]
    document: Any = None  # a model config, as a to_json() / model.json / get_config() document
    # SavedModel metadata entries, each {node_path, identifier, metadata}, as keras_metadata.pb holds them
    saved_model: tuple[Mapping[str, Any], ...] | None = None
    keras_version: str | None = None
    # The container the config was read from (`hdf5`, `keras-zip`): some Keras facts depend on it.
    format: str | None = None
    options: Mapping[str, Any] = EMPTY
    file: str | None = None
    content: tuple[tuple[str, int], ...] | None = None
    baseline: Any = None  # a baseline document, written beside the file and used by the run
    # Stored weight values for the RA6xx rules: {layer path: {Keras weight name: nested list}}.
    weights: Any = None


class RuleDoc(NamedTuple):
    code: str
    name: str
    severity: Severity
    summary: str
    what: str
    why: str
    fix: str
    added: str
    # "rule": logic in regaudit.checks, run on every tree; "diagnostic": raised while reading an
    # artifact; "configuration": about the run's own suppressions and baseline.
    kind: str = "rule"
    references: tuple[str, ...] = ()
    raw_cases: tuple[Mapping[str, Any], ...] = ()

    @property
    def is_diagnostic(self) -> bool:
        return self.kind == "diagnostic"

    @property
    def is_check(self) -> bool:
        return self.kind == "rule"

    @property
    def cases(self) -> tuple[Case, ...]:
        # Parsed on demand: an audit needs names and severities, never the cases.
        return tuple(_case_from_toml(case) for case in self.raw_cases)


class RuleBrief(NamedTuple):
    """What an audit needs of a rule that fired: its code, name and default severity."""

    code: str
    name: str
    severity: Severity


class Catalog:
    """The rules in `directory`. Codes come from file names; a file is parsed when first needed,
    so an audit reads only the entries of rules that fired."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        # The names glob("RA*.toml") gives, without compiling a pattern for them.
        names = os.listdir(directory) if directory.is_dir() else ()
        files = [name for name in names if name.startswith("RA") and name.endswith(".toml")]
        self.codes: tuple[str, ...] = tuple(sorted(name.removesuffix(".toml") for name in files))
        self._parsed: dict[str, RuleDoc] = {}
        self._briefs: dict[str, RuleBrief] = {}
        # Rule selection asks for the same few selectors once per rule and per finding.
        self._selected: dict[str, tuple[str, ...]] = {}

    def brief(self, code: str) -> RuleBrief:
        """The code, name and severity of a rule, from the `key = "text"` lines that open its file.

        Those three keys are required and, TOML forbidding a key defined twice, can only be where
        they are first found; every rule file states them first (a catalog test checks both against
        the full parse). Reading them this way spares an audit with findings ~2 ms of importing
        tomllib and ~0.3 ms of parsing per rule; a file that opens otherwise is parsed in full.
        """
        if code not in self._briefs:
            head = _head(self.directory / f"{code}.toml") if code not in self._parsed else {}
            if {"code", "name", "severity"} <= head.keys():
                self._briefs[code] = RuleBrief(head["code"], head["name"], Severity(head["severity"]))
            else:
                rule = self.rule(code)
                self._briefs[code] = RuleBrief(rule.code, rule.name, rule.severity)
        return self._briefs[code]

    def rule(self, code: str) -> RuleDoc:
        if code not in self._parsed:
            path = self.directory / f"{code}.toml"
            self._parsed[code] = _rule_from_toml(_read_toml(path), path)
        return self._parsed[code]

    @property
    def rules(self) -> dict[str, RuleDoc]:
        """Every rule, by code, in code order."""
        return {code: self.rule(code) for code in self.codes}

    @property
    def retired(self) -> dict[str, str]:
        """Retired codes and why; they are never reused."""
        path = self.directory / RETIRED_FILE
        return dict(_read_toml(path).get("retired", {})) if path.is_file() else {}

    def codes_for(self, selector: str) -> tuple[str, ...]:
        """The codes a selector names: a code, a prefix (RA, RA2, RA20) or a rule name."""
        if selector not in self._selected:
            if re.fullmatch(r"RA\d{0,3}", selector):
                self._selected[selector] = tuple(code for code in self.codes if code.startswith(selector))
            else:
                self._selected[selector] = tuple(rule.code for rule in self.rules.values() if rule.name == selector)
        return self._selected[selector]

    def is_selector(self, selector: str) -> bool:
        return bool(self.codes_for(selector))

    def did_you_mean(self, misspelt: str) -> str:
        """` (did you mean 'RA202'?)` for the closest code or name, or "" when none is close."""
        import difflib  # only on error paths

        words = [word for rule in self.rules.values() for word in (rule.code, rule.name)]
        close = difflib.get_close_matches(misspelt.strip(), words, n=1, cutoff=0.6)
        if not close and misspelt.strip().upper() != misspelt.strip():
            close = difflib.get_close_matches(misspelt.strip().upper(), words, n=1, cutoff=0.6)
        return f" (did you mean {close[0]!r}?)" if close else ""

    def get(self, code_or_name: str) -> RuleDoc | None:
        wanted = code_or_name.strip()
        if wanted.upper() in self.codes:
            return self.rule(wanted.upper())
        return next((rule for rule in self.rules.values() if rule.name == wanted), None)


def catalog_dir() -> Path:
    # In a wheel the catalog sits inside the package; in a source checkout it is the top-level rules/.
    packaged = Path(__file__).parent / "rules"
    return packaged if packaged.is_dir() else Path(__file__).parent.parent / "rules"


@lru_cache(maxsize=None)
def load_catalog(directory: Path | None = None) -> Catalog:
    return Catalog(directory or catalog_dir())


def _head(path: Path) -> dict[str, str]:
    """The `key = "text"` lines at the top of a TOML file, up to the first line of any other form
    (a blank line, a comment, a table, a multi-line or escaped string), as {key: text}."""
    head: dict[str, str] = {}
    with open(path, encoding="utf-8") as stream:
        for line in stream:
            key, equals, value = line.rstrip("\n").partition(' = "')
            if not (equals and key.isascii() and key.isidentifier() and key not in head and value.endswith('"')):
                break
            text = value[:-1]
            if '"' in text or "\\" in text or not text.isprintable():
                break
            head[key] = text
    return head


def _read_toml(path: Path) -> dict[str, Any]:
    # Imported here: parsing TOML costs a few milliseconds an audit without findings never pays.
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib

    with open(path, "rb") as stream:
        return tomllib.load(stream)


def _rule_from_toml(data: dict[str, Any], path: Path) -> RuleDoc:
    try:
        return RuleDoc(
            code=data["code"],
            name=data["name"],
            severity=Severity(data["severity"]),
            summary=data["summary"].strip(),
            what=data["what"].strip(),
            why=data["why"].strip(),
            fix=data["fix"].strip(),
            added=data["added"],
            kind=data.get("kind", "rule"),
            references=tuple(data.get("references", ())),
            raw_cases=tuple(data.get("cases", ())),
        )
    except (KeyError, ValueError, TypeError) as error:
        raise ValueError(f"{path.name}: malformed rule entry ({error!r})") from None


def _case_from_toml(data: Mapping[str, Any]) -> Case:
    document: Any = None
    if "layers" in data:
        document = {"class_name": "Sequential", "config": {"name": "model", "layers": json.loads(data["layers"])}}
    elif "model" in data:
        document = json.loads(data["model"])
    content = data.get("content")
    return Case(
        title=data["title"],
        fires=tuple(Expected(item.get("layer"), item.get("argument")) for item in data.get("fires", ())),
        document=document,
        saved_model=tuple(json.loads(data["saved_model"])) if "saved_model" in data else None,
        keras_version=data.get("keras_version"),
        format=data.get("format"),
        options=data.get("options", {}),
        file=data.get("file"),
        content=((content, 1),) if isinstance(content, str) else tuple(map(tuple, content)) if content else None,
        baseline=json.loads(data["baseline"]) if "baseline" in data else None,
        weights=json.loads(data["weights"]) if "weights" in data else None,
    )
