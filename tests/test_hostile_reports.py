"""Hostile names and paths against every report, and hostile options and configuration against the
command line: what a model file or a committed file name can do to the people and systems that
read regaudit's output.

Names travel from a model file (or a file name) into the text report (terminals, CI logs,
pre-commit output), Markdown (pull-request comments), JUnit (GitLab), GitHub workflow commands,
SARIF and HTML. Each test runs the real command, or renders a result the way the command does.
"""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conftest import ROOT, dense, rendered, run_cli, tree_of
from regaudit.outcomes import ArtifactResult, AuditResult, Finding, Severity, Status
from regaudit.reporters import FORMATS

L2 = {"class_name": "L2", "config": {"l2": 0.001}}
# Layer names that act when shown raw. Each gets an unregistered custom regularizer of the same
# name, so that it also appears inside finding messages (and there, wrapped across lines).
HOSTILE_NAMES = [
    "a\n::error::pwned by a newline",
    "::add-mask::secret at the start of a row",
    "::stop-commands::token",
    "##[stop-commands]legacy command anywhere in a line",
    "\x1b]0;owned title\x07\x1b[2J\x1b[32mALL CLEAN\x1b[0m",
    "\x9b31m C1 control sequence introducer",
    "\u202egnp.exe bidirectional override",
    "lone \ud800 surrogate",
    "@octocat and @regaudit/maintainers, see https://evil.example/x, www.evil.example or me@evil.example #1",
    "[[[ATTACHMENT|/etc/passwd]] and [[ATTACHMENT|../../secrets.txt]]",
]
# Characters that must never reach a terminal or log raw: C0 (except the report's own line
# breaks), DEL, C1, surrogates, line/paragraph separators, bidirectional controls.
ACTING = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\ud800-\udfff\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def hostile_model(path: Path) -> Path:
    layers = [dense(name, kernel_regularizer=L2, bias_regularizer={"class_name": f"Custom{name}", "config": {}})
              for name in HOSTILE_NAMES]
    path.write_text(json.dumps({"class_name": "Sequential", "keras_version": "3.15.1",
                                "config": {"name": "m", "layers": layers}}))
    return path


def failing_model(path: Path) -> Path:
    """A plain model with an error finding (RA301): exit 1 on the default configuration."""
    layer = dense("d", kernel_regularizer={"class_name": "Custom", "config": {}})
    path.write_text(json.dumps({"class_name": "Sequential", "config": {"name": "m", "layers": [layer]}}))
    return path


def run_bytes(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """The real command, its output kept as bytes: a report must be valid UTF-8 as written."""
    return subprocess.run([sys.executable, "-m", "regaudit", *args], capture_output=True, cwd=cwd, timeout=120,
                          env={**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(ROOT)})


def workflow_commands(text: str) -> list[str]:
    """Lines the GitHub Actions runner would execute: `::` after leading spaces, or `##[` anywhere
    (ActionCommand.TryParseV2 and TryParse in actions/runner)."""
    return [line for line in text.splitlines() if line.lstrip().startswith("::") or "##[" in line]


# --- text report ----------------------------------------------------------------------------------


def test_text_report_shows_control_characters_and_forms_no_workflow_command(tmp_path):
    model = hostile_model(tmp_path / "model.json")
    named = tmp_path / "file\n::error::named.json"  # a file name holds any byte but / and NUL
    named.write_bytes(model.read_bytes())
    completed = run_bytes("check", "model.json", named.name, cwd=tmp_path)
    assert completed.returncode == 1, completed.stderr
    assert completed.stderr == b""
    text = completed.stdout.decode("utf-8")  # strict: no surrogate was written
    assert not ACTING.search(text)
    assert workflow_commands(text) == []
    # What acted is shown instead, as escapes.
    assert "a\\n:\\x3aerror:\\x3apwned by a newline" in text
    assert "\\x1b]0;owned title\\x07\\x1b[2J" in text and "\\x9b31m" in text and "\\u202egnp" in text
    assert "lone \\ud800 surrogate" in text
    assert "#\\x23[stop-commands]" in text
    assert "file\\n:\\x3aerror:\\x3anamed.json  (config-json, Keras 3.15.1)" in text


def test_concise_report_of_the_pre_commit_hook_forms_no_workflow_command(tmp_path):
    hostile_model(tmp_path / "::error::named.json")
    completed = run_bytes("check", "--format", "concise", "::error::named.json", cwd=tmp_path)
    assert completed.returncode == 1, completed.stderr
    text = completed.stdout.decode("utf-8")
    assert not ACTING.search(text) and workflow_commands(text) == []
    assert text.startswith(":\\x3aerror:\\x3anamed.json:")
    assert len(text.splitlines()) == 2 * len(HOSTILE_NAMES) + 2  # one line per finding, summary, verdict


def test_text_report_of_a_16_mb_layer_name_takes_linear_time(tmp_path):
    """Wrapping a 16 MB name copied the rest of the word for each line, and the table's columns
    gave way one character per step: minutes. The issue's ceiling for any hostile input is 60 s."""
    script = (
        "import io\n"
        "from regaudit.catalog import load_catalog\n"
        "from regaudit.loaders.json_file import tree_from_document\n"
        "from regaudit.outcomes import ArtifactResult, AuditResult, Finding, Severity, Status\n"
        "from regaudit.reporters import ReportContext, render\n"
        "name = 'n' * (16 << 20)\n"
        "finding = Finding('RA301', 'unregistered-custom-regularizer', Severity.ERROR, name, None, name)\n"
        "l2 = {'class_name': 'L2', 'config': {'l2': 0.01}}\n"
        "dense = {'class_name': 'Dense', 'config': {'name': name, 'units': 2, 'kernel_regularizer': l2}}\n"
        "tree = tree_from_document({'class_name': 'Sequential', 'config': {'name': 'm', 'layers': [dense]}})\n"
        "result = AuditResult()\n"
        "result.artifacts = [ArtifactResult('m.keras', Status.OK, format='keras-zip', tree=tree, findings=[finding])]\n"
        "stream = io.StringIO()\n"
        "render('text', result, ReportContext(catalog=load_catalog()), stream)\n"
        "lines = stream.getvalue().splitlines()\n"
        "from regaudit.reporters import DEFAULT_WIDTH\n"
        "assert max(map(len, lines)) <= DEFAULT_WIDTH, max(map(len, lines))\n"
        "assert stream.getvalue().count('n') >= 3 * len(name), 'shown whole: table, place, message'\n"
    )
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                               env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert completed.returncode == 0, completed.stderr[-2000:]


def test_diff_text_report_shows_control_characters_and_forms_no_workflow_command(tmp_path):
    old = failing_model(tmp_path / "old.json")
    new = hostile_model(tmp_path / "new\n::error::name.json")
    completed = run_bytes("diff", old.name, new.name, cwd=tmp_path)
    assert completed.returncode in (0, 1), completed.stderr
    text = completed.stdout.decode("utf-8")
    assert "new\\n:\\x3aerror:\\x3aname.json" in text and "\\x1b]0;owned title" in text
    assert not ACTING.search(text) and workflow_commands(text) == []


def test_table_columns_shrink_as_one_column_at_a_time_would_but_at_once():
    """The layer and regularizer columns gave way one character per step: linear, but 16 million
    steps for a 16 MB layer name. The arithmetic gives what the steps gave."""
    from regaudit.reporters import text

    def stepwise(widths: list[int], excess: int) -> list[int]:
        widths = list(widths)
        while excess > 0:
            widest = max(text._SHRINKABLE, key=lambda index: widths[index])
            if widths[widest] <= text._MIN_WIDTH:
                break
            widths[widest] -= 1
            excess -= 1
        return widths

    generator = random.Random(9)
    for _ in range(3000):
        widths = [generator.randint(1, 60) for _ in range(5)]
        excess = generator.randint(0, 120)
        shrunk = list(widths)
        text._shrink_widest(shrunk, excess)
        assert shrunk == stepwise(widths, excess), (widths, excess)


# --- Markdown -------------------------------------------------------------------------------------

_CODE_SPAN = re.compile(r"(`+)(?!`).*?(?<!`)\1(?!`)|<code>.*?</code>")


def test_markdown_mentions_no_one_and_links_nowhere(tmp_path):
    hostile_model(tmp_path / "model.json")
    completed = run_bytes("check", "--format", "markdown", "model.json", cwd=tmp_path)
    text = completed.stdout.decode("utf-8")
    assert completed.returncode == 1 and not ACTING.search(text)
    prose = _CODE_SPAN.sub("", text)  # GitHub neither mentions nor links inside code
    assert "octocat" in prose and "evil.example" in prose  # the names are shown, in messages too
    assert not re.search(r"@[A-Za-z0-9]", prose), "an @mention would notify"
    assert not re.search(r"(?i)https?://|www\.|mailto:|#[0-9]", prose), "a bare URL or reference would link"
    assert "@\u2060regaudit/maintainers" in prose and "https:\u2060//evil.example" in prose
    # Code spans hold the name as it is, where nothing renders live.
    assert "`@octocat and @regaudit" in text


# --- JUnit ----------------------------------------------------------------------------------------


def test_junit_gives_gitlab_no_attachment_link_even_from_runs_of_brackets(tmp_path):
    hostile_model(tmp_path / "model.json")
    completed = run_bytes("check", "--format", "junit", "model.json", cwd=tmp_path)
    assert completed.returncode == 1 and completed.stdout.isascii()
    root = ET.fromstring(completed.stdout)
    texts = [value for element in root.iter() for value in (element.text or "", *element.attrib.values())]
    assert any("ATTACHMENT|/etc/passwd" in text for text in texts)
    # GitLab's pattern is \[\[ATTACHMENT\|(.+?)\]\] on the parsed text.
    assert not [text for text in texts if "[[" in text]
    assert not [text for text in texts if ACTING.search(text)]


# --- every format, with names and file names that are not text ------------------------------------


@pytest.mark.parametrize("format_", FORMATS)
def test_every_format_writes_a_whole_report_for_names_and_file_names_that_are_not_text(tmp_path, format_):
    """A lone surrogate in a name, and a file name that is not UTF-8 (which Python holds as lone
    surrogates), failed text, HTML, GitHub and Markdown on stdout, and SARIF and every --output,
    with exit 2 and half a report; a failed --output also left its hidden temporary file."""
    model = hostile_model(tmp_path / "model.json")
    not_utf8 = os.fsdecode(b"caf\xe9-latin1.json")
    (tmp_path / not_utf8).write_bytes(model.read_bytes())
    (tmp_path / os.fsdecode(b"empty-\xff.keras")).write_bytes(b"")  # unreadable: a diagnostic on it
    args = ("check", "--format", format_, "model.json", not_utf8, os.fsdecode(b"empty-\xff.keras"))
    on_stdout = run_bytes(*args, cwd=tmp_path)
    assert on_stdout.returncode == 3, on_stdout.stderr  # the empty file is unreadable
    assert on_stdout.stderr == b""
    report = on_stdout.stdout.decode("utf-8")  # strict
    to_file = run_bytes(*args, "--output", "report.out", cwd=tmp_path)
    assert (to_file.returncode, to_file.stderr, to_file.stdout) == (3, b"", b"")
    assert (tmp_path / "report.out").read_bytes() == on_stdout.stdout
    assert [path.name for path in tmp_path.iterdir() if path.name.startswith(".")] == []
    if format_ == "sarif":
        uris = {location["physicalLocation"]["artifactLocation"]["uri"]
                for result in json.loads(report)["runs"][0]["results"] for location in result["locations"]}
        assert uris == {"model.json", "caf%E9-latin1.json"}  # the file's own bytes, percent-encoded
    if format_ == "json":
        paths = [artifact["path"] for artifact in json.loads(report)["artifacts"]]
        assert [os.fsencode(path) for path in paths[1:]] == [b"caf\xe9-latin1.json", b"empty-\xff.keras"]


def test_a_failed_output_leaves_no_temporary_file(tmp_path):
    from regaudit.cli import _whole_file

    with pytest.raises(UnicodeEncodeError):  # any failure after the temporary file exists
        with _whole_file(tmp_path / "report.txt") as stream:
            stream.write("a lone \ud800 surrogate no reporter lets through")
    assert list(tmp_path.iterdir()) == []


# --- GitHub, SARIF and HTML keep holding up -------------------------------------------------------


def _result_named(name: str) -> AuditResult:
    result = AuditResult()
    finding = Finding("RA301", "unregistered-custom-regularizer", Severity.ERROR, name, "kernel_regularizer", name)
    tree = tree_of([dense(name, kernel_regularizer=L2)])
    result.artifacts = [ArtifactResult(name + ".keras", Status.OK, format="keras-zip", tree=tree, findings=[finding])]
    return result


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_github_commands_stay_one_line_each_and_show_what_acted(name):
    text = rendered("github", _result_named(name))
    (line,) = text.splitlines()
    assert line.startswith("::error file=") and not ACTING.search(text)
    # The runner reads the command up to the next `::`: properties escape `:`, so that is ours.
    assert line[: line.index("::", 2)].endswith(",title=RA301 unregistered-custom-regularizer")


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_sarif_keeps_names_exactly_as_data(name):
    text = rendered("sarif", _result_named(name))
    assert text.isascii()
    (result,) = json.loads(text)["runs"][0]["results"]
    assert result["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] == name


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_html_escapes_markup_and_shows_control_characters(name):
    text = rendered("html", _result_named(name))
    text.encode("utf-8")  # strict: the page can be written
    assert not ACTING.search(text)
    assert "<script>" not in text.replace("<script>", "", 1)  # only the page's own script


@pytest.mark.parametrize("format_", ["json", "sarif"])
def test_json_and_sarif_printed_to_a_ci_log_form_no_legacy_workflow_command(tmp_path, format_):
    """The runner executes `##[command]` anywhere in a log line; JSON keeps the name exactly."""
    hostile_model(tmp_path / "model.json")
    completed = run_bytes("check", "--format", format_, "model.json", cwd=tmp_path)
    text = completed.stdout.decode("utf-8")
    assert workflow_commands(text) == []
    assert "##[stop-commands]legacy command anywhere in a line" in json.dumps(json.loads(text), ensure_ascii=False)


def test_an_internal_error_that_quotes_a_name_stays_one_visible_line(monkeypatch, capsys):
    from regaudit import cli

    def failing(arguments):
        raise KeyError("a\n::error::pwned\x1b[2J")

    monkeypatch.setattr(cli, "_run", failing)
    with pytest.raises(SystemExit) as exited:
        cli.main()
    assert exited.value.code == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and workflow_commands(error) == [] and not ACTING.search(error.rstrip("\n"))


# --- options and configuration --------------------------------------------------------------------


@pytest.mark.parametrize("command", [["check", "model.json"], ["config"]])
def test_config_with_isolated_is_a_usage_error(tmp_path, command):
    """--isolated silently dropped --config FILE, and with it e.g. an allowed-packages policy."""
    failing_model(tmp_path / "model.json")
    (tmp_path / "policy.toml").write_text('allowed-packages = ["acme"]\n')
    completed = run_cli(*command, "--config", "policy.toml", "--isolated", cwd=tmp_path)
    assert completed.returncode == 2 and completed.stdout == ""
    assert "--config and --isolated cannot be used together" in completed.stderr
    assert "Traceback" not in completed.stderr


@pytest.mark.parametrize(
    "content, where",
    [
        (b'[tool.regaudit\nfail-on = "never"\n', "line 1"),
        (b'[tool.regaudit]\nfail-on = "never"\nfail-on = "error"\n', "line 3"),
        (b'[tool.regaudit]\nfail-on = "ne\xffver"\n', "line 2"),
    ],
    ids=["syntax", "duplicate-key", "not-utf8"],
)
def test_a_pyproject_that_is_not_valid_toml_is_a_configuration_error(tmp_path, content, where):
    """It was silently taken as "no configuration", so the gate ran on defaults: here, the model
    fails on defaults (exit 1), and a broken pyproject must not turn that into anything but 2."""
    assert run_cli("check", str(failing_model(tmp_path / "model.json"))).returncode == 1
    (tmp_path / "pyproject.toml").write_bytes(content)
    completed = run_cli("check", "model.json", cwd=tmp_path)
    assert completed.returncode == 2 and completed.stdout == ""
    assert f"{tmp_path / 'pyproject.toml'}: not valid TOML" in completed.stderr and where in completed.stderr
    assert "Traceback" not in completed.stderr


def test_a_pyproject_whose_tool_regaudit_is_not_a_table_is_a_configuration_error(tmp_path):
    failing_model(tmp_path / "model.json")
    (tmp_path / "pyproject.toml").write_text("[tool]\nregaudit = 3\n")
    completed = run_cli("check", "model.json", cwd=tmp_path)
    assert completed.returncode == 2 and "[tool.regaudit] must be a table" in completed.stderr


# --- --jobs ---------------------------------------------------------------------------------------


def test_jobs_gives_the_serial_report_for_a_config_value_nested_500_deep(tmp_path):
    """The result came back from the worker pickled, and pickle recursed past Python's limit:
    the whole run failed with exit 2 where the serial run was fine."""
    deep: dict = {}
    for _ in range(500):
        deep = {"a": deep}
    initializer = {"class_name": "GlorotUniform", "config": {"seed": deep}}
    for name in ("deep_a.json", "deep_b.json"):
        (tmp_path / name).write_text(json.dumps({"class_name": "Sequential", "config": {"name": "m", "layers": [
            dense("d", kernel_regularizer=L2, kernel_initializer=initializer)]}}))
    serial = run_cli("check", "--format", "json", "deep_a.json", "deep_b.json", cwd=tmp_path)
    parallel = run_cli("check", "--format", "json", "--jobs", "2", "deep_a.json", "deep_b.json", cwd=tmp_path)
    assert serial.returncode == 0, serial.stderr
    assert (parallel.returncode, parallel.stderr, parallel.stdout) == (0, "", serial.stdout)


# --- the README says what is true ------------------------------------------------------------------


def test_the_readme_hostile_input_section_states_the_limits_in_force():
    from regaudit.loaders import limits

    section = (ROOT / "README.md").read_text().split("### Hostile input", 1)[1].split("\n## ", 1)[0]
    section = " ".join(section.split())
    assert f"larger than {limits.MAX_CONFIG_BYTES // limits.MiB} MB, declared or read" in section
    assert f"`metadata.json` larger than {limits.MAX_METADATA_BYTES // limits.MiB} MB" in section
    assert f"nested more than {limits.MAX_NESTING} levels deep" in section
    assert "`regaudit/reporters/_escape.py`" in section and (ROOT / "regaudit/reporters/_escape.py").is_file()
