"""Find model artifacts under the paths a user gives, and read each into a :class:`ModelTree`.

The loaders are the only code that knows file formats. Each one raises an
:class:`~regaudit.loaders.problems.ArtifactProblem` with a one-line reason when an artifact
cannot be audited; they never load a model, unpickle, import a module named in a file or
decode embedded bytecode.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

from regaudit._namedtuple import NamedTuple
from regaudit.loaders.problems import (
    ArtifactProblem,
    Corrupt,
    FormatMismatch,
    GitLfsPointer,
    NoArchitecture,
    NotAModel,
    UnreadableInput,
)
from regaudit.loaders.sniff import HEAD_BYTES, MODEL_EXTENSIONS, Content, claimed_content, classify, sniff
from regaudit.tree import ModelTree

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import BinaryIO, Callable, Iterable, Iterator


class Candidate(NamedTuple):
    path: Path
    display: str  # as given, or as found under a given directory
    explicit: bool  # named by the user, rather than found in a directory walk

    @property
    def has_model_extension(self) -> bool:
        return self.path.suffix.lower() in MODEL_EXTENSIONS


# `-` on the command line: a model config JSON read from standard input.
STDIN = "-"
# Whether a path (a file, or a directory when the flag is true) is left out of the run.
if TYPE_CHECKING:
    Exclude = Callable[[Path, bool], bool]


def discover(
    paths: Iterable[str], *, ignore_unknown: bool = False, exclude: Exclude | None = None, force_exclude: bool = False
) -> Iterator[Candidate]:
    """Candidates in the order given; directories are walked in sorted order, each file once.

    With `ignore_unknown`, named files are treated like files found in a directory walk: those
    that are not Keras models are passed over (for a pre-commit hook, which names every `.json`).
    `exclude` prunes directory walks; named paths are passed over only with `force_exclude`.
    """
    seen: set[str] = set()
    real_directories: dict[str, str] = {}
    for given in paths:
        path = Path(given)
        if given == STDIN:
            yield Candidate(path, STDIN, explicit=True)
            continue
        if force_exclude and exclude is not None and exclude(path, _is_dir(path)):
            continue
        if _is_dir(path) and not _inspect(_is_artifact_directory, path, default=True):
            found = _walk(path, given, exclude)
        else:
            found = iter([Candidate(path, given, explicit=not ignore_unknown)])
        walked_any = False
        for candidate in found:
            walked_any = True
            key = _real_path(os.fspath(candidate.path), real_directories)
            if key not in seen:
                seen.add(key)
                yield candidate
        if not walked_any and not ignore_unknown:  # a directory with no model files in it is reported
            yield Candidate(path, given, explicit=True)


def load(candidate: Candidate) -> ModelTree:
    path = candidate.path
    if candidate.display == STDIN and candidate.explicit:
        from regaudit.loaders.json_file import load_json_stream

        return load_json_stream(sys.stdin.buffer, "standard input")
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise UnreadableInput("no such file or directory") from None
    except OSError as error:
        raise UnreadableInput(error.strerror or str(error)) from None
    if stat.S_ISDIR(mode):
        try:
            with os.scandir(path):  # listable at all? (mode 000, or 0300)
                pass
            tree = _load_directory(path)
        except OSError as error:
            raise UnreadableInput(error.strerror or str(error)) from None
        return _on_tree(tree, "savedmodel" if tree.format == "savedmodel" else "directory", "")
    if not stat.S_ISREG(mode):
        raise UnreadableInput("not a regular file (a device, socket or pipe)")
    # Opened once: the first bytes tell the format, and a zip archive is read on through the same
    # file (it used to be opened three times: to sniff, to count its entries, and by zipfile).
    try:
        stream = open(path, "rb")
    except OSError as error:
        raise UnreadableInput(error.strerror or str(error)) from None
    with stream:
        try:
            content = classify(stream.read(HEAD_BYTES))
        except OSError as error:
            raise UnreadableInput(error.strerror or str(error)) from None
        try:
            tree = _read(content, path, stream)
        except NotAModel as problem:
            raise _mismatch(path, content, problem) or problem from None
    # Audited by content whatever the name; RA406 says which Keras lines refuse it under this name.
    return _on_tree(tree, content.value, path.suffix.lower())


def should_report(candidate: Candidate, problem: ArtifactProblem) -> bool:
    """Whether a problem found in a directory walk is worth listing, or the file is just not a model."""
    if candidate.explicit or isinstance(problem, NoArchitecture) or _is_dir(candidate.path):
        return True  # a directory is only found in a walk when it holds a SavedModel or a .keras
    if not candidate.has_model_extension:
        return False
    # `.json` and `.h5` are generic; `.keras` always claims to be a Keras model.
    return not isinstance(problem, NotAModel) or claimed_content(candidate.path) is Content.ZIP


_CONTAINER_NAMES = {Content.ZIP: "a zip archive", Content.HDF5: "HDF5", Content.JSON: "JSON"}


def _on_tree(tree: ModelTree, container: str, suffix: str) -> ModelTree:
    tree.container, tree.file_suffix = container, suffix
    return tree


def _mismatch(path: Path, content: Content, problem: NotAModel) -> FormatMismatch | None:
    """A name that promises a model format, over content of another format that is no model either."""
    claimed = claimed_content(path)
    if claimed is None or claimed is content or content not in _CONTAINER_NAMES:
        return None
    return FormatMismatch(f"named {path.suffix} but holds {_CONTAINER_NAMES[content]}, and no Keras model: {problem.message}")


def _read(content: Content, path: Path, stream: BinaryIO) -> ModelTree:
    """The tree of a file whose first bytes were read from `stream` (open, positioned anywhere)."""
    if content is Content.ZIP:
        from regaudit.loaders.keras_zip import load_archive

        return load_archive(path, stream)
    return _loader_for(content)(path)


def _loader_for(content: Content) -> Callable[[Path], ModelTree]:
    # Imported here so that an audit only imports the reader it needs (h5py costs ~0.1 s).
    if content is Content.HDF5:
        from regaudit.loaders.hdf5 import load_hdf5

        return load_hdf5
    if content is Content.JSON:
        from regaudit.loaders.json_file import load_json

        return load_json
    return _REFUSALS[content]


def _git_lfs_pointer(path: Path) -> ModelTree:
    raise GitLfsPointer(
        "Git LFS pointer, not the model: the checkout holds the small pointer file instead of the "
        "content; run `git lfs pull` (in CI, check out with LFS enabled)"
    )


def _empty(path: Path) -> ModelTree:
    raise Corrupt("empty file (0 bytes): the save was interrupted or the file was truncated")


def _not_a_model(path: Path) -> ModelTree:
    raise NotAModel("not a Keras model file: its content is neither a zip archive, HDF5 nor JSON")


_REFUSALS: dict[Content, Callable[[Path], ModelTree]] = {
    Content.LFS_POINTER: _git_lfs_pointer,
    Content.EMPTY: _empty,
    Content.OTHER: _not_a_model,
}


def _load_directory(path: Path) -> ModelTree:
    from regaudit.loaders.keras_zip import is_keras_directory, load_directory

    if is_keras_directory(path):
        return load_directory(path)
    if _is_saved_model(path):
        # Imported here: protobuf is only needed once a SavedModel is met.
        from regaudit.loaders.savedmodel import load_saved_model

        return load_saved_model(path)
    # A walk passes over what exclude, extend-exclude and .gitignore leave out: say so, since a
    # folder of models that git ignores (a build or cache folder) otherwise looks empty.
    raise NotAModel(
        "no Keras model files found in this directory (paths left out by exclude, extend-exclude "
        "or .gitignore are not looked at; --no-respect-gitignore looks at gitignored ones)"
    )


def _is_artifact_directory(path: Path) -> bool:
    from regaudit.loaders.keras_zip import is_keras_directory

    return is_keras_directory(path) or _is_saved_model(path)


def _is_saved_model(path: Path) -> bool:
    return (path / "saved_model.pb").is_file() or (path / "saved_model.pbtxt").is_file()


def _walk(root: Path, display_root: str, exclude: Exclude | None = None) -> Iterator[Candidate]:
    # A directory the walk cannot look into (mode 000) is listed as a candidate of its own, which
    # then reads as RA905; the rest of the walk goes on.
    unlisted: list[OSError] = []
    for directory, subdirectories, files in os.walk(root, onerror=unlisted.append):
        yield from _unreadable(unlisted, root, display_root)
        here = Path(directory)
        subdirectories.sort()
        # Names only: a folder of thousands of models holds one short string per file until the
        # walk reaches it, and its path is made then.
        found = sorted(name for name in files if not name.startswith("."))
        if exclude is not None:
            subdirectories[:] = [name for name in subdirectories if not exclude(here / name, True)]
        artifacts = [name for name in subdirectories if _inspect(_is_artifact_directory, here / name, default=True)]
        for name in artifacts:
            yield _found(here / name, root, display_root)
        # Artifact directories are audited whole; hidden folders, caches and virtualenvs are not models.
        subdirectories[:] = [
            name
            for name in subdirectories
            if name not in artifacts and not _skipped_directory(here / name)
        ]
        display_here = _display(here, root, display_root)
        # Each file's exclusion is decided as the walk reaches it, not for the whole folder first:
        # with --jobs the workers start on the first files while the walk goes on.
        for name in found:
            file = here / name
            if (exclude is None or not exclude(file, False)) and _worth_reading(file):
                yield Candidate(file, os.path.normpath(os.path.join(display_here, name)), explicit=False)
    yield from _unreadable(unlisted, root, display_root)


def _real_path(path: str, real_directories: dict[str, str]) -> str:
    """os.path.realpath(path), with each directory's resolved once: a walk finds many files in
    one directory, and resolving each from the root took a system call per path component."""
    if os.path.islink(path):
        return os.path.realpath(path)
    directory, name = os.path.split(path)
    if not name or name in (".", ".."):
        return os.path.realpath(path)
    real_directory = real_directories.get(directory)
    if real_directory is None:
        real_directory = real_directories[directory] = os.path.realpath(directory)
    return os.path.join(real_directory, name)


def _unreadable(unlisted: list[OSError], root: Path, display_root: str) -> Iterator[Candidate]:
    while unlisted:
        error = unlisted.pop(0)
        if error.filename is not None:
            yield _found(Path(os.fsdecode(error.filename)), root, display_root)._replace(explicit=True)


def _is_dir(path: Path) -> bool:
    return _inspect(Path.is_dir, path, default=False)


def _inspect(question: Callable[[Path], bool], path: Path, *, default: bool) -> bool:
    """A yes/no question about a path that may not be readable; the answer that leads to RA905."""
    try:
        return question(path)
    except OSError:
        return default


def _skipped_directory(path: Path) -> bool:
    # Caches and package folders (__pycache__, node_modules) are in the default `exclude` list.
    return path.name.startswith(".") or _inspect(Path.is_file, path / "pyvenv.cfg", default=False)


def _worth_reading(path: Path) -> bool:
    """Model extensions always; any other file only if its content is a zip or HDF5 container."""
    if path.suffix.lower() in MODEL_EXTENSIONS:
        return True
    try:
        return path.is_file() and sniff(path) in (Content.ZIP, Content.HDF5)
    except OSError:
        return False


def _found(path: Path, root: Path, display_root: str) -> Candidate:
    return Candidate(path, _display(path, root, display_root), explicit=False)


def _display(path: Path, root: Path, display_root: str) -> str:
    """How a path found under `root` is shown: under the root as the user gave it."""
    return os.path.normpath(os.path.join(display_root, os.path.relpath(path, root)))
