"""The `regaudit` command line. Parse options, run the engine, render, exit with an ExitCode."""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

import click

from regaudit import __version__
from regaudit.config import FAIL_ON_CHOICES, Settings, parse_fail_on
from regaudit.outcomes import ExitCode
from regaudit.reporters import FORMATS

EXIT_CODES_HELP = """\b
Exit codes:
  0  no finding at or above --fail-on
  1  findings at or above --fail-on
  2  usage, configuration or internal error
  3  an input could not be read, or nothing at all was auditable"""


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="regaudit", message="%(prog)s %(version)s")
def cli() -> None:
    """Static regularization auditor for saved Keras models."""


@cli.command(epilog=EXIT_CODES_HELP)
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option("--format", "format_", type=click.Choice(FORMATS), default="text", show_default=True,
              help="Report format.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the report to FILE (whole or not at all) instead of standard output.")
@click.option("--fail-on", type=click.Choice(FAIL_ON_CHOICES), default="error", show_default=True,
              help="Lowest finding severity that makes the run fail (exit 1).")
def check(paths: tuple[str, ...], format_: str, output: Path | None, fail_on: str) -> None:
    """Audit model files (.keras, .h5, model JSON, TF.js model.json) and directories."""
    from regaudit.catalog import load_catalog
    from regaudit.engine import audit
    from regaudit.reporters import ReportContext, render

    settings = Settings(fail_on=parse_fail_on(fail_on))
    result = audit(paths, settings)
    context = ReportContext(catalog=load_catalog(), color=output is None and _wants_color(sys.stdout))
    if output is None:
        render(format_, result, context, sys.stdout)
    else:
        buffer = io.StringIO()
        render(format_, result, context, buffer)
        _write_whole(output, buffer.getvalue())
    sys.exit(result.exit_code(settings.fail_on))


def _wants_color(stream: object) -> bool:
    # https://no-color.org: any non-empty NO_COLOR turns colour off.
    return bool(getattr(stream, "isatty", lambda: False)()) and not os.environ.get("NO_COLOR")


def _write_whole(path: Path, text: str) -> None:
    """Write via a temporary file in the same folder, so a reader never sees half a report."""
    import tempfile

    try:
        handle, temporary = tempfile.mkstemp(dir=path.parent if str(path.parent) else ".", prefix=f".{path.name}.")
    except OSError as error:
        raise click.UsageError(f"cannot write {path}: {error.strerror}") from None
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except OSError as error:
        os.unlink(temporary)
        raise click.UsageError(f"cannot write {path}: {error.strerror}") from None


def main() -> None:
    try:
        cli.main(standalone_mode=False)
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
        click.echo(f"regaudit: internal error: {type(error).__name__}: {error}", err=True)
        sys.exit(ExitCode.USAGE)
