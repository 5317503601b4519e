"""Reporters render a finished :class:`AuditResult`; they never filter, read config or load files.

Each format is one module exposing ``render(result, context, stream)``.
"""


import importlib
from typing import NamedTuple, TextIO

from regaudit.catalog import Catalog
from regaudit.outcomes import AuditResult

FORMATS = ("text", "json")


class ReportContext(NamedTuple):
    catalog: Catalog
    color: bool = False


def render(format: str, result: AuditResult, context: ReportContext, stream: TextIO) -> None:
    # Imported on demand: the text path must not pay for the others.
    module = importlib.import_module(f"regaudit.reporters.{format}")
    module.render(result, context, stream)
