"""Hostile inputs found by the QA pass: each test failed before its fix."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conftest import FIXTURES, dense, run_cli, tree_of

POLICY = '[[require]]\nlayers = ["Dense"]\nregularizers = ["L2"]\n'


def _keras3_model(path: Path, layers: list[dict]) -> Path:
    path.write_text(json.dumps({"class_name": "Sequential", "keras_version": "3.15.1",
                                "config": {"name": "m", "layers": layers}}))
    return path


def test_dense_without_initializer_keys_still_has_a_kernel():
    # Keras fills a missing kernel_initializer with its default: the layer still builds a kernel.
    (layer,) = tree_of([dense("d")]).layers()
    assert {"kernel", "bias"} <= layer.weights
    (layer,) = tree_of([dense("d", use_bias=False)]).layers()
    assert "bias" not in layer.weights


def test_required_regularizer_policy_not_bypassed_by_deleting_initializer_keys(tmp_path):
    model = _keras3_model(tmp_path / "m.json", [dense("d")])
    (tmp_path / "regaudit.toml").write_text(POLICY)
    completed = run_cli("check", "--format", "concise", str(model), cwd=tmp_path)
    assert completed.returncode == 1, completed.stdout
    assert "RA501" in completed.stdout


@pytest.mark.keras
def test_keras_builds_the_kernel_of_a_dense_config_without_initializer_keys():
    keras = pytest.importorskip("keras")
    document = {"class_name": "Sequential", "config": {"name": "m", "layers": [
        {"class_name": "InputLayer", "config": {"batch_shape": [None, 3], "name": "x"}},
        {"class_name": "Dense", "config": {"name": "d", "units": 2}}]}}
    model = keras.models.model_from_json(json.dumps({"module": "keras", **document}))
    assert sorted(w.path.split("/")[-1] for w in model.layers[-1].weights) == ["bias", "kernel"]


def test_junit_text_never_starts_a_ci_log_line_with_a_name(tmp_path):
    # JUnit printed to a CI log: a newline in a layer name must not start a `::error::` line.
    name = "x\n::error::pwned\r##[error]y"
    model = _keras3_model(tmp_path / "m.json", [dense(name, kernel_regularizer="my_fn")])
    completed = run_cli("check", "--isolated", "--format", "junit", str(model))
    assert completed.returncode == 1, completed.stderr
    assert not re.search(r"^\s*::", completed.stdout, re.MULTILINE), completed.stdout
    failure = ET.fromstring(completed.stdout).find(".//failure")
    assert failure is not None and "##[" not in failure.text and "pwned" in failure.text
    assert failure.attrib["message"].endswith(f" at {name} kernel_regularizer")  # data kept


# --- SavedModel: a duplicate node_id in keras_metadata.pb ------------------------------------------

UNREGISTERED = {"class_name": "EvilReg", "config": {"s": 0.1}}


def _saved_model_with_duplicate_node(directory: Path, hostile_last: bool) -> Path:
    """The `sequential` fixture with a second node for the first Dense layer's node_id: tf_keras
    keeps the last node of each node_id, so `hostile_last` decides which config it loads."""
    from regaudit.loaders.savedmodel_proto import message_classes

    shutil.copytree(FIXTURES / "savedmodels" / "sequential", directory)
    metadata = message_classes()["SavedMetadata"]()
    metadata.ParseFromString((directory / "keras_metadata.pb").read_bytes())
    node = metadata.nodes[1]
    assert node.node_path == "root.layer_with_weights-0"
    hostile = json.loads(node.metadata)
    hostile["config"]["kernel_regularizer"] = UNREGISTERED
    clean = node.metadata
    node.metadata = clean if hostile_last else json.dumps(hostile)
    metadata.nodes.add(node_id=node.node_id, node_path=node.node_path, identifier=node.identifier,
                       metadata=json.dumps(hostile) if hostile_last else clean)
    (directory / "keras_metadata.pb").write_bytes(metadata.SerializeToString())
    return directory


def test_savedmodel_duplicate_node_id_cannot_hide_the_entry_tf_keras_loads(tmp_path):
    hidden = _saved_model_with_duplicate_node(tmp_path / "hidden", hostile_last=True)
    completed = run_cli("check", "--isolated", "--format", "concise", str(hidden))
    assert completed.returncode == 1 and "RA301" in completed.stdout, completed.stdout
    shadowed = _saved_model_with_duplicate_node(tmp_path / "shadowed", hostile_last=False)
    completed = run_cli("check", "--isolated", "--format", "concise", str(shadowed))
    assert "RA301" not in completed.stdout, completed.stdout


@pytest.mark.keras
def test_tf_keras_loads_the_last_node_of_a_duplicate_node_id(tmp_path):
    hidden = _saved_model_with_duplicate_node(tmp_path / "hidden", hostile_last=True)
    shadowed = _saved_model_with_duplicate_node(tmp_path / "shadowed", hostile_last=False)
    script = (
        "import os, sys\n"
        "os.environ['TF_CPP_MIN_LOG_LEVEL'] = '3'\n"
        "import tf_keras\n"
        "for path in sys.argv[1:]:\n"
        "    try:\n"
        "        tf_keras.models.load_model(path, compile=False)\n"
        "        print('loaded')\n"
        "    except Exception:\n"
        "        print('failed')\n"
    )
    completed = subprocess.run([sys.executable, "-c", script, str(hidden), str(shadowed)],
                               capture_output=True, text=True, timeout=300)
    assert completed.stdout.split() == ["failed", "loaded"], completed.stderr[-2000:]


# --- --weights: a TF.js weightsManifest that lists too much ---------------------------------------


@pytest.mark.parametrize("key, count, message", [
    ("paths", 10_001, "lists 10,001 paths, more than 10,000"),
    ("weights", 100_001, "lists 100,001 weights, more than 100,000"),
])
def test_a_tfjs_manifest_listing_too_much_is_refused_before_it_is_read(tmp_path, key, count, message):
    # 100,000 copies of one shard path took 40 s; 1,000,000 weight entries would take 2 GB.
    source = FIXTURES / "weights" / "tfjs"
    shutil.copytree(source, tmp_path / "m", ignore=shutil.ignore_patterns("*.h5"))
    document = json.loads((source / "model.json").read_text())
    group = document["weightsManifest"][0]
    group[key] = (group[key] * count)[:count] if key == "paths" else [{"name": "w", "shape": [0], "dtype": "float32"}] * count
    (tmp_path / "m" / "model.json").write_text(json.dumps(document))
    completed = run_cli("check", "--isolated", "--weights", str(tmp_path / "m" / "model.json"))
    assert completed.stderr == "" and completed.returncode in (0, 1), completed.stderr
    assert f"weights not read: weightsManifest {message}" in " ".join(completed.stdout.split()), completed.stdout


# --- a regularizer option nested as deep as the JSON parser allows ---------------------------------


def _nested(depth: int) -> dict:
    value: dict = {}
    for _ in range(depth):
        value = {"a": value}
    return value


@pytest.mark.parametrize("command", [("check", "--format", "json"), ("check", "--format", "sarif"),
                                     ("diff", "--format", "json")])
def test_a_deeply_nested_regularizer_option_loses_no_report(tmp_path, command):
    # 600 levels parse, but writing them back overflowed the JSON report and the diff: exit 2, no report.
    old = _keras3_model(tmp_path / "old.json", [dense("d", kernel_regularizer={
        "module": "keras.regularizers", "class_name": "L2", "config": {"l2": 0.01}, "registered_name": None})])
    new = _keras3_model(tmp_path / "new.json", [dense("d", kernel_regularizer={
        "module": "keras.regularizers", "class_name": "L2", "config": {"l2": 0.01, "x": _nested(600)},
        "registered_name": None})])
    paths = (str(old), str(new))
    completed = run_cli(*command, "--isolated", *paths) if command[0] == "check" else run_cli(*command, *paths)
    assert completed.stderr == "", completed.stderr
    assert completed.returncode == 1, completed.stdout[-2000:]
    report = json.loads(completed.stdout)
    if command[1:] == ("--format", "json") and command[0] == "check":
        (regularizer,) = report["artifacts"][1]["layers"][0]["regularizers"]
        assert regularizer["options"] == {"x": "<a value nested more than 64 levels deep>"}


@pytest.mark.parametrize("baseline", ["missing.json", "not_json.json", "folder"])
@pytest.mark.parametrize("format_", ["text", "json"])
def test_unreadable_baseline_is_a_usage_error_before_any_report(tmp_path, baseline, format_):
    # A baseline that cannot be read is the user's mistake: one line, exit 2, and no report begun
    # on standard output or left beside --output (it read "internal error: ConfigError").
    (tmp_path / "not_json.json").write_text("{")
    (tmp_path / "folder").mkdir()
    output = tmp_path / "report.out"
    for extra in ([], ["--output", str(output)]):
        completed = run_cli("check", "--format", format_, "--baseline", baseline, *extra,
                            str(FIXTURES / "models" / "k3_compiled_adamw.keras"), cwd=tmp_path)
        assert completed.returncode == 2
        assert completed.stdout == ""
        assert completed.stderr.startswith("regaudit: error: ") and baseline in completed.stderr, completed.stderr
        assert completed.stderr.count("\n") == 1, completed.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == ["folder", "not_json.json"]


@pytest.mark.parametrize("output", [["--format", "text", "--format", "json", "--output", "json=folder"],
                                    ["--format", "text", "--format", "json", "--output", "json="]])
def test_output_to_a_directory_is_refused_before_the_audit(tmp_path, output):
    # README: an --output that cannot be written is a usage error before anything is audited; a
    # directory (or an empty file name) was found out only after the whole text report was printed.
    (tmp_path / "folder").mkdir()
    completed = run_cli("check", *output, str(FIXTURES / "models" / "k3_compiled_adamw.keras"), cwd=tmp_path)
    assert completed.returncode == 2
    assert completed.stdout == ""
    assert completed.stderr.startswith("regaudit: error: cannot write ") and completed.stderr.count("\n") == 1
    assert [path.name for path in tmp_path.iterdir()] == ["folder"] and not any((tmp_path / "folder").iterdir())


@pytest.mark.parametrize("signal_name, code", [("SIGINT", 130), ("SIGTERM", 143)])
def test_a_stopped_run_leaves_no_temporary_file_beside_its_output(tmp_path, signal_name, code):
    # --output FILE is written into a hidden file beside FILE as the run goes. Interrupted (Ctrl-C)
    # or terminated (a CI job cancelled, `timeout`), the run exits 128 + the signal's number with no
    # traceback, FILE is left as it was, and the hidden file is gone (SIGTERM's left it behind).
    import signal
    import time

    output = tmp_path / "report.json"
    output.write_text("old")
    process = subprocess.Popen([sys.executable, "-m", "regaudit", "check", "--format", "json", "--output",
                                str(output), "-"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, cwd=tmp_path)  # waits on its standard input
    try:
        deadline = time.monotonic() + 60
        while len(list(tmp_path.iterdir())) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(list(tmp_path.iterdir())) == 2, "the temporary file was never made"
        time.sleep(0.5)  # past the making of it, to the reading of standard input
        process.send_signal(getattr(signal, signal_name))
        _, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == code, stderr
    assert b"Traceback" not in stderr
    assert [path.name for path in tmp_path.iterdir()] == ["report.json"] and output.read_text() == "old"


def _with_file_size_limit(limit: int):
    def limited() -> None:
        import resource

        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return limited


@pytest.mark.parametrize("where", ["stdout", "output", "diff"])
def test_a_report_that_cannot_be_written_is_a_one_line_error(tmp_path, where):
    # A full disk or a file-size limit read "internal error: OSError", as if it were a bug: it is
    # one line naming the reason, exit 2, and --output FILE is left as it was with no hidden file.
    command = [sys.executable, "-m", "regaudit", "check", "--format", "json", str(FIXTURES / "models")]
    if where == "diff":
        models = FIXTURES / "models"
        command = [sys.executable, "-m", "regaudit", "diff", str(models / "k3_builtins.keras"),
                   str(models / "k3_families.keras")]
    if where != "output":
        with open("/dev/full", "w") as full:
            completed = subprocess.run(command, stdout=full, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    else:
        output = tmp_path / "report.json"
        output.write_text("old")
        completed = subprocess.run([*command, "--output", str(output)], capture_output=True, text=True,
                                   cwd=tmp_path, preexec_fn=_with_file_size_limit(4096))
        assert [path.name for path in tmp_path.iterdir()] == ["report.json"] and output.read_text() == "old"
    reason = "File too large" if where == "output" else "No space left on device"
    assert completed.returncode == 2
    assert completed.stderr == f"regaudit: error: cannot write the report: {reason}\n"
