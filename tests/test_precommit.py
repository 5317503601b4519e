"""The pre-commit hook, with the real `pre-commit` tool: `pre-commit try-repo` installs this
repository's hook into its own environment and runs it on a temporary git repository."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import MODELS, ROOT, require

# try-repo builds a virtualenv and pip-installs regaudit into it: slow, and it needs the registry.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pre_commit() -> Path:
    require("pre_commit")
    return Path(sys.executable).with_name("pre-commit")


@pytest.fixture
def project(tmp_path) -> Path:
    """A git repository with a model that loads (warnings only) and a file that is no model."""
    repo = tmp_path / "project"
    repo.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    shutil.copy(MODELS / "k3_compiled_adamw.keras", repo / "good.keras")
    (repo / "package.json").write_text('{"name": "web", "version": "1.0.0"}\n')
    return repo


def try_repo(pre_commit: Path, project: Path, tmp_path: Path, *files: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"), "NO_COLOR": "1"}
    return subprocess.run([str(pre_commit), "try-repo", str(ROOT), "regaudit", "--files", *files, "--verbose"],
                          cwd=project, env=env, capture_output=True, text=True, timeout=900)


def test_hook_passes_on_a_model_that_loads_and_a_file_that_is_no_model(pre_commit, project, tmp_path):
    completed = try_repo(pre_commit, project, tmp_path, "good.keras", "package.json")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "Passed" in completed.stdout
    assert "RA202" in completed.stdout  # --verbose shows the report: double weight decay, a warning


def test_hook_fails_on_an_unregistered_custom_regularizer_and_says_why(pre_commit, project, tmp_path):
    shutil.copy(MODELS / "k3_origin_unregistered_class.keras", project / "custom.keras")
    completed = try_repo(pre_commit, project, tmp_path, "good.keras", "custom.keras")
    assert completed.returncode == 1, completed.stdout + completed.stderr
    assert "Failed" in completed.stdout
    assert "RA301" in completed.stdout and "custom.keras" in completed.stdout
    report = " ".join(completed.stdout.split())  # the text report wraps long messages
    assert "is not registered: load_model fails without custom_objects" in report


def test_a_file_named_like_an_option_is_audited_as_a_file(pre_commit, project, tmp_path):
    """pre-commit appends file names to the hook's entry. Without `--` at the end of the entry, a
    committed empty file named `--write-baseline=x.json` turned the run into "write a baseline and
    pass" while a model with an error finding was committed beside it."""
    shutil.copy(MODELS / "k3_origin_unregistered_class.keras", project / "custom.keras")
    (project / "--write-baseline=x.json").write_bytes(b"")
    subprocess.run(["git", "add", "--", "custom.keras", "--write-baseline=x.json"], cwd=project, check=True)
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"), "NO_COLOR": "1"}
    # --all-files: a file name given to pre-commit's own --files would be read as its option.
    completed = subprocess.run([str(pre_commit), "try-repo", str(ROOT), "regaudit", "--all-files", "--verbose"],
                               cwd=project, env=env, capture_output=True, text=True, timeout=900)
    assert completed.returncode == 1, completed.stdout + completed.stderr
    assert "RA301" in completed.stdout and "custom.keras" in completed.stdout
    assert "--write-baseline=x.json: RA903" in completed.stdout  # read as the (empty) file it is
    assert not (project / "x.json").exists() and "wrote" not in completed.stdout + completed.stderr
