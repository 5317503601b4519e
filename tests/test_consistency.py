"""Say each thing once and consistently (issue 8, kind 5).

One finding per argument in the file, however many copies Keras builds from it; all-zero factors
are not coverage anywhere; findings on one argument never advise what another says is useless.
"""

from __future__ import annotations

from collections import Counter

from conftest import FIXTURES, dense, tree_of
from regaudit.engine import audit
from regaudit.reporters.html import _factors, _rows

FIELD = FIXTURES / "field"


def l2(value: float) -> dict:
    return {"module": "keras.regularizers", "class_name": "L2", "config": {"l2": value}, "registered_name": None}


def test_keras1_bidirectional_mirror_gets_one_finding_per_argument_and_both_copies_in_the_table():
    # Keras 1.2.2 JSON: Embedding (1 argument), LSTM (3) and Bidirectional(LSTM) (3): 7 arguments.
    (artifact,) = audit([str(FIELD / "k1-bidirectional-lstm" / "k1_lstm_regularizers.json")]).artifacts
    ra401 = [(f.layer, f.argument) for f in artifact.findings if f.rule == "RA401"]
    assert len(ra401) == len(set(ra401)) == 7
    assert not any("backward" in (f.layer or "") for f in artifact.findings)
    table = [layer.path for layer, _ in artifact.tree.regularized()]
    assert Counter(path.rsplit("/", 1)[-1].split("_lstm")[0] for path in table if "/" in path) == {
        "forward": 3, "backward": 3
    }


def test_keras3_bidirectional_with_a_different_backward_layer_is_two_settings():
    lstm = {"class_name": "LSTM", "config": {"name": "forward_lstm", "units": 2, "kernel_initializer": {},
                                             "kernel_regularizer": l2(0.01)}}
    backward = {"class_name": "LSTM", "config": {"name": "backward_lstm", "units": 2, "kernel_initializer": {},
                                                 "kernel_regularizer": l2(0.02)}}
    tree = tree_of([{"class_name": "Bidirectional", "config": {"name": "bi", "layer": lstm, "backward_layer": backward}}])
    assert [layer.path for layer in tree.written_layers()] == ["bi", "bi/forward_lstm", "bi/backward_lstm"]
    same = {**backward, "config": {**backward["config"], "kernel_regularizer": l2(0.01)}}
    tree = tree_of([{"class_name": "Bidirectional", "config": {"name": "bi", "layer": lstm, "backward_layer": same}}])
    assert [layer.path for layer in tree.written_layers()] == ["bi", "bi/forward_lstm"]


def zero_and_real_dense_model():
    return tree_of([
        dense("zero", kernel_initializer={}, kernel_regularizer=l2(0.0)),
        dense("real", kernel_initializer={}, kernel_regularizer=l2(1e-4)),
        dense("out", kernel_initializer={}),
    ])


def test_all_zero_factors_are_not_coverage_in_the_tree_or_the_html_picture():
    tree = zero_and_real_dense_model()
    assert tree.coverage().covered == 1
    rows = _rows(tree, [])
    assert [row.uncovered for row in rows] == [True, False, True]
    # The picture colours a layer only for a weight penalty whose largest factor, read from the
    # Factors cell, is above zero (or that has none to read).
    assert [_factors(row.regularizer) if row.regularizer else None for row in rows] == ["l2=0", "l2=0.0001", None]


def test_all_zero_factors_are_not_an_example_to_follow_and_not_coverage_for_ra001():
    tree = tree_of([
        dense("zero", kernel_initializer={}, kernel_regularizer=l2(0.0)),
        dense("bare", kernel_initializer={}),
        dense("out", kernel_initializer={}),
    ])
    from regaudit.checks import RuleContext, all_checks

    checks = all_checks()
    assert list(checks["RA002"](tree, RuleContext())) == []
    (ra001,) = checks["RA001"](tree, RuleContext())
    assert "all factors zero" in ra001.message


def batch_norm_model(*, kernel_regularizer=None, bias_regularizer=None):
    conv = {"class_name": "Conv2D", "config": {"name": "conv", "filters": 2, "kernel_size": [3, 3],
                                               "activation": "linear", "kernel_initializer": {}, "bias_initializer": {}}}
    if kernel_regularizer:
        conv["config"]["kernel_regularizer"] = kernel_regularizer
    if bias_regularizer:
        conv["config"]["bias_regularizer"] = bias_regularizer
    return [conv, {"class_name": "BatchNormalization", "config": {"name": "bn"}}]


def messages(tree, code):
    from regaudit.checks import RuleContext, all_checks

    return [hit.message for hit in all_checks()[code](tree, RuleContext())]


def test_ra105_advises_keeping_a_kernel_penalty_only_where_one_regularizes():
    (alone,) = messages(tree_of(batch_norm_model(bias_regularizer=l2(0.01))), "RA105")
    assert "keep the kernel penalty" not in alone and "penalize the kernel instead" in alone
    cancelled = tree_of(batch_norm_model(kernel_regularizer=l2(0.01), bias_regularizer=l2(0.01)))
    assert messages(cancelled, "RA201"), "the kernel L2 feeds BatchNormalization"
    (beside_ra201,) = messages(cancelled, "RA105")
    assert "keep the kernel penalty" not in beside_ra201
    with_kernel = tree_of([dense("d", kernel_initializer={}, bias_initializer={}, kernel_regularizer=l2(1e-4),
                                 bias_regularizer=l2(1e-4)), dense("out")])
    (kept,) = messages(with_kernel, "RA105")
    assert "keep the kernel penalty" in kept


def test_ra002_does_not_recommend_a_penalty_that_ra201_says_does_nothing():
    layers = batch_norm_model(kernel_regularizer=l2(0.01))
    bare = {"class_name": "Conv2D", "config": {"name": "bare", "filters": 2, "kernel_size": [3, 3],
                                               "kernel_initializer": {}, "bias_initializer": {}}}
    tree = tree_of([*layers, bare, dense("out", kernel_initializer={})])
    assert messages(tree, "RA201")
    assert messages(tree, "RA002") == []
    useful = {"class_name": "Conv2D", "config": {**bare["config"], "name": "useful", "kernel_regularizer": l2(0.01)}}
    tree = tree_of([*layers, useful, bare, dense("out", kernel_initializer={})])
    (hint,) = messages(tree, "RA002")
    assert "useful has kernel_regularizer" in hint


def test_no_rule_claims_an_effect_for_an_activity_regularizer_keras_ignores():
    # Keras 3 TimeDistributed bypasses the inner layer's __call__ (keras_facts, RA407): a factor of
    # 0.5 there dominates nothing, penalizes no prediction and is not coverage.
    inner = {"module": "keras.layers", "class_name": "Dense", "config": {
        "name": "inner", "units": 2, "kernel_initializer": {},
        "activity_regularizer": {"module": "keras.regularizers", "class_name": "L2", "config": {"l2": 0.5}}}}
    tree = tree_of([{"module": "keras.layers", "class_name": "TimeDistributed", "config": {"name": "td", "layer": inner}}])
    tree.keras_version = "3.15.1"
    assert messages(tree, "RA407")
    for code in ("RA004", "RA103", "RA104", "RA402"):
        assert messages(tree, code) == [], code
    (ra001,) = messages(tree, "RA001")
    assert "Keras 3 ignores it" in ra001
    tree.keras_version = "2.21.0"  # tf_keras applies it
    assert messages(tree, "RA407") == [] and messages(tree, "RA103") and messages(tree, "RA004")


def test_tfjs_activity_regularizer_is_refused_not_a_penalty_on_the_predictions():
    from regaudit.loaders.json_file import tree_from_document

    layer = {"class_name": "Dense", "config": {"name": "out", "units": 2, "kernel_initializer": {},
                                               "activity_regularizer": {"class_name": "L1L2", "config": {"l1": 0.01}}}}
    topology = {"class_name": "Sequential", "config": {"name": "s", "layers": [layer]}}
    tree = tree_from_document({"format": "layers-model", "modelTopology": topology, "weightsManifest": []})
    assert messages(tree, "RA405") and messages(tree, "RA004") == []
