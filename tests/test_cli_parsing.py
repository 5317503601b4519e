"""The command line itself (argparse, issue 11): options and paths in any order, `--`, the
pre-commit hook's arguments, flag pairs and defaults, one-line usage errors with suggestions,
shell completion in a real bash, and what a `check` run does not import."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import MODELS, run_cli
from regaudit.cli import _check_option_arity, _command_parser, _parse, COMMANDS

CLEAN = str(MODELS / "k3_builtins.keras")  # findings below error only
WARNS = str(MODELS / "k3_compiled_adamw.keras")  # RA202, a warning: fails with --fail-on warning


def parsed(command: str, *arguments: str):
    return _parse(_command_parser(command), COMMANDS[command].positional, list(arguments))


def audited_paths(completed: subprocess.CompletedProcess) -> list[str]:
    return [artifact["path"] for artifact in json.loads(completed.stdout)["artifacts"]]


# --- options, paths and `--` ------------------------------------------------------------------------


def test_options_and_paths_come_in_any_order():
    completed = run_cli("check", CLEAN, "--format", "json", WARNS, "--fail-on", "warning")
    assert completed.returncode == 1, completed.stderr
    assert audited_paths(completed) == [CLEAN, WARNS]


def test_after_the_separator_every_argument_is_a_path(tmp_path):
    (tmp_path / "-q").write_bytes(b"")  # a file named like an option
    (tmp_path / "--format=html").write_bytes(b"")
    completed = run_cli("check", "--format", "json", "--", "-q", "--format=html", cwd=tmp_path)
    assert completed.returncode == 3, completed.stderr  # two empty files: RA903 each, nothing audited
    assert sorted(audited_paths(completed)) == ["--format=html", "-q"]


def test_an_option_after_a_file_name_past_the_separator_is_refused():
    completed = run_cli("check", "--", WARNS, "--fail-on", "warning")
    assert completed.returncode == 2 and completed.stdout == ""
    assert "no file '--fail-on': after `--` every argument is a path" in completed.stderr


def test_hook_arguments_after_the_entrys_separator_are_read_as_options():
    """The hook's entry ends with `--`; pre-commit puts the user's `args:` after it."""
    entry = ["check", "--ignore-unknown", "--force-exclude", "--format", "concise", "--"]
    assert run_cli(*entry, WARNS).returncode == 0
    failing = run_cli(*entry, "--fail-on", "warning", WARNS)
    assert failing.returncode == 1 and "RA202" in failing.stdout, failing.stderr
    assert run_cli(*entry, "--fail-on=warning", "-j", "1", WARNS).returncode == 1


def test_hoisting_knows_every_option_of_check_from_its_one_parser():
    parser = _command_parser("check")
    arity = _check_option_arity(parser)
    shown = set(re.findall(r"(?<![\w-])(--?[a-z][a-z-]*)", parser.format_help().split("Exit codes:")[0]))
    options_in_help = {word for word in shown if word in arity or word in ("-h", "--help")}
    assert set(arity) | {"-h", "--help"} == options_in_help
    assert set(arity) >= {"--format", "-o", "--output", "-j", "--jobs", "-q", "--no-weights", "--config"}
    assert arity["--format"] and arity["-o"] and arity["-j"] and arity["--config"]
    assert not arity["-q"] and not arity["--no-respect-gitignore"] and not arity["--isolated"]


# --- flag pairs, repeated options, defaults ---------------------------------------------------------


@pytest.mark.parametrize("name", ["weights", "respect-gitignore", "force-exclude"])
def test_flag_pairs_are_none_unless_given_so_that_the_configuration_decides(name):
    dest = name.replace("-", "_")
    assert getattr(parsed("check"), dest) is None
    assert getattr(parsed("check", f"--{name}"), dest) is True
    assert getattr(parsed("check", f"--no-{name}"), dest) is False
    assert getattr(parsed("check", f"--{name}", f"--no-{name}"), dest) is False  # the last one wins


def test_defaults_and_repeated_options():
    options = parsed("check")
    assert (options.paths, options.formats, options.outputs, options.jobs, options.color) == ([], [], [], 1, "auto")
    assert (options.fail_on, options.config_file, options.isolated, options.quiet) == (None, None, False, False)
    options = parsed("check", "-qj2", "--format=json", "--format", "sarif", "-o", "sarif=x.sarif", "-", "a")
    assert (options.quiet, options.jobs, options.formats, options.outputs) == (True, 2, ["json", "sarif"], ["sarif=x.sarif"])
    assert options.paths == ["-", "a"]
    assert parsed("diff", "a", "b").weights is None and parsed("diff", "--weights", "a", "b").weights is True
    assert parsed("rules").format_ == "text" and parsed("rule", "RA202").rule == "RA202"


def test_version():
    completed = run_cli("--version")
    assert completed.returncode == 0 and re.fullmatch(r"regaudit \d+\.\d+\.\d+\n", completed.stdout)


# --- usage errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, message",
    [
        (["chek"], "No such command 'chek' (did you mean 'check'?)"),
        (["--verison"], "No such option '--verison' (did you mean '--version'?)"),
        (["check", "--formt", "json", CLEAN], "No such option '--formt' (did you mean '--format'?)"),
        (["check", "--form", "json", CLEAN], "No such option '--form'"),  # no prefixes of long options
        (["check", "--format", "jsn", CLEAN], "Invalid value for '--format': 'jsn' is not one of"),
        (["check", "--format", "jsn", CLEAN], "(did you mean 'json'?)"),
        (["check", "--color", "alway", CLEAN], "(did you mean 'always'?)"),
        (["check", "--jobs", "-1", CLEAN], "Invalid value for '--jobs': -1 is not in the range x>=0."),
        (["check", "-j", "two", CLEAN], "Invalid value for '--jobs': 'two' is not a valid integer."),
        (["check", "-j"], "Option '--jobs' requires an argument."),
        (["check", "--quiet=yes", CLEAN], "Option '--quiet' does not take a value."),
        (["check", "--config", "no-such.toml", CLEAN], "Invalid value for '--config': File 'no-such.toml' does not exist."),
        (["check", "--config", "fixtures", CLEAN], "Invalid value for '--config': File 'fixtures' is a directory."),
        (["check", "--root", CLEAN, CLEAN], "is a file."),
        (["check", "--max-weakening", "2", CLEAN], "No such option '--max-weakening'"),
        (["diff", "--max-weakening", "0.5", CLEAN, WARNS], "Invalid value for '--max-weakening': 0.5 is not in the range x>=1.0."),
        (["diff", "--max-weakening", "nan", CLEAN, WARNS], "is not in the range x>=1.0."),
        (["diff", "--no-weights", CLEAN, WARNS], "No such option '--no-weights' (did you mean '--weights'?)"),
        (["diff"], "Missing argument 'OLD NEW | --git REV PATH...'."),
        (["rule"], "Missing argument 'RULE'."),
        (["rule", "RA202", "RA203"], "Got unexpected extra argument (RA203)"),
        (["rules", "extra"], "Got unexpected extra argument (extra)"),
        (["completion", "ksh"], "Invalid value for '{bash|zsh|fish}': 'ksh' is not one of 'bash', 'zsh', 'fish'"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(args, message):
    completed = run_cli(*args)
    assert completed.returncode == 2 and completed.stdout == ""
    assert completed.stderr.startswith("regaudit: error: ") and completed.stderr.count("\n") == 1, completed.stderr
    assert message in completed.stderr


def test_no_command_prints_the_overview_as_a_usage_error():
    completed = run_cli()
    assert completed.returncode == 2 and completed.stdout == ""
    for name in COMMANDS:
        assert re.search(rf"^  {name} +\S", completed.stderr, re.MULTILINE)


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_command_has_help_that_exits_0(command):
    completed = run_cli(command, "--help")
    assert completed.returncode == 0 and completed.stdout.startswith(f"usage: regaudit {command} ")
    assert COMMANDS[command].summary in completed.stdout
    assert max(len(line) for line in completed.stdout.splitlines()) <= 100


def test_a_reader_that_goes_away_is_no_error():
    """`regaudit check ... | head`: the report is cut short, with no traceback and exit 0."""
    process = subprocess.Popen([sys.executable, "-m", "regaudit", "check", str(MODELS)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.read(10)
    process.stdout.close()
    error = process.stderr.read()
    assert process.wait(timeout=120) == 0 and b"Traceback" not in error, error


# --- what a check run imports -----------------------------------------------------------------------


# click and what it imported (typing, inspect, datetime, uuid), and what only other commands need.
UNWANTED = ("click", "typing", "inspect", "datetime", "uuid", "regaudit.diff", "regaudit.git_revision", "tempfile",
            "shlex", "difflib", "subprocess")


@pytest.mark.parametrize("suffix, unwanted", [(".keras", UNWANTED), (".json", UNWANTED + ("shutil", "zipfile"))])
def test_check_imports_neither_click_nor_what_other_commands_need(tmp_path, suffix, unwanted):
    """Nor, for a model JSON file, shutil (argparse's help formatter and the terminal width). Run
    where no configuration file is found: reading one takes tomllib, which imports typing."""
    model = tmp_path / f"model{suffix}"
    if suffix == ".keras":
        shutil.copy(CLEAN, model)
    else:
        model.write_text(json.dumps({"class_name": "Sequential", "config": {"name": "m", "layers": []}}))
    probe = (
        "import sys, regaudit.cli\n"
        f"sys.argv = ['regaudit', 'check', {str(model)!r}]\n"
        "try:\n    regaudit.cli.main()\nexcept SystemExit:\n    pass\n"
        f"print(sorted(m for m in {unwanted!r} if m in sys.modules))\n"
    )
    completed = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path)
    assert completed.stdout.strip().splitlines()[-1] == "[]", completed.stdout + completed.stderr


# --- shell completion -------------------------------------------------------------------------------


def complete_in_bash(tmp_path: Path, line: str) -> list[str]:
    """What bash offers on <TAB> at the end of `line`: the script `regaudit completion bash`
    prints, sourced into a real bash, its function called as bash's completion would call it."""
    bin_folder = tmp_path / "bin"
    bin_folder.mkdir(exist_ok=True)
    command = bin_folder / "regaudit"  # the code under test, wherever the installed one points
    command.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m regaudit "$@"\n')
    command.chmod(0o755)
    words = line.split(" ")
    program = "\n".join([
        run_cli("completion", "bash").stdout,
        'compopt() { local IFS=" "; echo "compopt $*"; }',  # outside readline compopt cannot run: show what was asked
        f"COMP_WORDS=({' '.join(shlex.quote(word) for word in words)})",
        f"COMP_CWORD={len(words) - 1}",
        "_regaudit_completion regaudit",
        'printf "%s\\n" "${COMPREPLY[@]}"',
    ])
    completed = subprocess.run(["bash", "--norc", "--noprofile", "-c", program], capture_output=True, text=True,
                               env={**os.environ, "PATH": f"{bin_folder}:/usr/bin:/bin"}, timeout=60)
    assert completed.returncode == 0, completed.stderr
    return [line for line in completed.stdout.splitlines() if line]


@pytest.mark.parametrize(
    "line, offered",
    [
        ("regaudit ch", ["check"]),
        ("regaudit check --fo", ["--format", "--force-exclude"]),
        ("regaudit check --format j", ["json", "junit"]),
        ("regaudit diff --format ", ["text", "json", "markdown", "github"]),
        ("regaudit check --fail-on w", ["warning"]),
        ("regaudit rule double-", ["double-weight-decay"]),
        ("regaudit completion ", ["bash", "zsh", "fish"]),
        ("regaudit check --config ", ["compopt -o default"]),  # files, from bash itself
        ("regaudit check --root ", ["compopt -o dirnames"]),
        ("regaudit check ", ["compopt -o default"]),
    ],
)
def test_bash_completion_with_the_script_sourced(tmp_path, line, offered):
    assert shutil.which("bash")
    assert complete_in_bash(tmp_path, line) == offered


def test_bash_completion_of_rule_codes_after_a_comma(tmp_path):
    offered = complete_in_bash(tmp_path, "regaudit check --ignore RA101,RA20")
    assert "RA101,RA202" in offered and all(word.startswith("RA101,RA20") for word in offered)
    assert complete_in_bash(tmp_path, "regaudit check --select RA1,double-w") == ["RA1,double-weight-decay"]


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_scripts_are_valid_and_call_regaudit_back(shell):
    script = run_cli("completion", shell).stdout
    assert "_REGAUDIT_COMPLETE" in script and f"{shell}_complete" in script and script.endswith("\n")
    assert run_cli(env={"_REGAUDIT_COMPLETE": f"{shell}_source"}).stdout == script
    if shell == "bash":
        assert subprocess.run(["bash", "-n"], input=script, text=True).returncode == 0


def test_zsh_and_fish_answers_carry_descriptions():
    zsh = run_cli(env={"_REGAUDIT_COMPLETE": "zsh_complete", "COMP_WORDS": "regaudit check --sel", "COMP_CWORD": "2"})
    assert zsh.stdout.split("\n")[:3] == ["plain", "--select", "Rules to run: codes, prefixes (RA2) or names."]
    fish = run_cli(env={"_REGAUDIT_COMPLETE": "fish_complete", "COMP_WORDS": "regaudit rule RA20", "COMP_CWORD": "RA20"})
    assert any(line.startswith("plain,RA202\t") for line in fish.stdout.splitlines())
    files = run_cli(env={"_REGAUDIT_COMPLETE": "zsh_complete", "COMP_WORDS": "regaudit check ", "COMP_CWORD": "2"})
    assert files.stdout == "file\n\n_\n"
