"""Every fact in regaudit/checks/keras_facts.py, checked against real keras and tf_keras.

Each test builds the case with the real library, saves it, reloads it, calls it once and counts
`model.losses`, then asserts regaudit's verdict on the same file. Small models, files in tmp_path.
TF.js facts cite tfjs-layers (v4.22.0) in keras_facts.py; tests/test_field.py runs the field file.
"""

from __future__ import annotations

import inspect
import os
import warnings

import pytest

from conftest import require
from regaudit import audit
from regaudit.checks import keras_facts as facts

pytestmark = pytest.mark.keras

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@pytest.fixture(scope="module")
def keras3():
    return require("keras")


@pytest.fixture(scope="module")
def tf_keras():
    return require("tf_keras")


def findings(path, rule, **options):
    (artifact,) = audit([str(path)], options).artifacts
    assert artifact.error is None, artifact.error
    return [(f.layer, f.argument, f.severity.value) for f in artifact.findings if f.rule == rule]


def penalties(library, model, path, shape):
    """(in memory, after save and reload): the number of penalties one call adds."""
    import numpy as np

    x = np.ones((2, *shape), "float32")
    model(x)
    before = len(model.losses)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.save(path)
        reloaded = (library.saving.load_model if library.__name__ == "keras" else library.models.load_model)(path)
    reloaded(x)
    return before, len(reloaded.losses)


def single(library, layer, shape):
    inputs = library.Input(shape)
    return library.Model(inputs, layer(inputs))


def l2(library):
    return library.regularizers.L2(0.01)


# --- get_config(): which classes keep activity_regularizer ----------------------------------------

# Constructor arguments for the classes that need some; classes that cannot be built from
# these alone (they need a module, a function, a vocabulary...) are left out of the enumeration.
ARGUMENTS = {
    "Dense": dict(units=2), "EinsumDense": dict(equation="ab,bc->ac", output_shape=2), "Embedding": dict(input_dim=3, output_dim=2),
    "LSTM": dict(units=2), "GRU": dict(units=2), "SimpleRNN": dict(units=2),
    "LSTMCell": dict(units=2), "GRUCell": dict(units=2), "SimpleRNNCell": dict(units=2),
    "Activation": dict(activation="relu"), "Dropout": dict(rate=0.1), "AlphaDropout": dict(rate=0.1),
    "SpatialDropout1D": dict(rate=0.1), "SpatialDropout2D": dict(rate=0.1), "SpatialDropout3D": dict(rate=0.1),
    "GaussianDropout": dict(rate=0.1), "GaussianNoise": dict(stddev=0.1), "Reshape": dict(target_shape=(2,)),
    "Permute": dict(dims=(1,)), "RepeatVector": dict(n=2), "Lambda": dict(function=abs),
    "MultiHeadAttention": dict(num_heads=1, key_dim=2), "GroupNormalization": dict(groups=1),
    "GroupQueryAttention": dict(head_dim=2, num_query_heads=2, num_key_value_heads=1),
    "Hashing": dict(num_bins=2), "CategoryEncoding": dict(num_tokens=2), "Discretization": dict(bin_boundaries=[0.0]),
    "Resizing": dict(height=2, width=2), "CenterCrop": dict(height=2, width=2), "RandomCrop": dict(height=2, width=2),
    "Rescaling": dict(scale=1.0), "HashedCrossing": dict(num_bins=2), "RandomZoom": dict(height_factor=0.1),
    "RandomRotation": dict(factor=0.1), "RandomTranslation": dict(height_factor=0.1, width_factor=0.1),
    "RandomContrast": dict(factor=0.1), "RandomBrightness": dict(factor=0.1), "RandomHeight": dict(factor=0.1),
    "RandomWidth": dict(factor=0.1),
}  # fmt: skip
CONVOLUTIONS = ("Conv", "Convolution", "SeparableConv", "DepthwiseConv")
NEVER_BUILT = {"ActivityRegularization", "InputLayer", "Identity", "TFSMLayer"}


def activity_kept_by_get_config(library) -> dict[str, bool]:
    kept = {}
    for name, cls in sorted(vars(library.layers).items()):
        if not (inspect.isclass(cls) and issubclass(cls, library.layers.Layer)) or name in NEVER_BUILT:
            continue
        arguments = dict(ARGUMENTS.get(name, {}))
        if name.startswith(CONVOLUTIONS) or name.startswith("ConvLSTM"):
            arguments = {"kernel_size": 1} if name.startswith("DepthwiseConv") else {"filters": 2, "kernel_size": 1}
        if name in ("TimeDistributed", "Bidirectional"):
            arguments = {"layer": library.layers.LSTM(2) if name == "Bidirectional" else library.layers.Dense(2)}
        if name == "RNN":
            arguments = {"cell": library.layers.SimpleRNNCell(2)}
        if name == "StackedRNNCells":
            arguments = {"cells": [library.layers.SimpleRNNCell(2)]}
        try:
            layer = cls(activity_regularizer=l2(library), **arguments)
            config = layer.get_config()
        except Exception:  # needs more than these arguments, or refuses activity_regularizer
            continue
        kept[name] = config.get("activity_regularizer") is not None
    return kept


def test_tf_keras_keeps_activity_regularizer_only_for_the_listed_classes(tf_keras):
    kept = activity_kept_by_get_config(tf_keras)
    assert len(kept) > 100
    assert {name for name, keeps in kept.items() if keeps} == facts.TF_KERAS_CLASSES_KEEPING_ACTIVITY
    assert {name for name, keeps in kept.items() if not keeps} == facts.TF_KERAS_CLASSES_DROPPING_ACTIVITY
    assert facts.TF_KERAS_DROPS.classes == facts.TF_KERAS_CLASSES_DROPPING_ACTIVITY


def test_keras3_keeps_activity_regularizer_except_for_the_listed_classes(keras3):
    kept = activity_kept_by_get_config(keras3)
    assert len(kept) > 100
    assert {name for name, keeps in kept.items() if not keeps} == facts.KERAS3_CLASSES_DROPPING_ACTIVITY - {"InputLayer"}


def test_tf_keras_drops_on_save_and_regaudit_names_the_classes(tf_keras, tmp_path):
    layers = tf_keras.layers
    inputs = tf_keras.Input((2, 2))
    hidden = layers.Flatten(activity_regularizer=l2(tf_keras))(inputs)
    model = tf_keras.Model(inputs, layers.Dense(2, activity_regularizer=l2(tf_keras))(hidden))
    path = tmp_path / "flatten.h5"
    assert penalties(tf_keras, model, path, (2, 2)) == (2, 1)
    ((layer, argument, severity),) = findings(path, "RA408")
    assert (layer, argument, severity) == (None, None, "info")
    (artifact,) = audit([str(path)]).artifacts
    (message,) = [f.message for f in artifact.findings if f.rule == "RA408"]
    assert "Flatten (1)" in message and "Dense" not in message


# --- activity regularizers the loading line ignores -----------------------------------------------


def test_keras3_time_distributed_ignores_the_inner_activity_regularizer(keras3, tmp_path):
    layers = keras3.layers
    inner = single(keras3, layers.TimeDistributed(layers.Dense(2, activity_regularizer=l2(keras3), name="dense"), name="td"), (3, 4))
    assert penalties(keras3, inner, tmp_path / "inner.keras", (3, 4)) == (0, 0)
    assert findings(tmp_path / "inner.keras", "RA407") == [("td/dense", "activity_regularizer", "warning")]
    assert findings(tmp_path / "inner.keras", "RA004") == []  # no effect, so it penalizes no prediction
    outer = single(keras3, layers.TimeDistributed(layers.Dense(2), activity_regularizer=l2(keras3), name="td"), (3, 4))
    assert penalties(keras3, outer, tmp_path / "outer.keras", (3, 4)) == (1, 1)
    assert findings(tmp_path / "outer.keras", "RA407") == []
    assert findings(tmp_path / "outer.keras", "RA004") == [("td", "activity_regularizer", "info")]


def test_tf_keras_time_distributed_applies_it_and_keras3_as_target_does_not(tf_keras, keras3, tmp_path):
    layers = tf_keras.layers
    model = single(tf_keras, layers.TimeDistributed(layers.Dense(2, activity_regularizer=l2(tf_keras), name="dense"), name="td"), (3, 4))
    path = tmp_path / "td.h5"
    assert penalties(tf_keras, model, path, (3, 4)) == (1, 1)
    assert findings(path, "RA407") == []
    assert findings(path, "RA407", **{"target-keras": keras3.__version__}) == [("td/dense", "activity_regularizer", "warning")]


def test_keras3_simple_rnn_ignores_it_where_tf_keras_applies_it(tf_keras, keras3, tmp_path):
    assert penalties(keras3, single(keras3, keras3.layers.SimpleRNN(2, activity_regularizer=l2(keras3)), (3, 4)),
                     tmp_path / "k3.keras", (3, 4)) == (0, 0)
    model = single(tf_keras, tf_keras.layers.SimpleRNN(2, activity_regularizer=l2(tf_keras), name="rnn"), (3, 4))
    path = tmp_path / "rnn.h5"
    assert penalties(tf_keras, model, path, (3, 4)) == (1, 1)
    assert findings(path, "RA407") == []
    assert findings(path, "RA407", **{"target-keras": keras3.__version__}) == [("rnn", "activity_regularizer", "warning")]


def test_tf_keras_einsum_dense_ignores_it_where_keras3_applies_it(tf_keras, keras3, tmp_path):
    einsum = dict(equation="ab,bc->ac", output_shape=2, name="proj")
    assert penalties(tf_keras, single(tf_keras, tf_keras.layers.EinsumDense(activity_regularizer=l2(tf_keras), **einsum), (4,)),
                     tmp_path / "tfk.h5", (4,)) == (0, 0)
    model = single(keras3, keras3.layers.EinsumDense(activity_regularizer=l2(keras3), **einsum), (4,))
    path = tmp_path / "einsum.keras"
    assert penalties(keras3, model, path, (4,)) == (1, 1)
    assert findings(path, "RA407") == []
    assert findings(path, "RA407", **{"target-keras": tf_keras.__version__}) == [("proj", "activity_regularizer", "warning")]


def test_bidirectional_and_rnn_cells_apply_it_in_both_lines(tf_keras, keras3, tmp_path):
    # Wrappers other than Keras 3's TimeDistributed call the wrapped layer's __call__.
    for library, suffix in ((keras3, ".keras"), (tf_keras, ".h5")):
        layers = library.layers
        model = single(library, layers.Bidirectional(layers.LSTM(2, activity_regularizer=l2(library))), (3, 4))
        path = tmp_path / f"bi{suffix}"
        assert penalties(library, model, path, (3, 4)) == (2, 2)
        assert findings(path, "RA407") == []


# --- activity regularizers that mean something else in another line -------------------------------


def mha(library):
    inputs = library.Input((3, 4))
    layer = library.layers.MultiHeadAttention(num_heads=1, key_dim=2, activity_regularizer=l2(library), name="mha")
    return library.Model(inputs, layer(inputs, inputs))


def test_multi_head_attention_penalizes_other_tensors_in_keras3(tf_keras, keras3, tmp_path):
    assert penalties(tf_keras, mha(tf_keras), tmp_path / "mha.h5", (3, 4)) == (1, 1)
    assert penalties(keras3, mha(keras3), tmp_path / "mha.keras", (3, 4)) == (4, 4)
    assert findings(tmp_path / "mha.h5", "RA409") == []
    assert findings(tmp_path / "mha.h5", "RA409", **{"target-keras": keras3.__version__}) == [
        ("mha", "activity_regularizer", "warning")
    ]
    assert findings(tmp_path / "mha.keras", "RA409", **{"target-keras": tf_keras.__version__}) == [
        ("mha", "activity_regularizer", "warning")
    ]


# --- loadability of custom regularizers per Keras line --------------------------------------------


def call_once(model, shape=(4,)):
    """The number of penalties one call adds, or the error the call raises."""
    import numpy as np

    try:
        model(np.ones((2, *shape), "float32"))
        return len(model.losses)  # tf_keras computes weight penalties here
    except Exception as error:
        return f"{type(error).__name__}: {error}"


def load_or_error(loader, path, **kwargs):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return loader(path, **kwargs), None
    except Exception as error:  # Keras wraps the cause in TypeError/ValueError
        return None, str(error)


def function_model(library, penalty):
    inputs = library.Input((4,))
    outputs = library.layers.Dense(2, kernel_regularizer=penalty, name="hidden")(inputs)
    return library.Model(inputs, outputs)


def tf_keras_function(tf_keras, name, package=None):
    def penalty(x):
        return 0.01 * tf_keras.backend.sum(tf_keras.backend.abs(x))

    penalty.__name__ = penalty.__qualname__ = name
    if package is not None:
        penalty = tf_keras.saving.register_keras_serializable(package=package)(penalty)
    return penalty


def test_tf_keras_hdf5_cannot_rebuild_a_function_even_with_custom_objects_or_registration(tf_keras, tmp_path):
    plain = tf_keras_function(tf_keras, "plain_penalty")
    function_model(tf_keras, plain).save(tmp_path / "plain.h5")
    for objects in (None, {"plain_penalty": plain}):
        model, error = load_or_error(tf_keras.models.load_model, tmp_path / "plain.h5", custom_objects=objects)
        assert model is None and "Unknown regularizer: 'function'" in error
    registered = tf_keras_function(tf_keras, "registered_penalty", package="facts")
    function_model(tf_keras, registered).save(tmp_path / "registered.h5")
    model, error = load_or_error(tf_keras.models.load_model, tmp_path / "registered.h5")
    assert model is None and "Unknown regularizer: 'function'" in error
    for name in ("plain", "registered"):
        assert findings(tmp_path / f"{name}.h5", "RA303") == [("hidden", "kernel_regularizer", "error")]
        assert findings(tmp_path / f"{name}.h5", "RA304") == []
    (artifact,) = audit([str(tmp_path / "registered.h5")]).artifacts
    assert "Unknown regularizer: 'function'" in artifact.findings[0].message


def test_tf_keras_zip_loads_a_function_as_a_string_that_fails_at_the_first_call(tf_keras, tmp_path):
    plain = tf_keras_function(tf_keras, "zip_penalty")
    path = tmp_path / "plain.keras"
    function_model(tf_keras, plain).save(path)
    model, error = load_or_error(tf_keras.models.load_model, path)
    assert error is None and "'str' object is not callable" in str(call_once(model))
    model, error = load_or_error(tf_keras.models.load_model, path, custom_objects={"zip_penalty": plain})
    assert error is None and call_once(model) == 1
    assert findings(path, "RA303") == [("hidden", "kernel_regularizer", "error")]
    (artifact,) = audit([str(path)]).artifacts
    assert "custom_objects={'zip_penalty': zip_penalty}" in artifact.findings[0].message


def test_keras3_class_registered_in_main_loads_only_where_it_is_registered(keras3, tmp_path):
    class OffDiagonalPenalty(keras3.regularizers.Regularizer):
        def __init__(self, factor=0.001):
            self.factor = factor

        def __call__(self, x):
            return self.factor * keras3.ops.sum(keras3.ops.abs(x))

        def get_config(self):
            return {"factor": self.factor}

    OffDiagonalPenalty.__module__ = "__main__"  # as when defined in the training script
    registered = keras3.saving.register_keras_serializable(package="FactsMain")(OffDiagonalPenalty)
    path = tmp_path / "main.keras"
    function_model(keras3, registered()).save(path)
    model, error = load_or_error(keras3.saving.load_model, path)
    assert error is None and call_once(model) == 1
    keras3.saving.get_custom_objects().pop("FactsMain>OffDiagonalPenalty")  # a fresh process
    model, error = load_or_error(keras3.saving.load_model, path)
    assert model is None and "could not be deserialized" in error
    assert findings(path, "RA306") == [("hidden", "kernel_regularizer", "error")]
    assert findings(path, "RA304") == []


def keras3_config_with(keras3, entry):
    import json

    config = json.loads(function_model(keras3, keras3.regularizers.L2(0.01)).to_json())
    config["config"]["layers"][1]["config"]["kernel_regularizer"] = entry
    return json.dumps(config)


@pytest.mark.parametrize("entry, loads", [
    ("l1_l2", False), ("facts>penalty", False), ("l1l2", True), ("L2", True),
    ({"module": "keras.regularizers", "class_name": "L2", "config": {"l2": 0.01, "l1": 0.01}, "registered_name": None}, False),
    ({"module": "keras.regularizers", "class_name": "OrthogonalRegularizer", "config": {"factor": 0.01, "mode": "rows"},
      "registered_name": None}, True),
])  # fmt: skip
def test_keras3_loads_only_the_strings_and_arguments_it_knows(keras3, tmp_path, entry, loads):
    def penalty(x):
        return 0.0

    penalty = keras3.saving.register_keras_serializable(package="facts")(penalty)
    text = keras3_config_with(keras3, entry)
    model, error = load_or_error(keras3.models.model_from_json, text, custom_objects={"facts>penalty": penalty})
    assert (model is not None) == loads, error
    path = tmp_path / "model.json"
    path.write_text(text)
    expected = [] if loads else [("hidden", "kernel_regularizer", "error")]
    assert findings(path, "RA307", **{"target-keras": keras3.__version__}) == expected


@pytest.mark.parametrize("entry, refused", [
    ({"class_name": "L2", "config": {"l2": 0.01, "evil": 1}}, True),
    ({"class_name": "L1L2", "config": {"l1": 0.0, "l2": 0.01, "evil": 1}}, True),
    ({"class_name": "L2", "config": {"l": 0.01}}, False),  # tf_keras's alias: Keras 3 alone refuses it
])  # fmt: skip
def test_an_argument_no_line_takes_fails_even_when_the_line_is_unknown(keras3, tf_keras, tmp_path, entry, refused):
    # A to_json() file records no keras_version: with no --target-keras the loading line is
    # unknown, so RA307 fires only on what every line refuses.
    keras3_fails = load_or_error(keras3.regularizers.get, {"module": "keras.regularizers", "registered_name": None,
                                                           **entry})[1] is not None
    tf_keras_fails = load_or_error(tf_keras.regularizers.get, entry)[1] is not None
    assert keras3_fails and tf_keras_fails == refused
    path = tmp_path / "model.json"
    path.write_text(keras3_config_with(keras3, entry))
    assert findings(path, "RA307") == ([("hidden", "kernel_regularizer", "error")] if refused else [])


def custom_dense(keras3, name, *, package=None, module=None):
    """A Dense subclass, registered under `package` if given, that Keras 3 saves with `module`."""
    cls = type(name, (keras3.layers.Dense,), {"__module__": module or __name__})
    if package is not None:
        cls = keras3.saving.register_keras_serializable(package=package)(cls)
    return cls


@pytest.mark.parametrize("package, module, fires", [
    (None, None, True),  # never registered, from an importable module Keras 3 will not import
    (None, "__main__", True),  # never registered, defined in the training script
    ("FactsLayers", "__main__", True),  # registered in the training script: gone in a fresh process
    ("FactsLayers", None, False),  # registered in an importable module, imported before loading
])  # fmt: skip
def test_keras3_loads_a_custom_layer_only_where_ra308_is_silent(keras3, tmp_path, package, module, fires):
    name = f"FactsDense{package or ''}{'Main' if module else ''}"
    cls = custom_dense(keras3, name, package=package, module=module)
    path = tmp_path / "model.keras"
    keras3.Sequential([keras3.Input((3,)), cls(2, name="custom")]).save(path)
    if package is not None and module == "__main__":
        keras3.saving.get_custom_objects().pop(f"{package}>{name}")  # a fresh process
    model, error = load_or_error(keras3.saving.load_model, path)
    assert (model is None) == fires, error
    if fires:
        assert "could not be deserialized" in error
        key = f"{package}>{name}" if package else name  # what the file names the class by
        model, error = load_or_error(keras3.saving.load_model, path, custom_objects={key: cls})
        assert model is not None and call_once(model, (3,)) == 0, error
    assert findings(path, "RA308") == ([("custom", None, "error")] if fires else [])
