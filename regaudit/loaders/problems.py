"""Why an artifact cannot be audited: raised by loaders, turned into a typed result by the engine.

Each problem carries a diagnostic code from the RA9xx family (see rules/RA9*.toml) and a one-line
reason a person can act on.
"""

from __future__ import annotations

from regaudit.outcomes import Diagnostic, Status


class ArtifactProblem(Exception):
    code = "RA903"
    status = Status.ERROR

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def diagnostic(self) -> Diagnostic:
        return Diagnostic(self.code, self.message)


class NoArchitecture(ArtifactProblem):
    """A Keras artifact that holds no layer config: weights only, a graph model, a subclassed model."""

    code = "RA901"
    status = Status.SKIPPED


class NotAModel(ArtifactProblem):
    """Not a Keras model at all. Passed over in a directory walk; an error when named explicitly."""

    code = "RA901"


class GitLfsPointer(ArtifactProblem):
    code = "RA902"


class Corrupt(ArtifactProblem):
    code = "RA903"


class FormatMismatch(ArtifactProblem):
    """The extension promises one format and the content is another: Keras refuses such files."""

    code = "RA904"


class UnreadableInput(ArtifactProblem):
    """The path itself cannot be read: missing, not a regular file, permission denied."""

    code = "RA905"


class OverLimits(ArtifactProblem):
    """Refused before reading: the file asks for more than a safe reader gives (size, depth, links)."""

    code = "RA906"
