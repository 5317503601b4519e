"""Configuration: every option written once below, typed, validated, with where its value came from.

Precedence is defaults < configuration file < command line. The file is the first of
`.regaudit.toml`, `regaudit.toml` or a `pyproject.toml` with a `[tool.regaudit]` table, found from
the working directory upward; `--config FILE` names one, `--isolated` ignores files.
"""

from __future__ import annotations

import math
import re
import sys
from pathlib import Path

from regaudit._namedtuple import NamedTuple
from regaudit.outcomes import Severity
from regaudit.tree import EMPTY

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Mapping

FAIL_ON_CHOICES = ("error", "warning", "info", "never")
# Folders that never hold a project's models; `exclude` replaces this list, `extend-exclude` adds.
DEFAULT_EXCLUDE = (".git", ".hg", ".svn", ".venv", "venv", "__pycache__", "node_modules", "site-packages")
CONFIG_FILES = (".regaudit.toml", "regaudit.toml", "pyproject.toml")
DEFAULT = "default"
COMMAND_LINE = "command line"


class ConfigError(ValueError):
    """A configuration value that cannot be used: names the key and what is allowed."""


class Requirement(NamedTuple):
    """RA501: the layers that must carry a regularizer of the given kind on a slot."""

    layers: tuple[str, ...]  # layer class names (glob patterns allowed)
    slot: str = "kernel"
    regularizers: tuple[str, ...] = ()  # allowed classes; empty means any
    min: float | None = None
    max: float | None = None
    paths: tuple[str, ...] = ("*",)  # layer path globs


class Prohibition(NamedTuple):
    """RA502: regularizers that must not appear (every given condition must match)."""

    regularizers: tuple[str, ...] = ()  # classes; empty means any
    origins: tuple[str, ...] = ()
    slots: tuple[str, ...] = ()
    layers: tuple[str, ...] = ()  # layer class names (glob patterns allowed)
    paths: tuple[str, ...] = ("*",)


class Settings(NamedTuple):
    """Every option and its default, written once; HELP below says what each one does."""

    select: tuple[str, ...] = ("RA",)
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    fail_on: Severity | None = Severity.ERROR
    severity: Mapping[str, Severity] = EMPTY
    per_file_ignores: Mapping[str, tuple[str, ...]] = EMPTY
    per_layer_ignores: Mapping[str, tuple[str, ...]] = EMPTY
    min_factor: float = 1e-7
    max_factor: float = 1e-1
    inconsistency_ratio: float = 10.0
    allowed_packages: tuple[str, ...] | None = None
    target_keras: str | None = None
    baseline: Path | None = None
    require: tuple[Requirement, ...] = ()
    disallow: tuple[Prohibition, ...] = ()
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE
    extend_exclude: tuple[str, ...] = ()
    respect_gitignore: bool = True
    force_exclude: bool = False
    weights: bool = False
    collapse_rms: float = 1e-6
    near_zero: float = 1e-3
    # Where each value came from (key as written in files -> "default", a file path or "command line").
    sources: Mapping[str, str] = EMPTY
    # The configuration file's folder: per-file-ignores globs are also matched relative to it.
    root: Path | None = None

    def source(self, key: str) -> str:
        return self.sources.get(key, DEFAULT)


HELP = {
    "select": "codes, prefixes or names of the rules to run",
    "extend_select": "rules to run in addition to `select`",
    "ignore": "rules not to run; a more specific select wins",
    "fail_on": "lowest severity that fails the run: error, warning, info or never",
    "severity": 'per-rule severity overrides, e.g. RA104 = "warning"',
    "per_file_ignores": "artifact path glob -> rules to ignore there",
    "per_layer_ignores": "layer path glob -> rules to ignore there",
    "min_factor": "RA103: smallest factor that is not suspiciously weak",
    "max_factor": "RA103: largest factor that is not suspiciously strong",
    "inconsistency_ratio": "RA104: largest max/min factor spread among like layers",
    "allowed_packages": "RA304: packages allowed to register custom regularizers",
    "target_keras": "RA402: the Keras version the model will be loaded and trained with",
    "baseline": "baseline file: only findings not recorded in it fail the run",
    "require": "RA501 policy: [[require]] tables",
    "disallow": "RA502 policy: [[disallow]] tables",
    "exclude": "gitignore-style globs of paths to leave out (replaces the default list)",
    "extend_exclude": "globs of paths to leave out, in addition to `exclude`",
    "respect_gitignore": "leave out what .gitignore files ignore, in directory walks",
    "force_exclude": "apply the exclusions to files named on the command line too",
    "weights": "read the stored weights: penalties, statistics and the RA6xx rules",
    "collapse_rms": "RA602: root mean square below which a regularized weight has collapsed",
    "near_zero": "RA603: |value| at or below which a weight counts as zero for sparsity",
}


def option_keys() -> dict[str, str]:
    """File key (kebab-case) -> Settings field name, for every option."""
    return {name.replace("_", "-"): name for name in Settings._fields if name in HELP}


def option_help(key: str) -> str:
    return HELP[option_keys()[key]]


# --- parsing and validation --------------------------------------------------------------------

if TYPE_CHECKING:
    Selectors = Callable[[str], bool]


def parse_options(raw: Mapping[str, Any], *, known_code: Selectors, origin: str, base: Path | None = None) -> dict[str, Any]:
    """Validate `key = value` pairs as written in a file (or command line) into Settings fields."""
    keys = option_keys()
    parsed: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in keys:
            raise ConfigError(f"{origin}: unknown key {key!r}{_did_you_mean(key, keys)}; allowed: {', '.join(keys)}")
        parser = _PARSERS[keys[key]]
        try:
            parsed[keys[key]] = parser(value, known_code, base)
        except ConfigError as error:
            raise ConfigError(f"{origin}: {key}: {error}") from None
    return parsed


def settings_from(
    values: Mapping[str, Any], sources: Mapping[str, str] | None = None, root: Path | None = None
) -> Settings:
    """Settings from parsed values, checking the constraints between options."""
    settings = Settings(**values, sources=dict(sources or {}), root=root)
    if settings.min_factor >= settings.max_factor:
        raise ConfigError(
            f"min-factor ({settings.min_factor:g}) must be smaller than max-factor ({settings.max_factor:g})"
        )
    return settings


def parse_fail_on(value: Any, known_code: Selectors | None = None, base: Path | None = None) -> Severity | None:
    if value not in FAIL_ON_CHOICES:
        raise ConfigError(f"must be one of {', '.join(FAIL_ON_CHOICES)}, not {value!r}")
    return None if value == "never" else Severity(value)


def _selectors(value: Any, known_code: Selectors, base: Path | None = None) -> tuple[str, ...]:
    items = _strings(value, "a list of rule codes, prefixes or names")
    for item in items:
        if not known_code(item):
            from regaudit.catalog import load_catalog  # only on this error path

            hint = load_catalog().did_you_mean(item)
            raise ConfigError(f"{item!r} is not a rule code, prefix or name{hint} (see `regaudit rules`)")
    return items


def _severities(value: Any, known_code: Selectors, base: Path | None = None) -> dict[str, Severity]:
    table = _table(value, "a table of rule = severity")
    result = {}
    for code, severity in table.items():
        _selectors([code], known_code)
        if severity not in ("error", "warning", "info"):
            raise ConfigError(f"{code}: severity must be error, warning or info, not {severity!r}")
        result[code] = Severity(severity)
    return result


def _glob_table(value: Any, known_code: Selectors, base: Path | None = None) -> dict[str, tuple[str, ...]]:
    table = _table(value, "a table of glob = [rules]")
    return {pattern: _selectors(codes, known_code) for pattern, codes in table.items()}


def _positive(value: Any, known_code: Selectors | None = None, base: Path | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ConfigError(f"must be a positive number, not {value!r}")
    return float(value)


def _ratio(value: Any, known_code: Selectors | None = None, base: Path | None = None) -> float:
    ratio = _positive(value)
    if ratio <= 1:
        raise ConfigError(f"must be greater than 1, not {value!r}")
    return ratio


def _packages(value: Any, known_code: Selectors | None = None, base: Path | None = None) -> tuple[str, ...]:
    return _strings(value, "a list of package names")


def _version(value: Any, known_code: Selectors | None = None, base: Path | None = None) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"\d+(\.\d+){0,2}", value.strip()):
        raise ConfigError(f"must be a Keras version such as \"3.14\" or \"2.15.0\", not {value!r}")
    return value.strip()


def _path(value: Any, known_code: Selectors | None = None, base: Path | None = None) -> Path:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"must be a file path, not {value!r}")
    path = Path(value)
    return path if path.is_absolute() or base is None else base / path


def _requirements(value: Any, known_code: Selectors | None = None, base: Path | None = None) -> tuple[Requirement, ...]:
    return tuple(_policy_table(Requirement, entry, index) for index, entry in enumerate(_tables(value)))


def _prohibitions(value: Any, known_code: Selectors | None = None, base: Path | None = None) -> tuple[Prohibition, ...]:
    return tuple(_policy_table(Prohibition, entry, index) for index, entry in enumerate(_tables(value)))


def _globs(value: Any, known_code: Selectors | None = None, base: Path | None = None) -> tuple[str, ...]:
    if isinstance(value, list) and not value:
        return ()
    return _strings(value, "a list of gitignore-style globs")


def _flag(value: Any, known_code: Selectors | None = None, base: Path | None = None) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"must be true or false, not {value!r}")
    return value


_PARSERS: dict[str, Callable[[Any, Selectors, Path | None], Any]] = {
    "select": _selectors,
    "extend_select": _selectors,
    "ignore": _selectors,
    "fail_on": parse_fail_on,
    "severity": _severities,
    "per_file_ignores": _glob_table,
    "per_layer_ignores": _glob_table,
    "min_factor": _positive,
    "max_factor": _positive,
    "inconsistency_ratio": _ratio,
    "allowed_packages": _packages,
    "target_keras": _version,
    "baseline": _path,
    "require": _requirements,
    "disallow": _prohibitions,
    "exclude": _globs,
    "extend_exclude": _globs,
    "respect_gitignore": _flag,
    "force_exclude": _flag,
    "weights": _flag,
    "collapse_rms": _positive,
    "near_zero": _positive,
}

# Keys of the policy tables, as written, and how each is read.
_POLICY_KEYS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "layers": ("layers", lambda v: _strings(v, "a list of layer class names")),
    "slot": ("slot", lambda v: _string(v, "a slot name such as kernel")),
    "slots": ("slots", lambda v: _strings(v, "a list of slot names")),
    "regularizers": ("regularizers", lambda v: _strings(v, "a list of regularizer class names")),
    "origins": ("origins", lambda v: _origins(v)),
    "min": ("min", _positive),
    "max": ("max", _positive),
    "paths": ("paths", lambda v: _strings(v, "a list of layer path globs")),
}


def _policy_table(kind: type, entry: Mapping[str, Any], index: int) -> Any:
    allowed = set(kind._fields)
    values = {}
    for key, value in entry.items():
        if key not in allowed:
            raise ConfigError(f"entry {index + 1}: unknown key {key!r}; allowed: {', '.join(sorted(allowed))}")
        name, parse = _POLICY_KEYS[key]
        try:
            values[name] = parse(value)
        except ConfigError as error:
            raise ConfigError(f"entry {index + 1}: {key}: {error}") from None
    if kind is Requirement and "layers" not in values:
        raise ConfigError(f"entry {index + 1}: a requirement needs `layers` (layer class names)")
    if kind is Prohibition and not any(values.get(k) for k in ("regularizers", "origins", "slots", "layers")):
        raise ConfigError(f"entry {index + 1}: say what to disallow (regularizers, origins, slots or layers)")
    return kind(**values)


def _origins(value: Any) -> tuple[str, ...]:
    from regaudit.tree import Origin

    origins = _strings(value, "a list of origins")
    allowed = [origin.value for origin in Origin]
    for origin in origins:
        if origin not in allowed:
            raise ConfigError(f"{origin!r} is not an origin; allowed: {', '.join(allowed)}")
    return origins


def _strings(value: Any, what: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise ConfigError(f"must be {what}, not {value!r}")
    return tuple(value)


def _string(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"must be {what}, not {value!r}")
    return value


def _table(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"must be {what}, not {value!r}")
    return value


def _tables(value: Any) -> list[Mapping[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(entry, dict) for entry in value):
        raise ConfigError("must be an array of tables ([[...]])")
    return value


def _did_you_mean(key: str, keys: Mapping[str, str]) -> str:
    import difflib  # only on this error path

    close = difflib.get_close_matches(key, keys, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


# --- files ---------------------------------------------------------------------------------------


def find_config_file(start: Path) -> Path | None:
    """The first configuration file from `start` upward, or None.

    Raises ConfigError for a `pyproject.toml` on the way that is not valid TOML: whether it holds a
    `[tool.regaudit]` table cannot be known, and running on defaults instead could pass a gate
    that its policy would fail.
    """
    for directory in (start, *start.parents):
        for name in CONFIG_FILES:
            candidate = directory / name
            if candidate.is_file() and (name != "pyproject.toml" or _has_tool_table(candidate)):
                return candidate
    return None


def read_config_file(path: Path) -> Mapping[str, Any]:
    """The regaudit table of a configuration file, as written."""
    data = _read_toml(path)
    if path.name != "pyproject.toml":
        return data
    table = _tool_tables(data).get("regaudit", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.regaudit] must be a table, not {table!r}")
    return table


def _has_tool_table(path: Path) -> bool:
    return "regaudit" in _tool_tables(_read_toml(path))


def _tool_tables(data: Mapping[str, Any]) -> Mapping[str, Any]:
    tool = data.get("tool", {})
    return tool if isinstance(tool, dict) else {}


def _read_toml(path: Path) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    try:
        content = path.read_bytes()
    except OSError as error:
        raise ConfigError(f"{path}: cannot read ({error.strerror})") from None
    try:
        return tomllib.loads(content.decode("utf-8"))
    except UnicodeDecodeError as error:  # TOML is UTF-8; tomllib.load would let this through
        line = content.count(b"\n", 0, error.start) + 1
        raise ConfigError(f"{path}: not valid TOML (not UTF-8 at line {line})") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML ({error})") from None


def resolve(
    command_line: Mapping[str, Any],
    *,
    known_code: Selectors,
    config_file: Path | None = None,
    isolated: bool = False,
    cwd: Path | None = None,
) -> tuple[Settings, Path | None]:
    """Settings from defaults, then the configuration file, then the command line."""
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    path = None if isolated else (config_file or find_config_file(cwd or Path.cwd()))
    if path is not None:
        from_file = parse_options(read_config_file(path), known_code=known_code, origin=str(path), base=path.parent)
        values.update(from_file)
        sources.update({name.replace("_", "-"): str(path) for name in from_file})
    from_cli = parse_options(command_line, known_code=known_code, origin=COMMAND_LINE)
    values.update(from_cli)
    sources.update({name.replace("_", "-"): COMMAND_LINE for name in from_cli})
    return settings_from(values, sources, root=path.parent if path else None), path
