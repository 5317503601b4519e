"""The `check` options people reach for in daily use, as ruff has them: paths left out, concise
output, quiet, exit-zero, colour, standard input, the default path, suggestions for misspelt
rules, output checks, shell completion, and layer names that contain `/`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

import regaudit
from conftest import MODELS, dense, run_cli
from test_cli import run_on_terminal

L2 = {"class_name": "L2", "config": {"l2": 0.01}}


def write_model(path: Path, layers: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"class_name": "Sequential", "keras_version": "2.15.0",
                                "config": {"name": "m", "layers": layers}}))
    return path


@pytest.fixture
def project(tmp_path) -> Path:
    """models/good.json (clean), models/bad.json (RA303 error), fixtures/broken.keras (RA903)."""
    write_model(tmp_path / "models" / "good.json", [dense("d", kernel_initializer={}, kernel_regularizer=L2)])
    write_model(tmp_path / "models" / "bad.json", [dense("d", kernel_initializer={}, kernel_regularizer="my_fn")])
    (tmp_path / "fixtures").mkdir()
    (tmp_path / "fixtures" / "broken.keras").write_bytes(b"PK\x03\x04 truncated on purpose")
    return tmp_path


def audited(completed: subprocess.CompletedProcess) -> list[str]:
    return sorted(artifact["path"] for artifact in json.loads(completed.stdout)["artifacts"])


# --- paths to leave out ---------------------------------------------------------------------------


def test_with_no_path_the_current_directory_is_checked(project):
    completed = run_cli("check", "--format", "json", cwd=project)
    assert audited(completed) == ["fixtures/broken.keras", "models/bad.json", "models/good.json"]
    assert completed.returncode == 3


def test_extend_exclude_leaves_a_broken_fixture_out(project):
    completed = run_cli("check", "--format", "json", "--extend-exclude", "fixtures/", cwd=project)
    assert audited(completed) == ["models/bad.json", "models/good.json"] and completed.returncode == 1
    (project / "pyproject.toml").write_text('[tool.regaudit]\nextend-exclude = ["broken.keras"]\n')
    from_config = run_cli("check", "--format", "json", ".", cwd=project)
    assert audited(from_config) == ["models/bad.json", "models/good.json"]


def test_exclude_replaces_the_default_list(project):
    write_model(project / "node_modules" / "pkg" / "m.json", [dense("d", kernel_initializer={}, kernel_regularizer=L2)])
    default = run_cli("check", "--format", "json", "--extend-exclude", "fixtures", cwd=project)
    assert "node_modules/pkg/m.json" not in audited(default)
    replaced = run_cli("check", "--format", "json", "--exclude", "fixtures,bad.json", "--no-respect-gitignore",
                       cwd=project)
    assert audited(replaced) == ["models/good.json", "node_modules/pkg/m.json"]


def test_gitignore_is_respected_in_walks_unless_turned_off(project):
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    (project / ".gitignore").write_text("fixtures/\n")
    (project / "models" / ".gitignore").write_text("bad.json\n")
    assert audited(run_cli("check", "--format", "json", cwd=project)) == ["models/good.json"]
    everything = run_cli("check", "--format", "json", "--no-respect-gitignore", cwd=project)
    assert len(audited(everything)) == 3
    (project / "pyproject.toml").write_text("[tool.regaudit]\nrespect-gitignore = false\n")
    assert len(audited(run_cli("check", "--format", "json", cwd=project))) == 3


def test_a_named_file_that_is_excluded_is_audited_unless_force_exclude(project):
    (project / "pyproject.toml").write_text('[tool.regaudit]\nextend-exclude = ["fixtures/"]\n')
    named = "fixtures/broken.keras"
    assert run_cli("check", named, cwd=project).returncode == 3  # named: audited, as ruff does
    forced = run_cli("check", "--force-exclude", "--ignore-unknown", "--format", "json", named, "models/good.json",
                     cwd=project)
    assert forced.returncode == 0 and audited(forced) == ["models/good.json"]


def test_per_file_ignores_cannot_silence_a_diagnostic_and_ra907_says_what_to_do(project):
    (project / "pyproject.toml").write_text('[tool.regaudit.per-file-ignores]\n"fixtures/broken.keras" = ["RA903"]\n')
    completed = run_cli("check", "--format", "json", cwd=project)
    report = json.loads(completed.stdout)
    assert completed.returncode == 3  # the broken file still fails the run
    (configuration,) = report["configuration"]
    assert configuration["rule"] == "RA907"
    assert "cannot suppress RA903" in configuration["message"]
    assert 'extend-exclude = ["fixtures/broken.keras"]' in configuration["message"]


# --- output ---------------------------------------------------------------------------------------


def test_concise_format_one_line_per_finding_and_input_and_a_summary(project):
    completed = run_cli("check", "--format", "concise", "models/bad.json", "fixtures/broken.keras", cwd=project)
    lines = completed.stdout.splitlines()
    assert lines[0].startswith("models/bad.json:d: RA303 [function-regularizer] kernel_regularizer: ")
    assert lines[1].startswith("fixtures/broken.keras: RA903 [corrupt-artifact] unreadable: ")
    assert lines[2] == "2 artifacts (1 audited, 1 unreadable); 1 finding (1 error)"
    assert lines[3] == "failed: 1 input could not be read; 1 finding at or above error"
    assert len(lines) == 4


def test_quiet_prints_only_findings_and_unreadable_inputs(project):
    weights = project / "models" / "w.weights.json"
    weights.write_text(json.dumps({"metadata": {}, "weight_map": {}}))
    completed = run_cli("check", "--quiet", cwd=project)
    lines = completed.stdout.splitlines()
    assert [line.split(":")[0] for line in lines] == ["fixtures/broken.keras", "models/bad.json"]
    assert completed.returncode == 3 and completed.stderr == ""


def test_exit_zero_never_fails_on_findings_but_still_on_unreadable_inputs(project):
    findings = run_cli("check", "--exit-zero", "models", cwd=project)
    assert findings.returncode == 0 and "RA303" in findings.stdout
    assert "failed:" not in findings.stdout
    unreadable = run_cli("check", "--exit-zero", cwd=project)
    assert unreadable.returncode == 3 and unreadable.stdout.endswith("failed: 1 input could not be read\n")


@pytest.mark.parametrize(
    "args, env, coloured",
    [
        ([], {}, False),
        (["--color", "always"], {}, True),
        (["--color", "always"], {"NO_COLOR": "1"}, True),
        ([], {"FORCE_COLOR": "1"}, True),
        ([], {"FORCE_COLOR": "1", "NO_COLOR": "1"}, False),
        (["--color", "never"], {"FORCE_COLOR": "1"}, False),
    ],
)
def test_color_option_and_force_color_when_not_a_terminal(project, args, env, coloured):
    completed = run_cli("check", *args, "models/bad.json", cwd=project, env={"NO_COLOR": "", **env})
    assert ("\x1b[31m" in completed.stdout) is coloured


def test_stdin_reads_a_model_config_json(project):
    document = (project / "models" / "bad.json").read_text()
    completed = subprocess.run([*_regaudit(), "check", "--format", "concise", "-"], input=document,
                               capture_output=True, text=True, cwd=project, env={**os.environ, "NO_COLOR": "1"})
    assert completed.returncode == 1
    assert completed.stdout.startswith("-:d: RA303 [function-regularizer]")
    empty = subprocess.run([*_regaudit(), "check", "-"], input="", capture_output=True, text=True, cwd=project)
    assert empty.returncode == 3 and "RA903" in empty.stdout


def _regaudit() -> list[str]:
    import sys

    return [sys.executable, "-m", "regaudit"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--select", "RA2O2"], "(did you mean 'RA202'?)"),
        (["--ignore", "double-weight-decy"], "(did you mean 'double-weight-decay'?)"),
        (["--output", "sraif=x.sarif"], "unknown report format 'sraif' (did you mean 'sarif'?)"),
        (["--output", "foo=x"], "unknown report format 'foo'"),
        (["--output", "sarif=no/such/dir/x.sarif"], "cannot write no/such/dir/x.sarif: the directory no/such/dir does not exist"),
        (["--statistics", "--format", "sarif"], "--statistics prints text or JSON"),
    ],
)
def test_usage_errors_name_the_problem_before_the_audit(project, args, message):
    completed = run_cli("check", *args, "models", cwd=project)
    assert completed.returncode == 2 and message in completed.stderr, completed.stderr
    assert completed.stdout == ""  # nothing was audited


def test_rule_suggests_the_closest_code_or_name():
    completed = run_cli("rule", "noop-regulariser")
    assert completed.returncode == 2 and "did you mean 'noop-regularizer'?" in completed.stderr


# --- the text report --------------------------------------------------------------------------------


def long_factors_model(path: Path) -> Path:
    l1l2 = {"class_name": "L1L2", "config": {"l1": 0.000123456789, "l2": 0.000987654321}}
    layers = [dense(f"block_{i}/conv1/7x7_s2_with_a_very_long_name_{i}", kernel_initializer={},
                    kernel_regularizer=l1l2, bias_initializer={}, bias_regularizer=L2) for i in range(3)]
    return write_model(path, layers)


def test_text_report_never_cuts_factors_and_fits_100_columns_off_a_terminal(tmp_path):
    model = long_factors_model(tmp_path / "m.json")
    text = run_cli("check", str(model), env={"COLUMNS": "300"}).stdout  # not a terminal: 100 columns
    assert max(len(line) for line in text.splitlines()) <= 100
    assert "…" not in text
    flat = " ".join(text.split())
    assert "L1L2(l1=0.000123, l2=0.000988)" in flat or "L1L2(l1=0.000123, l2=0.000988)" in text.replace("\n", "")


def test_text_report_uses_the_terminals_width(tmp_path):
    model = long_factors_model(tmp_path / "m.json")
    narrow = run_on_terminal("check", str(model), env={"COLUMNS": "60", "NO_COLOR": "1"})
    body = [line for line in narrow.splitlines() if line.startswith("  ")]  # the heading is the long tmp path
    assert max(len(line) for line in body) <= 60
    wide = run_on_terminal("check", str(model), env={"COLUMNS": "200", "NO_COLOR": "1"})
    assert max(len(line) for line in wide.splitlines()) > 100


def test_identical_findings_are_grouped_with_every_place(tmp_path):
    noop = {"class_name": "L1L2", "config": {"l1": 0, "l2": 0}}  # RA101: the same message on each layer
    model = write_model(tmp_path / "m.json", [dense(name, kernel_initializer={}, kernel_regularizer=noop)
                                              for name in ("a", "b", "c")])
    text = run_cli("check", "--select", "RA101", str(model)).stdout
    assert text.count("RA101 warning noop-regularizer") == 1
    assert "on 3: a kernel_regularizer, b kernel_regularizer, c kernel_regularizer" in text
    assert text.count("adds no penalty") == 1
    findings = json.loads(run_cli("check", "--format", "json", "--select", "RA101", str(model)).stdout)
    assert len(findings["artifacts"][0]["findings"]) == 3  # grouped for reading only


def test_layer_names_with_a_slash_get_an_unambiguous_segment_in_every_report(tmp_path):
    model = write_model(tmp_path / "caffe.json", [
        dense("conv1/7x7_s2", kernel_initializer={}, kernel_regularizer="my_fn"),
        dense("100%", kernel_initializer={}, kernel_regularizer=L2),
    ])
    report = json.loads(run_cli("check", "--format", "json", str(model)).stdout)
    layers = report["artifacts"][0]["layers"]
    assert [layer["path"] for layer in layers] == ["conv1%2F7x7_s2", "100%25"]
    assert [layer["name"] for layer in layers] == ["conv1/7x7_s2", "100%"]
    assert "conv1%2F7x7_s2" in run_cli("check", "--format", "concise", str(model)).stdout
    ignored = regaudit.audit([str(model)], {"per-layer-ignores": {"conv1%2F*": ["RA303"]}})
    assert [finding.rule for finding in ignored.findings] == []


# --- progress, completion, API ----------------------------------------------------------------------


def test_progress_is_cleared_at_the_end_and_shows_no_estimate_at_first():
    on_terminal = run_on_terminal("check", "--format", "json", "--output", "/dev/null", str(MODELS), env={"NO_COLOR": "1"})
    assert "Auditing" in on_terminal
    first = on_terminal.split("\r")[1]
    assert "left" not in first  # no time estimate before the rate is known
    assert on_terminal.endswith("\r\x1b[2K")  # the line is cleared


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_scripts_and_rule_completion(shell):
    script = run_cli("completion", shell)
    assert script.returncode == 0 and "_REGAUDIT_COMPLETE" in script.stdout and script.stdout.endswith("\n")
    completed = run_cli(env={"_REGAUDIT_COMPLETE": "bash_complete", "COMP_WORDS": "regaudit check --select RA20",
                             "COMP_CWORD": "3"})
    assert "plain,RA202" in completed.stdout.splitlines()
    names = run_cli(env={"_REGAUDIT_COMPLETE": "bash_complete", "COMP_WORDS": "regaudit rule double-",
                         "COMP_CWORD": "2"})
    assert "plain,double-weight-decay" in names.stdout.splitlines()


def test_exit_code_accepts_severity_names_and_defaults_to_the_configured_fail_on(tmp_path):
    from regaudit.outcomes import ExitCode, Severity

    warned = tmp_path / "warned.keras"
    shutil.copy(MODELS / "k3_compiled_adamw.keras", warned)  # RA202 warning, no error
    result = regaudit.audit([str(warned)], {"fail-on": "warning"})
    assert result.exit_code() is ExitCode.FINDINGS  # the configured gate
    assert result.exit_code("error") is ExitCode.OK and result.exit_code(Severity.ERROR) is ExitCode.OK
    assert result.exit_code("warning") is ExitCode.FINDINGS and result.exit_code("never") is ExitCode.OK
    assert regaudit.audit([str(warned)]).exit_code() is ExitCode.OK  # default fail-on: error
    with pytest.raises(ValueError, match="fail_on must be"):
        result.exit_code("sometimes")


def test_sarif_uris_are_relative_to_the_git_top_level_or_root(project):
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    models = project / "models"

    def uris(*args: str) -> list[str]:
        completed = run_cli("check", "--format", "sarif", *args, "bad.json", cwd=models)
        return [result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                for result in json.loads(completed.stdout)["runs"][0]["results"]]

    assert uris() == ["models/bad.json"]  # from a subfolder: still relative to the repository
    assert uris("--root", ".") == ["bad.json"]
