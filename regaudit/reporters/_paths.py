"""Where a finding is, as the machine formats name it: the artifact's file relative to the report's
root, and the finding's place inside the model. Shared by the SARIF, JUnit, GitHub and Markdown
reporters; nothing here touches the file system.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePath

from regaudit._namedtuple import NamedTuple
from urllib.parse import quote

from regaudit.outcomes import ArtifactResult, Finding

# A Keras 3 directory artifact has no single file; its findings point at the config they come from.
KERAS_DIR = "keras-dir"
KERAS_DIR_CONFIG = "config.json"


class Located(NamedTuple):
    """A path with `/` separators: relative to the report root, or absolute when outside it."""

    path: str
    relative: bool

    @property
    def uri(self) -> str:
        """A URI reference: the percent-encoded relative path, or a `file:` URI.

        Percent-encoding is of the file name's bytes, so a name that is not UTF-8 (held in Python as
        lone surrogates) still gets the URI of the file it names.
        """
        if self.relative:
            return quote(_name_bytes(self.path), safe="/")
        return PurePath(self.path).as_uri()  # percent-encodes os.fsencode(path), the bytes


def _name_bytes(path: str) -> bytes:
    try:
        return os.fsencode(path)
    except UnicodeEncodeError:  # a surrogate no file system gave: keep it visible, do not fail
        return path.encode("utf-8", "surrogatepass")


def locate(path: str, root: Path) -> Located:
    """`path` (as given: relative to the working directory, or absolute) against `root`."""
    absolute = os.path.abspath(path)
    try:
        relative = os.path.relpath(absolute, os.path.abspath(root))
    except ValueError:  # Windows: another drive
        return Located(PurePath(absolute).as_posix(), relative=False)
    if relative == os.pardir or relative.startswith(os.pardir + os.sep):
        return Located(PurePath(absolute).as_posix(), relative=False)
    return Located(PurePath(relative).as_posix(), relative=True)


def artifact_file(artifact: ArtifactResult, root: Path) -> Located:
    """The file an artifact's findings point at: the artifact itself, or a keras-dir's config.json."""
    path = artifact.path
    if artifact.format == KERAS_DIR:
        path = os.path.join(path, KERAS_DIR_CONFIG)
    return locate(path, root)


def place(finding: Finding) -> str:
    """`layer argument`, either alone, or "" for a finding about the whole model."""
    return " ".join(part for part in (finding.layer, finding.argument) if part)


def placed_message(finding: Finding) -> str:
    """The message, prefixed with the finding's place in the model when it has one."""
    where = place(finding)
    return f"{where}: {finding.message}" if where else finding.message
