"""Hostile and broken inputs: one line naming the problem, exit 3, no traceback, bounded memory.

Each input runs through the real command in a child process whose peak memory is measured.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import zipfile
from pathlib import Path

import h5py
import pytest

from conftest import dense

MODEL = {"module": "keras", "class_name": "Sequential", "registered_name": None,
         "config": {"name": "m", "layers": [dense("d", kernel_initializer={}, kernel_regularizer={"class_name": "L2", "config": {"l2": 0.001}})]}}
# Python and h5py take ~60 MB; inflating any of the bombs below would take hundreds.
MEMORY_BOUND_KB = 200 * 1024


# The child is forked from a small launcher, not from pytest: a child forked from a process that
# has imported TensorFlow (the cross-check tests) reports that process's size as its own peak.
_LAUNCHER = (
    "import os, sys\n"
    "pid = os.fork()\n"
    "if pid == 0:\n"
    "    os.execv(sys.executable, [sys.executable, '-m', 'regaudit', 'check', *sys.argv[2:]])\n"
    "_, status, usage = os.wait4(pid, 0)\n"
    "open(sys.argv[1], 'w').write(str(usage.ru_maxrss))\n"
    "sys.exit(os.waitstatus_to_exitcode(status))\n"
)


def run_measured(tmp_path: Path, *args: str) -> tuple[int, str, str, int]:
    """Run `regaudit check` and return (exit code, stdout, stderr, peak RSS in KB) of that child."""
    out, err, peak = tmp_path / "stdout.txt", tmp_path / "stderr.txt", tmp_path / "peak.txt"
    with open(out, "w") as stdout, open(err, "w") as stderr:
        completed = subprocess.run([sys.executable, "-c", _LAUNCHER, str(peak), *args], stdout=stdout, stderr=stderr,
                                   env={**os.environ, "NO_COLOR": "1"})
    return completed.returncode, out.read_text(), err.read_text(), int(peak.read_text())


def keras_zip(path: Path, config_bytes: bytes | None = None) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("metadata.json", json.dumps({"keras_version": "3.15.1"}))
        archive.writestr("config.json", config_bytes if config_bytes is not None else json.dumps(MODEL))
        archive.writestr("model.weights.h5", os.urandom(4096))
    return path


def legacy_h5(path: Path) -> Path:
    with h5py.File(path, "w") as file:
        file.attrs["model_config"] = json.dumps({"class_name": "Sequential", "config": MODEL["config"]})
        file.attrs["keras_version"] = "2.15.0"
        file.create_dataset("model_weights/d/d/kernel:0", data=[[0.5] * 64] * 64)
    return path


def assert_refused(tmp_path: Path, path: Path, code: str, phrase: str) -> None:
    exit_code, stdout, stderr, peak_kb = run_measured(tmp_path, "--format", "json", str(path))
    assert "Traceback" not in stderr + stdout
    assert stderr == ""
    assert exit_code == 3
    (artifact,) = json.loads(stdout)["artifacts"]
    assert artifact["status"] in ("error", "skipped")
    assert artifact["error"]["code"] == code
    assert phrase in artifact["error"]["message"]
    assert "\n" not in artifact["error"]["message"]
    assert peak_kb < MEMORY_BOUND_KB, f"peak memory {peak_kb // 1024} MB"
    # The text report says the same on one line under the file name.
    text = run_measured(tmp_path, str(path))
    assert text[0] == 3 and f"{code} " in text[1] and "Traceback" not in text[2]


def test_truncated_keras_zip(tmp_path):
    whole = keras_zip(tmp_path / "whole.keras").read_bytes()
    cut = tmp_path / "cut.keras"
    cut.write_bytes(whole[: len(whole) // 2])
    assert_refused(tmp_path, cut, "RA903", "not a readable zip archive")


def test_truncated_hdf5(tmp_path):
    whole = legacy_h5(tmp_path / "whole.h5").read_bytes()
    cut = tmp_path / "cut.h5"
    cut.write_bytes(whole[: len(whole) // 3])
    assert_refused(tmp_path, cut, "RA903", "HDF5")


def test_damaged_config_in_keras_zip_fails_its_crc(tmp_path):
    path = keras_zip(tmp_path / "flipped.keras")
    data = bytearray(path.read_bytes())
    start = data.index(b'"class_name"')  # inside the stored config.json member
    data[start + 2] ^= 0x20
    path.write_bytes(bytes(data))
    assert_refused(tmp_path, path, "RA903", "config.json could not be read")


def test_damaged_model_config_attribute_in_hdf5(tmp_path):
    path = legacy_h5(tmp_path / "flipped.h5")
    data = bytearray(path.read_bytes())
    start = data.index(b'"class_name"')
    data[start : start + 16] = b"\xff" * 16
    path.write_bytes(bytes(data))
    assert_refused(tmp_path, path, "RA903", "model_config")


def bit_flipped(pristine: bytes, *, copies: int, flips: int, seed: int) -> list[bytes]:
    """`copies` versions of `pristine`, each with `flips` random bits flipped (reproducibly)."""
    generator = random.Random(seed)
    versions = []
    for _ in range(copies):
        data = bytearray(pristine)
        for _ in range(flips):
            data[generator.randrange(len(data))] ^= 1 << generator.randrange(8)
        versions.append(bytes(data))
    return versions


@pytest.mark.parametrize("builder", [keras_zip, legacy_h5], ids=["keras", "h5"])
def test_random_bit_flips_never_crash(tmp_path, builder):
    """Fuzz: flipped bits anywhere give a result or a one-line refusal, never a traceback."""
    pristine = builder(tmp_path / f"model{'.keras' if builder is keras_zip else '.h5'}").read_bytes()
    paths = []
    for index, data in enumerate(bit_flipped(pristine, copies=24, flips=8, seed=20261123)):
        path = tmp_path / f"flip{index}{'.keras' if builder is keras_zip else '.h5'}"
        path.write_bytes(data)
        paths.append(str(path))
    exit_code, stdout, stderr, peak_kb = run_measured(tmp_path, "--format", "json", *paths)
    assert "Traceback" not in stderr and stderr == ""
    report = json.loads(stdout)
    assert len(report["artifacts"]) == len(paths)  # one bad file never hides the others
    for artifact in report["artifacts"]:
        assert artifact["status"] == "ok" or artifact["error"]["code"] in ("RA903", "RA906", "RA901")
        assert artifact["error"] is None or artifact["error"]["code"] != "RA909", artifact["error"]
    assert exit_code in (0, 1, 3)
    assert peak_kb < MEMORY_BOUND_KB


def test_empty_file(tmp_path):
    path = tmp_path / "model.keras"
    path.write_bytes(b"")
    assert_refused(tmp_path, path, "RA903", "empty file")


def test_zip_bomb_is_refused_by_its_declared_size(tmp_path):
    path = tmp_path / "bomb.keras"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        with archive.open("config.json", "w", force_zip64=True) as member:
            block = b" " * (1 << 20)
            for _ in range(300):  # inflates to 300 MB
                member.write(block)
    assert path.stat().st_size < 2 << 20
    assert_refused(tmp_path, path, "RA906", "declares 300 MB uncompressed")


def test_zip_that_lies_about_its_size_is_cut_off_at_the_declared_size(tmp_path):
    # Declared 2 bytes in both headers, inflates to 80 MB: zipfile stops at 2 bytes and the CRC fails.
    path = tmp_path / "liar.keras"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("config.json", b" " * (80 << 20))
    data = bytearray(path.read_bytes())
    real = (80 << 20).to_bytes(4, "little")
    fake = (2).to_bytes(4, "little")
    assert data.count(real) == 2  # local header and central directory
    path.write_bytes(bytes(data).replace(real, fake))
    assert_refused(tmp_path, path, "RA903", "Bad CRC-32")


@pytest.mark.parametrize("where", ["json", "keras"])
def test_json_nested_100000_deep(tmp_path, where):
    deep = b"[" * 100_000 + b"]" * 100_000
    if where == "json":
        path = tmp_path / "deep.json"
        path.write_bytes(deep)
    else:
        path = keras_zip(tmp_path / "deep.keras", deep)
    assert_refused(tmp_path, path, "RA906", "nests JSON deeper than the parser allows")


def test_model_nested_deeper_than_any_real_architecture(tmp_path):
    model = dense("leaf")
    for index in range(100):  # valid JSON (~400 levels), far beyond any real architecture
        model = {"class_name": "Sequential", "config": {"name": f"s{index}", "layers": [model]}}
    path = tmp_path / "deep_model.json"
    path.write_text(json.dumps(model))
    assert_refused(tmp_path, path, "RA906", "nested more than 64 levels deep")


def test_hdf5_with_an_external_link(tmp_path):
    path = legacy_h5(tmp_path / "linked.h5")
    with h5py.File(path, "a") as file:
        file["model_weights/d/evil"] = h5py.ExternalLink("/etc/passwd", "/")
    assert_refused(tmp_path, path, "RA906", "external link")


@pytest.mark.parametrize(
    "name, build, phrase",
    [
        ("model.keras", legacy_h5, "a legacy HDF5 model named .keras"),
        ("model.h5", keras_zip, "a Keras zip archive named .h5"),
    ],
)
def test_wrong_extension_for_the_content(tmp_path, name, build, phrase):
    # Audited by content (bounded like any other file); RA406 names the Keras lines that refuse it.
    code, stdout, stderr, peak_kb = run_measured(tmp_path, str(build(tmp_path / name)))
    assert code == 0 and stderr == "" and peak_kb < MEMORY_BOUND_KB
    assert "RA406" in stdout and phrase in stdout


def test_git_lfs_pointer(tmp_path):
    path = tmp_path / "model.keras"
    path.write_text(
        "version https://git-lfs.github.com/spec/v1\n"
        "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 103198167\n"
    )
    assert_refused(tmp_path, path, "RA902", "git lfs pull")


def test_one_bad_file_never_hides_the_others(tmp_path):
    good = keras_zip(tmp_path / "good.keras")
    empty = tmp_path / "empty.keras"
    empty.write_bytes(b"")
    exit_code, stdout, stderr, _ = run_measured(tmp_path, "--format", "json", str(empty), str(tmp_path / "missing.h5"), str(good))
    report = json.loads(stdout)
    assert [(a["path"], a["status"]) for a in report["artifacts"]] == [
        (str(empty), "error"), (str(tmp_path / "missing.h5"), "error"), (str(good), "ok")]
    assert report["artifacts"][1]["error"]["code"] == "RA905"
    assert report["artifacts"][2]["layers"][0]["regularizers"][0]["class_name"] == "L2"
    assert exit_code == 3 and stderr == ""
