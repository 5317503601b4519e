"""Files as they were at a git revision, for `regaudit diff --git REV PATH...`.

Blobs are read from the object store with `git ls-tree` and `git cat-file` and written into a
temporary folder the caller owns, so the loaders read them like any other file (a Git LFS pointer
blob is then refused with RA902 like a pointer in a checkout). git runs as a subprocess without a
shell; every name from the repository or the command line goes after `--end-of-options` or `--`, and
pathspec magic is off (`--literal-pathspecs`), so no file name can become an option or a pattern.
What is materialized is bounded: a revision that would write more than `MAX_BYTES` is refused
before anything is written.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path, PurePosixPath

from regaudit._namedtuple import NamedTuple
from regaudit.outcomes import ExitCode

MiB = 1024 * 1024
MAX_BYTES = 2048 * MiB
_SYMLINK_MODE = "120000"


class GitProblem(Exception):
    """git cannot give the old side: a one-line reason, and the exit code it leads to."""

    def __init__(self, message: str, exit_code: ExitCode = ExitCode.UNREADABLE) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class OldPath(NamedTuple):
    given: str  # the PATH as the user wrote it
    materialized: Path | None  # where its old content now is; None when REV has nothing there


class Materialized(NamedTuple):
    """The old revision's files under `into`, laid out as in the repository at `top`."""

    top: Path
    into: Path
    paths: list[OldPath]

    def mirror(self, path: Path | None) -> Path | None:
        """Where a working-tree folder (e.g. the configuration's) lies in the copy; None stays None,
        and a folder outside the repository stays as it is."""
        if path is None:
            return None
        relative = os.path.relpath(os.path.realpath(path), os.path.realpath(self.top))
        if relative == os.pardir or relative.startswith(os.pardir + os.sep):
            return path
        return self.into / relative


class _Blob(NamedTuple):
    mode: str
    object_id: str
    size: int
    path: str  # from the repository's root, `/`-separated


def materialize(revision: str, paths: list[str], into: Path, *, max_bytes: int = MAX_BYTES) -> Materialized:
    """Write the blobs under each of `paths` (working-tree paths, relative to the working directory)
    at `revision` into `into`, keeping their paths from the repository root.

    Raises GitProblem when git is missing, this is not a repository, `revision` is no commit, a
    path lies outside the repository (exit 2 for those two), or the blobs exceed `max_bytes`.
    """
    top = Path(_git(["rev-parse", "--show-toplevel"], Path.cwd()).strip())
    commit = _commit(revision, top)
    result = []
    for given in paths:
        relative = _in_repository(given, top)
        blobs = _blobs(commit, relative, top)
        if sum(blob.size for blob in blobs) > max_bytes:
            raise GitProblem(
                f"{given} at {revision} holds more than {_size(max_bytes)} of files; refusing to "
                "copy it out of git (name the model files themselves)"
            )
        for blob in blobs:
            _write_blob(blob, into, top)
        target = into / relative if relative != "." else into
        result.append(OldPath(given, target if blobs else None))
    return Materialized(top, into, result)


def _commit(revision: str, top: Path) -> str:
    try:
        return _git(["rev-parse", "--verify", "--quiet", "--end-of-options", f"{revision}^{{commit}}"], top).strip()
    except GitProblem:
        raise GitProblem(f"{revision!r} is not a commit in this repository", ExitCode.USAGE) from None


def _in_repository(given: str, top: Path) -> str:
    absolute = os.path.realpath(os.path.abspath(given))
    relative = os.path.relpath(absolute, os.path.realpath(top))
    if relative == os.pardir or relative.startswith(os.pardir + os.sep):
        raise GitProblem(f"{given} is outside the git repository at {top}", ExitCode.USAGE)
    return PurePosixPath(Path(relative)).as_posix()


def _blobs(commit: str, relative: str, top: Path) -> list[_Blob]:
    arguments = ["ls-tree", "-r", "-z", "-l", "--full-tree", commit, "--"]
    if relative != ".":
        arguments.append(relative)
    listing = _git(arguments, top)
    blobs = []
    for record in filter(None, listing.split("\0")):
        meta, _, path = record.partition("\t")
        mode, kind, object_id, size = meta.split()
        # Symbolic links and submodules hold no model; a symlink could point anywhere once written.
        if kind == "blob" and mode != _SYMLINK_MODE:
            blobs.append(_Blob(mode, object_id, int(size), path))
    return blobs


def _write_blob(blob: _Blob, into: Path, top: Path) -> None:
    target = into.joinpath(*PurePosixPath(blob.path).parts)
    if os.path.commonpath([os.path.abspath(target), os.path.abspath(into)]) != os.path.abspath(into):
        raise GitProblem(f"refusing the repository path {blob.path!r}: it leaves the temporary folder")
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "wb") as stream:
        completed = subprocess.run(
            ["git", "cat-file", "blob", blob.object_id], cwd=top, stdout=stream, stderr=subprocess.PIPE, check=False
        )
    if completed.returncode != 0:
        raise GitProblem(f"git cat-file failed for {blob.path}: {_first_line(completed.stderr)}")


def _git(arguments: list[str], cwd: Path) -> str:
    try:
        completed = subprocess.run(
            ["git", "-c", "core.quotePath=false", "--literal-pathspecs", *arguments],
            cwd=cwd, capture_output=True, check=False,
        )
    except FileNotFoundError:
        raise GitProblem("git is not installed (or not on PATH)", ExitCode.USAGE) from None
    if completed.returncode != 0:
        reason = _first_line(completed.stderr) or f"git {arguments[0]} failed"
        raise GitProblem(f"git: {reason}", ExitCode.USAGE if "not a git repository" in reason else ExitCode.UNREADABLE)
    return completed.stdout.decode("utf-8", "surrogateescape")


def _size(count: int) -> str:
    return f"{count // MiB:,} MB" if count >= MiB else f"{count:,} bytes"


def _first_line(data: bytes) -> str:
    text = data.decode("utf-8", "replace").strip()
    return text.splitlines()[0] if text else ""
