"""The layer tree built from configs of every dialect: paths, children, edges, weights, freezing.

Config shapes follow what Keras 3.15.1 and tf_keras 2.21 write (seen in fixtures/ and the
public corpus) and the Keras 1/2 forms in shared/reference/keras-formats.md section 3.
"""

from __future__ import annotations

import pytest

from conftest import dense, tree_of
from regaudit.loaders.problems import NoArchitecture, OverLimits
from regaudit.tree import LayerKind


def paths(tree):
    return [layer.path for layer in tree.layers()]


def keras3_tensor(name: str) -> dict:
    return {"class_name": "__keras_tensor__", "config": {"shape": [None, 2], "dtype": "float32", "keras_history": [name, 0, 0]}}


def test_keras1_list_shaped_sequential():
    tree = tree_of(document={"class_name": "Sequential", "keras_version": "1.1.1", "config": [
        {"class_name": "Dense", "config": {"name": "dense_1", "output_dim": 2, "init": "glorot_uniform", "bias": True}},
        {"class_name": "Dropout", "config": {"name": "dropout_1", "p": 0.5}},
    ]})
    assert paths(tree) == ["dense_1", "dropout_1"]
    assert tree.root.kind is LayerKind.MODEL
    assert tree.root.children[1].inbound == ("dense_1",)
    assert tree.root.outputs == ("dropout_1",)


def test_keras3_functional_edges_and_outputs():
    tree = tree_of(document={"module": "keras.src.models.functional", "class_name": "Functional", "config": {
        "name": "top", "trainable": True,
        "layers": [
            {"module": "keras.layers", "class_name": "InputLayer", "config": {"name": "x"}, "name": "x", "inbound_nodes": []},
            {**dense("a"), "name": "a", "inbound_nodes": [{"args": [keras3_tensor("x")], "kwargs": {}}]},
            {**dense("b"), "name": "b", "inbound_nodes": [{"args": [keras3_tensor("x")], "kwargs": {}}]},
            {"class_name": "Concatenate", "config": {"name": "cat"}, "name": "cat",
             "inbound_nodes": [{"args": [[keras3_tensor("a"), keras3_tensor("b")]], "kwargs": {}}]},
        ],
        "input_layers": [["x", 0, 0]], "output_layers": [["cat", 0, 0], ["b", 0, 0]]},
        "registered_name": "Functional"})
    layers = {layer.path: layer for layer in tree.layers()}
    assert layers["cat"].inbound == ("a", "b")
    assert tree.root.outputs == ("cat", "b")
    assert layers["cat"].is_model_output and layers["b"].is_model_output and not layers["a"].is_model_output


def test_keras2_list_inbound_nodes_and_single_output_triple():
    tree = tree_of(document={"class_name": "Model", "config": {
        "name": "m",
        "layers": [
            {"class_name": "InputLayer", "config": {"name": "in"}, "name": "in", "inbound_nodes": []},
            {**dense("d"), "name": "d", "inbound_nodes": [[["in", 0, 0, {}]]]},
        ],
        "input_layers": [["in", 0, 0]], "output_layers": ["d", 0, 0]}})
    (_, d) = tree.layers()
    assert d.inbound == ("in",) and d.is_model_output


def test_nested_models_get_slash_paths_and_inherit_freezing():
    inner = {"class_name": "Sequential", "config": {"name": "inner", "trainable": False, "layers": [dense("inner_dense")]}}
    outer = {"class_name": "Functional", "config": {"name": "outer", "layers": [inner]}}
    tree = tree_of([outer, dense("head")])
    assert paths(tree) == ["outer", "outer/inner", "outer/inner/inner_dense", "head"]
    layers = {layer.path: layer for layer in tree.layers()}
    assert layers["outer/inner/inner_dense"].trainable  # its own flag, as saved
    assert not layers["outer/inner/inner_dense"].effectively_trainable
    assert layers["head"].effectively_trainable


def test_keras3_bidirectional_keeps_both_saved_layers():
    lstm = {"class_name": "LSTM", "config": {"name": "forward_lstm", "units": 3, "kernel_initializer": {},
                                              "kernel_regularizer": {"class_name": "L2", "config": {"l2": 0.001}}}}
    backward = {"class_name": "LSTM", "config": {**lstm["config"], "name": "backward_lstm", "go_backwards": True}}
    tree = tree_of([{"class_name": "Bidirectional", "config": {"name": "bidi", "layer": lstm, "backward_layer": backward}}])
    assert paths(tree) == ["bidi", "bidi/forward_lstm", "bidi/backward_lstm"]
    assert [len(layer.regularizers) for layer in tree.layers()] == [0, 1, 1]


def test_tf_keras_bidirectional_rebuilds_the_backward_copy():
    # tf_keras 2.21 saves only `layer`, with its original name; Keras names the copies
    # forward_lstm and backward_lstm and both carry the regularizer.
    lstm = {"class_name": "LSTM", "config": {"name": "lstm", "units": 3,
                                              "kernel_regularizer": {"class_name": "L2", "config": {"l2": 0.001}}}}
    tree = tree_of([{"class_name": "Bidirectional", "config": {"name": "bidi", "layer": lstm, "merge_mode": "concat"}}])
    assert paths(tree) == ["bidi", "bidi/forward_lstm", "bidi/backward_lstm"]
    assert all(layer.regularizers for layer in tree.layers() if layer.path != "bidi")


def test_explicit_backward_layer_names_follow_the_saving_library():
    gru = {"class_name": "GRU", "config": {"name": "gru_f", "units": 2}}
    backward = {"class_name": "GRU", "config": {"name": "gru_b", "units": 2, "go_backwards": True}}
    # tf.keras saves the user's layers and prefixes both names when it loads them.
    tf_keras = tree_of([{"class_name": "Bidirectional", "config": {"name": "b", "layer": gru, "backward_layer": backward}}])
    assert paths(tf_keras) == ["b", "b/forward_gru_f", "b/backward_gru_b"]
    # Keras 3 saves the forward copy already prefixed and keeps an explicit backward layer's name.
    keras3_forward = {**gru, "config": {**gru["config"], "name": "forward_gru_f"}}
    keras3 = tree_of([{"class_name": "Bidirectional", "config": {"name": "b", "layer": keras3_forward, "backward_layer": backward}}])
    assert paths(keras3) == ["b", "b/forward_gru_f", "b/gru_b"]


def test_wrappers_rnn_cells_and_stacked_cells():
    cell = {"class_name": "GRUCell", "config": {"name": "g1", "units": 2, "kernel_initializer": {},
                                                 "kernel_regularizer": {"class_name": "L1", "config": {"l1": 1e-4}}}}
    stacked = {"class_name": "StackedRNNCells", "config": {"name": "stack", "cells": [cell, {**cell, "config": {**cell["config"], "name": "g2"}}]}}
    tree = tree_of([
        {"class_name": "RNN", "config": {"name": "rnn", "cell": stacked}},
        {"class_name": "TimeDistributed", "config": {"name": "td", "layer": dense("tdd")}},
    ])
    assert paths(tree) == ["rnn", "rnn/stack", "rnn/stack/g1", "rnn/stack/g2", "td", "td/tdd"]
    kinds = {layer.path: layer.kind for layer in tree.layers()}
    assert kinds["rnn"] is LayerKind.RNN and kinds["rnn/stack"] is LayerKind.RNN and kinds["td"] is LayerKind.WRAPPER


def test_flat_recurrent_layers_keep_their_regularizers():
    tree = tree_of([{"class_name": "LSTM", "config": {"name": "lstm", "units": 2, "kernel_initializer": {},
                    "recurrent_initializer": {}, "bias_initializer": {}, "use_bias": True,
                    "recurrent_regularizer": {"class_name": "L2", "config": {"l2": 0.01}}}}])
    (lstm,) = tree.layers()
    assert lstm.kind is LayerKind.LAYER
    assert [r.slot for r in lstm.regularizers] == ["recurrent"]
    assert lstm.weights == {"kernel", "recurrent", "bias"}


def test_shared_object_id_layer_is_audited_once():
    shared = {**dense("shared", kernel_regularizer="l2"), "shared_object_id": 7}
    tree = tree_of([
        {"class_name": "Sequential", "config": {"name": "a", "layers": [shared]}},
        {"class_name": "Sequential", "config": {"name": "b", "layers": [shared]}},
    ])
    assert paths(tree) == ["a", "a/shared", "b"]


def test_custom_layers_any_regularizer_key_and_custom_sublayers():
    custom = {"class_name": "MyBlock", "module": "mylib", "registered_name": "mylib>MyBlock", "config": {
        "name": "block", "trainable": True,
        "foo_regularizer": {"class_name": "L2", "config": {"l2": 0.1}},
        "projection": dense("proj", kernel_regularizer="l1"),
        "kernel_quantizer": {"class_name": "quantized_bits", "config": {"bits": 6}},
    }}
    tree = tree_of([custom])
    assert paths(tree) == ["block", "block/proj"]
    block = next(tree.layers())
    assert [r.slot for r in block.regularizers] == ["foo"]
    assert block.registered_name == "mylib>MyBlock"


@pytest.mark.parametrize(
    "layer, weights, absent",
    [
        ({"class_name": "Dense", "config": {"kernel_initializer": {}, "bias_initializer": {}, "use_bias": False}},
         {"kernel"}, {"bias"}),
        ({"class_name": "BatchNormalization", "config": {"beta_initializer": {}, "gamma_initializer": {}, "scale": False,
                                                         "moving_mean_initializer": {}}}, {"beta"}, {"gamma"}),
        ({"class_name": "SeparableConv2D", "config": {"depthwise_initializer": {}, "pointwise_initializer": {},
                                                      "bias_initializer": {}}}, {"depthwise", "pointwise", "bias"}, set()),
        ({"class_name": "Embedding", "config": {"embeddings_initializer": {}}}, {"embeddings"}, set()),
        ({"class_name": "PReLU", "config": {"alpha_initializer": {}}}, {"alpha"}, set()),
        ({"class_name": "MaxPooling2D", "config": {"pool_size": [2, 2]}}, set(), set()),
        # Keras 1: `init`, `inner_init` and the `bias` flag; normalization layers wrote no initializers.
        ({"class_name": "Dense", "config": {"init": "glorot_uniform", "bias": False}}, {"kernel"}, {"bias"}),
        ({"class_name": "LSTM", "config": {"init": "glorot_uniform", "inner_init": "orthogonal"}},
         {"kernel", "recurrent", "bias"}, set()),
        ({"class_name": "Embedding", "config": {"init": "uniform"}}, {"embeddings"}, set()),
        ({"class_name": "BatchNormalization", "config": {"mode": 0, "gamma_regularizer": None}}, {"gamma", "beta"}, set()),
    ],
)
def test_weight_slots(layer, weights, absent):
    layer["config"]["name"] = "l"
    (built,) = tree_of([layer]).layers()
    assert (set(built.weights), set(built.absent_weights)) == (weights, absent)


def test_coverage_counts_weight_bearing_layers_with_a_weight_regularizer():
    tree = tree_of([
        dense("a", kernel_initializer={}, kernel_regularizer="l2"),
        dense("b", kernel_initializer={}, activity_regularizer="l1"),  # activity only: not covered
        {"class_name": "Dropout", "config": {"name": "drop", "rate": 0.5}},
    ])
    coverage = tree.coverage()
    assert (coverage.layers, coverage.weight_bearing, coverage.covered, coverage.regularizers) == (3, 2, 1, 2)


def test_subclassed_model_without_layers_is_not_auditable():
    # keras-team/keras test data: a registered subclassed model whose config lists no layers.
    document = {"module": None, "class_name": "NestedDenseModel", "registered_name": "legacy_nested_container>NestedDenseModel",
                "config": {"name": "nested_dense_model", "trainable": True, "num": 3}}
    with pytest.raises(NoArchitecture, match="subclassed model"):
        tree_of(document=document)


def test_layer_nesting_depth_is_bounded():
    model: dict = dense("leaf")
    for index in range(100):
        model = {"class_name": "Sequential", "config": {"name": f"s{index}", "layers": [model]}}
    with pytest.raises(OverLimits, match="nested more than"):
        tree_of(document=model)


def test_unnamed_layers_get_keras_snake_case_names():
    (layer,) = tree_of([{"class_name": "SeparableConv2D", "config": {}}]).layers()
    assert layer.name == "separable_conv2d"
