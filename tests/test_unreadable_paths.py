"""A mode-000 directory met in a walk, or a named path inside one, is RA905 for that path, exit 3,
and every other input is still audited (issue 9). Tests run as root, whom chmod 000 does not stop,
so the kernel's answer (EACCES on listing the directory and on any path inside it) is simulated."""

from __future__ import annotations

import errno
import json
import os
import sys
from pathlib import Path

import pytest

from conftest import dense

import regaudit
from regaudit.cli import main
from regaudit.outcomes import ExitCode

MODEL = {"class_name": "Sequential", "config": {"name": "m", "layers": [dense("d", kernel_initializer={})]}}


@pytest.fixture
def locked(tmp_path, monkeypatch):
    """tmp_path/project with a readable model and a locked/ directory behaving like mode 000."""
    project = tmp_path / "project"
    (project / "locked").mkdir(parents=True)
    (project / "a_model.json").write_text(json.dumps(MODEL))
    (project / "locked" / "inner.json").write_text(json.dumps(MODEL))
    (project / "z_model.json").write_text(json.dumps(MODEL))
    lock = str(project / "locked")

    def inside(path) -> bool:
        text = os.fsdecode(os.fspath(path)) if not isinstance(path, int) else ""
        return os.path.abspath(text).startswith(lock + os.sep)

    def denied(path):
        return PermissionError(errno.EACCES, "Permission denied", os.fspath(path))

    for name in ("stat", "lstat"):
        real = getattr(os, name)

        def guarded(path, *args, _real=real, **kwargs):
            if inside(path):
                raise denied(path)
            return _real(path, *args, **kwargs)

        monkeypatch.setattr(os, name, guarded)
    real_scandir = os.scandir

    def scandir(path="."):
        if os.path.abspath(os.fspath(path)) == lock or inside(path):
            raise denied(path)
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    return project


def _by_path(result) -> dict[str, tuple[str, str | None]]:
    return {Path(a.path).name: (a.status.value, a.error.code if a.error else None) for a in result.artifacts}


def test_locked_directory_in_a_walk_is_ra905_and_the_rest_is_audited(locked):
    result = regaudit.audit([str(locked)], {})
    assert _by_path(result) == {"a_model.json": ("ok", None), "locked": ("error", "RA905"),
                                "z_model.json": ("ok", None)}
    assert result.exit_code(None) is ExitCode.UNREADABLE


def test_named_path_inside_a_locked_directory_is_ra905(locked):
    result = regaudit.audit([str(locked / "locked" / "inner.json"), str(locked / "a_model.json")], {})
    assert _by_path(result) == {"inner.json": ("error", "RA905"), "a_model.json": ("ok", None)}
    (unreadable,) = [a for a in result.artifacts if a.error]
    assert "Permission denied" in unreadable.error.message


def test_cli_exits_3_with_the_rest_audited(locked, monkeypatch, capsys):
    # In this process: the kernel's answer for the locked directory is simulated here.
    monkeypatch.setattr(sys, "argv", ["regaudit", "check", "--format", "json", str(locked)])
    with pytest.raises(SystemExit) as exited:
        main()
    output = capsys.readouterr()
    assert exited.value.code == 3, output.err
    report = json.loads(output.out)
    statuses = {Path(a["path"]).name: (a["status"], a["error"] and a["error"]["code"]) for a in report["artifacts"]}
    assert statuses == {"a_model.json": ("ok", None), "locked": ("error", "RA905"), "z_model.json": ("ok", None)}


def test_directory_that_cannot_be_listed_is_ra905(tmp_path, monkeypatch):
    # Mode 0300 (search but no read): paths inside can be looked up, the directory cannot be listed.
    (tmp_path / "unlisted").mkdir()
    (tmp_path / "model.json").write_text(json.dumps(MODEL))
    real_scandir = os.scandir

    def scandir(path="."):
        if Path(os.fspath(path)).name == "unlisted":
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    result = regaudit.audit([str(tmp_path)], {})
    assert _by_path(result) == {"model.json": ("ok", None), "unlisted": ("error", "RA905")}
