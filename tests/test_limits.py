"""Bounded cost on hostile input (issue 9): each input is built small and fast in tmp_path, and is
refused with RA906 naming the limit, before the reader spends memory or time on it."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import h5py

from conftest import dense

import regaudit

CONFIG = json.dumps({"class_name": "Sequential", "config": {"name": "m", "layers": [dense("d", kernel_initializer={})]}})


def _error(path: Path):
    (artifact,) = regaudit.audit([str(path)], {}).artifacts
    return artifact.error


def _lying_vlen_string(path: Path, claimed: int) -> Path:
    """A legacy HDF5 model whose model_config length field claims `claimed` bytes."""
    length = 0x12345  # a length that is easy to find in the attribute's bytes
    with h5py.File(path, "w") as file:
        file.attrs["model_config"] = CONFIG.ljust(length)
    data = bytearray(path.read_bytes())
    heap = data.find(b"GCOL")
    needle = struct.pack("<I", length) + struct.pack("<Q", heap)
    at = data.find(needle)
    assert heap > 0 and at > 0
    data[at : at + 4] = struct.pack("<I", claimed)
    path.write_bytes(data)
    return path


def test_vlen_string_with_a_lying_length_is_refused(tmp_path):
    error = _error(_lying_vlen_string(tmp_path / "model.h5", 0xF000_0000))
    assert error.code == "RA906" and "256 MB" in error.message


def test_vlen_string_with_its_true_length_is_read(tmp_path):
    path = _lying_vlen_string(tmp_path / "model.h5", 0x12345)
    (artifact,) = regaudit.audit([str(path)], {}).artifacts
    assert artifact.error is None and [layer.name for layer in artifact.tree.layers()] == ["d"]


def test_array_of_shared_heap_references_is_refused_before_reading(tmp_path):
    # Elements pointing at one large heap object would each read it again.
    path = tmp_path / "model.h5"
    with h5py.File(path, "w") as file:
        file.attrs.create("model_config", [CONFIG] * 2000, dtype=h5py.string_dtype())
    error = _error(path)
    assert error.code == "RA903" and "holds 2,000 strings" in error.message
