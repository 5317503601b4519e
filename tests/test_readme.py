"""The README's Python examples run as written (on the fixtures, standing in for `models/`)."""

import re

import pytest

from conftest import MODELS, ROOT

EXAMPLES = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)


def test_the_readme_has_python_examples():
    assert len(EXAMPLES) >= 2


def test_python_examples_run_in_order(tmp_path, monkeypatch, capsys):
    (tmp_path / "models").symlink_to(MODELS)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for example in EXAMPLES:
        exec(compile(example, "README.md", "exec"), namespace)  # later examples use earlier names
    printed = capsys.readouterr().out
    assert "fixtures" not in printed  # run against ./models, as the README says
    assert "models/k3_origin_main_class.keras ok" in printed
    assert "## regaudit: " in printed and "| `models/k3_origin_main_class.keras` | audited |" in printed


def shown_runs() -> list[tuple[str, str]]:
    """`$ regaudit ...` blocks of the README: the command and the output shown under it."""
    runs = []
    for block in re.findall(r"```text\n(\$ regaudit .*?)```", (ROOT / "README.md").read_text(), flags=re.S):
        command, _, output = block.replace("\\\n", " ").partition("\n")
        runs.append((" ".join(command.split()[1:]), output))
    return runs


def test_the_readme_shows_a_text_report_and_concise_output_for_a_corpus_file():
    commands = [command for command, _ in shown_runs()]
    assert any("--format concise" in command for command in commands)
    assert any("--format" not in command for command in commands)


@pytest.mark.parametrize("command, shown", shown_runs(), ids=lambda value: value[:60])
def test_shown_output_is_what_regaudit_prints(command, shown, corpus):
    import shlex

    from conftest import run_cli

    args = shlex.split(command)[1:]
    in_corpus = not any(arg.startswith(("fixtures/", "tests/")) for arg in args)
    completed = run_cli(*args, cwd=corpus if in_corpus else ROOT)
    assert completed.stdout == shown
