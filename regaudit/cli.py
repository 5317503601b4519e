"""The `regaudit` command line. Parse options, resolve configuration once, run, render, exit."""

from __future__ import annotations

import io
import os
import re
import sys
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, NamedTuple, TextIO

import click

from regaudit import __version__
from regaudit.config import FAIL_ON_CHOICES
from regaudit.outcomes import ExitCode
from regaudit.reporters import DIFF_FORMATS, FORMATS

EXIT_CODES_HELP = """\b
Exit codes:
  0  no finding at or above --fail-on
  1  findings at or above --fail-on
  2  usage, configuration or internal error
  3  an input could not be read, or nothing at all was auditable"""

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(context_settings=CONTEXT)
@click.version_option(__version__, "--version", prog_name="regaudit", message="%(prog)s %(version)s")
def cli() -> None:
    """Static regularization auditor for saved Keras models."""


def _config_options(command: Callable) -> Callable:
    """--config and --isolated, shared by the commands that read configuration."""
    command = click.option("--isolated", is_flag=True, help="Ignore configuration files.")(command)
    return click.option(
        "--config", "config_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="Read configuration from FILE instead of looking for one from the working directory up.",
    )(command)


def _split(values: tuple[str, ...], keep_empty: bool = False) -> list[str] | None:
    """Lists may be repeated or comma-separated: --ignore RA1 --ignore RA203,RA204. With
    `keep_empty`, an option given only as "" is an empty list (`--exclude ""` excludes nothing)."""
    items = [item.strip() for value in values for item in value.split(",") if item.strip()]
    return items or ([] if keep_empty and values else None)


def _complete_rules(ctx: click.Context, param: click.Parameter, incomplete: str) -> list:
    """Shell completion of rule codes and names (`RA20<TAB>`, `double-<TAB>`), after a comma too."""
    from click.shell_completion import CompletionItem

    from regaudit.catalog import load_catalog

    head, _, last = incomplete.rpartition(",")
    prefix = f"{head}," if head else ""
    items = []
    for rule in load_catalog().rules.values():
        for word in (rule.code, rule.name):
            if word.lower().startswith(last.lower()):
                items.append(CompletionItem(prefix + word, help=rule.summary))
    return items


COLOR_CHOICES = ("auto", "always", "never")


@cli.command(epilog=EXIT_CODES_HELP, context_settings=CONTEXT)
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@click.option("--format", "formats", type=click.Choice(FORMATS), multiple=True,
              help="Report format; repeat it to write several reports in one run. [default: text]")
@click.option("--output", "-o", "outputs", multiple=True, metavar="[FORMAT=]FILE",
              help="Write a report to FILE (whole or not at all) instead of standard output: "
                   "FORMAT=FILE for one of several formats, e.g. --output sarif=regaudit.sarif.")
@click.option("--fail-on", type=click.Choice(FAIL_ON_CHOICES),
              help="Lowest finding severity that makes the run fail (exit 1). [default: error]")
@click.option("--exit-zero", is_flag=True,
              help="Findings never fail the run (exit 0); inputs that cannot be read still exit 3.")
@click.option("--select", multiple=True, metavar="RULES", shell_complete=_complete_rules,
              help="Rules to run: codes, prefixes (RA2) or names.")
@click.option("--extend-select", multiple=True, metavar="RULES", shell_complete=_complete_rules,
              help="Rules to run in addition to --select.")
@click.option("--ignore", multiple=True, metavar="RULES", shell_complete=_complete_rules, help="Rules not to run.")
@click.option("--exclude", multiple=True, metavar="GLOBS",
              help="Paths to leave out (gitignore-style globs), replacing the configured list.")
@click.option("--extend-exclude", multiple=True, metavar="GLOBS", help="Paths to leave out, in addition.")
@click.option("--respect-gitignore/--no-respect-gitignore", default=None,
              help="Leave out what .gitignore files ignore in directory walks. [default: respect]")
@click.option("--force-exclude/--no-force-exclude", default=None,
              help="Apply the exclusions to files named on the command line too (pre-commit).")
@click.option("--target-keras", metavar="VERSION", help="Keras version the model will be trained with (RA402).")
@click.option("--baseline", type=click.Path(dir_okay=False, path_type=Path),
              help="Fail only on findings not recorded in this baseline file.")
@click.option("--write-baseline", type=click.Path(dir_okay=False, path_type=Path),
              help="Record this run's findings in a baseline file; they do not fail this run.")
@click.option("--weights/--no-weights", default=None,
              help="Also read the stored weights: each regularizer's penalty, per-weight statistics, RA6xx. "
                   "[default: no, or `weights` in the configuration]")
@click.option("--statistics", is_flag=True,
              help="Print, instead of the report on standard output, the number of findings per rule and "
                   "of skipped and unreadable inputs (text or JSON).")
@click.option("--quiet", "-q", is_flag=True, help="Print only findings and inputs that could not be read.")
@click.option("--color", type=click.Choice(COLOR_CHOICES), default="auto", show_default=True,
              help="Colour the text report: auto is on a terminal only, and never with NO_COLOR set; "
                   "FORCE_COLOR turns it on in auto.")
@click.option("--root", type=click.Path(file_okay=False, path_type=Path),
              help="Folder that report paths and SARIF URIs are relative to. [default: the git top level, "
                   "else the working directory]")
@click.option("--jobs", "-j", type=click.IntRange(min=0), default=1, show_default=True,
              help="Audit files in this many processes (0: one per CPU, or none when there are too "
                   "few files to pay for them); the report is the same.")
@click.option("--ignore-unknown", is_flag=True,
              help="Pass over named files that are not Keras models, and do not fail a run that audits "
                   "nothing (for pre-commit hooks).")
@_config_options
def check(paths: tuple[str, ...], formats: tuple[str, ...], outputs: tuple[str, ...], fail_on: str | None,
          exit_zero: bool, select: tuple[str, ...], extend_select: tuple[str, ...], ignore: tuple[str, ...],
          exclude: tuple[str, ...], extend_exclude: tuple[str, ...], respect_gitignore: bool | None,
          force_exclude: bool | None, target_keras: str | None, baseline: Path | None,
          write_baseline: Path | None, statistics: bool, quiet: bool, color: str, root: Path | None, jobs: int,
          ignore_unknown: bool, weights: bool | None, config_file: Path | None, isolated: bool) -> None:
    """Audit model files (.keras, .h5, model JSON, TF.js model.json) and directories.

    With no PATH, the current directory is audited. `-` reads a model config JSON from standard
    input.
    """
    from regaudit.engine import Audit
    from regaudit.reporters import feed
    from regaudit.suppression import BaselineWriter

    if baseline and write_baseline:
        raise click.UsageError("--baseline and --write-baseline cannot be used together")
    _refuse_options_after_separator(paths)
    destinations = _destinations(formats, outputs)
    _check_statistics(statistics, destinations)
    _check_output_folders([output for _, output in destinations if output is not None] + [write_baseline])
    command_line = {
        "fail-on": fail_on,
        "select": _split(select),
        "extend-select": _split(extend_select),
        "ignore": _split(ignore),
        "exclude": _split(exclude, keep_empty=True),
        "extend-exclude": _split(extend_exclude),
        "respect-gitignore": respect_gitignore,
        "force-exclude": force_exclude,
        "target-keras": target_keras,
        "baseline": str(baseline) if baseline else None,
        "weights": weights,
    }
    settings, _ = _settings(command_line, config_file, isolated)
    if write_baseline:  # record everything the configuration reports, not what an old baseline hid
        settings = _without_baseline(settings)
    show_progress = sys.stderr.isatty() and not quiet
    run = Audit(paths or (".",), settings, jobs=jobs, ignore_unknown=ignore_unknown,
                progress=_progress_bar if show_progress else None)
    presentation = _Presentation(settings, quiet, exit_zero, not ignore_unknown, color, statistics,
                                 root or _repository_root(Path.cwd()))
    baseline_writer = BaselineWriter(write_baseline) if write_baseline else None
    with ExitStack() as streams:  # every report is written as the run goes, each artifact once
        consumers = [_check_reporter(format_, presentation, streams.enter_context(_destination(output)))
                     for format_, output in destinations]
        feed(consumers + ([baseline_writer] if baseline_writer else []), run, lambda: run.totals)
    if baseline_writer:
        click.echo(f"regaudit: wrote {baseline_writer.entries} baseline entries to {write_baseline}", err=True)
    gate = None if (write_baseline or exit_zero) else settings.fail_on
    sys.exit(run.totals.exit_code(gate, require_audit=not ignore_unknown))


def _hoist_hook_arguments(argv: list[str]) -> list[str]:
    """Move a pre-commit hook's `args:` back before the hook entry's `--`.

    pre-commit runs `entry` + `args:` + the staged file names. The hook's entry ends with `--` so
    that no file name (a committed `--write-baseline=x.json`) can become an option, which puts the
    user's `args:` after it too. The leading run of arguments after `--` that are options of
    `regaudit check` (with their values) and name no existing file is moved before it; the first
    argument that names a file or is no such option ends the run, and it and everything after it
    stay paths. Outside that run nothing changes: `--` keeps its meaning for every file name.
    """
    if not argv or argv[0] != "check" or "--" not in argv:
        return argv
    separator = argv.index("--")
    takes_value = _check_option_arity()
    index = separator + 1
    while index < len(argv):
        argument = argv[index]
        name, equals, _ = argument.partition("=")
        if os.path.lexists(argument) or name not in takes_value:
            break
        index += 2 if takes_value[name] and not equals else 1
    return argv[:separator] + argv[separator + 1 : index] + ["--"] + argv[index:]


def _check_option_arity() -> dict[str, bool]:
    """Every spelling of a `regaudit check` option, and whether it takes a value."""
    return {
        spelling: not (parameter.is_flag or parameter.count)
        for parameter in check.params
        if isinstance(parameter, click.Option)
        for spelling in (*parameter.opts, *parameter.secondary_opts)
    }


def _refuse_options_after_separator(paths: tuple[str, ...]) -> None:
    """An option that no file matches can only be a path because it came after `--` (and was not
    hoisted by `_hoist_hook_arguments`: misspelt, or after a file name). Say so rather than pass
    over it as a file."""
    for path in paths:
        if path.startswith("-") and path != "-" and not os.path.lexists(path):  # "-" is standard input
            raise click.UsageError(
                f"no file {path!r}: after `--` every argument is a path; give options before it "
                "(a misspelt option, or an option after a file name?)"
            )


def _destinations(formats: tuple[str, ...], outputs: tuple[str, ...]) -> list[tuple[str, Path | None]]:
    """Pair each requested format with its file, or with standard output (None) for at most one."""
    requested = list(dict.fromkeys(formats))
    files: dict[str, Path] = {}
    unkeyed: list[Path] = []
    for output in outputs:
        name, equals, target = output.partition("=")
        if equals and name in FORMATS:
            if name in files:
                raise click.UsageError(f"--output {name}=... is given twice")
            files[name] = Path(target)
            if name not in requested:  # --output sarif=x.sarif asks for SARIF too
                requested.append(name)
        elif equals and re.fullmatch(r"[A-Za-z][\w-]*", name):
            # `--output foo=x` names a format; a file whose name holds `=` can be given as ./foo=x.
            raise click.UsageError(f"unknown report format {name!r}{_did_you_mean(name, FORMATS)}; "
                                   f"choose from {', '.join(FORMATS)}")
        else:
            unkeyed.append(Path(output))
    # With no --format, standard output always gets the text report, as the README promises for
    # `--output sarif=x --output html=y`; an unkeyed --output FILE then takes the text report.
    if not formats and len(requested) == len(files):
        requested.insert(0, "text")
    to_stdout = [format_ for format_ in requested if format_ not in files]
    if unkeyed:
        if len(unkeyed) > 1 or len(to_stdout) != 1:
            raise click.UsageError("with several formats, name each file as --output FORMAT=FILE")
        files[to_stdout.pop()] = unkeyed[0]
    if len(to_stdout) > 1:
        raise click.UsageError(
            f"only one report can go to standard output, not {' and '.join(to_stdout)}; "
            "write the others with --output FORMAT=FILE"
        )
    return [(format_, files.get(format_)) for format_ in requested]


def _check_statistics(statistics: bool, destinations: list[tuple[str, Path | None]]) -> None:
    """--statistics replaces the report on standard output, which must then be text or JSON."""
    from regaudit.reporters.statistics import STATISTICS_FORMATS

    if not statistics:
        return
    on_stdout = [format_ for format_, output in destinations if output is None]
    if not on_stdout or on_stdout[0] not in STATISTICS_FORMATS:
        shown = f"--format {on_stdout[0]}" if on_stdout else "no report on standard output"
        raise click.UsageError(f"--statistics prints text or JSON on standard output, not with {shown}; "
                               "write that report with --output FORMAT=FILE")


def _check_output_folders(outputs: list[Path | None]) -> None:
    """Reported before the audit runs, not after it has taken its time."""
    for output in outputs:
        if output is None:
            continue
        folder = output.parent
        if not folder.is_dir():
            raise click.UsageError(f"cannot write {output}: the directory {folder} does not exist")


def _did_you_mean(word: str, choices) -> str:
    import difflib  # only on this error path

    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


PROGRESS_MIN_FILES = 10
# The rate is known, and an estimate worth showing, only after this many files and seconds.
ETA_MIN_FILES = 5
ETA_MIN_SECONDS = 1.0


def _progress_bar(items, total: int):
    """A progress line on standard error, for scans of many files on a terminal only; no time
    estimate until the rate is known, and the line is cleared when the audit ends."""
    if total < PROGRESS_MIN_FILES:
        yield from items
        return
    import time

    started = time.monotonic()
    done = 0
    try:
        _draw_progress(done, total, None)
        for item in items:
            yield item
            done += 1
            elapsed = time.monotonic() - started
            known = done >= ETA_MIN_FILES and elapsed >= ETA_MIN_SECONDS
            _draw_progress(done, total, elapsed / done * (total - done) if known else None)
    finally:
        sys.stderr.write("\r\x1b[2K")
        sys.stderr.flush()


def _draw_progress(done: int, total: int, remaining: float | None) -> None:
    width = 30
    filled = width * done // total
    eta = f"  {int(remaining) // 60}:{int(remaining) % 60:02d} left" if remaining is not None else ""
    sys.stderr.write(f"\r\x1b[2KAuditing [{'#' * filled}{'-' * (width - filled)}] {done}/{total}{eta}")
    sys.stderr.flush()


@cli.command(context_settings=CONTEXT)
@click.argument("shell", type=click.Choice(("bash", "zsh", "fish")))
def completion(shell: str) -> None:
    """Print a shell completion script (options, rule codes and names).

    \b
    bash:  eval "$(regaudit completion bash)"       (in ~/.bashrc)
    zsh:   eval "$(regaudit completion zsh)"        (in ~/.zshrc)
    fish:  regaudit completion fish > ~/.config/fish/completions/regaudit.fish
    """
    from click.shell_completion import get_completion_class

    completer = get_completion_class(shell)
    assert completer is not None
    script = completer(cli, {}, PROG_NAME, COMPLETE_VAR).source()
    sys.stdout.write(script if script.endswith("\n") else script + "\n")


PROG_NAME = "regaudit"
COMPLETE_VAR = "_REGAUDIT_COMPLETE"


@cli.command(context_settings=CONTEXT)
@click.option("--format", "format_", type=click.Choice(("text", "json", "markdown")), default="text",
              show_default=True)
def rules(format_: str) -> None:
    """List every rule in the catalog."""
    from regaudit.catalog import load_catalog
    from regaudit.reporters import explain as render

    render.rule_list(load_catalog(), format_, sys.stdout)


@cli.command(context_settings=CONTEXT)
@click.argument("rule", shell_complete=_complete_rules)
@click.option("--format", "format_", type=click.Choice(("text", "json")), default="text", show_default=True)
def rule(rule: str, format_: str) -> None:
    """Explain RULE (a code such as RA202, or a name such as double-weight-decay)."""
    from regaudit.catalog import load_catalog
    from regaudit.reporters import explain as render

    catalog = load_catalog()
    found = catalog.get(rule)
    if found is None:
        retired = catalog.retired.get(rule.upper())
        reason = (f"{rule.upper()} was retired: {retired}" if retired
                  else f"no rule {rule!r}{catalog.did_you_mean(rule)} (see `regaudit rules`)")
        raise click.UsageError(reason)
    render.rule_doc(found, format_, sys.stdout)


@cli.command("config", context_settings=CONTEXT)
@click.option("--format", "format_", type=click.Choice(("text", "json")), default="text", show_default=True)
@_config_options
def show_config(format_: str, config_file: Path | None, isolated: bool) -> None:
    """Print the effective configuration and where each value came from."""
    from regaudit.reporters import explain as render

    settings, path = _settings({}, config_file, isolated)
    render.settings(settings, path, format_, sys.stdout)


def _settings(command_line: dict[str, Any], config_file: Path | None, isolated: bool):
    from regaudit.catalog import load_catalog
    from regaudit.config import ConfigError, resolve

    if config_file is not None and isolated:  # --isolated would silently drop FILE and its policy
        raise click.UsageError("--config and --isolated cannot be used together")
    given = {key: value for key, value in command_line.items() if value is not None}
    try:
        return resolve(given, known_code=load_catalog().is_selector, config_file=config_file, isolated=isolated)
    except ConfigError as error:
        raise click.UsageError(str(error)) from None


def _without_baseline(settings):
    return settings._replace(baseline=None)


class _Presentation(NamedTuple):
    """How the reports of one `check` run are presented; resolved once from the options."""

    settings: Any
    quiet: bool
    exit_zero: bool
    require_audit: bool
    color: str  # auto, always or never
    statistics: bool
    root: Path  # report paths and SARIF URIs are relative to it


def _repository_root(start: Path) -> Path:
    """The git top level above `start` (the folder holding `.git`), else `start` itself: code
    scanning and annotations map paths relative to the repository, wherever regaudit runs."""
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    return start


def _check_reporter(format_: str, presentation: _Presentation, stream: TextIO):
    from regaudit.catalog import load_catalog
    from regaudit.reporters import ReportContext, reporter

    on_stdout = stream is sys.stdout
    context = ReportContext(
        catalog=load_catalog(),
        color=format_ in ("text", "concise") and on_stdout and _wants_color(stream, presentation.color),
        fail_on=presentation.settings.fail_on,
        root=presentation.root,
        width=_text_width(stream),
        quiet=presentation.quiet,
        exit_zero=presentation.exit_zero,
        require_audit=presentation.require_audit,
    )
    if presentation.statistics and on_stdout:
        return reporter("statistics", context, stream, as_json=format_ == "json")
    return reporter(format_, context, stream)


def _text_width(stream: object) -> int:
    """The terminal's width (COLUMNS, else what the terminal says) on a TTY; 100 otherwise."""
    import shutil

    from regaudit.reporters import DEFAULT_WIDTH

    if not getattr(stream, "isatty", lambda: False)():
        return DEFAULT_WIDTH
    return shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns


def _emit(output: Path | None, write: Callable[[TextIO], None]) -> None:
    with _destination(output) as stream:
        write(stream)


@contextmanager
def _destination(output: Path | None) -> Iterator[TextIO]:
    """Standard output, or a buffer written whole to `output` once the report is complete."""
    if output is None:
        yield sys.stdout
        return
    buffer = io.StringIO()
    yield buffer
    _write_whole(output, buffer.getvalue())


def _wants_color(stream: object, choice: str = "auto") -> bool:
    """--color always/never wins; in auto, NO_COLOR (https://no-color.org) turns colour off,
    FORCE_COLOR (https://force-color.org) turns it on, and otherwise a terminal decides."""
    if choice != "auto":
        return choice == "always"
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return bool(getattr(stream, "isatty", lambda: False)())


def _write_whole(path: Path, text: str) -> None:
    """Write via a temporary file in the same folder, so a reader never sees half a report.

    Only regular files are replaced that way: a device or pipe (/dev/null, /dev/stdout, a FIFO a
    CI step reads from) is written to in place, never swapped for a file.
    """
    import stat

    try:
        if not stat.S_ISREG(path.stat().st_mode):
            with open(path, "w", encoding="utf-8") as stream:
                stream.write(text)
            return
    except FileNotFoundError:
        pass
    except OSError as error:
        raise click.UsageError(f"cannot write {path}: {error.strerror}") from None
    import tempfile

    try:
        handle, temporary = tempfile.mkstemp(dir=path.parent if str(path.parent) else ".", prefix=f".{path.name}.")
    except OSError as error:
        raise click.UsageError(f"cannot write {path}: {error.strerror}") from None
    replaced = False
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        # mkstemp creates the file private (0600); a report gets what any new file would.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, path)
        replaced = True
    except OSError as error:
        raise click.UsageError(f"cannot write {path}: {error.strerror}") from None
    finally:  # whatever stopped the write, even an interrupt, leaves no hidden file behind
        if not replaced:
            os.unlink(temporary)


# --- regaudit diff --------------------------------------------------------------------------------

DIFF_EXIT_CODES_HELP = """\b
Exit codes:
  0  no introduced finding at or above --fail-on, and (with --fail-on-removed) no regularization
     removed or weakened
  1  NEW introduces findings at or above --fail-on, or --fail-on-removed found regularization
     removed from (or weakened beyond --max-weakening on) a weight-bearing layer
  2  usage, configuration or internal error
  3  either side could not be read"""


@cli.command(epilog=DIFF_EXIT_CODES_HELP, context_settings=CONTEXT)
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=str), metavar="OLD NEW | --git REV PATH...")
@click.option("--git", "revision", metavar="REV",
              help="Read OLD from git at REV (a commit, branch or tag) and NEW from the working tree: "
                   "regaudit diff --git origin/main models/")
@click.option("--format", "formats", type=click.Choice(DIFF_FORMATS), multiple=True,
              help="Report format; repeat it to write several reports in one run. [default: text]")
@click.option("--output", "-o", "outputs", multiple=True, metavar="[FORMAT=]FILE",
              help="Write a report to FILE instead of standard output (FORMAT=FILE for one of several).")
@click.option("--fail-on", type=click.Choice(FAIL_ON_CHOICES),
              help="Lowest severity of a finding NEW introduces that makes the run fail (exit 1). [default: error]")
@click.option("--fail-on-removed", is_flag=True,
              help="Also fail when a weight-bearing layer loses a regularizer (or its factors all become 0).")
@click.option("--max-weakening", type=click.FloatRange(min=1.0), metavar="RATIO",
              help="With --fail-on-removed, also fail when a factor is divided by more than RATIO "
                   "(10: 1e-3 -> 5e-5 fails, 1e-3 -> 1e-4 passes). Implies --fail-on-removed.")
@click.option("--weights", is_flag=True, default=None,
              help="Also read both sides' stored weights and show each regularized slot's penalty change.")
@_config_options
def diff(paths: tuple[str, ...], revision: str | None, formats: tuple[str, ...], outputs: tuple[str, ...],
         fail_on: str | None, fail_on_removed: bool, max_weakening: float | None, weights: bool | None,
         config_file: Path | None, isolated: bool) -> None:
    """Show what changed in the regularization between OLD and NEW (two model files or directories),
    or, with --git REV, between each PATH at REV and in the working tree."""
    import tempfile

    from regaudit.diff import Gate, compare, side

    destinations = _destinations(formats, outputs)
    unsupported = [format_ for format_, _ in destinations if format_ not in DIFF_FORMATS]
    if unsupported:
        raise click.UsageError(f"diff reports come in {', '.join(DIFF_FORMATS)}, not {', '.join(unsupported)}")
    if revision is None and len(paths) != 2:
        raise click.UsageError("give OLD and NEW, or --git REV and the paths to compare")
    settings, _ = _settings({"fail-on": fail_on, "weights": weights}, config_file, isolated)
    settings = _without_baseline(settings)  # a diff compares findings itself; the baseline would hide them
    gate = Gate(settings.fail_on, fail_on_removed or max_weakening is not None, max_weakening)
    with tempfile.TemporaryDirectory(prefix="regaudit-diff-") as folder:
        if revision is None:
            sides = [(side(paths[0], settings), side(paths[1], settings))]
        else:
            sides = _git_sides(revision, list(paths), Path(folder), settings)
        result = compare(sides, gate)
        for format_, output in destinations:
            _emit(output, lambda stream, f=format_: _render_diff(result, f, stream))
    sys.exit(result.exit_code())


def _git_sides(revision: str, paths: list[str], folder: Path, settings):
    from regaudit.diff import side
    from regaudit.git_revision import GitProblem, materialize

    try:
        materialized = materialize(revision, paths, folder)
    except GitProblem as problem:
        click.echo(f"regaudit: {problem}", err=True)
        sys.exit(problem.exit_code)
    # per-file-ignores globs are matched relative to the configuration's folder: on the old side,
    # that folder's place in the copy, so that both sides suppress the same findings.
    old_settings = settings._replace(root=materialized.mirror(settings.root))
    sides = []
    for old in materialized.paths:
        exists = os.path.lexists(old.given)
        if old.materialized is None and not exists:
            raise click.UsageError(f"{old.given} is neither in {revision} nor in the working tree")
        old_side = side(str(old.materialized) if old.materialized else None, old_settings, shown_as=old.given)
        sides.append((old_side, side(old.given if exists else None, settings, shown_as=old.given)))
    return sides


def _render_diff(result, format_: str, stream: TextIO) -> None:
    from regaudit.catalog import load_catalog
    from regaudit.reporters import ReportContext, render_diff

    context = ReportContext(
        catalog=load_catalog(),
        color=format_ == "text" and stream is sys.stdout and _wants_color(stream),
        fail_on=result.gate.fail_on,
        root=Path.cwd(),
    )
    render_diff(format_, result, context, stream)


def main() -> None:
    try:
        cli.main(args=_hoist_hook_arguments(sys.argv[1:]), prog_name=PROG_NAME, complete_var=COMPLETE_VAR,
                 standalone_mode=False)
    except click.exceptions.Exit as exit_:
        sys.exit(exit_.exit_code)
    except click.ClickException as error:
        error.show()
        sys.exit(ExitCode.USAGE)
    except click.exceptions.Abort:
        sys.exit(130)
    except BrokenPipeError:
        # The reader went away (`regaudit check ... | head`): not an error worth a traceback.
        sys.stderr.close()
        sys.exit(ExitCode.OK)
    except Exception as error:  # never a traceback for a user
        from regaudit.reporters._escape import log_text  # the error may quote a name from a file

        click.echo(f"regaudit: internal error: {type(error).__name__}: {log_text(str(error))}", err=True)
        sys.exit(ExitCode.USAGE)
