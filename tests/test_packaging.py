"""The wheel is what users install: it must carry the rule catalog and the report schema.

Builds a wheel from this checkout, installs it (not editable) into a fresh virtual environment,
and runs the installed `regaudit` from outside the checkout.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import MODELS, ROOT


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(ROOT)],
                   check=True, capture_output=True)
    (built,) = out.glob("regaudit-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    venv = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", str(wheel)], check=True, capture_output=True)
    return venv / "bin"


def isolated_env() -> dict[str, str]:
    """The installed copy only: a PYTHONPATH pointing at a checkout would shadow it."""
    return {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}


def test_wheel_carries_the_catalog_and_the_schema(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for rule in sorted((ROOT / "rules").glob("*.toml")):
        assert f"regaudit/rules/{rule.name}" in names
    assert "regaudit/reporters/report.schema.json" in names
    assert not any(name.startswith(("rules/", "tests/", "fixtures/")) for name in names)


def test_installed_regaudit_explains_rules_from_its_own_catalog(installed, tmp_path):
    where = subprocess.run([str(installed / "python"), "-c", "import regaudit.catalog as c; print(c.catalog_dir())"],
                           capture_output=True, text=True, cwd=tmp_path, check=True, env=isolated_env()).stdout.strip()
    assert where.startswith(str(installed.parent)) and where.endswith("regaudit/rules")
    explained = subprocess.run([str(installed / "regaudit"), "rule", "RA202"], capture_output=True, text=True,
                               cwd=tmp_path, env=isolated_env())
    assert explained.returncode == 0, explained.stderr
    assert explained.stdout.startswith("RA202 double-weight-decay (warning, rule)")
    assert "How to fix" in explained.stdout


def test_installed_regaudit_checks_a_model(installed, tmp_path):
    completed = subprocess.run([str(installed / "regaudit"), "check", "--format", "json",
                                str(MODELS / "k3_origin_unregistered_class.keras")],
                               capture_output=True, text=True, cwd=tmp_path, env=isolated_env())
    assert completed.returncode == 1, completed.stderr
    report = json.loads(completed.stdout)
    assert [f["rule"] for f in report["artifacts"][0]["findings"] if f["rule"].startswith("RA3")] == ["RA301"]
