"""Bounded cost on hostile input (issue 9): each input is built small and fast in tmp_path, and is
refused with RA906 naming the limit, before the reader spends memory or time on it."""

from __future__ import annotations

import json
import os
import resource
import struct
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import h5py

from conftest import dense

import regaudit
from regaudit.loaders import keras_config, keras_zip, limits

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


# --- inputs from issue 9's table, each refused with RA906 naming the limit and how to raise it ----


def _keras_zip(path: Path, config: bytes) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("metadata.json", json.dumps({"keras_version": "3.15.1"}))
        archive.writestr("config.json", config)
        archive.writestr("model.weights.h5", b"")
    return path


def _empty_objects(path: Path, count: int) -> Path:
    """A .keras whose config.json is `count` empty objects: tiny compressed, 72 bytes each parsed."""
    head = b'{"class_name": "Sequential", "config": {"name": "m", "layers": ['
    return _keras_zip(path, head + b"{}," * count + b"{}]}}")


def _many_layers(path: Path, count: int, *, all_outputs: bool = False) -> Path:
    layers = ",".join(f'{{"class_name":"Dense","config":{{"name":"d{i}"}},"inbound_nodes":[]}}' for i in range(count))
    outputs = ",".join(f'["d{i}",0,0]' for i in range(count)) if all_outputs else ""
    kind = "Functional" if all_outputs else "Sequential"
    config = f'{{"class_name":"{kind}","config":{{"name":"m","layers":[{layers}],"output_layers":[{outputs}]}}}}'
    return _keras_zip(path, config.encode())


def _many_entries(path: Path, count: int) -> Path:
    """A zip whose central directory lists `count` entries, all naming one small config.json."""
    config = CONFIG.encode()
    name = b"config.json"
    crc = zlib.crc32(config)
    local = struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 0, 0, 0, crc, len(config), len(config), len(name), 0)
    entry = struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 0, 0, 0, crc, len(config), len(config),
                        len(name), 0, 0, 0, 0, 0, 0) + name
    directory = entry * count
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, min(count, 0xFFFF), min(count, 0xFFFF), len(directory),
                      len(local) + len(name) + len(config), 0)
    if count > 0xFFFF:  # ZIP64: the classic record says "see the ZIP64 record"
        at = len(local) + len(name) + len(config) + len(directory)
        end = (struct.pack("<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, count, count, len(directory),
                           len(local) + len(name) + len(config))
               + struct.pack("<4sLQL", b"PK\x06\x07", 0, at, 1)
               + struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, len(directory),
                             len(local) + len(name) + len(config), 0))
    path.write_bytes(local + name + config + directory + end)
    return path


def test_json_of_empty_objects_is_refused_before_parsing(tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "MAX_JSON_VALUES", 10_000)
    error = _error(_empty_objects(tmp_path / "model.keras", 20_000))
    assert error.code == "RA906" and "10,000 limit" in error.message and "REGAUDIT_MAX_JSON_VALUES" in error.message


def test_model_with_too_many_layers_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(keras_config, "MAX_LAYERS", 500)
    error = _error(_many_layers(tmp_path / "model.keras", 501))
    assert error.code == "RA906" and "more than 500 layers" in error.message and "REGAUDIT_MAX_LAYERS" in error.message
    (artifact,) = regaudit.audit([str(_many_layers(tmp_path / "ok.keras", 500))], {}).artifacts
    assert artifact.status.value == "ok"


def test_zip_with_too_many_entries_is_refused_before_zipfile_reads_them(tmp_path, monkeypatch):
    monkeypatch.setattr(keras_zip, "MAX_ZIP_ENTRIES", 1_000)
    for count in (1_001, 70_000):  # the classic record, and ZIP64
        error = _error(_many_entries(tmp_path / f"model{count}.keras", count))
        assert error.code == "RA906" and f"declares {count:,} entries" in error.message
        assert "REGAUDIT_MAX_ZIP_ENTRIES" in error.message
    assert _error(_many_entries(tmp_path / "few.keras", 3)) is None


def test_limits_can_be_raised_from_the_environment(tmp_path):
    path = _empty_objects(tmp_path / "model.keras", 20_000)
    env = {**os.environ, "REGAUDIT_MAX_JSON_VALUES": "1000"}
    low = subprocess.run([sys.executable, "-m", "regaudit", "check", str(path)], capture_output=True, text=True, env=env)
    assert "RA906" in low.stdout
    env["REGAUDIT_MAX_JSON_VALUES"] = "100000"
    high = subprocess.run([sys.executable, "-m", "regaudit", "check", str(path)], capture_output=True, text=True, env=env)
    assert "RA906" not in high.stdout and "RA903" in high.stdout  # parsed: `{}` is not a layer


class _CountingName(str):
    comparisons = 0

    def __eq__(self, other):
        _CountingName.comparisons += 1
        return str.__eq__(self, other)

    __hash__ = str.__hash__


def test_asking_whether_each_layer_is_an_output_stays_linear():
    # 100,000 layers all listed as outputs took 155 s: each question scanned the whole tuple.
    from regaudit.tree import Layer

    root = Layer("m", "Functional", "")
    root.children = [Layer(_CountingName(f"d{i}"), "Dense", f"d{i}", parent=root) for i in range(3_000)]
    root.outputs = tuple(_CountingName(child.name) for child in root.children)
    _CountingName.comparisons = 0
    assert all(child.is_model_output for child in root.children)
    assert _CountingName.comparisons < 10 * len(root.children)


def test_issue_table_inputs_stay_under_1_gb_and_60_s(tmp_path):
    """The real sizes from issue 9, each in a child process held to 1 GB of address space."""
    inputs = [
        _empty_objects(tmp_path / "braces.keras", 20_000_000),  # 60 MB of `{}` in a 60 KB file
        _many_layers(tmp_path / "layers.keras", 550_000),
        _many_layers(tmp_path / "outputs.keras", 100_000, all_outputs=True),
        _lying_vlen_string(tmp_path / "lying.h5", 0xF000_0000),
        _many_entries(tmp_path / "entries.keras", 300_000),
    ]

    def ceiling():
        resource.setrlimit(resource.RLIMIT_AS, (1024 * 1024 * 1024, resource.RLIM_INFINITY))

    for path in inputs:
        completed = subprocess.run([sys.executable, "-m", "regaudit", "check", "--format", "json", str(path)],
                                   capture_output=True, text=True, timeout=60, preexec_fn=ceiling)
        assert completed.returncode == 3, (path.name, completed.stdout[-500:], completed.stderr[-500:])
        (artifact,) = json.loads(completed.stdout)["artifacts"]
        assert artifact["error"]["code"] == "RA906", (path.name, artifact["error"])
