"""docs/ci.md shows CI gates; every regaudit command in it must run as written."""

import re
import shlex
from pathlib import Path

import pytest

from conftest import MODELS, ROOT, run_cli

DOC = (ROOT / "docs" / "ci.md").read_text()


def documented_commands() -> list[str]:
    """`regaudit ...` lines of the code blocks, with shell line continuations joined."""
    blocks = re.findall(r"```(?:yaml|sh)\n(.*?)```", DOC, flags=re.S)
    text = "\n".join(blocks).replace("\\\n", " ")
    commands = []
    for line in text.splitlines():
        line = line.strip().removeprefix("- ").removeprefix("run: ").strip()
        if line.startswith("regaudit "):
            commands.append(" ".join(line.split()))
    return commands


def test_the_document_has_the_gates_it_promises():
    commands = documented_commands()
    assert any("--format github" in c and "--output sarif=" in c for c in commands)
    assert any("--output junit=" in c for c in commands)
    assert any("--write-baseline" in c for c in commands)
    assert "upload-sarif" in DOC and "lfs: true" in DOC


@pytest.mark.parametrize("command", documented_commands())
def test_documented_command_runs_as_written(command, tmp_path):
    """Run it on a copy of the fixtures standing in for the repository's `models/`."""
    (tmp_path / "models").symlink_to(MODELS)
    args = shlex.split(command)[1:]
    completed = run_cli(*args, cwd=tmp_path)
    assert completed.returncode in (0, 1), completed.stderr  # a gate's verdict, not a usage error
    for output in re.findall(r"--(?:output|write-baseline) (?:\w+=)?(\S+)", command):
        assert (tmp_path / output).stat().st_size > 0, output
