"""Tell what a file holds from its first bytes, never from its name alone."""

from __future__ import annotations

from enum import Enum
from pathlib import Path


class Content(str, Enum):
    ZIP = "zip"
    HDF5 = "hdf5"
    JSON = "json"
    LFS_POINTER = "git-lfs-pointer"
    EMPTY = "empty"
    OTHER = "other"


HEAD_BYTES = 4096
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
# HDF5 allows a user block before the superblock, which then starts at 512, 1024, 2048, ...
_HDF5_OFFSETS = (0, 512, 1024, 2048)
_LFS_PREFIX = b"version https://git-lfs.github.com/spec/"
_ZIP_PREFIXES = (b"PK\x03\x04", b"PK\x05\x06")  # first local header, or an empty archive

# What each extension claims to be, to report a file whose content says otherwise.
CLAIMED_BY_EXTENSION = {".keras": Content.ZIP, ".h5": Content.HDF5, ".hdf5": Content.HDF5, ".json": Content.JSON}
MODEL_EXTENSIONS = frozenset(CLAIMED_BY_EXTENSION)


def sniff(path: Path) -> Content:
    with open(path, "rb") as stream:
        head = stream.read(HEAD_BYTES)
    return classify(head)


def classify(head: bytes) -> Content:
    if not head:
        return Content.EMPTY
    if head.startswith(_ZIP_PREFIXES):
        return Content.ZIP
    if any(head[offset : offset + 8] == _HDF5_SIGNATURE for offset in _HDF5_OFFSETS):
        return Content.HDF5
    if head.startswith(_LFS_PREFIX):
        return Content.LFS_POINTER
    if head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"["):
        return Content.JSON
    return Content.OTHER


def claimed_content(path: Path) -> Content | None:
    return CLAIMED_BY_EXTENSION.get(path.suffix.lower())
