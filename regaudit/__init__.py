"""regaudit: a static regularization auditor for saved Keras models."""

from __future__ import annotations

import os

__version__ = "0.1.0"

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Iterable, Mapping
    from regaudit.config import Settings
    from regaudit.outcomes import AuditResult


def audit(
    paths: Iterable[str] | str, config: "Settings | Mapping[str, Any] | str | os.PathLike | None" = None
) -> "AuditResult":
    """Audit model files and directories; the same result every reporter renders.

    `config` is None (read the configuration file found from the working directory up, as the
    command line does), a path to a configuration file, a mapping of options as written in one
    (`{"ignore": ["RA105"], "max-factor": 0.01}`), or a `regaudit.config.Settings`. A bad value
    raises `regaudit.config.ConfigError`.
    """
    from pathlib import Path

    from regaudit.catalog import load_catalog
    from regaudit.config import Settings, parse_options, resolve, settings_from
    from regaudit.engine import audit as run

    if not isinstance(config, Settings):
        known = load_catalog().is_selector
        if config is None or isinstance(config, (str, os.PathLike)):
            config, _ = resolve({}, known_code=known, config_file=Path(config) if config else None)
        else:
            config = settings_from(parse_options(config, known_code=known, origin="audit(config=...)"))
    return run(paths, config)
