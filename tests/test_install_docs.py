"""Install commands and pre-commit pins in the documentation are ones that work when copied.

No release is published, so the only working forms are: from a clone (`pip install .`, with or
without `-e` and the test extra), and from the repository URL pinned to a commit that exists in
this repository's history. The pre-commit `rev:` must be such a commit too, and the hook must
exist at it.
"""

import re
import shlex
import subprocess

import pytest
import yaml

from conftest import ROOT

DOCUMENTS = [ROOT / "README.md", ROOT / "docs" / "ci.md"]
REPOSITORY = "https://github.com/regaudit/regaudit"
PINNED = re.compile(r"regaudit @ git\+" + re.escape(REPOSITORY) + r"@(?P<commit>[0-9a-f]{40})")


def install_commands() -> list[tuple[str, str]]:
    found = []
    for document in DOCUMENTS:
        for line in document.read_text().splitlines():
            for command in re.findall(r"pip install [^&`\n]*", line):
                found.append((document.name, command.strip().rstrip('"').strip()))
    return found


def pinned_commits() -> set[str]:
    text = "".join(document.read_text() for document in DOCUMENTS)
    return set(re.findall(r"@([0-9a-f]{40})", text)) | set(re.findall(r"rev: ([0-9a-f]{40})", text))


def is_commit_in_history(commit: str) -> bool:
    probe = subprocess.run(["git", "-C", str(ROOT), "cat-file", "-e", f"{commit}^{{commit}}"], capture_output=True)
    return probe.returncode == 0


def test_the_documents_show_how_to_install_without_a_release():
    readme = (ROOT / "README.md").read_text()
    assert "No release is published yet" in readme and "No release of regaudit is published yet" in (
        ROOT / "docs" / "ci.md").read_text()
    assert "pip install regaudit\n" not in readme and "rev: v" not in readme


@pytest.mark.parametrize("where, command", install_commands())
def test_every_install_command_is_a_working_form(where, command):
    words = shlex.split(command + ('"' if command.count('"') % 2 else ""))
    assert words[:2] == ["pip", "install"], command
    targets = [word for word in words[2:] if word != "-e"]
    assert len(targets) == 1, command
    target = targets[0]
    if target in (".", ".[test]"):
        return  # a clone of this repository; the Quick start runs it
    match = PINNED.fullmatch(target)
    assert match, f"{where}: {command!r} is neither a clone install nor the repository pinned to a commit"
    assert is_commit_in_history(match["commit"]), f"{where}: {match['commit']} is not a commit of this repository"


@pytest.mark.parametrize("commit", sorted(pinned_commits()))
def test_every_pinned_commit_exists_and_has_the_hook(commit):
    assert is_commit_in_history(commit)
    hooks = subprocess.run(["git", "-C", str(ROOT), "show", f"{commit}:.pre-commit-hooks.yaml"],
                           capture_output=True, text=True, check=True).stdout
    assert "regaudit" in [hook["id"] for hook in yaml.safe_load(hooks)]
    pyproject = subprocess.run(["git", "-C", str(ROOT), "show", f"{commit}:pyproject.toml"],
                               capture_output=True, text=True, check=True).stdout
    assert 'regaudit = "regaudit.cli:main"' in pyproject  # the command the docs then run


def test_the_documented_hook_configuration_reaches_regaudit_and_file_names_cannot_become_options(tmp_path):
    """pre-commit runs `entry` + `args` + file names, and the entry ends with `--`. The README's
    `args: [--fail-on, warning]` and its `fail-on = "warning"` in the configuration file both make
    warnings fail the hook, while a staged file named like an option stays a file."""
    import shutil

    from conftest import MODELS, run_cli

    hook = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())[0]
    pre_commit_section = (ROOT / "README.md").read_text().split("## Pre-commit", 1)[1].split("\n## ", 1)[0]
    (documented,) = re.findall(r"```toml\n(.*?)```", pre_commit_section, re.DOTALL)
    (hooks_yaml,) = re.findall(r"```yaml\n(.*?)```", pre_commit_section.split("say so", 1)[1], re.DOTALL)
    documented_args = yaml.safe_load(hooks_yaml)["hooks"][0]["args"]
    assert documented_args == ["--fail-on", "warning"]
    model = tmp_path / "warned.keras"
    shutil.copy(MODELS / "k3_compiled_adamw.keras", model)  # a warning (RA202), no error
    command = shlex.split(hook["entry"])
    assert command[:2] == ["regaudit", "check"] and command[-1] == "--"
    assert run_cli(*command[1:], model.name, cwd=tmp_path).returncode == 0
    assert run_cli(*command[1:], *documented_args, model.name, cwd=tmp_path).returncode == 1
    # A file named like an option, staged beside the model, is audited as a file: not a model,
    # passed over by --ignore-unknown, and no baseline is written.
    trap = tmp_path / "--write-baseline=x.json"
    trap.write_text("{}")
    trapped = run_cli(*command[1:], *documented_args, trap.name, model.name, cwd=tmp_path)
    assert trapped.returncode == 1 and not (tmp_path / "x.json").exists()
    assert run_cli(*command[1:], trap.name, model.name, cwd=tmp_path).returncode == 0
    misspelt = run_cli(*command[1:], "--fail-onn", "warning", model.name, cwd=tmp_path)
    assert misspelt.returncode == 2 and "no file '--fail-onn': after `--` every argument is a path" in misspelt.stderr
    (tmp_path / "regaudit.toml").write_text(documented)
    assert run_cli(*command[1:], model.name, cwd=tmp_path).returncode == 1
