"""The command line as users and CI gates meet it: exit codes, output files, colour, the JSON contract."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

import regaudit
from conftest import FIXTURES, ROOT, dense, json_report, run_cli

SCHEMA = json.loads((ROOT / "regaudit" / "reporters" / "report.schema.json").read_text())
L2 = {"class_name": "L2", "config": {"l2": 0.001}}


def write_model(path: Path, layers: list[dict]) -> Path:
    path.write_text(json.dumps({"class_name": "Sequential", "keras_version": "2.15.0",
                                "config": {"name": "m", "layers": layers}}))
    return path


@pytest.fixture
def clean(tmp_path) -> Path:
    return write_model(tmp_path / "clean.json", [dense("d", kernel_initializer={}, kernel_regularizer=L2)])


@pytest.fixture
def broken(tmp_path) -> Path:
    """A function regularizer: an error-severity finding (RA303)."""
    return write_model(tmp_path / "broken.json", [dense("d", kernel_initializer={}, kernel_regularizer="my_fn")])


@pytest.fixture
def weights_only(tmp_path) -> Path:
    path = tmp_path / "w.weights.json"
    path.write_text(json.dumps({"metadata": {}, "weight_map": {}}))
    return path


def test_version_and_help():
    assert run_cli("--version").stdout.strip() == f"regaudit {regaudit.__version__}"
    help_text = run_cli("check", "--help").stdout
    for line in ("0  no finding at or above --fail-on", "3  an input could not be read"):
        assert line in help_text


@pytest.mark.parametrize(
    "args, message",
    [
        (["--format", "yaml", "x.keras"], "Invalid value for '--format'"),
        (["--fail-on", "sometimes", "x.keras"], "Invalid value for '--fail-on'"),
    ],
)
def test_usage_errors_exit_2(args, message):
    completed = run_cli("check", *args)
    assert completed.returncode == 2
    assert message in completed.stderr and "Traceback" not in completed.stderr


def test_exit_0_when_nothing_reaches_fail_on(clean):
    assert run_cli("check", str(clean)).returncode == 0


def test_exit_1_on_error_findings_and_fail_on_never(broken):
    assert run_cli("check", str(broken)).returncode == 1
    assert run_cli("check", "--fail-on", "never", str(broken)).returncode == 0
    assert run_cli("check", "--fail-on", "info", str(broken)).returncode == 1


def test_skipped_inputs_are_listed_but_do_not_fail_the_run(clean, weights_only):
    code, report = json_report(str(clean), str(weights_only))
    assert code == 0
    assert [a["status"] for a in report["artifacts"]] == ["ok", "skipped"]
    assert report["artifacts"][1]["error"]["code"] == "RA901"


def test_exit_3_when_nothing_was_auditable(weights_only, tmp_path):
    completed = run_cli("check", str(weights_only))
    assert completed.returncode == 3
    assert "nothing was audited" in completed.stdout
    assert run_cli("check", str(tmp_path / "empty_dir_that_is_missing")).returncode == 3


def test_exit_3_beats_exit_1_when_an_input_is_unreadable(broken, tmp_path):
    assert run_cli("check", str(broken), str(tmp_path / "missing.keras")).returncode == 3


def test_json_report_matches_the_schema_and_the_model(broken, weights_only):
    code, report = json_report(str(broken), str(weights_only))
    jsonschema.validate(report, SCHEMA, cls=jsonschema.Draft202012Validator)
    artifact = report["artifacts"][0]
    assert (artifact["format"], artifact["keras_version"], artifact["status"]) == ("config-json", "2.15.0", "ok")
    assert artifact["layers"] == [{
        "path": "d", "name": "d", "class_name": "Dense", "kind": "layer", "trainable": True, "weight_bearing": True,
        "regularizers": [{"slot": "kernel", "argument": "kernel_regularizer", "class_name": "my_fn", "factors": {}, "options": {},
                          "origin": "function", "module": None, "registered_name": None, "evidence": None}],
        "weights": None}]
    assert [(f["rule"], f["layer"], f["argument"]) for f in artifact["findings"]] == [("RA303", "d", "kernel_regularizer")]
    assert report["summary"] == {"artifacts": 2, "ok": 1, "skipped": 1, "error": 0,
                                 "findings": {"error": 1, "warning": 0, "info": 0}}


def test_output_file_is_written_whole_and_stdout_stays_empty(broken, tmp_path):
    target = tmp_path / "report.json"
    target.write_text("previous report")
    completed = run_cli("check", "--format", "json", "--output", str(target), str(broken))
    assert completed.returncode == 1 and completed.stdout == ""
    assert json.loads(target.read_text())["summary"]["findings"]["error"] == 1
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".report")] == []  # no temporary left


def test_an_output_file_is_written_as_the_run_goes_and_left_as_it_was_when_the_run_fails(broken, tmp_path,
                                                                                        monkeypatch, capsys):
    # The report goes into a temporary file beside the target as it is written (nothing of it is
    # held in memory whole); a run that fails before its end leaves the old report and no
    # temporary file behind.
    import regaudit.cli
    from regaudit.reporters import json as json_report

    (tmp_path / "out").mkdir()
    target = tmp_path / "out" / "report.json"
    target.write_text("previous report")
    written = []

    def fails_at_the_end(self, totals):
        written.append(sorted(path.name for path in target.parent.iterdir()))
        raise RuntimeError("a bug at the end of the report")

    monkeypatch.setattr(json_report.Reporter, "end", fails_at_the_end)
    monkeypatch.setattr(sys, "argv", ["regaudit", "check", "--format", "json", "--output", str(target), str(broken)])
    with pytest.raises(SystemExit) as exit_:
        regaudit.cli.main()
    assert exit_.value.code == 2 and "a bug at the end of the report" in capsys.readouterr().err
    (names,) = written
    assert len(names) == 2 and names[0].startswith(".report.json.")  # the temporary file, being written
    assert target.read_text() == "previous report"
    assert [path.name for path in target.parent.iterdir()] == ["report.json"]


def test_unwritable_output_is_a_one_line_usage_error(clean, tmp_path):
    completed = run_cli("check", "--output", str(tmp_path / "no" / "such" / "dir" / "r.txt"), str(clean))
    assert completed.returncode == 2
    assert "cannot write" in completed.stderr and "Traceback" not in completed.stderr


def test_text_report_lists_regularizers_coverage_findings_and_a_summary(broken, clean):
    text = run_cli("check", str(broken), str(clean)).stdout
    assert "d      Dense  kernel  my_fn()      function" in text
    assert "1 of 1 weight-bearing layers carry a weight regularizer" in text
    assert "RA303 error   function-regularizer  d kernel_regularizer" in text
    assert "L2(l2=0.001)" in text
    assert text.endswith("2 artifacts (2 audited); 1 finding (1 error)\nfailed: 1 finding at or above error\n")
    assert "\x1b[" not in text  # not a terminal: no colour


def run_on_terminal(*args: str, env: dict[str, str]) -> str:
    """Run with stdout on a pseudo-terminal, as in an interactive shell."""
    leader, follower = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "regaudit", *args], stdout=follower, stderr=follower,
                               env={k: v for k, v in {**os.environ, **env}.items() if v is not None})
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    process.wait()
    os.close(leader)
    return b"".join(chunks).decode()


def test_colour_only_on_a_terminal_and_never_with_no_color(broken):
    assert "\x1b[31m" in run_on_terminal("check", str(broken), env={"NO_COLOR": None})
    assert "\x1b[" not in run_on_terminal("check", str(broken), env={"NO_COLOR": "1"})


def test_python_api_returns_the_result_reporters_render(broken, clean):
    result = regaudit.audit([str(broken), str(clean)])
    assert [artifact.status.value for artifact in result.artifacts] == ["ok", "ok"]
    assert [finding.rule for finding in result.findings] == ["RA303"]
    assert regaudit.audit(str(clean)).artifacts[0].path == str(clean)  # one path as a plain string


def test_check_path_never_imports_keras_or_tensorflow(clean):
    # A SavedModel too, in both layouts: the reader decodes the protobuf messages without TensorFlow.
    savedmodels = FIXTURES / "savedmodels"
    probe = (
        "import sys, regaudit.cli\n"
        "sys.argv = ['regaudit', 'check', %r, %r, %r]\n"
        "try:\n    regaudit.cli.main()\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('keras', 'tensorflow', 'tf_keras', 'torch', 'jax') if m in sys.modules))\n"
    ) % (str(clean), str(savedmodels / "subclassed"), str(savedmodels / "tf24_functional"))
    completed = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert "savedmodel" in completed.stdout
    assert completed.stdout.strip().splitlines()[-1] == "[]"


def test_output_to_a_device_or_pipe_writes_in_place_and_never_replaces_it(broken, tmp_path):
    fifo = tmp_path / "report.fifo"
    os.mkfifo(fifo)
    reader = subprocess.Popen(["cat", str(fifo)], stdout=subprocess.PIPE, text=True)
    completed = run_cli("check", "--format", "json", "--output", str(fifo), str(broken))
    received = reader.communicate(timeout=60)[0]
    assert completed.returncode == 1 and json.loads(received)["summary"]["findings"]["error"] == 1
    assert fifo.is_fifo()  # still the pipe, not a regular file put in its place


def test_output_files_get_ordinary_permissions(clean, tmp_path):
    target = tmp_path / "report.txt"
    umask = os.umask(0o022)
    try:
        run_cli("check", "--output", str(target), str(clean))
    finally:
        os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o644


def test_several_formats_in_one_run(broken, tmp_path):
    sarif, html = tmp_path / "r.sarif", tmp_path / "r.html"
    completed = run_cli("check", "--format", "text", "--output", f"sarif={sarif}", "--output", f"html={html}",
                        str(broken))
    assert completed.returncode == 1
    assert "RA303 error" in completed.stdout  # text on standard output
    assert json.loads(sarif.read_text())["version"] == "2.1.0"
    assert html.read_text().lstrip().lower().startswith("<!doctype html>")
    json_only = run_cli("check", "--format", "json", "--output", str(tmp_path / "only.json"), str(broken))
    assert json_only.stdout == "" and json.loads((tmp_path / "only.json").read_text())["schema_version"] == 1


@pytest.mark.parametrize(
    "args, message",
    [
        (["--format", "json", "--format", "text"], "only one report can go to standard output"),
        (["--format", "json", "--format", "sarif", "--output", "a", "--output", "b"], "name each file as --output FORMAT=FILE"),
        (["--output", "sarif=a", "--output", "sarif=b"], "--output sarif=... is given twice"),
    ],
)
def test_ambiguous_outputs_are_usage_errors(broken, args, message):
    completed = run_cli("check", *args, str(broken))
    assert completed.returncode == 2 and message in completed.stderr


def test_parallel_jobs_give_the_same_report_as_a_serial_run():
    models = str(ROOT / "fixtures" / "models")
    serial = run_cli("check", "--format", "json", "--jobs", "1", models)
    parallel = run_cli("check", "--format", "json", "--jobs", "2", models)
    assert serial.returncode == parallel.returncode
    assert len(json.loads(serial.stdout)["artifacts"]) > 90
    assert parallel.stdout == serial.stdout


def test_progress_bar_only_on_a_terminal_and_only_on_stderr():
    models = str(ROOT / "fixtures" / "models")
    on_terminal = run_on_terminal("check", "--format", "json", "--output", "/dev/stdout", models, env={"NO_COLOR": "1"})
    assert "Auditing" in on_terminal
    piped = run_cli("check", "--format", "json", models)
    assert "Auditing" not in piped.stdout + piped.stderr
    json.loads(piped.stdout)  # the machine format on stdout is untouched


def test_ignore_unknown_passes_over_non_models_and_does_not_fail_an_empty_run(clean, tmp_path):
    package = tmp_path / "package.json"
    package.write_text('{"name": "web", "version": "1.0.0"}')
    weights = tmp_path / "w.weights.json"
    weights.write_text(json.dumps({"metadata": {}, "weight_map": {}}))
    assert run_cli("check", str(package)).returncode == 3  # named explicitly: not a model
    completed = run_cli("check", "--ignore-unknown", "--format", "json", str(package), str(weights))
    assert completed.returncode == 0
    assert [a["status"] for a in json.loads(completed.stdout)["artifacts"]] == ["skipped"]
    both = run_cli("check", "--ignore-unknown", "--format", "json", str(package), str(clean))
    assert both.returncode == 0 and len(json.loads(both.stdout)["artifacts"]) == 1
    lfs = tmp_path / "model.keras"
    lfs.write_text("version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 1\n")
    assert run_cli("check", "--ignore-unknown", str(lfs)).returncode == 3  # a broken model still fails


def test_without_format_the_text_report_goes_to_stdout_beside_the_files(broken, tmp_path):
    """The README's `--output sarif=... --output html=...` prints the text report as well."""
    sarif, html = tmp_path / "r.sarif", tmp_path / "r.html"
    completed = run_cli("check", str(broken), "--output", f"sarif={sarif}", "--output", f"html={html}")
    assert completed.returncode == 1
    assert "RA303" in completed.stdout and "1 finding (1 error)" in completed.stdout
    assert sarif.stat().st_size > 0 and html.stat().st_size > 0
    machine_only = run_cli("check", str(broken), "--format", "json", "--output", f"sarif={sarif}")
    json.loads(machine_only.stdout)  # an explicit --format decides what stdout gets
