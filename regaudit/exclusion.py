"""Paths to leave out of a run: `exclude`, `extend-exclude` and `.gitignore` files, as in ruff.

Patterns are gitignore-style globs (`fixtures/broken/`, `*.weights.h5`, `legacy/**/*.h5`), read
with pathspec, the library git-compatible tools use: a pattern without a `/` matches a name at
any depth, a pattern with one is anchored at the project root (the configuration file's folder,
or the working directory without one). A directory that is excluded is not walked at all.

`.gitignore` files are honoured in directory walks unless `respect-gitignore = false`: those of
the walked directories and of their parents up to the repository's top level (the folder with
`.git`), each matched relative to its own folder, later and deeper patterns winning as in git.

A file named on the command line is audited even when a pattern matches it, unless
`--force-exclude` is given (as in ruff): a pre-commit hook names every staged file, and the
project's exclusions must still apply to them.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Iterable
    import pathspec

    from regaudit.config import Settings

GITIGNORE = ".gitignore"


def path_filter(settings: "Settings", cwd: Path | None = None) -> "PathFilter":
    """The run's filter: patterns anchored at the configuration file's folder, else `cwd`."""
    root = settings.root or cwd or Path.cwd()
    return PathFilter(settings.exclude + settings.extend_exclude, root, settings.respect_gitignore)


class PathFilter:
    """Decides whether a file or directory is left out; `root` anchors the configured patterns."""

    def __init__(self, patterns: Iterable[str], root: Path, respect_gitignore: bool = True) -> None:
        self._root = Path(os.path.abspath(root))
        self._patterns = list(patterns)
        self._spec: pathspec.GitIgnoreSpec | None = None  # built when first needed: see _spec
        self._respect_gitignore = respect_gitignore

    def excluded(self, path: Path, is_dir: bool) -> bool:
        absolute = Path(os.path.abspath(path))
        if self._spec is None:
            self._spec = _spec(self._patterns)
        if self._matches(self._spec, self._root, absolute, is_dir):
            return True
        return self._respect_gitignore and self._ignored_by_git(absolute, is_dir)

    def _ignored_by_git(self, path: Path, is_dir: bool) -> bool:
        verdict = False
        for directory in _gitignore_folders(path.parent):
            result = _gitignore(directory).check_file(_relative(path, directory, is_dir))
            if result.include is not None:
                verdict = result.include
        return verdict

    @staticmethod
    def _matches(spec: pathspec.PathSpec, base: Path, path: Path, is_dir: bool) -> bool:
        try:
            relative = _relative(path, base, is_dir)
        except ValueError:  # outside the root: match the patterns that hold no `/` on the name alone
            relative = path.name + ("/" if is_dir else "")
        return bool(spec.match_file(relative))


def _relative(path: Path, base: Path, is_dir: bool) -> str:
    relative = path.relative_to(base).as_posix()
    return relative + "/" if is_dir else relative


@lru_cache(maxsize=1024)
def _gitignore_folders(directory: Path) -> tuple[Path, ...]:
    """Folders from the repository's top level (or the filesystem root) down to `directory`
    that hold a `.gitignore`."""
    chain = []
    for folder in (directory, *directory.parents):
        chain.append(folder)
        if (folder / ".git").exists():
            break
    return tuple(folder for folder in reversed(chain) if (folder / GITIGNORE).is_file())


@lru_cache(maxsize=1024)
def _gitignore(directory: Path) -> pathspec.GitIgnoreSpec:
    try:
        lines = (directory / GITIGNORE).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        lines = []
    return _spec(lines)


def _spec(lines: list[str]) -> pathspec.GitIgnoreSpec:
    # Imported on first use: pathspec costs ~12 ms to import, more than auditing a model, and a
    # run that walks no directory (files named by a pre-commit hook) never needs it.
    import pathspec

    return pathspec.GitIgnoreSpec.from_lines(lines)
