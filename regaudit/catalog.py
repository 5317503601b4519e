"""The rule catalog: one TOML file per rule in the top-level `rules/` folder, shipped in the wheel.

The catalog holds what a rule *is* (code, name, default severity, documentation, cases); the
logic lives in `regaudit.checks`. Codes are forever: retired codes stay listed in
`rules/retired.toml` and are never reused.
"""

from __future__ import annotations

import json
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping, NamedTuple

from regaudit.outcomes import Severity
from regaudit.tree import EMPTY

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

RETIRED_FILE = "retired.toml"


class Expected(NamedTuple):
    layer: str | None
    argument: str | None = None


class Case(NamedTuple):
    """A model snippet and the findings the rule must report on it (none for a passing case)."""

    title: str
    fires: tuple[Expected, ...]
    document: Any  # a model config, as a to_json() / model.json / get_config() document
    keras_version: str | None = None
    options: Mapping[str, Any] = EMPTY


class RuleDoc(NamedTuple):
    code: str
    name: str
    severity: Severity
    summary: str
    what: str
    why: str
    fix: str
    added: str
    kind: str = "rule"  # "rule": logic in regaudit.checks; "diagnostic": raised while reading
    references: tuple[str, ...] = ()
    raw_cases: tuple[Mapping[str, Any], ...] = ()

    @property
    def is_diagnostic(self) -> bool:
        return self.kind == "diagnostic"

    @property
    def cases(self) -> tuple[Case, ...]:
        # Parsed on demand: an audit needs names and severities, never the cases.
        return tuple(_case_from_toml(case) for case in self.raw_cases)


class Catalog(NamedTuple):
    rules: Mapping[str, RuleDoc]  # by code, in code order
    retired: Mapping[str, str]  # code -> why it was retired

    def get(self, code_or_name: str) -> RuleDoc | None:
        wanted = code_or_name.strip()
        for rule in self.rules.values():
            if wanted.upper() == rule.code or wanted == rule.name:
                return rule
        return None


def catalog_dir() -> Path:
    # In a wheel the catalog sits inside the package; in a source checkout it is the top-level rules/.
    packaged = Path(__file__).parent / "rules"
    return packaged if packaged.is_dir() else Path(__file__).parent.parent / "rules"


@lru_cache(maxsize=None)
def load_catalog(directory: Path | None = None) -> Catalog:
    directory = directory or catalog_dir()
    rules = {}
    for path in sorted(directory.glob("RA*.toml")):
        rule = _rule_from_toml(_read_toml(path), path)
        rules[rule.code] = rule
    retired_path = directory / RETIRED_FILE
    retired = _read_toml(retired_path).get("retired", {}) if retired_path.is_file() else {}
    return Catalog(rules=rules, retired=dict(retired))


def _read_toml(path: Path) -> dict[str, Any]:
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
    if "layers" in data:
        document: Any = {"class_name": "Sequential", "config": {"name": "model", "layers": json.loads(data["layers"])}}
    else:
        document = json.loads(data["model"])
    return Case(
        title=data["title"],
        fires=tuple(Expected(item.get("layer"), item.get("argument")) for item in data.get("fires", ())),
        document=document,
        keras_version=data.get("keras_version"),
        options=data.get("options", {}),
    )
