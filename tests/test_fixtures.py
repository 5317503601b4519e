"""regaudit's static reading of every committed fixture equals what Keras itself saw.

fixtures/generate.py built each model with real keras 3.15.1 or tf_keras 2.21, recorded
`keras_view` of the live model, and loaded each saved file in a fresh process to record whether
it loads without custom_objects. These tests need no TensorFlow; test_keras_crosscheck.py
repeats the comparison against models loaded live.
"""

from __future__ import annotations

import sys

import pytest

from conftest import FIXTURES, LOAD_FAILURE_RULES, MODELS, load_expected, regaudit_view
from regaudit.engine import audit
from regaudit.outcomes import Status

sys.path.insert(0, str(FIXTURES))
from keras_truth import compare_views  # noqa: E402

EXPECTED = load_expected()
MODEL_FILES = [e for e in EXPECTED if e["kind"] == "model"]


def audited(expected: dict):
    (artifact,) = audit([str(MODELS / expected["file"])]).artifacts
    return artifact


@pytest.mark.parametrize("expected", MODEL_FILES, ids=lambda e: e["file"])
def test_regularizers_equal_keras_in_memory_view(expected):
    artifact = audited(expected)
    assert artifact.status is Status.OK, artifact.error
    assert compare_views(expected["keras_view"], regaudit_view(artifact.tree)) == []


@pytest.mark.parametrize(
    "expected", [e for e in MODEL_FILES if e["library"] == "keras"], ids=lambda e: e["file"]
)
def test_load_failure_rules_fire_exactly_where_keras3_failed_to_load(expected):
    fired = {finding.rule for finding in audited(expected).findings} & LOAD_FAILURE_RULES
    assert bool(fired) == (not expected["loads_without_custom_objects"]), expected["load_error"]


@pytest.mark.parametrize("expected", MODEL_FILES, ids=lambda e: e["file"])
def test_orthogonal_rank_rule_fires_exactly_where_keras_fails_to_compute_the_penalty(expected):
    fired = any(finding.rule == "RA205" for finding in audited(expected).findings)
    failure = expected["in_memory_losses_error"] or ""
    assert fired == ("OrthogonalRegularizer must have rank 2" in failure), failure


TRAINS_FINE = [
    e for e in MODEL_FILES
    if e["loads_without_custom_objects"] and not e["in_memory_losses_error"] and not e.get("loaded_model_losses_error")
]


@pytest.mark.parametrize("expected", TRAINS_FINE, ids=lambda e: e["file"])
def test_no_error_finding_on_a_model_keras_loads_and_trains(expected):
    errors = [f for f in audited(expected).findings if f.severity.value == "error"]
    assert errors == []


@pytest.mark.parametrize(
    "expected", [e for e in EXPECTED if e["kind"] != "model"], ids=lambda e: e["file"]
)
def test_files_without_architecture_are_skipped_not_clean(expected):
    artifact = audited(expected)
    assert (artifact.status, artifact.error.code) == (Status.SKIPPED, "RA901")


def test_every_fixture_file_has_an_expectation():
    named = {e["file"] for e in EXPECTED}
    assert {p.name for p in MODELS.iterdir()} == named


def test_fixtures_cover_every_origin_and_layer_family():
    origins, classes = set(), set()
    for expected in MODEL_FILES:
        tree = audited(expected).tree
        origins |= {regularizer.origin.value for _, regularizer in tree.regularized()}
        classes |= {layer.class_name for layer in tree.layers()}
    assert origins >= {"builtin", "registered", "unregistered", "function", "lambda"}
    assert classes >= {"Bidirectional", "TimeDistributed", "RNN", "StackedRNNCells", "SeparableConv2D",
                       "DepthwiseConv2D", "Embedding", "BatchNormalization", "PReLU", "MultiHeadAttention",
                       "ActivityRegularization", "Sequential", "Functional", "LSTM", "GRU"}
