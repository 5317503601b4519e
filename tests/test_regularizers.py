"""Every serialization of a regularizer normalizes to the origin, class and factors Keras gives it.

Each case quotes a form recorded in shared/reference/keras-formats.md (sections 2.2 and 3.2),
checked there on files written by Keras 3.15.1, tf_keras 2.21 or read from tagged Keras source.
"""

from __future__ import annotations

import math

import pytest

from regaudit.loaders.regularizers import layer_regularizers, normalize, slot_for
from regaudit.tree import Origin

K3 = "keras.regularizers"


def norm(value, slot="kernel", argument="kernel_regularizer"):
    return normalize(value, slot=slot, argument=argument)


@pytest.mark.parametrize(
    "value, class_name, factors",
    [
        # Keras 3 built-ins; L1 stores float32, so 0.02 is saved as 0.019999999552965164.
        ({"module": K3, "class_name": "L2", "config": {"l2": 0.0001}, "registered_name": None}, "L2", {"l2": 1e-4}),
        ({"module": K3, "class_name": "L1", "config": {"l1": 0.019999999552965164}, "registered_name": None}, "L1",
         {"l1": 0.019999999552965164}),
        ({"module": K3, "class_name": "L1L2", "config": {"l1": 1e-05, "l2": 0.0001}, "registered_name": None}, "L1L2",
         {"l1": 1e-5, "l2": 1e-4}),
        ({"module": K3, "class_name": "OrthogonalRegularizer", "config": {"factor": 0.1, "mode": "rows"},
          "registered_name": None}, "OrthogonalRegularizer", {"factor": 0.1}),
        # tf.keras <= 2.12 and Keras 2.0-2.3 (no module key).
        ({"class_name": "L2", "config": {"l2": 0.009999999776482582}}, "L2", {"l2": 0.009999999776482582}),
        ({"class_name": "L1L2", "config": {"l2": 9.999999747378752e-05, "l1": 0.0}}, "L1L2",
         {"l1": 0.0, "l2": 9.999999747378752e-05}),
        # tf.keras SavedModel extras are not factors.
        ({"class_name": "L2", "config": {"l2": 0.01}, "shared_object_id": 3, "__passive_serialization__": True}, "L2",
         {"l2": 0.01}),
        # TF.js saves ints, not floats.
        ({"class_name": "L1L2", "config": {"l1": 0, "l2": 0.01}}, "L1L2", {"l1": 0.0, "l2": 0.01}),
    ],
)
def test_builtin_forms(value, class_name, factors):
    regularizer = norm(value)
    assert regularizer.origin is Origin.BUILTIN
    assert regularizer.class_name == class_name
    assert dict(regularizer.factors) == pytest.approx(factors)


def test_orthogonal_mode_is_an_option_not_a_factor():
    regularizer = norm({"module": K3, "class_name": "OrthogonalRegularizer", "config": {"factor": 0.01, "mode": "rows"}})
    assert dict(regularizer.options) == {"mode": "rows"}


@pytest.mark.parametrize(
    "config, factors",
    [
        # Missing factors take the constructor defaults: L2(l2=0.01), L1L2(0, 0) in every Keras.
        ({"class_name": "L2", "config": {}}, {"l2": 0.01}),
        ({"class_name": "L1L2", "config": {"l1": 0.001}}, {"l1": 0.001, "l2": 0.0}),
        ({"class_name": "OrthogonalRegularizer", "config": {"mode": "columns"}}, {"factor": 0.01}),
    ],
)
def test_missing_factors_take_keras_defaults(config, factors):
    assert dict(norm(config).factors) == factors


@pytest.mark.parametrize(
    "identifier, class_name, factors",
    [
        ("l2", "L2", {"l2": 0.01}),
        ("l1", "L1", {"l1": 0.01}),
        # Keras 3: "l1l2" resolves to L1L2(), a no-op; tf.keras resolved "l1_l2" to 0.01/0.01.
        ("l1l2", "L1L2", {"l1": 0.0, "l2": 0.0}),
        ("l1_l2", "L1L2", {"l1": 0.01, "l2": 0.01}),
        ("orthogonal_regularizer", "OrthogonalRegularizer", {"factor": 0.01}),
    ],
)
def test_string_identifiers(identifier, class_name, factors):
    regularizer = norm(identifier)
    assert (regularizer.origin, regularizer.class_name, dict(regularizer.factors)) == (Origin.BUILTIN, class_name, factors)


@pytest.mark.parametrize(
    "value, origin, class_name, registered_name",
    [
        # Keras 3 registered class and (3.7+) registered function.
        ({"module": "myregs", "class_name": "RegReg", "config": {"strength": 0.5}, "registered_name": "mypkg>RegReg"},
         Origin.REGISTERED, "RegReg", "mypkg>RegReg"),
        ({"module": "builtins", "class_name": "function", "config": "mypkg>reg_fn", "registered_name": "function"},
         Origin.REGISTERED, "reg_fn", "mypkg>reg_fn"),
        # tf.keras <= 2.12 wrote the registered name as class_name.
        ({"class_name": "mypkg>RegReg", "config": {"strength": 0.5}}, Origin.REGISTERED, "RegReg", "mypkg>RegReg"),
        ("mypkg>fn", Origin.REGISTERED, "fn", "mypkg>fn"),
        # Unregistered: importable module, __main__ (module null), legacy form.
        ({"module": "myregs", "class_name": "UnregReg", "config": {"strength": 0.5}, "registered_name": "UnregReg"},
         Origin.UNREGISTERED, "UnregReg", "UnregReg"),
        ({"module": None, "class_name": "MainUnregReg", "config": {"s": 0.5}, "registered_name": "MainUnregReg"},
         Origin.UNREGISTERED, "MainUnregReg", "MainUnregReg"),
        ({"class_name": "UnregReg", "config": {"strength": 0.5}}, Origin.UNREGISTERED, "UnregReg", None),
        # Keras 3 raises "Cannot deserialize object of type L2" for a __main__ class named like a built-in.
        ({"module": None, "class_name": "L2", "config": {"l2": 0.5}, "registered_name": "L2"},
         Origin.UNREGISTERED, "L2", "L2"),
        # Plain functions: Keras 3 / tf.keras 2.13+ form, and the Keras 2 bare name.
        ({"module": "builtins", "class_name": "function", "config": "unreg_fn", "registered_name": "function"},
         Origin.FUNCTION, "unreg_fn", None),
        ("fn_reg", Origin.FUNCTION, "fn_reg", None),
        # Lambdas, whose bytecode is never decoded.
        ({"class_name": "__lambda__", "config": {"value": ["4wEAAAAAAAAAAAAAAAEAAAAC", None, None]}},
         Origin.LAMBDA, "<lambda>", None),
        ("<lambda>", Origin.LAMBDA, "<lambda>", None),
    ],
)
def test_custom_origins(value, origin, class_name, registered_name):
    regularizer = norm(value)
    assert (regularizer.origin, regularizer.class_name, regularizer.registered_name) == (origin, class_name, registered_name)


def test_custom_class_numeric_config_is_reported_as_factors():
    regularizer = norm({"module": "m", "class_name": "Scaled", "config": {"strength": 0.5, "mode": "x"}, "registered_name": "p>Scaled"})
    assert dict(regularizer.factors) == {"strength": 0.5}
    assert dict(regularizer.options) == {"mode": "x"}


@pytest.mark.parametrize(
    "value, class_name, factors",
    [
        ({"name": "WeightRegularizer", "l1": 0.0, "l2": 0.01}, "WeightRegularizer", {"l1": 0.0, "l2": 0.01}),
        ({"l2": 0.0, "name": "WeightRegularizer", "l1": 9.999999747378752e-05}, "WeightRegularizer",
         {"l1": 9.999999747378752e-05, "l2": 0.0}),
        ({"name": "L1L2Regularizer", "l1": 0.0, "l2": 0.0010000000474974513}, "L1L2Regularizer",
         {"l1": 0.0, "l2": 0.0010000000474974513}),
        ({"name": "ActivityRegularizer", "l1": 0.0001, "l2": 0.0}, "ActivityRegularizer", {"l1": 0.0001, "l2": 0.0}),
    ],
)
def test_keras1_flat_dicts_are_legacy(value, class_name, factors):
    regularizer = norm(value)
    assert (regularizer.origin, regularizer.class_name, dict(regularizer.factors)) == (Origin.LEGACY, class_name, factors)


@pytest.mark.parametrize(
    "value, problem",
    [
        ([1, 2], "a list"),
        (0.01, "a number"),
        ({"config": {"l2": 0.1}}, "expected an object with class_name"),
        ({"class_name": 3, "config": {}}, "not a string"),
        ({"module": K3, "class_name": "L3", "config": {}, "registered_name": None}, "no built-in regularizer named 'L3'"),
        ({"class_name": "L2", "config": {"l2": "0.01"}}, "not a number"),
        ({"class_name": "L2", "config": [0.01]}, "not an object"),
        ({"module": "builtins", "class_name": "function", "config": None}, "without a function name"),
    ],
)
def test_malformed_entries_are_unknown_with_a_reason(value, problem):
    regularizer = norm(value)
    assert regularizer.origin is Origin.UNKNOWN
    assert problem in regularizer.problem


def test_invalid_factors_are_kept_to_be_reported():
    regularizer = norm({"class_name": "L1L2", "config": {"l1": -0.1, "l2": float("nan")}})
    assert regularizer.origin is Origin.BUILTIN
    assert set(regularizer.invalid_factors) == {"l1", "l2"}
    huge = norm({"class_name": "L2", "config": {"l2": 10**400}})
    assert math.isinf(huge.factors["l2"])


@pytest.mark.parametrize(
    "argument, layer, slot",
    [
        ("kernel_regularizer", "Dense", "kernel"),
        ("depthwise_regularizer", "SeparableConv2D", "depthwise"),
        ("foo_regularizer", "MyLayer", "foo"),
        ("W_regularizer", "Dense", "kernel"),
        ("W_regularizer", "Embedding", "embeddings"),
        ("b_regularizer", "Convolution2D", "bias"),
        ("U_regularizer", "LSTM", "recurrent"),
    ],
)
def test_slot_for_argument(argument, layer, slot):
    assert slot_for(argument, layer) == slot


def test_layer_regularizers_skip_nulls_and_read_activity_regularization_layers():
    found = layer_regularizers("Dense", {"kernel_regularizer": None, "bias_regularizer": "l2", "activity_regularizer": None})
    assert [(r.slot, r.argument, r.class_name) for r in found] == [("bias", "bias_regularizer", "L2")]
    # ActivityRegularization(l1=0.001) saves plain floats and applies L1L2(l1, l2) to its output.
    (activity,) = layer_regularizers("ActivityRegularization", {"name": "ar", "l1": 0.001, "l2": 0.0})
    assert (activity.slot, activity.argument, activity.class_name, dict(activity.factors)) == (
        "activity", None, "L1L2", {"l1": 0.001, "l2": 0.0})


def test_tfjs_fills_a_missing_l1l2_factor_with_0_01_where_keras_fills_0():
    # tensorflow/tfjs tfjs-layers/src/regularizers.ts (v4.22.0), L1L2's constructor:
    # `this.l1 = args == null || args.l1 == null ? 0.01 : args.l1` (likewise l2).
    from regaudit.loaders.regularizers import TFJS_DEFAULTS

    entry = {"class_name": "L1L2", "config": {"l2": 0.001}}
    assert dict(norm(entry).factors) == {"l1": 0.0, "l2": 0.001}
    assert dict(normalize(entry, slot="kernel", argument="kernel_regularizer", defaults=TFJS_DEFAULTS).factors) == {
        "l1": 0.01, "l2": 0.001
    }
    explicit = {"class_name": "L1L2", "config": {"l1": 0.0, "l2": 0.001}}
    assert dict(normalize(explicit, slot="kernel", argument="kernel_regularizer", defaults=TFJS_DEFAULTS).factors) == {
        "l1": 0.0, "l2": 0.001
    }


def test_tfjs_model_json_reads_l1l2_with_tfjs_defaults():
    from regaudit.loaders.json_file import tree_from_document

    layer = {"class_name": "Dense", "config": {"name": "d", "units": 2,
                                               "kernel_regularizer": {"class_name": "L1L2", "config": {"l2": 0.001}}}}
    topology = {"class_name": "Sequential", "config": {"name": "s", "layers": [layer]}}
    tfjs = tree_from_document({"format": "layers-model", "modelTopology": topology, "weightsManifest": []})
    ((_, regularizer),) = tfjs.regularized()
    assert dict(regularizer.factors) == {"l1": 0.01, "l2": 0.001}
    ((_, regularizer),) = tree_from_document(topology).regularized()
    assert dict(regularizer.factors) == {"l1": 0.0, "l2": 0.001}
