"""Keras v3 `.keras` archives (also written by tf.keras >= 2.12) and their unzipped directory form.

Only `config.json` and `metadata.json` are read; the weights member is never opened.
"""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path
from regaudit.loaders.keras_config import build_tree, optimizer_from
from regaudit.loaders.limits import (
    MAX_CONFIG_BYTES,
    MAX_METADATA_BYTES,
    check_declared_size,
    parse_json,
    read_bounded,
)
from regaudit.loaders.problems import Corrupt, NotAModel
from regaudit.tree import ModelTree

CONFIG = "config.json"
METADATA = "metadata.json"
_WEIGHTS = ("model.weights.h5", "model.weights.npz", "variables.h5")
# What zipfile and zlib raise on a damaged, encrypted or exotic archive.
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError, OSError, ValueError)


def is_keras_directory(path: Path) -> bool:
    """`save_model(..., zipped=False)` and Hugging Face uploads: config.json next to the weights."""
    return (path / CONFIG).is_file() and any((path / name).is_file() for name in (METADATA, *_WEIGHTS))


def load_archive(path: Path) -> ModelTree:
    try:
        archive = zipfile.ZipFile(path)
    except _ZIP_ERRORS as error:
        raise Corrupt(f"not a readable zip archive ({error}); the file may be truncated or corrupt") from None
    with archive:
        config = _read_member(archive, CONFIG, MAX_CONFIG_BYTES)
        if config is None:
            raise NotAModel("zip archive without config.json: not a Keras .keras file")
        metadata = _read_member(archive, METADATA, MAX_METADATA_BYTES)
    return _tree(config, metadata, "keras-zip")


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
