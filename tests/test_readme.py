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
