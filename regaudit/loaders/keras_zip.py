"""Keras v3 `.keras` archives (also written by tf.keras >= 2.12) and their unzipped directory form.

Only `config.json` and `metadata.json` are read; the weights member is never opened.
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from pathlib import Path

from regaudit.loaders.keras_config import build_tree, optimizer_from
from regaudit.loaders.limits import (
    MAX_CONFIG_BYTES,
    MAX_METADATA_BYTES,
    MAX_ZIP_ENTRIES,
    ZIP_ENTRIES_VARIABLE,
    check_declared_size,
    parse_json,
    raise_hint,
    read_bounded,
)
from regaudit.loaders.problems import Corrupt, NotAModel, OverLimits
from regaudit.tree import ModelTree

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import BinaryIO

CONFIG = "config.json"
METADATA = "metadata.json"
_WEIGHTS = ("model.weights.h5", "model.weights.npz", "variables.h5")
# What zipfile and zlib raise on a damaged, encrypted or exotic archive.
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError, OSError, ValueError)


def is_keras_directory(path: Path) -> bool:
    """`save_model(..., zipped=False)` and Hugging Face uploads: config.json next to the weights."""
    return (path / CONFIG).is_file() and any((path / name).is_file() for name in (METADATA, *_WEIGHTS))


def load_archive(path: Path, stream: BinaryIO | None = None) -> ModelTree:
    """The tree of a `.keras` archive, read through `stream` when the caller has the file open."""
    if stream is None:
        try:
            with open(path, "rb") as opened:
                return load_archive(path, opened)
        except OSError as error:
            raise Corrupt(f"not a readable zip archive ({error}); the file may be truncated or corrupt") from None
    _check_entry_count(stream)
    try:
        archive = zipfile.ZipFile(stream)
    except _ZIP_ERRORS as error:
        raise Corrupt(f"not a readable zip archive ({error}); the file may be truncated or corrupt") from None
    with archive:
        config = _read_member(archive, CONFIG, MAX_CONFIG_BYTES)
        if config is None:
            raise NotAModel("zip archive without config.json: not a Keras .keras file")
        metadata = _read_member(archive, METADATA, MAX_METADATA_BYTES)
    return _tree(config, metadata, "keras-zip")


# The end-of-central-directory record (APPNOTE.TXT 4.3.16) and its ZIP64 locator and record
# (4.3.15, 4.3.14): the entry count is read from them before zipfile builds one object per entry.
_EOCD = struct.Struct("<4s4H2LH")
_ZIP64_LOCATOR = struct.Struct("<4sLQL")
_ZIP64_EOCD = struct.Struct("<4sQ2H2L4Q")
_EOCD_SEARCH = _EOCD.size + 0xFFFF  # the record ends the file, after a comment of up to 64 KB


def _check_entry_count(stream: BinaryIO) -> None:
    try:
        size = stream.seek(0, 2)
        start, tail = _end_record(stream, size)
        at = tail.rfind(b"PK\x05\x06")
        if at < 0 or at + _EOCD.size > len(tail):
            return  # zipfile reports the damage
        entries = max(_EOCD.unpack_from(tail, at)[3:5])
        locator_at = start + at - _ZIP64_LOCATOR.size
        if locator_at >= 0:
            stream.seek(locator_at)
            locator = _ZIP64_LOCATOR.unpack(stream.read(_ZIP64_LOCATOR.size))
            if locator[0] == b"PK\x06\x07":
                stream.seek(locator[2])
                record = stream.read(_ZIP64_EOCD.size)
                if len(record) == _ZIP64_EOCD.size and record[:4] == b"PK\x06\x06":
                    entries = max(entries, _ZIP64_EOCD.unpack(record)[7])
    except (OSError, struct.error, ValueError):
        return  # zipfile reports the damage
    if entries > MAX_ZIP_ENTRIES:
        raise OverLimits(
            f"zip archive declares {entries:,} entries, over the {MAX_ZIP_ENTRIES:,} limit (a .keras archive "
            f"holds a handful); refusing to open it; {raise_hint(ZIP_ENTRIES_VARIABLE)}"
        )


def _end_record(stream: BinaryIO, size: int) -> tuple[int, bytes]:
    """Where the bytes that hold the end-of-central-directory record start, and those bytes.

    An archive without a comment (what every Keras writes) ends with the bare 22-byte record,
    read alone; otherwise the last 64 KB are searched, as zipfile does too.
    """
    if size >= _EOCD.size:
        stream.seek(size - _EOCD.size)
        last = stream.read(_EOCD.size)
        if last[:4] == b"PK\x05\x06" and last[-2:] == b"\x00\x00":
            return size - _EOCD.size, last
    start = max(0, size - _EOCD_SEARCH)
    stream.seek(start)
    return start, stream.read()


def load_directory(path: Path) -> ModelTree:
    metadata_path = path / METADATA
    metadata = _read_file(metadata_path, MAX_METADATA_BYTES) if metadata_path.is_file() else None
    return _tree(_read_file(path / CONFIG, MAX_CONFIG_BYTES), metadata, "keras-dir")


def _read_member(archive: zipfile.ZipFile, name: str, limit: int) -> bytes | None:
    try:
        info = archive.getinfo(name)
    except KeyError:
        return None
    # Decide from the declared size before inflating anything: a zip bomb never gets read.
    check_declared_size(info.file_size, limit, name)
    try:
        with archive.open(info) as stream:
            return read_bounded(stream, limit, name)
    except _ZIP_ERRORS as error:
        raise Corrupt(f"{name} could not be read from the archive ({error}); the file may be corrupt") from None


def _read_file(path: Path, limit: int) -> bytes:
    check_declared_size(path.stat().st_size, limit, path.name)
    with open(path, "rb") as stream:
        return read_bounded(stream, limit, path.name)


def _tree(config: bytes, metadata: bytes | None, format: str) -> ModelTree:
    model = parse_json(config, CONFIG)
    details = parse_json(metadata, METADATA) if metadata is not None else {}
    version = details.get("keras_version") if isinstance(details, dict) else None
    compile_config = model.get("compile_config") if isinstance(model, dict) else None
    return build_tree(
        model,
        format=format,
        keras_version=version if isinstance(version, str) else None,
        optimizer=optimizer_from(compile_config.get("optimizer")) if isinstance(compile_config, dict) else None,
    )
