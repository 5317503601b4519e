"""Configuration a team can live with: keys, validation, precedence, suppressions, baseline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import dense, json_report, run_cli
from regaudit.catalog import load_catalog
from regaudit.config import ConfigError, Prohibition, Requirement, Settings, find_config_file, option_keys, resolve
from regaudit.outcomes import Severity

KNOWN = load_catalog().is_selector
FUNCTION = {"module": "builtins", "class_name": "function", "config": "my_fn", "registered_name": "function"}


def settings(raw: dict, **kwargs) -> Settings:
    return resolve(raw, known_code=KNOWN, isolated=True, **kwargs)[0]


def write_model(path: Path, layers: list[dict], version: str = "2.15.0") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"class_name": "Sequential", "keras_version": version,
                                "config": {"name": "m", "layers": layers}}))
    return path


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    """A project folder as cwd, with one model that has an RA303 error on layer `head`."""
    monkeypatch.chdir(tmp_path)
    write_model(tmp_path / "models" / "a.json", [dense("head", kernel_initializer={}, kernel_regularizer="my_fn")])
    return tmp_path


# --- every key, good and bad ----------------------------------------------------------------------

GOOD = [
    ({"select": ["RA3", "noop-regularizer"]}, "select", ("RA3", "noop-regularizer")),
    ({"extend-select": "RA501"}, "extend_select", ("RA501",)),
    ({"ignore": ["RA105", "RA2"]}, "ignore", ("RA105", "RA2")),
    ({"fail-on": "warning"}, "fail_on", Severity.WARNING),
    ({"fail-on": "never"}, "fail_on", None),
    ({"severity": {"RA104": "warning", "bias-regularized": "error"}}, "severity",
     {"RA104": Severity.WARNING, "bias-regularized": Severity.ERROR}),
    ({"per-file-ignores": {"legacy/*": ["RA401"]}}, "per_file_ignores", {"legacy/*": ("RA401",)}),
    ({"per-layer-ignores": {"backbone/*": ["RA0", "RA105"]}}, "per_layer_ignores", {"backbone/*": ("RA0", "RA105")}),
    ({"min-factor": 1e-6}, "min_factor", 1e-6),
    ({"max-factor": 1}, "max_factor", 1.0),
    ({"inconsistency-ratio": 3}, "inconsistency_ratio", 3.0),
    ({"allowed-packages": ["acme", "regfix"]}, "allowed_packages", ("acme", "regfix")),
    ({"target-keras": "3.14"}, "target_keras", "3.14"),
    ({"baseline": "/abs/baseline.json"}, "baseline", Path("/abs/baseline.json")),
    ({"require": [{"layers": ["Conv2D"], "min": 1e-5}]}, "require", (Requirement(layers=("Conv2D",), min=1e-5),)),
    ({"disallow": [{"origins": ["lambda"], "slots": ["bias"]}]}, "disallow",
     (Prohibition(origins=("lambda",), slots=("bias",)),)),
    ({"exclude": ["fixtures/broken/", "*.weights.h5"]}, "exclude", ("fixtures/broken/", "*.weights.h5")),
    ({"exclude": []}, "exclude", ()),
    ({"extend-exclude": "legacy/"}, "extend_exclude", ("legacy/",)),
    ({"respect-gitignore": False}, "respect_gitignore", False),
    ({"force-exclude": True}, "force_exclude", True),
    ({"weights": True}, "weights", True),
    ({"collapse-rms": 1e-8}, "collapse_rms", 1e-8),
    ({"near-zero": 1e-4}, "near_zero", 1e-4),
]


def test_the_good_values_cover_every_key():
    assert {key for raw, _, _ in GOOD for key in raw} == set(option_keys())


@pytest.mark.parametrize("raw, name, value", GOOD, ids=[next(iter(raw)) for raw, _, _ in GOOD])
def test_every_key_accepts_good_values(raw, name, value):
    assert getattr(settings(raw), name) == value


BAD = [
    ({"selekt": ["RA1"]}, "unknown key 'selekt' (did you mean 'select'?)"),
    ({"select": ["RA999"]}, "'RA999' is not a rule code, prefix or name"),
    ({"select": "RB"}, "'RB' is not a rule code"),
    ({"extend-select": [3]}, "must be a list of rule codes"),
    ({"ignore": ["no-such-rule"]}, "'no-such-rule' is not a rule code, prefix or name"),
    ({"fail-on": "sometimes"}, "fail-on: must be one of error, warning, info, never"),
    ({"severity": {"RA104": "fatal"}}, "severity must be error, warning or info"),
    ({"severity": {"RA998": "info"}}, "'RA998' is not a rule code"),
    ({"severity": ["RA104"]}, "must be a table of rule = severity"),
    ({"per-file-ignores": {"x/*": ["RA1000"]}}, "'RA1000' is not a rule code"),
    ({"per-layer-ignores": ["backbone/*"]}, "must be a table of glob = [rules]"),
    ({"min-factor": -1}, "min-factor: must be a positive number"),
    ({"max-factor": "0.1"}, "max-factor: must be a positive number"),
    ({"min-factor": 0.5, "max-factor": 0.1}, "min-factor (0.5) must be smaller than max-factor (0.1)"),
    ({"inconsistency-ratio": 1}, "must be greater than 1"),
    ({"allowed-packages": "acme,"}, None),  # a single string is a one-item list: accepted
    ({"allowed-packages": [""]}, "must be a list of package names"),
    ({"target-keras": "latest"}, "must be a Keras version such as"),
    ({"baseline": 3}, "must be a file path"),
    ({"require": {"layers": ["Conv2D"]}}, "must be an array of tables"),
    ({"require": [{"slot": "kernel"}]}, "a requirement needs `layers`"),
    ({"require": [{"layers": ["Dense"], "minimum": 1e-5}]}, "entry 1: unknown key 'minimum'"),
    ({"require": [{"layers": ["Dense"], "max": 0}]}, "entry 1: max: must be a positive number"),
    ({"disallow": [{}]}, "say what to disallow"),
    ({"disallow": [{"origins": ["homemade"]}]}, "'homemade' is not an origin"),
    ({"select": ["RA2O2"]}, "'RA2O2' is not a rule code, prefix or name (did you mean 'RA202'?)"),
    ({"ignore": ["noop-regulariser"]}, "(did you mean 'noop-regularizer'?)"),
    ({"exclude": [""]}, "exclude: must be a list of gitignore-style globs"),
    ({"respect-gitignore": "yes"}, "respect-gitignore: must be true or false"),
    ({"weights": "yes"}, "weights: must be true or false"),
    ({"near-zero": 0}, "near-zero: must be a positive number"),
]


@pytest.mark.parametrize("raw, message", BAD, ids=[json.dumps(raw)[:40] for raw, _ in BAD])
def test_bad_values_are_errors_that_name_the_key_and_what_is_allowed(raw, message):
    if message is None:
        settings(raw)
        return
    with pytest.raises(ConfigError, match=None) as error:
        settings(raw)
    assert message in str(error.value)


# --- files, discovery and precedence -------------------------------------------------------------


def test_config_files_are_found_from_the_working_directory_upward(tmp_path):
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")  # no [tool.regaudit]: not a config
    assert find_config_file(nested) is None
    (tmp_path / "pyproject.toml").write_text("[tool.regaudit]\nfail-on = 'info'\n")
    assert find_config_file(nested) == tmp_path / "pyproject.toml"
    (tmp_path / "a" / "regaudit.toml").write_text("fail-on = 'warning'\n")
    assert find_config_file(nested) == tmp_path / "a" / "regaudit.toml"
    (tmp_path / "a" / ".regaudit.toml").write_text("fail-on = 'never'\n")
    assert find_config_file(nested) == tmp_path / "a" / ".regaudit.toml"


def test_precedence_defaults_then_file_then_command_line(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        "[tool.regaudit]\nfail-on = 'warning'\nmax-factor = 0.5\nignore = ['RA105']\n"
    )
    chosen, path = resolve({"fail-on": "info"}, known_code=KNOWN, cwd=tmp_path)
    assert path == tmp_path / "pyproject.toml"
    assert (chosen.fail_on, chosen.max_factor, chosen.ignore, chosen.min_factor) == (Severity.INFO, 0.5, ("RA105",), 1e-7)
    assert chosen.source("fail-on") == "command line"
    assert chosen.source("max-factor") == str(path)
    assert chosen.source("min-factor") == "default"
    isolated, none = resolve({}, known_code=KNOWN, cwd=tmp_path, isolated=True)
    assert (isolated.fail_on, none) == (Severity.ERROR, None)


def test_a_bad_file_is_a_usage_error_naming_file_and_key(project):
    (project / "regaudit.toml").write_text("fail_on = 'warning'\n")
    completed = run_cli("check", "models")
    assert completed.returncode == 2
    assert "regaudit.toml: unknown key 'fail_on' (did you mean 'fail-on'?)" in completed.stderr
    (project / "regaudit.toml").write_text("fail-on = [\n")
    completed = run_cli("check", "models")
    assert completed.returncode == 2 and "not valid TOML" in completed.stderr


def test_config_flag_and_isolated(project, tmp_path):
    other = tmp_path / "strict.toml"
    other.write_text("fail-on = 'never'\n")
    (project / "regaudit.toml").write_text("ignore = ['RA303']\n")
    assert run_cli("check", "models").returncode == 0  # RA303 ignored by the discovered file
    assert run_cli("check", "--isolated", "models").returncode == 1
    assert run_cli("check", "--config", str(other), "models").returncode == 0  # reported, but never fails


def test_regaudit_config_prints_values_and_sources_as_toml(project):
    (project / "pyproject.toml").write_text("[tool.regaudit]\nmax-factor = 0.5\n[[tool.regaudit.require]]\nlayers = ['Dense']\n")
    text = run_cli("config").stdout
    assert f"# configuration file: {project / 'pyproject.toml'}" in text
    assert f"max-factor = 0.5  # from {project / 'pyproject.toml'}" in text
    assert "min-factor = 1e-07  # from default" in text
    assert 'require = [{layers = ["Dense"], slot = "kernel", regularizers = [], paths = ["*"]}]' in text
    as_json = json.loads(run_cli("config", "--format", "json").stdout)
    assert as_json["options"]["max-factor"] == {"value": 0.5, "source": str(project / "pyproject.toml")}


# --- selection and severity -----------------------------------------------------------------------


def rules_fired(*args: str) -> set[str]:
    _, report = json_report(*args)
    return {finding["rule"] for artifact in report["artifacts"] for finding in artifact["findings"]}


def test_select_ignore_and_the_most_specific_selector_wins(project):
    write_model(project / "models" / "b.json", [
        dense("x", kernel_initializer={}, bias_initializer={}, kernel_regularizer={"class_name": "L2", "config": {"l2": 0.0}},
              bias_regularizer={"class_name": "L2", "config": {"l2": 0.01}})])
    everything = rules_fired("models")
    assert {"RA303", "RA101", "RA105"} <= everything
    assert rules_fired("--select", "RA3", "models") == {"RA303"}
    assert "RA101" not in rules_fired("--ignore", "RA1", "models")
    assert rules_fired("--select", "RA3", "--extend-select", "noop-regularizer", "models") == {"RA303", "RA101"}
    assert rules_fired("--ignore", "RA1", "--extend-select", "RA105", "models") >= {"RA105"}
    assert "RA303" not in rules_fired("--ignore", "RA303,RA101", "models")


def test_severity_overrides(project):
    (project / "regaudit.toml").write_text("[severity]\nRA303 = 'info'\n")
    code, report = json_report("models")
    assert code == 0
    assert report["artifacts"][0]["findings"][0]["severity"] == "info"


# --- per-file and per-layer ignores, unused suppressions ------------------------------------------


def test_per_file_and_per_layer_ignores_and_unused_entries_are_reported(project):
    write_model(project / "legacy" / "old.json", [dense("head", kernel_initializer={}, kernel_regularizer="my_fn")])
    (project / "regaudit.toml").write_text(
        "[per-file-ignores]\n"
        "'legacy/*' = ['RA303']\n"       # used
        "'models/*' = ['RA401']\n"       # matches an audited file, suppresses nothing: unused
        "'elsewhere/*' = ['RA303']\n"    # matches nothing audited: out of scope, not unused
        "[per-layer-ignores]\n"
        "'head' = ['function-regularizer']\n"  # used
        "'backbone/*' = ['RA1']\n"       # unused
    )
    code, report = json_report("models", "legacy")
    assert [a["findings"] for a in report["artifacts"]] == [[], []]
    assert [a["summary"]["suppressed"] for a in report["artifacts"]] == [1, 1]
    unused = [(f["rule"], f["argument"], f["message"]) for f in report["configuration"]]
    assert unused == [
        ("RA907", "per-file-ignores", 'per-file-ignores "models/*" = [\'RA401\'] suppressed nothing; remove it'),
        ("RA907", "per-layer-ignores", 'per-layer-ignores "backbone/*" = [\'RA1\'] suppressed nothing; remove it'),
    ]
    assert code == 0  # RA907 is info


def test_per_file_globs_match_relative_to_the_config_file_and_by_file_name(project, tmp_path):
    (project / "regaudit.toml").write_text("[per-file-ignores]\n'a.json' = ['RA303']\n")
    assert run_cli("check", str(project / "models" / "a.json")).returncode == 0  # by file name, from anywhere
    (project / "regaudit.toml").write_text("[per-file-ignores]\n'models/a.json' = ['RA303']\n")
    assert run_cli("check", "--config", str(project / "regaudit.toml"), str(project / "models"), cwd=tmp_path.parent).returncode == 0


# --- baseline -------------------------------------------------------------------------------------


def test_baseline_write_then_apply_then_stale(project):
    completed = run_cli("check", "--write-baseline", "baseline.json", "models")
    assert completed.returncode == 0
    assert "wrote 1 baseline entries to baseline.json" in completed.stderr
    recorded = json.loads((project / "baseline.json").read_text())
    assert recorded == {"regaudit_baseline": 1, "findings": [
        {"artifact": "models/a.json", "layer": "head", "rule": "RA303", "count": 1}]}

    # Known findings no longer fail the run; a new one does.
    assert run_cli("check", "--baseline", "baseline.json", "models").returncode == 0
    write_model(project / "models" / "b.json", [dense("new", kernel_initializer={}, kernel_regularizer="my_fn")])
    code, report = json_report("--baseline", "baseline.json", "models")
    assert code == 1
    assert [(a["path"], [f["layer"] for f in a["findings"]]) for a in report["artifacts"]] == [
        ("models/a.json", []), ("models/b.json", ["new"])]

    # The recorded finding is fixed: its entry is reported as stale (and the baseline works from any cwd).
    write_model(project / "models" / "a.json", [dense("head", kernel_initializer={}, kernel_regularizer="l2")])
    (project / "models" / "b.json").unlink()
    code, report = json_report("--baseline", str(project / "baseline.json"), str(project / "models"), cwd=project.parent)
    assert code == 0
    assert [(f["rule"], f["message"]) for f in report["configuration"]] == [
        ("RA908", "baseline entry models/a.json head RA303 no longer occurs; rewrite "
                  f"{project / 'baseline.json'} with --write-baseline")]


def test_baseline_from_configuration_and_bad_baseline_files(project):
    run_cli("check", "--write-baseline", "known.json", "models")
    (project / "regaudit.toml").write_text("baseline = 'known.json'\n")
    assert run_cli("check", "models").returncode == 0
    (project / "known.json").write_text("[]")
    completed = run_cli("check", "models")
    assert completed.returncode == 2 and "baseline" in completed.stderr and "Traceback" not in completed.stderr
    assert run_cli("check", "--baseline", "a", "--write-baseline", "b", "models").returncode == 2


# --- statistics, rules, rule ----------------------------------------------------------------------


def test_statistics_counts_findings_per_rule(project):
    write_model(project / "models" / "b.json", [dense("x", kernel_initializer={}, kernel_regularizer="fn_b")])
    (project / "models" / "w.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 8)  # a truncated HDF5 file
    text = run_cli("check", "--statistics", "--select", "RA303", "models").stdout
    assert text == ("    2  RA303  error       function-regularizer\n"
                    "    1  RA903  unreadable  corrupt-artifact\n"
                    "failed: 1 input could not be read; 2 findings at or above error\n")
    as_json = json.loads(run_cli("check", "--statistics", "--format", "json", "--select", "RA303", "models").stdout)
    assert as_json == {
        "findings": [{"rule": "RA303", "name": "function-regularizer", "severity": "error", "count": 2}],
        "inputs": [{"code": "RA903", "name": "corrupt-artifact", "status": "unreadable", "count": 1}],
        "failed": ["1 input could not be read", "2 findings at or above error"],
    }
    for machine in ("sarif", "html", "junit", "github", "markdown"):
        refused = run_cli("check", "--statistics", "--format", machine, "models")
        assert refused.returncode == 2 and "--statistics prints text or JSON" in refused.stderr


def test_rules_lists_the_catalog_and_rule_explains_one():
    listing = run_cli("rules").stdout.splitlines()
    assert len(listing) == len(load_catalog().codes)
    assert any(line.startswith("RA202  warning  double-weight-decay") for line in listing)
    explained = run_cli("rule", "double-weight-decay").stdout
    assert explained.startswith("RA202 double-weight-decay (warning, rule)\n")
    for section in ("What it flags", "Why it matters", "How to fix"):
        assert f"\n{section}\n" in explained
    assert json.loads(run_cli("rule", "RA202", "--format", "json").stdout)["name"] == "double-weight-decay"
    missing = run_cli("rule", "RA999")
    assert missing.returncode == 2 and "no rule 'RA999'" in missing.stderr


def test_the_readme_configuration_example_is_valid(tmp_path):
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    example = readme.split("## Configuration", 1)[1].split("```toml", 1)[1].split("```", 1)[0]
    (tmp_path / "pyproject.toml").write_text(example)
    documented, _ = resolve({}, known_code=KNOWN, cwd=tmp_path)
    assert documented.fail_on is Severity.WARNING
    assert documented.require[0].regularizers == ("L2", "L1L2")
    assert len(documented.disallow) == 2 and documented.per_layer_ignores["backbone/*"] == ("RA002", "RA003")
