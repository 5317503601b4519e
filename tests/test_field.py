"""The field cases of issue 8 (fixtures/field/, rebuilt from public Keras bug reports, with what
real Keras did in the *.out files beside them): regaudit's verdict must be what Keras does."""

from __future__ import annotations

from conftest import FIXTURES
from regaudit import audit

FIELD = FIXTURES / "field"


def verdict(relative: str, **options):
    (artifact,) = audit([str(FIELD / relative)], options).artifacts
    assert artifact.error is None, artifact.error
    return artifact


def rules_at(artifact, rule):
    return [(f.layer, f.argument, f.severity.value) for f in artifact.findings if f.rule == rule]


def test_keras3_time_distributed_inner_activity_is_ignored_not_coverage_and_not_on_the_predictions():
    # isolate.out: Keras 3 adds 0 penalties, before and after reload.
    artifact = verdict("k3-timedistributed-activity/k3_td_inner_activity_only.keras")
    assert rules_at(artifact, "RA407") == [("td/inner", "activity_regularizer", "warning")]
    assert rules_at(artifact, "RA004") == []
    (ra001,) = [f.message for f in artifact.findings if f.rule == "RA001"]
    assert "Keras 3 ignores it" in ra001


def test_tf_keras_lambda_activity_lost_on_save_is_reported_with_the_class():
    # truth.out: tf_keras reloads 1 penalty of the 2 the model had; the Lambda's is not in the file.
    artifact = verdict("tfk-lambda-activity/tfk_lambda_activity.h5")
    assert rules_at(artifact, "RA408") == [(None, None, "info")]
    (message,) = [f.message for f in artifact.findings if f.rule == "RA408"]
    assert "Lambda (1)" in message


def test_tfjs_refuses_an_activity_regularizer_whatever_its_class():
    # truth.out: tfjs-layers 4.22.0 "Layer invocation in the presence of activity regularizer(s)".
    artifact = verdict("tfjs-activity-regularizer/probe_activity_l1l2/model.json")
    assert rules_at(artifact, "RA405") == [("d_act_l1", "activity_regularizer", "error")]
    (message,) = [f.message for f in artifact.findings if f.rule == "RA405"]
    assert "remove activity_regularizer from Dense d_act_l1" in message and "use L1L2" not in message


def test_tf_keras_hdf5_function_regularizers_are_load_failures_registered_or_not():
    # truth_regonly.out / truth_registered.out: "Unknown regularizer: 'function'" in tf_keras,
    # with custom_objects and with the registering module imported alike.
    for name in ("tfk_function_regonly.h5", "tfk_function_registered.h5"):
        artifact = verdict(f"tfk-function-regularizer/{name}")
        assert rules_at(artifact, "RA303") == [("hidden", "kernel_regularizer", "error")]
        assert rules_at(artifact, "RA304") == []
        (message,) = [f.message for f in artifact.findings if f.rule == "RA303"]
        assert "Unknown regularizer: 'function'" in message and "save the model as .keras" in message


def test_keras3_loads_the_registered_tf_keras_hdf5_function_once_registered():
    # truth_registered.out: "k3 registered-import, tfk h5": load ok, 1 penalty.
    artifact = verdict("tfk-function-regularizer/tfk_function_registered.h5", **{"target-keras": "3.15.1"})
    assert rules_at(artifact, "RA303") == []
    assert rules_at(artifact, "RA304") == [("hidden", "kernel_regularizer", "info")]


def test_tf_keras_zip_function_loads_as_a_string_and_fails_at_the_first_call():
    # truth_registered.out: "tfk NOT imported, tfk .keras": load ok, call_error 'str' object is not callable.
    artifact = verdict("tfk-function-regularizer/tfk_function_regonly.keras")
    (message,) = [f.message for f in artifact.findings if f.rule == "RA303"]
    assert "'str' object is not callable" in message
    assert "custom_objects={'my_l1_regularizer': my_l1_regularizer}" in message


def test_keras3_class_registered_in_the_training_script_is_a_load_failure_elsewhere():
    # truth.out: a fresh process fails; only re-running the registration loads it.
    artifact = verdict("k3-registered-in-main/k3_registered_main.keras")
    assert rules_at(artifact, "RA306") == [("d", "kernel_regularizer", "error")]
    assert rules_at(artifact, "RA304") == []
