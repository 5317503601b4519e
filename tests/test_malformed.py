"""Malformed model files are RA903 with a reason, never a regaudit bug (RA909): every field the
loaders read, given a value of another type (issue 8, kind 6)."""

from __future__ import annotations

import json
import os
import warnings

import h5py
import numpy as np
import pytest

from conftest import dense, rendered, require

import regaudit

K3_DENSE = {"module": "keras.layers", "class_name": "Dense", "registered_name": None,
            "config": {"name": "d", "units": 2, "kernel_initializer": {}}}
CONFIG = json.dumps({"class_name": "Sequential", "config": {"name": "m", "layers": [dense("d", kernel_initializer={})]}})


def json_document(result) -> dict:
    """The JSON report of `result`, as the command line writes it."""
    return json.loads(rendered("json", result))


def _write_attribute(file: h5py.File, name: str, kind: str) -> None:
    if kind == "int":
        file.attrs[name] = 5
    elif kind == "float":
        file.attrs[name] = 5.5
    elif kind == "bool":
        file.attrs[name] = np.bool_(True)
    elif kind == "compound":
        file.attrs[name] = np.array((1, 2.0), dtype=[("a", "i4"), ("b", "f8")])
    elif kind == "reference":
        file.attrs[name] = file.create_dataset("target", data=[1]).ref
    elif kind == "empty":
        file.attrs.create(name, h5py.Empty("f"))
    elif kind == "strings":
        file.attrs[name] = np.array([CONFIG, CONFIG], dtype=h5py.string_dtype())


@pytest.mark.parametrize("attribute", ["model_config", "keras_version", "training_config"])
@pytest.mark.parametrize("kind, stored", [
    ("int", "is stored as an integer"), ("float", "is stored as a float"), ("bool", "is stored as an enum"),
    ("compound", "is stored as a compound"), ("reference", "is stored as a reference"),
    ("empty", "is empty"), ("strings", "holds 2 strings"),
])
def test_hdf5_attribute_of_another_type_is_corrupt(tmp_path, attribute, kind, stored):
    path = tmp_path / "model.h5"
    with h5py.File(path, "w") as file:
        if attribute != "model_config":
            file.attrs["model_config"] = CONFIG
        _write_attribute(file, attribute, kind)
    result = regaudit.audit([str(path)], {})
    (artifact,) = json_document(result)["artifacts"]
    assert result.exit_code(None) == 3 and artifact["status"] == "error"
    assert artifact["error"]["code"] == "RA903", artifact["error"]
    assert artifact["error"]["message"].startswith(f"attribute {attribute} {stored}")


def _audit_document(tmp_path, document) -> dict:
    path = tmp_path / "model.json"
    path.write_text(json.dumps(document))
    return json_document(regaudit.audit([str(path)], {}))["artifacts"][0]


@pytest.mark.parametrize("shared_id", [[1, 2], {"id": 1}])
def test_unhashable_shared_object_id_is_corrupt(tmp_path, shared_id):
    document = {"class_name": "Sequential", "config": {"name": "m", "layers": [
        {**dense("a", kernel_initializer={}), "shared_object_id": shared_id}]}}
    artifact = _audit_document(tmp_path, document)
    assert artifact["error"]["code"] == "RA903"
    assert "shared_object_id" in artifact["error"]["message"]


@pytest.mark.parametrize("entry, said", [(5, "a number"), ("dense", "the string"), (None, "null"),
                                         ({"class_name": "Dense"}, "an object"), ([], "a list")])
def test_layer_list_entry_that_is_not_a_layer_is_corrupt(tmp_path, entry, said):
    document = {"class_name": "Sequential", "config": {"name": "m", "layers": [dense("a", kernel_initializer={}), entry]}}
    artifact = _audit_document(tmp_path, document)
    assert artifact["error"]["code"] == "RA903"
    assert f"entry 1 of the layer list is {said}" in artifact["error"]["message"]


@pytest.mark.parametrize("layers", [5, "x", {"a": 1}, True])
def test_layers_that_is_not_a_list_is_corrupt(tmp_path, layers):
    artifact = _audit_document(tmp_path, {"class_name": "Functional", "config": {"name": "m", "layers": layers}})
    assert artifact["error"]["code"] == "RA903" and "`layers` is" in artifact["error"]["message"]


def test_empty_functional_is_corrupt_and_empty_sequential_has_nothing_to_audit(tmp_path):
    functional = _audit_document(tmp_path, {"class_name": "Functional", "config": {
        "name": "f", "layers": [], "input_layers": [], "output_layers": []}})
    assert functional["status"] == "error" and functional["error"]["code"] == "RA903"
    sequential = _audit_document(tmp_path, {"class_name": "Sequential", "config": {"name": "s", "layers": []}})
    assert sequential["status"] == "skipped" and sequential["error"]["code"] == "RA901"
    assert "layer list is empty" in sequential["error"]["message"]


@pytest.mark.keras
def test_keras_refuses_an_empty_functional_and_builds_an_empty_sequential():
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    keras = require("keras")
    tf_keras = require("tf_keras")
    functional = {"module": "keras.src.models.functional", "class_name": "Functional", "registered_name": "Functional",
                  "config": {"name": "f", "layers": [], "input_layers": [], "output_layers": []}}
    sequential = {"module": "keras", "class_name": "Sequential", "registered_name": None,
                  "config": {"name": "s", "layers": []}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match="`inputs` argument cannot be empty"):
            keras.models.model_from_json(json.dumps(functional))
        assert keras.models.model_from_json(json.dumps(sequential)).layers == []
        assert tf_keras.models.model_from_json(json.dumps({"class_name": "Sequential", **sequential})).layers == []
