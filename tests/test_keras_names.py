"""Container vs. file name (issue 8, kind 1): the facts behind RA406, checked with real tf_keras
and Keras 3, and regaudit's verdict on the same files."""

from __future__ import annotations

import os
import shutil
import warnings

import pytest

from conftest import require

import regaudit
from regaudit.checks.keras_facts import KerasLine, container_name_facts

pytestmark = pytest.mark.keras
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@pytest.fixture(scope="module")
def libraries():
    return require("keras"), require("tf_keras")


def _build(library):
    layers = library.layers
    return library.Sequential([layers.Dense(4, kernel_regularizer=library.regularizers.L1(0.01), input_shape=(3,)),
                               layers.Dense(2, kernel_regularizer=library.regularizers.L1(0.02))])


def _copied(saved, name):
    renamed = saved.with_name(name)
    shutil.copy(saved, renamed)
    return renamed


def _audit(path, **options):
    (artifact,) = regaudit.audit([str(path)], options).artifacts
    return artifact


def _ra406(artifact):
    return [(f.severity.value, f.message) for f in artifact.findings if f.rule == "RA406"]


def test_tf_keras_hdf5_named_keras(tmp_path, libraries):
    keras, tf_keras = libraries
    saved = tmp_path / "model.h5"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _build(tf_keras).save(saved)
    renamed = _copied(saved, "model.keras")
    # tf_keras loads it by content, regularizers and all; Keras 3 refuses it under this name.
    loaded = tf_keras.models.load_model(renamed)
    assert [type(layer.kernel_regularizer).__name__ for layer in loaded.layers] == ["L1", "L1"]
    with pytest.raises(ValueError, match="`.keras` zip file"):
        keras.saving.load_model(renamed)
    (fact,) = container_name_facts("hdf5", ".keras")
    assert fact.refused_by == (KerasLine.KERAS3,) and KerasLine.TF_KERAS in fact.accepted_by

    artifact = _audit(renamed)
    assert artifact.status.value == "ok" and artifact.tree.coverage().regularizers == 2
    ((severity, message),) = _ra406(artifact)
    assert severity == "warning" and "Keras 3 refuses" in message and "tf.keras/tf_keras 2.x load it" in message
    ((severity, message),) = _ra406(_audit(renamed, **{"target-keras": "3.10"}))
    assert severity == "error" and "the target, Keras 3.10 (Keras 3), refuses" in message
    assert _ra406(_audit(renamed, **{"target-keras": "2.15"})) == []
    assert _ra406(_audit(saved)) == []


def test_keras3_zip_named_h5(tmp_path, libraries):
    keras, tf_keras = libraries
    saved = tmp_path / "model.keras"
    _build(keras).save(saved)
    renamed = _copied(saved, "model.h5")
    with pytest.raises(Exception):
        keras.saving.load_model(renamed)
    with pytest.raises(Exception):
        tf_keras.models.load_model(renamed)
    artifact = _audit(renamed)
    assert artifact.status.value == "ok" and artifact.tree.coverage().regularizers == 2
    ((severity, message),) = _ra406(artifact)
    assert severity == "warning" and "every Keras line refuses" in message
    ((severity, _),) = _ra406(_audit(renamed, **{"target-keras": "2.15"}))
    assert severity == "error"


def test_weights_only_hdf5_under_a_keras_name_is_weights_only(tmp_path, libraries):
    _, tf_keras = libraries
    weights = tmp_path / "model.weights.h5"
    _build(tf_keras).save_weights(weights)
    artifact = _audit(_copied(weights, "model.keras"))
    assert artifact.status.value == "skipped" and artifact.error.code == "RA901"
    assert "rename" not in artifact.error.message
