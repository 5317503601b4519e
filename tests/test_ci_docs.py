"""docs/ci.md shows CI gates; every regaudit command in it must run as written."""

import os
import re
import shlex
import shutil
import subprocess
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
def test_documented_command_runs_as_written(command, tmp_path, monkeypatch):
    """Run it on a copy of the fixtures standing in for the repository's `models/`; `diff --git`
    in a repository whose base branch (`origin/$BASE_REF`) lacks one of them."""
    (tmp_path / "models").symlink_to(MODELS)
    if " --git " in command:
        git_repository_with_a_base_branch(tmp_path)
        monkeypatch.setenv("BASE_REF", "main")
    args = [os.path.expandvars(arg) for arg in shlex.split(command)[1:]]
    completed = run_cli(*args, cwd=tmp_path)
    assert completed.returncode in (0, 1), completed.stderr  # a gate's verdict, not a usage error
    for output in re.findall(r"--(?:output|write-baseline) (?:\w+=)?(\S+)", command):
        assert (tmp_path / output).stat().st_size > 0, output


def git_repository_with_a_base_branch(folder: Path) -> None:
    """`models/` as a real folder committed on `origin/main` without its first file, then restored."""
    (folder / "models").unlink()
    shutil.copytree(MODELS, folder / "models")
    first = sorted((folder / "models").iterdir())[0]
    kept = first.read_bytes()
    first.unlink()
    for command in (["init", "-q"], ["add", "-A"], ["-c", "user.name=ci", "-c", "user.email=ci@example.com",
                    "commit", "-q", "-m", "base"], ["branch", "origin/main"]):
        subprocess.run(["git", *command], cwd=folder, check=True, capture_output=True)
    first.write_bytes(kept)


def workflow(name: str = "regaudit") -> dict:
    import yaml

    block = re.search(rf"`\.github/workflows/{name}\.yml`:\n\n```yaml\n(.*?)```", DOC, flags=re.S)
    return yaml.safe_load(block.group(1))


# The current major version of each action the workflow uses (checked against their releases).
CURRENT_MAJORS = {
    "actions/checkout": "v6",
    "actions/setup-python": "v6",
    "actions/upload-artifact": "v7",
    "github/codeql-action/upload-sarif": "v4",
}


def test_the_workflow_uses_current_actions_and_the_permissions_sarif_upload_needs():
    document = workflow()
    steps = document["jobs"]["regaudit"]["steps"]
    used = dict(step["uses"].split("@") for step in steps if "uses" in step)
    assert used == CURRENT_MAJORS
    assert document["permissions"] == {"contents": "read", "security-events": "write", "actions": "read"}


def test_steps_after_the_audit_survive_a_run_that_wrote_no_report():
    """On exit 2 or 3 before writing, later steps must not fail again on a missing file."""
    steps = workflow()["jobs"]["regaudit"]["steps"]
    audit = next(index for index, step in enumerate(steps) if "regaudit check" in step.get("run", ""))
    for step in steps[audit + 1:]:
        reads = re.findall(r"regaudit\.\w+", str(step.get("with", "")) + step.get("run", ""))
        assert reads, step
        for report in set(reads):
            assert f"hashFiles('{report}') != ''" in step["if"] and "always()" in step["if"], step


def test_the_diff_workflow_comments_with_the_permissions_it_needs():
    document = workflow("regaudit-diff")
    assert document["permissions"] == {"contents": "read", "pull-requests": "write"}
    steps = document["jobs"]["regaudit-diff"]["steps"]
    used = dict(step["uses"].split("@") for step in steps if "uses" in step)
    assert used == {action: CURRENT_MAJORS[action] for action in used}
    assert steps[0]["with"]["fetch-depth"] == 0  # --git needs the base branch's commits
    diff = next(step for step in steps if "regaudit diff" in step.get("run", ""))
    assert "${{" not in diff["run"] and diff["env"]["BASE_REF"] == "${{ github.base_ref }}"
    assert "--output markdown=regaudit-diff.md" in diff["run"] and "--fail-on-removed" in diff["run"]
    comment = steps[-1]
    assert comment["run"].startswith("gh pr comment") and "--body-file regaudit-diff.md" in comment["run"]
    assert comment["if"] == "always() && hashFiles('regaudit-diff.md') != ''"
    assert comment["env"]["GH_TOKEN"] == "${{ github.token }}"
