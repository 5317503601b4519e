"""Gate bypasses (issue 9): a model that Keras cannot load without custom code must never pass.

The shared_object_id trick: Keras 3 builds shared objects depth first in config order and reuses
the first object built under an id; regaudit must audit that first copy, and never let a
duplicate id hide a layer whose config differs.
"""

from __future__ import annotations

import json
import os
import warnings
import zipfile

import pytest

from conftest import dense, require, tree_of

import regaudit

UNREGISTERED = {"module": "evil", "class_name": "Sneaky", "registered_name": "Sneaky", "config": {"s": 1.0}}
L2 = {"module": "keras.regularizers", "class_name": "L2", "registered_name": None, "config": {"l2": 0.001}}


def _trick(inner_regularizer: dict, outer_regularizer: dict) -> dict:
    inner = {**dense("shared", kernel_initializer={}, kernel_regularizer=inner_regularizer), "shared_object_id": 5}
    outer = {**dense("shared", kernel_initializer={}, kernel_regularizer=outer_regularizer), "shared_object_id": 5}
    return {"class_name": "Sequential", "config": {"name": "m", "layers": [
        {"class_name": "Sequential", "config": {"name": "inner", "layers": [inner]}}, outer]}}


def _regularizer_classes(document: dict) -> dict[str, str]:
    tree = tree_of(document=document)
    return {layer.path: r.class_name for layer, r in tree.regularized()}


def test_nested_first_copy_is_audited_where_keras_builds_it():
    assert _regularizer_classes(_trick(UNREGISTERED, UNREGISTERED)) == {"inner/shared": "Sneaky"}


def test_duplicate_id_with_another_config_never_hides_a_layer():
    assert _regularizer_classes(_trick(UNREGISTERED, L2)) == {"inner/shared": "Sneaky", "shared": "L2"}
    assert _regularizer_classes(_trick(L2, UNREGISTERED)) == {"inner/shared": "L2", "shared": "Sneaky"}


def test_copies_differing_only_in_their_connections_are_one_layer():
    document = _trick(L2, L2)
    document["config"]["layers"][1]["config"]["inbound_nodes"] = [[["inner", 0, 0, {}]]]
    assert _regularizer_classes(document) == {"inner/shared": "L2"}


def test_trick_fails_the_gate(tmp_path):
    path = tmp_path / "model.json"
    path.write_text(json.dumps(_trick(UNREGISTERED, L2)))
    result = regaudit.audit([str(path)], {})
    assert ("RA301", "inner/shared") in {(f.rule, f.layer) for f in result.findings}
    from regaudit.outcomes import Severity

    assert result.exit_code(Severity.ERROR) == 1


@pytest.mark.keras
def test_keras3_builds_the_nested_copy_first(tmp_path):
    """Real Keras 3: a layer shared by an inner model and the outer one; the file is then edited so
    that only the outer (later) copy names a built-in regularizer. load_model still fails on the
    nested copy's unregistered class, and regaudit says so."""
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    keras = require("keras")

    class Sneaky(keras.regularizers.Regularizer):
        def __call__(self, x):
            return 0.01 * keras.ops.sum(keras.ops.abs(x))

        def get_config(self):
            return {}

    shared = keras.layers.Dense(3, kernel_regularizer=Sneaky(), name="shared")
    inner = keras.Sequential([keras.Input((3,)), shared], name="inner")
    inputs = keras.Input((3,))
    outputs = shared(inner(inputs))
    model = keras.Model(inputs, outputs)
    saved = tmp_path / "saved.keras"
    model.save(saved)
    with zipfile.ZipFile(saved) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    config = json.loads(members["config.json"])
    outer_copy = next(e for e in config["config"]["layers"] if e["config"]["name"] == "shared")
    assert "shared_object_id" in outer_copy
    outer_copy["config"]["kernel_regularizer"] = {**L2, "config": {"l2": 0.01}}
    members["config.json"] = json.dumps(config).encode()
    edited = tmp_path / "edited.keras"
    with zipfile.ZipFile(edited, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    with warnings.catch_warnings(), pytest.raises(Exception, match="Sneaky"):
        warnings.simplefilter("ignore")
        keras.saving.load_model(edited)
    result = regaudit.audit([str(edited)], {})
    assert ("RA301", "inner/shared") in {(f.rule, f.layer) for f in result.findings}


# --- skip markers: a file is skipped only when it holds no architecture any Keras loader builds --

SEQUENTIAL = {"class_name": "Sequential", "config": {"name": "m", "layers": [
    dense("d", kernel_initializer={}, kernel_regularizer={"class_name": "Sneaky", "config": {}})]}}


def _audited(tmp_path, document, name="model.json"):
    path = tmp_path / name
    path.write_text(json.dumps(document))
    (artifact,) = regaudit.audit([str(tmp_path)], {}).artifacts  # found in a walk, as CI finds it
    return artifact


@pytest.mark.parametrize("marker", [{"weight_map": {"d/kernel": "x.h5"}}, {"weightsManifest": []}])
def test_weight_markers_do_not_hide_a_keras_model(tmp_path, marker):
    artifact = _audited(tmp_path, {**SEQUENTIAL, **marker})
    assert artifact.status.value == "ok" and [layer.path for layer in artifact.tree.layers()] == ["d"]
    assert "RA301" in {f.rule for f in artifact.findings}


@pytest.mark.parametrize("marker", [{"weight_map": {"d/kernel": "x.h5"}}, {"weightsManifest": []}])
def test_weight_markers_do_not_hide_a_get_config_layer_list(tmp_path, marker):
    artifact = _audited(tmp_path, {**SEQUENTIAL["config"], **marker})
    assert artifact.status.value == "ok"


@pytest.mark.parametrize("extra, topology_extra", [
    ({"format": "graph-model"}, {}),
    ({}, {"node": []}),
    ({"format": "graph-model"}, {"node": [{"name": "x", "op": "Const"}]}),
])
def test_graph_markers_do_not_hide_a_tfjs_layers_model(tmp_path, extra, topology_extra):
    document = {**extra, "modelTopology": {"model_config": SEQUENTIAL, **topology_extra}, "weightsManifest": []}
    assert _audited(tmp_path, document).status.value == "ok"


def test_null_model_config_means_the_topology_itself(tmp_path):
    # tfjs-layers: `if (modelTopology['model_config'] != null) modelTopology = modelTopology['model_config']`.
    document = {"modelTopology": {"model_config": None, **SEQUENTIAL}, "weightsManifest": []}
    artifact = _audited(tmp_path, document)
    assert artifact.status.value == "ok" and [layer.path for layer in artifact.tree.layers()] == ["d"]


def test_real_graph_model_and_weights_index_are_still_skipped(tmp_path):
    graph = {"format": "graph-model", "modelTopology": {"node": [{"name": "x", "op": "Const"}]}, "weightsManifest": []}
    assert _audited(tmp_path, graph).error.code == "RA901"
    (tmp_path / "model.json").unlink()
    index = {"metadata": {}, "weight_map": {"d/kernel": "model_00000.weights.h5"}}
    assert _audited(tmp_path, index, "model.weights.json").error.code == "RA901"
