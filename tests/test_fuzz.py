"""Mutation fuzzing, in the suite: damaged versions of real model files never crash regaudit.

Every file of the public corpus under `SOURCE_LIMIT` bytes, every fixture model and the hostile
test files are mutated with a seeded generator, so that a run is repeatable:

- raw bytes: bit flips, truncations, insertions of random bytes;
- the model's JSON (a model-config file, the `config.json` of a `.keras` archive, the
  `model_config` attribute of an HDF5 file), mutated as data and written back into a valid
  container: a value swapped for one of another type, a key removed.

All mutants go through one `regaudit check` per run (not one process per file), which must:
give no traceback; exit 0, 1 or 3; write a JSON report that parses and lists every file, and a
SARIF report valid against the SARIF 2.1.0 schema; never call an artifact "ok" without layers;
never hit an internal error (RA909); and give the same report with `--jobs 2` as serially. The
other formats are written in the same run, so that a crash in any reporter shows too.

The minimal reproducer of every failure found this way is kept in `tests/data/fuzz/` and goes
through the same run. `REGAUDIT_FUZZ_SEED` and `REGAUDIT_FUZZ_MUTANTS` explore further (keep
what they find there too).
"""

from __future__ import annotations

import copy
import json
import math
import os
import random
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any, Callable

import pytest

from conftest import FIXTURES, MODELS, ROOT, require

SEED = int(os.environ.get("REGAUDIT_FUZZ_SEED", "20261130"))
MUTANTS_PER_SOURCE = int(os.environ.get("REGAUDIT_FUZZ_MUTANTS", "3"))
SOURCE_LIMIT = 256 * 1024  # larger corpus files add time, not kinds of structure
REPRODUCERS = ROOT / "tests" / "data" / "fuzz"
MODEL_SUFFIXES = (".keras", ".h5", ".hdf5", ".json")
SARIF_SCHEMA = ROOT / "tests" / "schemas" / "sarif-schema-2.1.0.json"
# Values of every JSON type, and strings built to break reports, to swap in for another type.
SWAPS: list[Any] = [
    None, True, False, 0, -1, 2**64, 1e308, -0.0, "", "x", "::error::fuzz\n\x1b[2J", "\ud800", "../../etc/passwd",
    [], [None], [[[]]], {}, {"class_name": None}, {"class_name": "Dense", "config": None},
]


def sources(corpus: Path) -> list[Path]:
    found = [path for path in sorted(corpus.iterdir()) if path.suffix in MODEL_SUFFIXES
             and path.stat().st_size <= SOURCE_LIMIT]
    found += [path for path in sorted(MODELS.iterdir()) if path.is_file() and path.suffix in MODEL_SUFFIXES]
    found += sorted((ROOT / "tests" / "data").glob("*.json"))
    return found


# --- mutations ------------------------------------------------------------------------------------


def flip_bits(data: bytes, rng: random.Random) -> bytes:
    mutated = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        if mutated:
            mutated[rng.randrange(len(mutated))] ^= 1 << rng.randrange(8)
    return bytes(mutated)


def truncate(data: bytes, rng: random.Random) -> bytes:
    return data[: rng.randrange(len(data))] if data else data


def insert(data: bytes, rng: random.Random) -> bytes:
    at = rng.randint(0, len(data))
    return data[:at] + rng.randbytes(rng.randint(1, 64)) + data[at:]


def swap_type(document: Any, rng: random.Random) -> Any:
    places = _places(document)
    if places:
        container, key = rng.choice(places)
        original = container[key]
        container[key] = rng.choice([value for value in SWAPS if type(value) is not type(original)])
    return document


def remove_key(document: Any, rng: random.Random) -> Any:
    tables = [container for container, _ in _places(document) if isinstance(container, dict)]
    if tables:
        table = rng.choice(tables)
        del table[rng.choice(sorted(table))]
    return document


def _places(document: Any) -> list[tuple[Any, Any]]:
    """Every (container, key or index) in the document, iteratively (a config may nest deeply)."""
    places, stack = [], [document]
    while stack:
        node = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, value in items:
            places.append((node, key))
            stack.append(value)
    return places


BYTE_MUTATIONS: list[Callable[[bytes, random.Random], bytes]] = [flip_bits, truncate, insert]
JSON_MUTATIONS: list[Callable[[Any, random.Random], Any]] = [swap_type, remove_key]


def mutant(source: Path, target: Path, rng: random.Random) -> str:
    """Write one mutant of `source` to `target`; returns the mutation's name."""
    data = source.read_bytes()
    document_mutation = rng.choice(JSON_MUTATIONS) if rng.random() < 0.6 else None
    if document_mutation is not None:
        written = _mutate_document(source, data, target, lambda document: document_mutation(document, rng))
        if written:
            return document_mutation.__name__
    byte_mutation = rng.choice(BYTE_MUTATIONS)
    target.write_bytes(byte_mutation(data, rng))
    return byte_mutation.__name__


def _mutate_document(source: Path, data: bytes, target: Path, change: Callable[[Any], Any]) -> bool:
    """Mutate the model JSON inside `source` as data, keeping its container valid."""
    if data.startswith(b"PK"):
        return _mutate_zip_config(data, target, change)
    if data.startswith(b"\x89HDF"):
        return _mutate_hdf5_config(source, target, change)
    try:
        document = json.loads(data)
    except ValueError:
        return False
    target.write_text(json.dumps(change(document)))
    return True


def _mutate_zip_config(data: bytes, target: Path, change: Callable[[Any], Any]) -> bool:
    import io

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}
    if "config.json" not in members:
        return False
    members["config.json"] = json.dumps(change(json.loads(members["config.json"]))).encode()
    with zipfile.ZipFile(target, "w") as archive:
        for name, content in members.items():
            archive.writestr(zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0)), content)  # repeatable
    return True


def _mutate_hdf5_config(source: Path, target: Path, change: Callable[[Any], Any]) -> bool:
    import h5py

    shutil.copyfile(source, target)
    with h5py.File(target, "a") as file:
        raw = file.attrs.get("model_config")
        if raw is None:
            return False
        text = raw.decode() if isinstance(raw, bytes) else str(raw)
        mutated = json.dumps(change(json.loads(text)))
        file.attrs["model_config"] = mutated.encode() if isinstance(raw, bytes) else mutated
    return True


def build_mutants(corpus: Path, directory: Path, seed: int = SEED, per_source: int = MUTANTS_PER_SOURCE) -> list[Path]:
    rng = random.Random(seed)
    made = []
    for source in sources(corpus):
        for index in range(per_source):
            stem = f"{source.stem}.{index}"
            target = directory / f"{stem}{source.suffix}"
            kind = mutant(source, target, rng)
            renamed = target.with_name(f"{stem}.{kind}{source.suffix}")
            target.rename(renamed)
            made.append(renamed)
    return made


# --- the run --------------------------------------------------------------------------------------


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "regaudit", "check", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=600, env={**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(ROOT)})


@pytest.fixture(scope="module")
def mutants(corpus, tmp_path_factory) -> tuple[Path, list[str]]:
    directory = tmp_path_factory.mktemp("mutants")
    made = build_mutants(corpus, directory)
    for reproducer in sorted(REPRODUCERS.iterdir()):
        shutil.copyfile(reproducer, directory / f"reproducer.{reproducer.name}")
        made.append(directory / f"reproducer.{reproducer.name}")
    return directory, [path.name for path in made]


@pytest.fixture(scope="module")
def serial(mutants) -> tuple[subprocess.CompletedProcess, Path]:
    directory, names = mutants
    outputs = [f"--output={format_}=report.{format_}" for format_ in ("sarif", "text", "html", "junit", "github",
                                                                       "markdown")]
    return run("--format", "json", *outputs, "--", *names, cwd=directory), directory


def test_the_mutants_are_many_and_of_every_kind(mutants):
    _, names = mutants
    kinds = {name.split(".")[-2] for name in names if not name.startswith("reproducer.")}
    assert kinds == {"flip_bits", "truncate", "insert", "swap_type", "remove_key"}
    assert len(names) >= 300


def test_no_traceback_and_only_documented_exit_codes(serial):
    completed, _ = serial
    assert "Traceback" not in completed.stderr and completed.stderr == "", completed.stderr[-3000:]
    assert completed.returncode in (0, 1, 3)


def test_every_mutant_is_reported_and_none_is_an_internal_error_or_ok_without_layers(serial, mutants):
    completed, _ = serial
    report = json.loads(completed.stdout)
    _, names = mutants
    assert [artifact["path"] for artifact in report["artifacts"]] == names  # one bad file hides none
    internal = [(a["path"], a["error"]["message"]) for a in report["artifacts"] if a["error"] and a["error"]["code"] == "RA909"]
    assert internal == []
    hollow = [a["path"] for a in report["artifacts"] if a["status"] == "ok" and not a["layers"]]
    assert hollow == []
    schema = json.loads((ROOT / "regaudit" / "reporters" / "report.schema.json").read_text())
    jsonschema = require("jsonschema")
    jsonschema.validate(report, schema)


def test_sarif_is_valid(serial):
    jsonschema = require("jsonschema")
    require("rfc3986_validator")
    _, directory = serial
    log = json.loads((directory / "report.sarif").read_text())
    schema = json.loads(SARIF_SCHEMA.read_text())
    validator = jsonschema.validators.validator_for(schema)(schema, format_checker=jsonschema.FormatChecker())
    errors = [f"{list(error.path)}: {error.message}" for error in validator.iter_errors(log)]
    assert errors == []


def test_every_other_format_was_written(serial):
    _, directory = serial
    for format_ in ("text", "html", "junit", "github", "markdown"):
        (directory / f"report.{format_}").read_bytes().decode("utf-8")


def test_jobs_2_gives_the_serial_report(serial, mutants):
    completed, _ = serial
    directory, names = mutants
    parallel = run("--format", "json", "--jobs", "2", "--", *names, cwd=directory)
    assert parallel.stderr == ""
    assert parallel.returncode == completed.returncode
    assert parallel.stdout == completed.stdout


def test_mutations_are_repeatable(corpus, tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    made = [build_mutants(corpus, directory, per_source=1) for directory in (first, second)]
    assert [path.name for path in made[0]] == [path.name for path in made[1]]
    assert [a.name for a, b in zip(*made) if a.read_bytes() != b.read_bytes()] == []


def test_json_mutations_keep_the_container_valid(tmp_path):
    rng = random.Random(SEED)
    keras = tmp_path / "m.keras"
    assert _mutate_document(MODELS / "k3_nested.keras", (MODELS / "k3_nested.keras").read_bytes(), keras,
                            lambda document: remove_key(document, rng))
    with zipfile.ZipFile(keras) as archive:
        json.loads(archive.read("config.json"))
        assert archive.testzip() is None
    document = {"a": [1, {"b": None}]}
    mutated = swap_type(copy.deepcopy(document), rng)
    assert mutated != document and not (isinstance(mutated, float) and math.isnan(mutated))
