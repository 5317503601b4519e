"""Weight evidence (--weights) against Keras itself.

Fixtures are built once per session with real keras and tf_keras (fixtures/weight_models.py):
trained a few seeded steps, saved as .keras, unzipped and sharded Keras 3 directories, legacy
HDF5 from Keras 3 and from tf_keras; the TF.js fixture was written by the official converter
(fixtures/weights/make_tfjs.py) and is committed with its tf_keras source. For every regularized
slot regaudit's penalty must equal what Keras computes by calling that layer's regularizer on that
variable, and every weight's statistics must equal numpy's on the values Keras loads.

(Named to sort after tests/test_hostile.py: that file measures the peak memory of child
processes, which on Linux includes the forked image of this pytest process, and importing
TensorFlow here would make that image hundreds of MB.)
"""

from __future__ import annotations

import math
import os
import sys
import warnings
from pathlib import Path

import pytest

from conftest import FIXTURES, require
from regaudit.config import Settings
from regaudit.engine import audit

pytestmark = pytest.mark.keras

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(FIXTURES))

TFJS = FIXTURES / "weights" / "tfjs"
# float32 values summed in float64 by regaudit, in float32 by Keras.
REL = 2e-5
ABS = 1e-7


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> dict[str, Path]:
    require("keras")
    require("tf_keras")
    import weight_models

    folder = tmp_path_factory.mktemp("weights")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {**weight_models.build_keras3(folder), **weight_models.build_tf_keras(folder),
                **{f"trigger_{code}": path for code, path in weight_models.build_triggers(folder).items()}}


def evidence_of(path: Path):
    [artifact] = audit([str(path)], Settings(weights=True)).artifacts
    assert artifact.evidence is not None and artifact.evidence.problem is None, artifact.error or artifact.evidence
    return artifact


def load(library, path: Path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if library.__name__ == "keras":
            return library.saving.load_model(path, compile=False)
        return library.models.load_model(path, compile=False)


def keras_layer(model, path: str):
    """The Keras object at a regaudit layer path (names joined with /)."""
    current = model
    for name in path.split("/"):
        current = next(child for child in _children(current) if child.name == name)
    return current


def _children(layer):
    found = list(getattr(layer, "layers", None) or [])
    for attribute in ("forward_layer", "backward_layer", "layer", "cell"):
        child = getattr(layer, attribute, None)
        if child is not None and hasattr(child, "name"):
            found.append(child)
    found += list(getattr(layer, "cells", None) or [])
    return found


def short(name: str) -> str:
    return name.rsplit("/", 1)[-1].split(":")[0]


def keras_penalties(library, klayer) -> float:
    """Sum of Keras's own regularization terms of one layer, by calling each regularizer."""
    if library.__name__ == "keras":
        return sum(float(v.regularizer(v)) for v in klayer.weights if getattr(v, "regularizer", None) is not None)
    return sum(float(loss) for loss in klayer.losses)


def compare(library, path: Path, model_path: Path | None = None, minimum: int = 3):
    artifact = evidence_of(path)
    evidence = artifact.evidence
    model = load(library, model_path or path)
    tree = artifact.tree
    checked = 0
    for layer in tree.layers():
        slots = [(r, evidence.slots[(layer.path, r.slot)]) for r in layer.weight_regularizers]
        if not slots or any(r.origin.value not in ("builtin", "legacy") for r, _ in slots):
            continue
        klayer = keras_layer(model, layer.path)
        assert all(e.penalty is not None for _, e in slots), (layer.path, slots)
        ours = math.fsum(e.penalty for _, e in slots)
        frozen = not layer.effectively_trainable
        if library.__name__ == "keras":
            theirs = keras_penalties(library, klayer)
            for regularizer, slot in slots:  # slot by slot: the regularizer Keras attached to each variable
                attached = getattr(klayer, f"{regularizer.slot}_regularizer", None)
                value = sum(float(v.regularizer(v)) for v in klayer.weights if v.regularizer is attached)
                assert slot.penalty == pytest.approx(value, rel=REL, abs=ABS), (layer.path, regularizer.slot)
        else:
            theirs = keras_penalties(library, klayer)
        if frozen:  # Keras 3 leaves a frozen layer's penalty out of the loss, tf.keras adds it
            keras3 = library.__name__ == "keras"
            assert slots[0][1].counted is not keras3
            assert (sum(float(x) for x in klayer.losses) == 0) is keras3
        assert ours == pytest.approx(theirs, rel=REL, abs=ABS), layer.path
        checked += 1
    assert checked >= minimum
    return artifact, model


def compare_statistics(artifact, model):
    import numpy

    for path, weights in artifact.evidence.weights.items():
        assert path, [w.name for w in weights]  # nothing left over at the model level
        klayer = keras_layer(model, path)
        variables = {short(v.name) if ":" in v.name or "/" in v.name else v.name: v for v in klayer.weights}
        for weight in weights:
            assert weight.mapped and weight.reason is None, (path, weight)
            values = numpy.asarray(variables[weight.name].numpy(), dtype=numpy.float64)
            assert weight.shape == values.shape
            assert weight.sum_abs == pytest.approx(numpy.abs(values).sum(), rel=1e-9, abs=1e-12)
            # float32 values are squared in float32, then summed in float64
            assert weight.sum_squares == pytest.approx(numpy.square(values).sum(), rel=1e-6, abs=1e-12)
            assert weight.max_abs == pytest.approx(numpy.abs(values).max() if values.size else 0.0)
            assert weight.zero_fraction == pytest.approx(numpy.mean(values == 0) if values.size else 0.0)
            assert weight.nonfinite == int(numpy.sum(~numpy.isfinite(values)))


@pytest.mark.parametrize("name", ["k3.keras", "k3.h5", "k3_dir", "k3_sharded"])
def test_keras3_penalties_and_statistics_equal_keras(built, name):
    keras = require("keras")
    artifact, model = compare(keras, built[name], built["k3.keras"] if name == "k3_sharded" else None)
    compare_statistics(artifact, model)


def test_tf_keras_penalties_and_statistics_equal_tf_keras(built):
    tf_keras = require("tf_keras")
    artifact, model = compare(tf_keras, built["tfk.h5"])
    compare_statistics(artifact, model)


def test_tfjs_shards_equal_the_tf_keras_model_they_were_converted_from():
    tf_keras = require("tf_keras")
    artifact, model = compare(tf_keras, TFJS / "model.json", TFJS / "source.h5")
    compare_statistics(artifact, model)


def test_every_regularizer_has_evidence_and_custom_code_is_never_run(built):
    artifact = evidence_of(built["k3.keras"])
    slots = artifact.evidence.slots
    assert set(slots) == {(layer.path, r.slot) for layer, r in artifact.tree.regularized()}
    custom = slots[("custom", "kernel")]
    assert custom.penalty is None and "never runs custom code" in custom.reason
    frozen = slots[("inner/inner_frozen", "kernel")]
    assert frozen.penalty > 0 and not frozen.counted and "frozen" in frozen.reason
    counted = [e.penalty for e in slots.values() if e.penalty is not None and e.counted]
    assert artifact.evidence.total_penalty == pytest.approx(math.fsum(counted))
    assert artifact.evidence.not_computed == 1


@pytest.mark.parametrize("code", ["RA601", "RA602", "RA603"])
def test_each_rule_fires_on_the_model_built_to_trigger_it(built, code):
    [artifact] = audit([str(built[f"trigger_{code}"])], Settings(weights=True, select=("RA6",))).artifacts
    assert [finding.rule for finding in artifact.findings] == [code]


def test_rules_stay_silent_on_a_clean_keras_applications_model(tmp_path):
    keras = require("keras")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = keras.applications.MobileNetV2(alpha=0.35, weights=None, input_shape=(32, 32, 3), classes=3)
    model.save(tmp_path / "mobilenet.keras")
    [artifact] = audit([str(tmp_path / "mobilenet.keras")], Settings(weights=True, select=("RA6",))).artifacts
    assert artifact.findings == []
    weights = [w for _, w in artifact.evidence.all_weights()]
    assert len(weights) == len(model.weights) and all(w.mapped for w in weights)


def test_without_weights_nothing_is_read(built):
    [artifact] = audit([str(built["k3.keras"])], Settings()).artifacts
    assert artifact.evidence is None


def test_the_slot_table_is_what_keras_does():
    """Re-establish the index -> slot table with the installed keras and tf_keras and compare."""
    import subprocess

    require("keras")
    script = FIXTURES / "establish_slots.py"
    completed = subprocess.run([sys.executable, "-W", "ignore", str(script), "--check"], capture_output=True,
                               text=True, timeout=600)
    assert completed.returncode == 0, completed.stdout + completed.stderr[-2000:]


def test_readme_weights_example_is_real_output(tmp_path):
    """The README's --weights example: the Keras docs' Dense(5), L1(0.01), all-ones kernel, saved
    by Keras; its kernel term is 0.25, by Keras and by regaudit."""
    from conftest import ROOT, run_cli

    keras = require("keras")
    model = keras.Sequential([
        keras.Input((5,)),
        keras.layers.Dense(5, kernel_initializer="ones", kernel_regularizer=keras.regularizers.L1(0.01),
                           activity_regularizer=keras.regularizers.L2(0.01), name="dense"),
    ], name="seed")
    model.save(tmp_path / "seed.keras")
    assert float(model.layers[0].kernel_regularizer(model.layers[0].kernel)) == pytest.approx(0.25)
    readme = (ROOT / "README.md").read_text()
    block = readme.split("<!-- weights-example:start", 1)[1].split("```console\n", 1)[1].split("```", 1)[0]
    command, _, shown = block.partition("\n")
    assert command == "$ regaudit check --weights seed.keras"
    output = run_cli("check", "--weights", "seed.keras", cwd=tmp_path, env={"COLUMNS": "100"}).stdout
    assert output.replace("Keras " + keras.__version__, "Keras 3.15.1") == shown


@pytest.mark.parametrize("name, library", [("k3_123cryptic_diabetes.keras", "keras"),
                                           ("kzip_k2_akshat_liver_cirrhosis.keras", "tf_keras")])
def test_files_without_layer_names_in_the_weights_are_matched_as_keras_addresses_them(corpus, name, library):
    """Keras 3.5 and tf.keras 2.15 wrote no layer name on the `vars` groups: regaudit then follows
    Keras's own addressing (layers/<snake_case class>, counted), and still agrees with Keras."""
    artifact, model = compare(require(library), corpus / name, None, minimum=0)
    compare_statistics(artifact, model)
    assert not [w for _, w in artifact.evidence.all_weights() if not w.mapped]
    assert sum(len(ws) for ws in artifact.evidence.weights.values()) == len(model.weights)
