"""The engine's promises when something goes wrong inside regaudit itself: the bug is reported for
the one artifact it hit (RA909), the other artifacts are still audited, and the run exits 3."""

import os

import pytest

from conftest import MODELS
from regaudit import checks
from regaudit.config import Settings
from regaudit.engine import audit
from regaudit.outcomes import ExitCode, Status

GOOD = str(MODELS / "k3_compiled_adamw.keras")
BROKEN_BY = str(MODELS / "k3_nested.keras")


@pytest.fixture
def a_check_that_breaks_on_nested_models(monkeypatch):
    original = checks.all_checks()["RA001"]

    def breaks(tree, context):
        if any("/" in layer.path for layer in tree.layers()):
            raise KeyError("a bug")
        return original(tree, context)

    monkeypatch.setitem(checks.CHECKS, "RA001", breaks)


def test_a_bug_is_reported_for_that_artifact_only(a_check_that_breaks_on_nested_models, monkeypatch, capsys):
    monkeypatch.delenv("REGAUDIT_DEBUG", raising=False)
    result = audit([GOOD, BROKEN_BY], Settings())
    good, broken = result.artifacts
    assert good.status is Status.OK and {f.rule for f in good.findings} == {"RA202", "RA203"}
    assert (broken.status, broken.error.code) == (Status.ERROR, "RA909")
    assert "KeyError: 'a bug'" in broken.error.message and "please report it" in broken.error.message
    assert result.exit_code(Settings().fail_on) is ExitCode.UNREADABLE
    assert "Traceback" not in capsys.readouterr().err


def test_regaudit_debug_shows_the_traceback(a_check_that_breaks_on_nested_models, monkeypatch, capsys):
    monkeypatch.setenv("REGAUDIT_DEBUG", "1")
    audit([BROKEN_BY], Settings())
    assert "Traceback" in capsys.readouterr().err


def test_a_worker_that_dies_is_reported_for_its_file(monkeypatch):
    def dies_on_nested_models(tree, context):
        if any("/" in layer.path for layer in tree.layers()):
            os._exit(1)  # a crash in native code, as a hostile HDF5 file might cause
        return iter(())

    monkeypatch.setitem(checks.CHECKS, "RA001", dies_on_nested_models)
    result = audit([BROKEN_BY, GOOD, GOOD.replace("adamw", "adam_wd")], Settings(), jobs=2)
    crashed, *others = result.artifacts
    assert (crashed.path, crashed.status, crashed.error.code) == (BROKEN_BY, Status.ERROR, "RA909")
    assert "stopped unexpectedly" in crashed.error.message
    # The files the dead worker's pool still held are audited, each in a process of its own.
    assert [(artifact.status, artifact.error) for artifact in others] == [(Status.OK, None), (Status.OK, None)]
