"""The `regaudit` command line. Parse options, resolve configuration once, run, render, exit.

Why argparse and not click (issue 11): a one-file `regaudit check` must take at most 1.5x the
floor (`bench/floor.py`: Python start-up, zipfile, json and one walk), about 46 ms on the bench
machine, where Python alone starts in 11 ms and the floor takes 31. `python -X importtime` put
`import click` at ~15 ms cumulative (click.core and click.types, and the inspect, ast, dis,
tokenize, uuid, platform, datetime, gettext and locale modules they import): the whole remaining
budget, before regaudit has imported anything of its own or read a byte. Importing click later
cannot help, since every run parses its command line. argparse costs ~1.1 ms beyond what the
floor imports (argparse itself and gettext), plus ~0.7 ms for `locale`, which gettext imports
when the first parser looks up a translation; only the parser of the command being run is
built. Before and after: bench/NOTES.md, "One file: the command line without click".
"""

from __future__ import annotations

import argparse
import gc
import io
import os
import sys
from contextlib import ExitStack, contextmanager

from regaudit import __version__

TYPE_CHECKING = False  # `typing` costs milliseconds at start-up; type checkers take this branch
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any, Callable, Iterator, TextIO

PROG_NAME = "regaudit"
COMPLETE_VAR = "_REGAUDIT_COMPLETE"
HELP_WIDTH = 100


class UsageError(Exception):
    """A command line that cannot run: one line on standard error and exit 2 (ExitCode.USAGE)."""


# --- parsing ----------------------------------------------------------------------------------------


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Descriptions and epilogs as written (they hold tables of exit codes); option help wrapped
    to the terminal, at most 100 columns."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=32, width=_help_width() - 2)

    def _format_action_invocation(self, action: argparse.Action) -> str:
        """`-o, --output FILE` rather than argparse's `-o FILE, --output FILE`."""
        if action.nargs == 0:
            return super()._format_action_invocation(action)
        value = self._format_args(action, self._get_default_metavar_for_optional(action))
        return f"{', '.join(action.option_strings)} {value}"

    def _split_lines(self, text: str, width: int) -> list[str]:
        """Wrapped at spaces only: `pre-commit` and `per-weight` stay whole."""
        import textwrap

        return textwrap.wrap(" ".join(text.split()), width, break_on_hyphens=False)


def _help_width() -> int:
    """COLUMNS, else the terminal's width, at most 100: what shutil.get_terminal_size gives, without
    importing shutil (and the compression modules it imports) on every run, since argparse makes a
    formatter for each option it defines."""
    try:
        columns = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns
        except (AttributeError, ValueError, OSError):  # no standard output, or not a terminal
            columns = HELP_WIDTH
    return min(HELP_WIDTH, columns) if columns > 0 else HELP_WIDTH


class _Parser(argparse.ArgumentParser):
    """One command's options. Errors come back as UsageError instead of exiting, so that `main()`
    prints every usage error the same way; prefixes of long options are not accepted, so that a
    file name after `--` in a pre-commit hook never turns into an option by abbreviation."""

    def __init__(self, prog: str, usage: str, description: str, epilog: str | None = None) -> None:
        super().__init__(prog=prog, usage=f"%(prog)s {usage}", description=description, epilog=epilog,
                         formatter_class=_HelpFormatter, add_help=False, allow_abbrev=False,
                         exit_on_error=False)

    def error(self, message: str) -> None:  # argparse's complaints that are no ArgumentError
        raise UsageError(message)

    def options(self) -> list[argparse.Action]:
        """The parser's options (not its positional arguments), in the order they were defined."""
        return [action for action in self._actions if action.option_strings]


class _Arguments:
    """A command's positional arguments: at least `least`, at most `most` (None: any number), each
    checked by `type`, and `complete` for the shell.

    Not argparse positionals: those are read once, in one run (`check a.keras --quiet b.keras`
    leaves b.keras over), and argparse's intermixed parsing that lifts this reads options after
    `--` as options, which the pre-commit hook relies on never happening.
    """

    def __init__(self, dest: str, metavar: str, least: int, most: int | None, type=None, complete=None) -> None:
        self.dest, self.metavar, self.least, self.most = dest, metavar, least, most
        self.type, self.complete = type, complete

    def take(self, values: list[str]):
        """The arguments' value: one value when `most` is 1, else the list."""
        if len(values) < self.least:
            raise UsageError(f"Missing argument {self.metavar!r}.")
        if self.most is not None and len(values) > self.most:
            raise UsageError(f"Got unexpected extra argument ({values[self.most]})")
        if self.type is not None:
            try:
                values = [self.type(value) for value in values]
            except argparse.ArgumentTypeError as error:
                raise UsageError(f"Invalid value for {self.metavar!r}: {error}") from None
        return values[0] if self.most == 1 else values


def _parse(parser: _Parser, positional: _Arguments | None, arguments: list[str]) -> argparse.Namespace:
    """The command line as options and positional arguments, which may come in any order
    (`check a.keras --quiet b.keras`); after the first `--` every argument is positional. An
    unknown option, a missing or surplus argument or a bad value is a UsageError."""
    tail: list[str] = []
    if "--" in arguments:
        separator = arguments.index("--")
        arguments, tail = arguments[:separator], arguments[separator + 1 :]
    try:
        options, extra = parser.parse_known_args(arguments)
    except argparse.ArgumentError as error:
        raise UsageError(_reworded(error)) from None
    for argument in extra:
        if argument.startswith("-") and argument != "-":  # "-" is standard input
            raise UsageError(_unknown_option(parser, argument))
    values = extra + tail
    if positional is None:
        if values:
            raise UsageError(f"Got unexpected extra argument ({values[0]})")
        return options
    setattr(options, positional.dest, positional.take(values))
    return options


def _reworded(error: argparse.ArgumentError) -> str:
    """argparse's complaint about one argument, in the words regaudit's usage errors use."""
    spellings = (error.argument_name or "").split("/")
    name = max(spellings, key=len)  # --jobs rather than -j
    if error.message.startswith("expected "):  # "expected one argument"
        return f"Option {name!r} requires an argument."
    if error.message.startswith("ignored explicit argument"):  # --quiet=yes
        return f"Option {name!r} does not take a value."
    return f"Invalid value for {name!r}: {error.message}"


def _unknown_option(parser: _Parser, argument: str) -> str:
    name = argument.partition("=")[0]
    spellings = [spelling for action in parser.options() for spelling in action.option_strings]
    return f"No such option {name!r}{_did_you_mean(name, spellings)}"


def _did_you_mean(word: str, choices) -> str:
    import difflib  # only on this error path

    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


# --- option values ----------------------------------------------------------------------------------


class _Choice:
    """An option value from a fixed list; a misspelling gets the closest one suggested."""

    def __init__(self, choices) -> None:
        self.choices = tuple(choices)
        self.metavar = f"[{'|'.join(self.choices)}]"

    def __call__(self, value: str) -> str:
        if value not in self.choices:
            listed = ", ".join(repr(choice) for choice in self.choices)
            raise argparse.ArgumentTypeError(f"{value!r} is not one of {listed}{_did_you_mean(value, self.choices)}.")
        return value

    def complete(self, incomplete: str) -> list[tuple[str, str, str | None]]:
        return [("plain", choice, None) for choice in self.choices if choice.startswith(incomplete)]


class _AtLeast:
    """A number (int or float) not below `minimum`: --jobs 0 and up, --max-weakening 1.0 and up."""

    def __init__(self, kind: type, minimum: float) -> None:
        self.kind, self.minimum = kind, minimum

    def __call__(self, text: str):
        try:
            value = self.kind(text)
        except ValueError:
            noun = "integer" if self.kind is int else "number"
            raise argparse.ArgumentTypeError(f"{text!r} is not a valid {noun}.") from None
        if not value >= self.minimum:  # `not >=`, so that a float NaN is refused too
            raise argparse.ArgumentTypeError(f"{value} is not in the range x>={self.minimum}.")
        return value


class _PathValue:
    """A file or folder option (`kind` "file" or "dir"), refused when it names the other kind, or,
    with `exists`, when it names nothing; shell completion offers files or folders for it."""

    def __init__(self, kind: str, exists: bool = False) -> None:
        self.kind, self.exists = kind, exists

    def __call__(self, text: str) -> Path:
        from pathlib import Path

        path = Path(text)
        if self.exists and not path.exists():
            raise argparse.ArgumentTypeError(f"File {text!r} does not exist.")
        if self.kind == "file" and path.is_dir():
            raise argparse.ArgumentTypeError(f"File {text!r} is a directory.")
        if self.kind == "dir" and path.exists() and not path.is_dir():
            raise argparse.ArgumentTypeError(f"Directory {text!r} is a file.")
        return path

    def complete(self, incomplete: str) -> list[tuple[str, str, str | None]]:
        return [(self.kind, incomplete, None)]


def _complete_rules(incomplete: str) -> list[tuple[str, str, str | None]]:
    """Rule codes and names (`RA20<TAB>`, `double-<TAB>`), after a comma too, with their summaries."""
    from regaudit.catalog import load_catalog

    head, _, last = incomplete.rpartition(",")
    prefix = f"{head}," if head else ""
    return [
        ("plain", prefix + word, rule.summary)
        for rule in load_catalog().rules.values()
        for word in (rule.code, rule.name)
        if word.lower().startswith(last.lower())
    ]


# --- option groups, each defined once ---------------------------------------------------------------


def _flag(parser: _Parser, *spellings: str, help: str) -> None:
    parser.add_argument(*spellings, action="store_true", help=help)


def _switch(parser: _Parser, name: str, help: str) -> None:
    """--NAME / --no-NAME; None when neither is given, so that the configuration decides."""
    parser.add_argument(name, action=argparse.BooleanOptionalAction, default=None, help=help)


def _repeated(parser: _Parser, *spellings: str, dest: str | None = None, **keywords) -> argparse.Action:
    """An option that may be given several times; lists are comma-separated too (see _split)."""
    return parser.add_argument(*spellings, dest=dest, action="append", default=[], **keywords)


def _choice(parser: _Parser, name: str, choices, dest: str | None = None, **keywords) -> None:
    choice = _Choice(choices)
    parser.add_argument(name, dest=dest, type=choice, metavar=choice.metavar, **keywords)


def _rules_option(parser: _Parser, name: str, help: str) -> None:
    _repeated(parser, name, metavar="RULES", help=help).complete = _complete_rules


def _report_options(parser: _Parser, formats: tuple[str, ...], output_help: str, fail_on_help: str) -> None:
    """--format, --output and --fail-on: which reports `check` and `diff` write, where, and when
    the run fails."""
    from regaudit.config import FAIL_ON_CHOICES

    choice = _Choice(formats)
    _repeated(parser, "--format", dest="formats", type=choice, metavar=choice.metavar,
              help="Report format; repeat it to write several reports in one run. [default: text]")
    _repeated(parser, "-o", "--output", dest="outputs", metavar="[FORMAT=]FILE", help=output_help)
    _choice(parser, "--fail-on", FAIL_ON_CHOICES, help=fail_on_help)


def _config_options(parser: _Parser) -> None:
    """--config and --isolated, shared by the commands that read configuration."""
    parser.add_argument("--config", dest="config_file", type=_PathValue("file", exists=True), metavar="FILE",
                        help="Read configuration from FILE instead of looking for one from the working "
                             "directory up.")
    _flag(parser, "--isolated", help="Ignore configuration files.")


def _document_format(parser: _Parser, formats: tuple[str, ...]) -> None:
    """--format of the commands that print one document (rules, rule, config)."""
    _choice(parser, "--format", formats, dest="format_", default="text", help="[default: text]")


# --- regaudit check ---------------------------------------------------------------------------------

EXIT_CODES_HELP = """\
Exit codes:
  0  no finding at or above --fail-on
  1  findings at or above --fail-on
  2  usage, configuration or internal error
  3  an input could not be read, or nothing at all was auditable"""

COLOR_CHOICES = ("auto", "always", "never")


def _check_options(parser: _Parser) -> None:
    from regaudit.reporters import FORMATS

    _report_options(parser, FORMATS,
                    output_help="Write a report to FILE (whole or not at all) instead of standard output: "
                                "FORMAT=FILE for one of several formats, e.g. --output sarif=regaudit.sarif.",
                    fail_on_help="Lowest finding severity that makes the run fail (exit 1). [default: error]")
    _flag(parser, "--exit-zero",
          help="Findings never fail the run (exit 0); inputs that cannot be read still exit 3.")
    _rules_option(parser, "--select", help="Rules to run: codes, prefixes (RA2) or names.")
    _rules_option(parser, "--extend-select", help="Rules to run in addition to --select.")
    _rules_option(parser, "--ignore", help="Rules not to run.")
    _repeated(parser, "--exclude", metavar="GLOBS",
              help="Paths to leave out (gitignore-style globs), replacing the configured list.")
    _repeated(parser, "--extend-exclude", metavar="GLOBS", help="Paths to leave out, in addition.")
    _switch(parser, "--respect-gitignore",
            help="Leave out what .gitignore files ignore in directory walks. [default: respect]")
    _switch(parser, "--force-exclude",
            help="Apply the exclusions to files named on the command line too (pre-commit).")
    parser.add_argument("--target-keras", metavar="VERSION",
                        help="Keras version the model will be trained with (RA402).")
    parser.add_argument("--baseline", type=_PathValue("file"), metavar="FILE",
                        help="Fail only on findings not recorded in this baseline file.")
    parser.add_argument("--write-baseline", type=_PathValue("file"), metavar="FILE",
                        help="Record this run's findings in a baseline file; they do not fail this run.")
    _switch(parser, "--weights",
            help="Also read the stored weights: each regularizer's penalty, per-weight statistics, RA6xx. "
                 "[default: no, or `weights` in the configuration]")
    _flag(parser, "--statistics",
          help="Print, instead of the report on standard output, the number of findings per rule and of "
               "skipped and unreadable inputs (text or JSON).")
    _flag(parser, "-q", "--quiet", help="Print only findings and inputs that could not be read.")
    _choice(parser, "--color", COLOR_CHOICES, default="auto",
            help="Colour the text report: auto is on a terminal only, and never with NO_COLOR set; "
                 "FORCE_COLOR turns it on in auto. [default: auto]")
    parser.add_argument("--root", type=_PathValue("dir"), metavar="DIRECTORY",
                        help="Folder that report paths and SARIF URIs are relative to. [default: the git "
                             "top level, else the working directory]")
    parser.add_argument("-j", "--jobs", type=_AtLeast(int, 0), default=1, metavar="N",
                        help="Audit files in this many processes (0: one per CPU, or none when there are "
                             "too few files to pay for them); the report is the same. [default: 1]")
    _flag(parser, "--ignore-unknown",
          help="Pass over named files that are not Keras models, and do not fail a run that audits "
               "nothing (for pre-commit hooks).")
    _config_options(parser)


def _run_check(options: argparse.Namespace) -> None:
    from pathlib import Path

    from regaudit.config import ConfigError
    from regaudit.engine import Audit
    from regaudit.reporters import Pieces, feed
    from regaudit.suppression import BaselineWriter

    if options.baseline and options.write_baseline:
        raise UsageError("--baseline and --write-baseline cannot be used together")
    _refuse_options_after_separator(options.paths)
    destinations = _destinations(options.formats, options.outputs)
    _check_statistics(options.statistics, destinations)
    _check_output_folders([output for _, output in destinations if output is not None] + [options.write_baseline])
    command_line = {
        "fail-on": options.fail_on,
        "select": _split(options.select),
        "extend-select": _split(options.extend_select),
        "ignore": _split(options.ignore),
        "exclude": _split(options.exclude, keep_empty=True),
        "extend-exclude": _split(options.extend_exclude),
        "respect-gitignore": options.respect_gitignore,
        "force-exclude": options.force_exclude,
        "target-keras": options.target_keras,
        "baseline": str(options.baseline) if options.baseline else None,
        "weights": options.weights,
    }
    settings, _ = _settings(command_line, options.config_file, options.isolated)
    if options.write_baseline:  # record everything the configuration reports, not what an old baseline hid
        settings = _without_baseline(settings)
    show_progress = sys.stderr.isatty() and not options.quiet
    presentation = _Presentation(settings, options.quiet, options.exit_zero, not options.ignore_unknown,
                                 options.color, options.statistics, options.root or _repository_root(Path.cwd()))
    baseline_writer = BaselineWriter(options.write_baseline) if options.write_baseline else None
    with ExitStack() as streams:  # every report is written as the run goes, each artifact once
        reports = [_check_reporter(format_, presentation, streams.enter_context(_destination(output)))
                   for format_, output in destinations]
        try:
            run = Audit(options.paths or (".",), settings, jobs=options.jobs, ignore_unknown=options.ignore_unknown,
                        progress=_progress_bar if show_progress else None, pieces=Pieces.of(reports))
        except ConfigError as error:  # the baseline, read before any report is begun
            raise UsageError(str(error)) from None
        _START_UP.done()
        feed(reports + ([baseline_writer] if baseline_writer else []), run, lambda: run.totals)
    if baseline_writer:
        print(f"regaudit: wrote {baseline_writer.entries} baseline entries to {options.write_baseline}",
              file=sys.stderr)
    gate = None if (options.write_baseline or options.exit_zero) else settings.fail_on
    sys.exit(run.totals.exit_code(gate, require_audit=not options.ignore_unknown))


def _split(values: list[str], keep_empty: bool = False) -> list[str] | None:
    """Lists may be repeated or comma-separated: --ignore RA1 --ignore RA203,RA204. With
    `keep_empty`, an option given only as "" is an empty list (`--exclude ""` excludes nothing)."""
    items = [item.strip() for value in values for item in value.split(",") if item.strip()]
    return items or ([] if keep_empty and values else None)


def _hoist_hook_arguments(arguments: list[str], takes_value: dict[str, bool]) -> list[str]:
    """Move a pre-commit hook's `args:` back before the hook entry's `--` (`arguments` follow `check`).

    pre-commit runs `entry` + `args:` + the staged file names. The hook's entry ends with `--` so
    that no file name (a committed `--write-baseline=x.json`) can become an option, which puts the
    user's `args:` after it too. The leading run of arguments after `--` that are options of
    `regaudit check` (with their values) and name no existing file is moved before it; the first
    argument that names a file or is no such option ends the run, and it and everything after it
    stay paths. Outside that run nothing changes: `--` keeps its meaning for every file name.
    `takes_value` is `_check_option_arity` of the parser that then reads the result.
    """
    if "--" not in arguments:
        return arguments
    separator = arguments.index("--")
    index = separator + 1
    while index < len(arguments):
        argument = arguments[index]
        name, equals, _ = argument.partition("=")
        if os.path.lexists(argument) or name not in takes_value:
            break
        index += 2 if takes_value[name] and not equals else 1
    return arguments[:separator] + arguments[separator + 1 : index] + ["--"] + arguments[index:]


def _check_option_arity(parser: _Parser) -> dict[str, bool]:
    """Every spelling of a `regaudit check` option (but --help), and whether it takes a value."""
    return {
        spelling: action.nargs != 0
        for action in parser.options()
        if action.dest != "help"
        for spelling in action.option_strings
    }


def _refuse_options_after_separator(paths: list[str]) -> None:
    """An option that no file matches can only be a path because it came after `--` (and was not
    hoisted by `_hoist_hook_arguments`: misspelt, or after a file name). Say so rather than pass
    over it as a file."""
    for path in paths:
        if path.startswith("-") and path != "-" and not os.path.lexists(path):  # "-" is standard input
            raise UsageError(
                f"no file {path!r}: after `--` every argument is a path; give options before it "
                "(a misspelt option, or an option after a file name?)"
            )


def _destinations(formats: list[str], outputs: list[str]) -> list[tuple[str, Path | None]]:
    """Pair each requested format with its file, or with standard output (None) for at most one."""
    import re
    from pathlib import Path

    from regaudit.reporters import FORMATS

    requested = list(dict.fromkeys(formats))
    files: dict[str, Path] = {}
    unkeyed: list[Path] = []
    for output in outputs:
        name, equals, target = output.partition("=")
        if equals and name in FORMATS:
            if name in files:
                raise UsageError(f"--output {name}=... is given twice")
            files[name] = Path(target)
            if name not in requested:  # --output sarif=x.sarif asks for SARIF too
                requested.append(name)
        elif equals and re.fullmatch(r"[A-Za-z][\w-]*", name):
            # `--output foo=x` names a format; a file whose name holds `=` can be given as ./foo=x.
            raise UsageError(f"unknown report format {name!r}{_did_you_mean(name, FORMATS)}; "
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
            raise UsageError("with several formats, name each file as --output FORMAT=FILE")
        files[to_stdout.pop()] = unkeyed[0]
    if len(to_stdout) > 1:
        raise UsageError(
            f"only one report can go to standard output, not {' and '.join(to_stdout)}; "
            "write the others with --output FORMAT=FILE"
        )
    return [(format_, files.get(format_)) for format_ in requested]


def _check_statistics(statistics: bool, destinations: list[tuple[str, Path | None]]) -> None:
    """--statistics replaces the report on standard output, which must then be text or JSON."""
    if not statistics:
        return
    from regaudit.reporters.statistics import STATISTICS_FORMATS

    on_stdout = [format_ for format_, output in destinations if output is None]
    if not on_stdout or on_stdout[0] not in STATISTICS_FORMATS:
        shown = f"--format {on_stdout[0]}" if on_stdout else "no report on standard output"
        raise UsageError(f"--statistics prints text or JSON on standard output, not with {shown}; "
                         "write that report with --output FORMAT=FILE")


def _check_output_folders(outputs: list[Path | None]) -> None:
    """Reported before the audit runs, not after it has taken its time."""
    for output in outputs:
        if output is None:
            continue
        folder = output.parent
        if not folder.is_dir():
            raise UsageError(f"cannot write {output}: the directory {folder} does not exist")
        if output.is_dir():  # an empty FILE (`--output json=`) names the working directory
            raise UsageError(f"cannot write {output}: Is a directory")


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


class _Presentation:
    """How the reports of one `check` run are presented; resolved once from the options."""

    __slots__ = ("settings", "quiet", "exit_zero", "require_audit", "color", "statistics", "root")

    def __init__(self, settings: Any, quiet: bool, exit_zero: bool, require_audit: bool, color: str,
                 statistics: bool, root: Path) -> None:
        self.settings = settings
        self.quiet = quiet
        self.exit_zero = exit_zero
        self.require_audit = require_audit
        self.color = color  # auto, always or never
        self.statistics = statistics
        self.root = root  # report paths and SARIF URIs are relative to it


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
    from regaudit.reporters import DEFAULT_WIDTH

    if not getattr(stream, "isatty", lambda: False)():
        return DEFAULT_WIDTH
    import shutil  # on a terminal only: it imports the compression modules too

    return shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns


def _emit(output: Path | None, write: Callable[[TextIO], None]) -> None:
    with _destination(output) as stream:
        write(stream)


@contextmanager
def _destination(output: Path | None) -> Iterator[TextIO]:
    """Standard output, or `output` written whole or not at all (see `_whole_file`).

    A report that cannot be written (a full disk, a file-size limit, /dev/full) is a one-line
    error, not an internal one; inputs that cannot be read never get here, each is reported with
    its own file. A reader that went away (BrokenPipeError) is `main`'s.
    """
    try:
        if output is None:
            yield sys.stdout
            sys.stdout.flush()  # a full disk behind standard output shows here, not after main
        else:
            with _whole_file(output) as stream:
                yield stream
    except BrokenPipeError:
        raise
    except OSError as error:
        raise UsageError(f"cannot write the report: {error.strerror or error}") from None


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


@contextmanager
def _whole_file(path: Path) -> Iterator[TextIO]:
    """A stream whose text becomes the file `path` once the caller is done, so a reader never sees
    half a report: a regular file is written as the report goes into a temporary file in the same
    folder, which then takes its place (so the report is never held in memory whole); a device or
    pipe (/dev/null, /dev/stdout, a FIFO a CI step reads from) is written to in place at the end,
    never swapped for a file. An error of the caller's leaves `path` as it was.
    """
    import stat

    try:
        special = not stat.S_ISREG(path.stat().st_mode)
    except FileNotFoundError:
        special = False
    except OSError as error:
        raise UsageError(f"cannot write {path}: {error.strerror}") from None
    if special:
        buffer = io.StringIO()
        yield buffer
        try:
            with open(path, "w", encoding="utf-8") as stream:
                stream.write(buffer.getvalue())
        except OSError as error:
            raise UsageError(f"cannot write {path}: {error.strerror}") from None
        return
    import tempfile

    try:
        handle, temporary = tempfile.mkstemp(dir=path.parent if str(path.parent) else ".", prefix=f".{path.name}.")
    except OSError as error:
        raise UsageError(f"cannot write {path}: {error.strerror}") from None
    replaced = False
    stop = _StopOnTerminate()
    try:
        with stop, os.fdopen(handle, "w", encoding="utf-8") as stream:
            yield stream
        try:
            # mkstemp creates the file private (0600); a report gets what any new file would.
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(temporary, 0o666 & ~umask)
            os.replace(temporary, path)
            replaced = True
        except OSError as error:
            raise UsageError(f"cannot write {path}: {error.strerror}") from None
    finally:  # whatever stopped the write, even an interrupt, leaves no hidden file behind
        if not replaced:
            os.unlink(temporary)


class _StopOnTerminate:
    """While a report is written beside its file, SIGTERM (a cancelled CI job, `timeout`) stops the
    run as Ctrl-C does, unwinding it (so the hidden file goes), and exits 128 + 15; Python's default
    for SIGTERM ends the process on the spot. In the main thread only, where handlers can be set."""

    def __enter__(self) -> None:
        import signal

        try:
            self.previous = signal.signal(signal.SIGTERM, self._terminated)
        except ValueError:  # not the main thread
            self.previous = None

    def __exit__(self, *_: object) -> None:
        if self.previous is not None:
            import signal

            signal.signal(signal.SIGTERM, self.previous)

    @staticmethod
    def _terminated(number: int, _frame: object) -> None:
        raise SystemExit(128 + number)


# --- regaudit rules, rule, config -------------------------------------------------------------------


def _rules_options(parser: _Parser) -> None:
    _document_format(parser, ("text", "json", "markdown"))


def _run_rules(options: argparse.Namespace) -> None:
    from regaudit.catalog import load_catalog
    from regaudit.reporters import explain as render

    render.rule_list(load_catalog(), options.format_, sys.stdout)


def _rule_options(parser: _Parser) -> None:
    _document_format(parser, ("text", "json"))


def _run_rule(options: argparse.Namespace) -> None:
    from regaudit.catalog import load_catalog
    from regaudit.reporters import explain as render

    catalog = load_catalog()
    rule = options.rule
    found = catalog.get(rule)
    if found is None:
        retired = catalog.retired.get(rule.upper())
        raise UsageError(f"{rule.upper()} was retired: {retired}" if retired
                         else f"no rule {rule!r}{catalog.did_you_mean(rule)} (see `regaudit rules`)")
    render.rule_doc(found, options.format_, sys.stdout)


def _config_command_options(parser: _Parser) -> None:
    _document_format(parser, ("text", "json"))
    _config_options(parser)


def _run_config(options: argparse.Namespace) -> None:
    from regaudit.reporters import explain as render

    settings, path = _settings({}, options.config_file, options.isolated)
    render.settings(settings, path, options.format_, sys.stdout)


def _settings(command_line: dict[str, Any], config_file: Path | None, isolated: bool):
    from regaudit.catalog import load_catalog
    from regaudit.config import ConfigError, resolve

    if config_file is not None and isolated:  # --isolated would silently drop FILE and its policy
        raise UsageError("--config and --isolated cannot be used together")
    given = {key: value for key, value in command_line.items() if value is not None}
    try:
        return resolve(given, known_code=load_catalog().is_selector, config_file=config_file, isolated=isolated)
    except ConfigError as error:
        raise UsageError(str(error)) from None


def _without_baseline(settings):
    return settings._replace(baseline=None)


# --- regaudit diff ----------------------------------------------------------------------------------

DIFF_EXIT_CODES_HELP = """\
Exit codes:
  0  no introduced finding at or above --fail-on, and (with --fail-on-removed) no regularization
     removed or weakened
  1  NEW introduces findings at or above --fail-on, or --fail-on-removed found regularization
     removed from (or weakened beyond --max-weakening on) a weight-bearing layer
  2  usage, configuration or internal error
  3  either side could not be read"""


def _diff_options(parser: _Parser) -> None:
    from regaudit.reporters import DIFF_FORMATS

    parser.add_argument("--git", dest="revision", metavar="REV",
                        help="Read OLD from git at REV (a commit, branch or tag) and NEW from the working "
                             "tree: regaudit diff --git origin/main models/")
    _report_options(parser, DIFF_FORMATS,
                    output_help="Write a report to FILE instead of standard output (FORMAT=FILE for one "
                                "of several).",
                    fail_on_help="Lowest severity of a finding NEW introduces that makes the run fail "
                                 "(exit 1). [default: error]")
    _flag(parser, "--fail-on-removed",
          help="Also fail when a weight-bearing layer loses a regularizer (or its factors all become 0).")
    parser.add_argument("--max-weakening", type=_AtLeast(float, 1.0), metavar="RATIO",
                        help="With --fail-on-removed, also fail when a factor is divided by more than "
                             "RATIO (10: 1e-3 -> 5e-5 fails, 1e-3 -> 1e-4 passes). Implies "
                             "--fail-on-removed. [at least 1.0]")
    parser.add_argument("--weights", action="store_true", default=None,
                        help="Also read both sides' stored weights and show each regularized slot's "
                             "penalty change.")
    _config_options(parser)


def _run_diff(options: argparse.Namespace) -> None:
    import tempfile
    from pathlib import Path

    from regaudit.diff import Gate, compare, side
    from regaudit.reporters import DIFF_FORMATS

    destinations = _destinations(options.formats, options.outputs)
    unsupported = [format_ for format_, _ in destinations if format_ not in DIFF_FORMATS]
    if unsupported:
        raise UsageError(f"diff reports come in {', '.join(DIFF_FORMATS)}, not {', '.join(unsupported)}")
    paths = options.paths
    if options.revision is None and len(paths) != 2:
        raise UsageError("give OLD and NEW, or --git REV and the paths to compare")
    settings, _ = _settings({"fail-on": options.fail_on, "weights": options.weights}, options.config_file,
                            options.isolated)
    settings = _without_baseline(settings)  # a diff compares findings itself; the baseline would hide them
    max_weakening = options.max_weakening
    gate = Gate(settings.fail_on, options.fail_on_removed or max_weakening is not None, max_weakening)
    _START_UP.done(freeze=False)
    with tempfile.TemporaryDirectory(prefix="regaudit-diff-") as folder:
        if options.revision is None:
            sides = [(side(paths[0], settings), side(paths[1], settings))]
        else:
            sides = _git_sides(options.revision, list(paths), Path(folder), settings)
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
        print(f"regaudit: {problem}", file=sys.stderr)
        sys.exit(problem.exit_code)
    # per-file-ignores globs are matched relative to the configuration's folder: on the old side,
    # that folder's place in the copy, so that both sides suppress the same findings.
    old_settings = settings._replace(root=materialized.mirror(settings.root))
    sides = []
    for old in materialized.paths:
        exists = os.path.lexists(old.given)
        if old.materialized is None and not exists:
            raise UsageError(f"{old.given} is neither in {revision} nor in the working tree")
        old_side = side(str(old.materialized) if old.materialized else None, old_settings, shown_as=old.given)
        sides.append((old_side, side(old.given if exists else None, settings, shown_as=old.given)))
    return sides


def _render_diff(result, format_: str, stream: TextIO) -> None:
    from pathlib import Path

    from regaudit.catalog import load_catalog
    from regaudit.reporters import ReportContext, render_diff

    context = ReportContext(
        catalog=load_catalog(),
        color=format_ == "text" and stream is sys.stdout and _wants_color(stream),
        fail_on=result.gate.fail_on,
        root=Path.cwd(),
    )
    render_diff(format_, result, context, stream)


# --- regaudit completion ----------------------------------------------------------------------------
# The scripts call regaudit back with COMPLETE_VAR set to `{shell}_complete`, the command line in
# COMP_WORDS and the cursor in COMP_CWORD (the protocol click used, so that scripts that users
# generated with earlier versions keep working). Each answer is a kind (plain: the text itself;
# file, dir: let the shell complete a path), a value and, for zsh and fish, a description.

SHELLS = ("bash", "zsh", "fish")

COMPLETION_SCRIPTS = {
    "bash": """\
_regaudit_completion() {
    local IFS=$'\\n'
    local response kind value
    response=$(env COMP_WORDS="${COMP_WORDS[*]}" COMP_CWORD=$COMP_CWORD %(var)s=bash_complete $1)
    COMPREPLY=()
    for completion in $response; do
        IFS=',' read -r kind value <<< "$completion"
        case $kind in
            dir) compopt -o dirnames ;;
            file) compopt -o default ;;
            plain) COMPREPLY+=("$value") ;;
        esac
    done
    return 0
}

complete -o nosort -F _regaudit_completion %(prog)s
""",
    "zsh": """\
#compdef %(prog)s

_regaudit_completion() {
    local -a completions
    local -a completions_with_descriptions
    local -a response
    (( ! $+commands[%(prog)s] )) && return 1

    response=("${(@f)$(env COMP_WORDS="${words[*]}" COMP_CWORD=$((CURRENT-1)) %(var)s=zsh_complete %(prog)s)}")

    for kind key descr in ${response}; do
        if [[ "$kind" == "plain" ]]; then
            if [[ "$descr" == "_" ]]; then
                completions+=("$key")
            else
                completions_with_descriptions+=("$key":"$descr")
            fi
        elif [[ "$kind" == "dir" ]]; then
            _path_files -/
        elif [[ "$kind" == "file" ]]; then
            _path_files -f
        fi
    done

    if [ -n "$completions_with_descriptions" ]; then
        _describe -V unsorted completions_with_descriptions -U
    fi

    if [ -n "$completions" ]; then
        compadd -U -V unsorted -a completions
    fi
}

if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
    _regaudit_completion "$@"
else
    compdef _regaudit_completion %(prog)s
fi
""",
    "fish": """\
function _regaudit_completion;
    set -l response (env %(var)s=fish_complete COMP_WORDS=(commandline -cp) COMP_CWORD=(commandline -t) %(prog)s);

    for completion in $response;
        set -l metadata (string split -m 1 "," $completion);

        if test $metadata[1] = "dir";
            __fish_complete_directories $metadata[2];
        else if test $metadata[1] = "file";
            __fish_complete_path $metadata[2];
        else if test $metadata[1] = "plain";
            echo $metadata[2];
        end;
    end;
end;

complete --no-files --command %(prog)s --arguments "(_regaudit_completion)";
""",
}


def _run_completion(options: argparse.Namespace) -> None:
    sys.stdout.write(_completion_script(options.shell))


def _completion_script(shell: str) -> str:
    return COMPLETION_SCRIPTS[shell] % {"prog": PROG_NAME, "var": COMPLETE_VAR}


def _complete(instruction: str) -> int:
    """Answer a completion script (`{shell}_complete`), or print one (`{shell}_source`); the exit code."""
    shell, _, action = instruction.partition("_")
    if shell not in SHELLS or action not in ("complete", "source"):
        return 1
    if action == "source":
        sys.stdout.write(_completion_script(shell))
        return 0
    words, incomplete = _completion_words(shell)
    for kind, value, description in _completions(words, incomplete):
        if shell == "bash":
            sys.stdout.write(f"{kind},{value}\n")
        elif shell == "zsh":
            sys.stdout.write(f"{kind}\n{value}\n{description or '_'}\n")
        else:
            sys.stdout.write(f"{kind},{value}\t{description}\n" if description else f"{kind},{value}\n")
    return 0


def _completion_words(shell: str) -> tuple[list[str], str]:
    """The words typed before the cursor (without the program's name), and the word at it."""
    import shlex

    line = os.environ.get("COMP_WORDS", "")
    try:
        words = shlex.split(line)
    except ValueError:  # a quote still open while typing
        words = line.split()
    if shell == "fish":  # fish gives the whole line, and the word at the cursor itself
        incomplete = os.environ.get("COMP_CWORD", "")
        words = words[1:]
        if incomplete and words and words[-1] == incomplete:
            words.pop()
        return words, incomplete
    cursor = int(os.environ.get("COMP_CWORD") or 0)
    return words[1:cursor], words[cursor] if cursor < len(words) else ""


def _completions(words: list[str], incomplete: str) -> list[tuple[str, str, str | None]]:
    """What may come next: a command, an option, an option's value, or a positional argument."""
    if not words:
        if incomplete.startswith("-"):
            return [("plain", spelling, description) for spelling, description in ROOT_OPTIONS
                    if spelling.startswith(incomplete)]
        return [("plain", name, command.summary) for name, command in COMMANDS.items() if name.startswith(incomplete)]
    if words[0] not in COMMANDS:
        return []
    parser = _command_parser(words[0])
    after_separator = "--" in words[1:]
    if not after_separator:
        taking_value = {spelling: action for action in parser.options() if action.nargs != 0
                        for spelling in action.option_strings}
        if words[-1] in taking_value and len(words) > 1:
            return _complete_value(taking_value[words[-1]], incomplete)
        if incomplete.startswith("-") and incomplete != "-":
            return [("plain", spelling, action.help) for action in parser.options()
                    for spelling in action.option_strings if spelling.startswith(incomplete)]
    positional = COMMANDS[words[0]].positional
    return _complete_value(positional, incomplete) if positional else []


def _complete_value(argument: argparse.Action | _Arguments, incomplete: str) -> list[tuple[str, str, str | None]]:
    complete = getattr(argument, "complete", None) or getattr(argument.type, "complete", None)
    return complete(incomplete) if complete else []


# --- the commands -----------------------------------------------------------------------------------


class _Command:
    """A subcommand: its usage line, its description (the first line is its summary in `regaudit
    --help`), how its options are defined, its positional arguments, and what runs it with the
    parsed command line."""

    __slots__ = ("usage", "description", "define", "positional", "run", "epilog")

    def __init__(self, usage: str, description: str, define: Callable[[_Parser], None] | None,
                 positional: _Arguments | None, run: Callable[[argparse.Namespace], None],
                 epilog: str | None = None) -> None:
        self.usage, self.description, self.define = usage, description, define
        self.positional, self.run, self.epilog = positional, run, epilog

    @property
    def summary(self) -> str:
        return self.description.partition("\n")[0]


COMMANDS = {
    "check": _Command(
        "[OPTIONS] [PATHS]...",
        "Audit model files (.keras, .h5, model JSON, TF.js model.json) and directories.\n\n"
        "With no PATH, the current directory is audited. `-` reads a model config JSON from standard\n"
        "input.",
        _check_options, _Arguments("paths", "PATHS", 0, None, complete=_PathValue("file").complete), _run_check,
        EXIT_CODES_HELP),
    "completion": _Command(
        "[OPTIONS] {bash|zsh|fish}",
        "Print a shell completion script (options, rule codes and names).\n\n"
        "bash:  eval \"$(regaudit completion bash)\"       (in ~/.bashrc)\n"
        "zsh:   eval \"$(regaudit completion zsh)\"        (in ~/.zshrc)\n"
        "fish:  regaudit completion fish > ~/.config/fish/completions/regaudit.fish",
        None, _Arguments("shell", "{bash|zsh|fish}", 1, 1, type=_Choice(SHELLS)), _run_completion),
    "config": _Command(
        "[OPTIONS]", "Print the effective configuration and where each value came from.",
        _config_command_options, None, _run_config),
    "diff": _Command(
        "[OPTIONS] OLD NEW | --git REV PATH...",
        "Show what changed in the regularization between two models or directories.\n\n"
        "Between OLD and NEW (two model files or directories), or, with --git REV, between each PATH\n"
        "at REV and in the working tree.",
        _diff_options, _Arguments("paths", "OLD NEW | --git REV PATH...", 1, None,
                                     complete=_PathValue("file").complete),
        _run_diff, DIFF_EXIT_CODES_HELP),
    "rule": _Command(
        "[OPTIONS] RULE", "Explain RULE (a code such as RA202, or a name such as double-weight-decay).",
        _rule_options, _Arguments("rule", "RULE", 1, 1, complete=_complete_rules), _run_rule),
    "rules": _Command("[OPTIONS]", "List every rule in the catalog.", _rules_options, None, _run_rules),
}

DESCRIPTION = "Static regularization auditor for saved Keras models."
ROOT_OPTIONS = (("--version", "Show the version and exit."), ("-h", "Show this message and exit."),
                ("--help", "Show this message and exit."))


def _command_parser(name: str) -> _Parser:
    """The parser of one command, built only when that command runs (or is completed)."""
    command = COMMANDS[name]
    parser = _Parser(f"{PROG_NAME} {name}", command.usage, command.description, command.epilog)
    if command.define is not None:
        command.define(parser)
    parser.add_argument("-h", "--help", action="help", help="Show this message and exit.")
    return parser


def _root_help() -> str:
    width = max(len(name) for name in COMMANDS) + 2
    listed = "\n".join(f"  {name:<{width}}{command.summary}" for name, command in COMMANDS.items())
    parser = _Parser(PROG_NAME, "[OPTIONS] COMMAND [ARGS]...", DESCRIPTION, f"commands:\n{listed}")
    parser.add_argument("--version", action="store_true", help=ROOT_OPTIONS[0][1])
    parser.add_argument("-h", "--help", action="store_true", help=ROOT_OPTIONS[1][1])
    return parser.format_help()


def _run(arguments: list[str]) -> None:
    """Run the command line `arguments` (without the program's name)."""
    instruction = os.environ.get(COMPLETE_VAR)
    if instruction:
        sys.exit(_complete(instruction))
    if not arguments:  # the overview, as a usage error
        from regaudit.outcomes import ExitCode

        sys.stderr.write(_root_help())
        sys.exit(ExitCode.USAGE)
    name, arguments = arguments[0], arguments[1:]
    if name in ("-h", "--help"):
        sys.stdout.write(_root_help())
        return
    if name == "--version":
        sys.stdout.write(f"{PROG_NAME} {__version__}\n")
        return
    if name.startswith("-"):
        raise UsageError(f"No such option {name!r}{_did_you_mean(name, [spelling for spelling, _ in ROOT_OPTIONS])}")
    if name not in COMMANDS:
        raise UsageError(f"No such command {name!r}{_did_you_mean(name, COMMANDS)}")
    parser = _command_parser(name)
    if name == "check":  # the pre-commit hook's entry ends with `--`
        arguments = _hoist_hook_arguments(arguments, _check_option_arity(parser))
    command = COMMANDS[name]
    command.run(_parse(parser, command.positional, arguments))


class _StartUp:
    """The cyclic garbage collector during start-up: off until the command's work begins.

    Start-up (imports, parsing, configuration) makes objects that live as long as the process:
    modules, classes, functions. With the collector on, its collections walked them again and
    again for ~2 ms of a ~45 ms one-file check and freed nothing; turned off and simply back on,
    its first collection walked them all at once. So `main` turns it off, and a command calls
    `done()` where its work begins, which sets what start-up made aside (`gc.freeze`: no
    collection walks it again) and turns the collector back on, so that a run over many files
    collects its garbage as before and its memory stays flat (bench/NOTES.md, "One file").
    """

    def __init__(self) -> None:
        self.collecting = True
        self.freezing = False

    def begin(self) -> None:
        self.collecting = gc.isenabled()
        # A caller that froze objects of its own, or turned the collector off, keeps its choice.
        self.freezing = self.collecting and gc.get_freeze_count() == 0
        gc.disable()

    def done(self, freeze: bool = True) -> None:
        """`freeze=False` for a command whose audits keep their results (`diff`): `audit()` then
        freezes them in batches itself (engine._KeptOutOfGc), which it does only when nothing else
        is frozen."""
        if self.freezing and freeze:
            gc.freeze()
        if self.collecting:
            gc.enable()

    def end(self) -> None:
        """The collector as it was before `begin`, for a caller that runs `main` in its own process."""
        if self.freezing:
            gc.unfreeze()
        if self.collecting:
            gc.enable()


_START_UP = _StartUp()


def main() -> None:
    """The `regaudit` command: exit codes as documented (`ExitCode`), and never a traceback."""
    _START_UP.begin()
    try:
        _run(sys.argv[1:])
    except UsageError as error:
        from regaudit.outcomes import ExitCode

        sys.stderr.write(f"{PROG_NAME}: error: {error}\n")
        sys.exit(ExitCode.USAGE)
    except KeyboardInterrupt:
        sys.stderr.write("\n")
        sys.exit(130)
    except BrokenPipeError:
        from regaudit.outcomes import ExitCode

        # The reader went away (`regaudit check ... | head`): not an error worth a traceback.
        sys.stderr.close()
        sys.exit(ExitCode.OK)
    except Exception as error:  # never a traceback for a user
        from regaudit.outcomes import ExitCode
        from regaudit.reporters._escape import log_text  # the error may quote a name from a file

        sys.stderr.write(f"regaudit: internal error: {type(error).__name__}: {log_text(str(error))}\n")
        sys.exit(ExitCode.USAGE)
    finally:
        _START_UP.end()
