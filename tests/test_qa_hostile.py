"""Hostile inputs found by the QA pass: each test failed before its fix."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conftest import dense, run_cli, tree_of

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
