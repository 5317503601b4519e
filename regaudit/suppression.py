"""Findings a team chose not to see: per-file and per-layer ignores, and the baseline.

Model files have no lines to put `# noqa` on, so suppressions live in configuration: globs on
artifact paths and on layer paths. Each entry remembers whether it suppressed anything, so that
stale entries are reported (RA907, like ruff's RUF100), as are baseline entries that no longer
occur (RA908).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from fnmatch import fnmatchcase
from pathlib import Path, PurePosixPath

from regaudit._namedtuple import NamedTuple
from regaudit.catalog import Catalog
from regaudit.config import Settings
from regaudit.outcomes import ArtifactResult, Finding

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Iterable

UNUSED_SUPPRESSION = "RA907"
STALE_BASELINE_ENTRY = "RA908"
BASELINE_FORMAT = 1


class Stale(NamedTuple):
    """A suppression or baseline entry that matched nothing; becomes a RA907/RA908 finding."""

    code: str
    argument: str
    message: str


class _Entry:
    def __init__(self, key: str, pattern: str, selectors: tuple[str, ...], codes: frozenset[str],
                 diagnostics: tuple[str, ...] = ()) -> None:
        self.key, self.pattern, self.selectors, self.codes = key, pattern, selectors, codes
        # Selectors that name only RA9xx diagnostics about inputs, which no ignore can silence.
        self.diagnostics = diagnostics
        self.in_scope = False  # matched an audited artifact (per-file) or ran at all (per-layer)
        self.used = False

    def describe(self) -> str:
        return f'{self.key} "{self.pattern}" = {list(self.selectors)}'


class Ignores:
    """per-file-ignores and per-layer-ignores, with a record of which entries did anything."""

    def __init__(self, settings: Settings, catalog: Catalog) -> None:
        def diagnostics_only(selector: str) -> bool:
            return all(catalog.rule(code).is_diagnostic for code in catalog.codes_for(selector))

        def entries(key: str, table: dict) -> list[_Entry]:
            return [
                _Entry(key, pattern, selectors, frozenset(c for s in selectors for c in catalog.codes_for(s)),
                       tuple(s for s in selectors if diagnostics_only(s)))
                for pattern, selectors in table.items()
            ]

        self._root = settings.root
        self._per_file = entries("per-file-ignores", dict(settings.per_file_ignores))
        self._per_layer = entries("per-layer-ignores", dict(settings.per_layer_ignores))

    @property
    def empty(self) -> bool:
        """No entry at all: filtering keeps every finding."""
        return not (self._per_file or self._per_layer)

    def filter(self, artifact: ArtifactResult) -> list[Finding]:
        """The artifact's findings minus the ignored ones; records which entries applied."""
        names = _path_forms(artifact.path, self._root)
        files = [entry for entry in self._per_file if any(fnmatchcase(name, entry.pattern) for name in names)]
        for entry in files + self._per_layer:
            entry.in_scope = True
        kept = []
        for finding in artifact.findings:
            layer = finding.layer or ""
            matching = [e for e in files if finding.rule in e.codes]
            matching += [e for e in self._per_layer if finding.rule in e.codes and fnmatchcase(layer, e.pattern)]
            for entry in matching:
                entry.used = True
            if not matching:
                kept.append(finding)
        return kept

    def stale(self) -> list[Stale]:
        """Entries that did nothing, and entries naming diagnostics (RA9xx), which are never
        silenced: an input regaudit cannot audit must not pass as clean. Such a file is left
        out of the run with `extend-exclude`, as ruff leaves out files it must not lint."""
        found = []
        for entry in self._per_file + self._per_layer:
            if not entry.in_scope:
                continue
            if entry.diagnostics:
                named = ", ".join(entry.diagnostics)
                found.append(Stale(
                    UNUSED_SUPPRESSION, entry.key,
                    f"{entry.describe()} cannot suppress {named}: a diagnostic about an input is never "
                    f'silenced; leave the file out with extend-exclude = ["{entry.pattern}"] instead',
                ))
            elif not entry.used:
                found.append(Stale(UNUSED_SUPPRESSION, entry.key, f"{entry.describe()} suppressed nothing; remove it"))
        return found


class Baseline:
    """Findings recorded on an existing model zoo: only findings beyond them fail a run.

    Entries count findings per (artifact, layer path, rule); artifact paths are stored relative
    to the baseline file, so the file works from any working directory.
    """

    def __init__(self, path: Path, counts: Counter) -> None:
        self.path = path
        self._remaining = counts
        self._audited: set[str] = set()

    @classmethod
    def read(cls, path: Path) -> "Baseline":
        from regaudit.config import ConfigError

        try:
            document = json.loads(path.read_text(encoding="utf-8"))
            if document.get("regaudit_baseline") != BASELINE_FORMAT:
                raise ValueError("not a regaudit baseline (regaudit_baseline: 1 missing)")
            counts = Counter(
                {(entry["artifact"], entry["layer"], entry["rule"]): int(entry["count"]) for entry in document["findings"]}
            )
        except OSError as error:
            raise ConfigError(f"baseline {path}: cannot read ({error.strerror})") from None
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise ConfigError(f"baseline {path}: {error}") from None
        return cls(path, counts)

    def filter(self, artifact: ArtifactResult) -> list[Finding]:
        name = _relative_to(artifact.path, self.path.parent)
        self._audited.add(name)
        kept = []
        for finding in artifact.findings:
            key = (name, finding.layer, finding.rule)
            if self._remaining[key] > 0:
                self._remaining[key] -= 1
            else:
                kept.append(finding)
        return kept

    def stale(self) -> list[Stale]:
        return [
            Stale(
                STALE_BASELINE_ENTRY,
                "baseline",
                f"baseline entry {artifact} {layer or '(model)'} {rule} no longer occurs"
                + (f" ({count} of them)" if count > 1 else "")
                + f"; rewrite {self.path} with --write-baseline",
            )
            for (artifact, layer, rule), count in sorted(self._remaining.items(), key=_entry_order)
            if count > 0 and artifact in self._audited
        ]


class BaselineWriter:
    """Records every finding of a run as the artifacts go by (a consumer of the engine's stream,
    beside the reporters: `artifact(a)` each, then `end(totals)` writes the file). Keeps counts
    per (artifact, layer, rule) only; `entries` is the number written."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.counts: Counter = Counter()
        self.entries = 0

    def begin(self) -> None:
        pass

    def artifact(self, artifact: ArtifactResult, piece: object = None) -> None:
        name = _relative_to(artifact.path, self.path.parent)
        self.counts.update((name, finding.layer, finding.rule) for finding in artifact.findings)

    def end(self, totals: object) -> None:
        entries = [
            {"artifact": artifact, "layer": layer, "rule": rule, "count": count}
            for (artifact, layer, rule), count in sorted(self.counts.items(), key=_entry_order)
        ]
        self.path.write_text(json.dumps({"regaudit_baseline": BASELINE_FORMAT, "findings": entries}, indent=2) + "\n")
        self.entries = len(entries)


def _entry_order(item: tuple) -> tuple:
    (artifact, layer, rule), _ = item
    return artifact, layer or "", rule


def _relative_to(artifact_path: str, directory: Path) -> str:
    return PurePosixPath(Path(os.path.relpath(os.path.abspath(artifact_path), os.path.abspath(directory)))).as_posix()


def _path_forms(artifact_path: str, root: Path | None) -> Iterable[str]:
    """What a per-file glob may match: the path as shown, relative to the config file, the file name."""
    forms = {PurePosixPath(Path(artifact_path)).as_posix(), Path(artifact_path).name}
    if root is not None:
        forms.add(_relative_to(artifact_path, root))
    return forms
