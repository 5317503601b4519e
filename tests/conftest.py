"""Shared helpers: paths to fixtures and the public corpus, and ways to run regaudit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from regaudit.loaders.json_file import tree_from_document
from regaudit.tree import ModelTree

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
MODELS = FIXTURES / "models"
EXPECTED = FIXTURES / "expected"


def corpus_path() -> Path:
    # .ci/run sets REGAUDIT_CORPUS; a developer checkout usually has ../shared beside it.
    configured = os.environ.get("REGAUDIT_CORPUS")
    return Path(configured) if configured else ROOT.parent / "shared" / "corpus"


@pytest.fixture(scope="session")
def corpus() -> Path:
    path = corpus_path()
    if not (path / "MANIFEST.tsv").is_file():
        message = f"public corpus not found at {path} (set REGAUDIT_CORPUS)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def run_cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """The real command, in a child process: exit codes, stdout and stderr as a user sees them."""
    return subprocess.run(
        [sys.executable, "-m", "regaudit", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "NO_COLOR": "1", **(env or {})},
        timeout=120,
    )


def json_report(*args: str, cwd: Path | None = None) -> tuple[int, dict[str, Any]]:
    completed = run_cli("check", "--format", "json", *args, cwd=cwd)
    assert completed.stderr == "", completed.stderr
    return completed.returncode, json.loads(completed.stdout)


def tree_of(layers: list[dict] | None = None, *, document: Any = None) -> ModelTree:
    """A tree from a layer list (wrapped in a Sequential) or from a whole to_json() document."""
    if document is None:
        document = {"class_name": "Sequential", "config": {"name": "model", "layers": layers}}
    return tree_from_document(document)


def dense(name: str, **config: Any) -> dict:
    return {"class_name": "Dense", "config": {"name": name, "units": 2, **config}}


def regaudit_view(tree: ModelTree) -> dict[str, list[dict]]:
    """regaudit's reading in the shape of fixtures/keras_truth.keras_view, to compare the two."""
    view: dict[str, list[dict]] = {}
    for layer, regularizer in tree.regularized():
        entry = {"slot": regularizer.slot, "class_name": regularizer.class_name, "factors": dict(regularizer.factors)}
        view.setdefault(layer.path, []).append(entry)
    return {path: sorted(entries, key=lambda e: e["slot"]) for path, entries in sorted(view.items())}


def load_expected() -> list[dict]:
    """fixtures/expected/<file>.json: what Keras saw in memory when it built each fixture."""
    return [json.loads(p.read_text()) for p in sorted(EXPECTED.glob("*.json")) if not p.name.startswith("_")]


LOAD_FAILURE_RULES = {"RA301", "RA302", "RA303", "RA306", "RA307", "RA308"}


def require(module: str):
    """Import a test-extra dependency: skipped on a developer machine without it, a failure in CI."""
    if os.environ.get("CI"):
        return __import__(module)
    return pytest.importorskip(module)


# --- golden files ---------------------------------------------------------------------------------

GOLDEN = ROOT / "tests" / "golden"
# The inputs every reporter's golden file renders, as relative paths from the repository root:
# an error finding (RA301), warning and info findings with an optimizer, nested and frozen layers,
# a skipped weights-only file, an unreadable Git LFS pointer, and layer names built to break out
# of HTML, JavaScript, XML and Markdown.
GOLDEN_INPUTS = (
    "fixtures/models/k3_origin_main_class.keras",
    "fixtures/models/k3_compiled_adamw.keras",
    "fixtures/models/k3_nested.keras",
    "fixtures/models/tfk_weights_only.h5",
    "tests/data/lfs_pointer.keras",
    "tests/data/hostile_names.json",
)
# A per-layer ignore that matches nothing, so that reports show a configuration finding (RA907).
GOLDEN_OPTIONS = {"per-layer-ignores": {"no_such_block/*": ["RA002"]}}


@pytest.fixture
def golden_result(monkeypatch):
    """The audit every golden file renders, run from the repository root with fixed options."""
    import regaudit

    monkeypatch.chdir(ROOT)
    return regaudit.audit(GOLDEN_INPUTS, GOLDEN_OPTIONS)


def golden_context(**overrides):
    from regaudit.catalog import load_catalog
    from regaudit.reporters import ReportContext

    return ReportContext(**{"catalog": load_catalog(), "root": ROOT, **overrides})


def rendered(format_: str, result, **overrides) -> str:
    import io

    from regaudit.reporters import render

    stream = io.StringIO()
    render(format_, result, golden_context(**overrides), stream)
    return stream.getvalue()


def assert_golden(name: str, text: str) -> None:
    """Compare with tests/golden/NAME; REGAUDIT_UPDATE_GOLDEN=1 rewrites it (review the diff)."""
    path = GOLDEN / name
    if os.environ.get("REGAUDIT_UPDATE_GOLDEN"):
        path.write_text(text)
    assert path.is_file(), f"no golden file {path}; run with REGAUDIT_UPDATE_GOLDEN=1 and review it"
    assert text == path.read_text(), f"{name} differs from its golden file (REGAUDIT_UPDATE_GOLDEN=1 to rewrite)"
