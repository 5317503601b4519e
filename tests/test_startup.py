"""What `regaudit check` imports: start-up is most of a one-file run, so modules that only some
runs need are imported on those runs only (bench/NOTES.md, "Start-up"). Each probe runs in a fresh
interpreter from a folder without a configuration file, as the benchmark does."""

from __future__ import annotations

import pickle
import subprocess
import sys

import pytest

from conftest import MODELS, ROOT
from regaudit._namedtuple import NamedTuple

CLEAN = MODELS / "k3_origin_custom_layer.keras"  # no findings
WITH_FINDINGS = MODELS / "k3_builtins.keras"
# Never on a serial check of a named file: pickle and the process pool are --jobs's, TOML is read
# for a configuration file or a rule's full documentation only, html.entities is for HTML and
# Markdown, pathspec for directory walks, zipfile for the archives the plain reader leaves to it
# (none that Keras writes).
NOT_ON_THE_CHECK_PATH = (
    "zipfile", "pickle", "multiprocessing", "concurrent.futures", "tomllib", "tomli", "html", "html.entities", "jinja2",
    "pathspec", "h5py", "numpy", "google.protobuf", "keras", "tensorflow", "tf_keras",
)
# Nor what no step of such a run needs: regaudit declares its named tuples without typing.
NOT_NEEDED = ("typing", "inspect", "dataclasses", "ast", "datetime", "difflib", "tempfile", "subprocess")
# A report without findings wraps no text, and only --weights shows weight evidence.
NOT_WITHOUT_FINDINGS = ("textwrap", "regaudit.reporters._evidence")


def _imported(code: str, cwd) -> set[str]:
    probe = code + "\nimport sys\nprint(' '.join(sorted(sys.modules)))\n"
    completed = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=cwd, env={"PYTHONPATH": str(ROOT)}
    )
    assert completed.returncode == 0, completed.stderr
    return set(completed.stdout.split("\n")[-2].split())


@pytest.mark.parametrize("model", [CLEAN, WITH_FINDINGS], ids=["clean", "findings"])
@pytest.mark.parametrize("format_", ["text", "json"])
def test_check_command_imports_only_what_the_run_needs(model, format_, tmp_path):
    run = (
        "import io, sys, contextlib, regaudit.cli\n"
        f"sys.argv = ['regaudit', 'check', '--format', {format_!r}, {str(model)!r}]\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n        regaudit.cli.main()\n    except SystemExit:\n        pass\n"
    )
    unwanted = NOT_ON_THE_CHECK_PATH + NOT_NEEDED + (NOT_WITHOUT_FINDINGS if model == CLEAN else ())
    imported = _imported(run, tmp_path)
    assert f"regaudit.reporters.{format_}" in imported
    assert imported & set(unwanted) == set()


@pytest.mark.parametrize("model", [CLEAN, WITH_FINDINGS], ids=["clean", "findings"])
def test_the_python_api_imports_only_what_the_run_needs(model, tmp_path):
    run = (
        "import io, regaudit\n"
        "from regaudit.catalog import load_catalog\n"
        "from regaudit.reporters import ReportContext, render\n"
        f"result = regaudit.audit([{str(model)!r}])\n"
        "render('text', result, ReportContext(load_catalog()), io.StringIO())\n"
        "assert result.artifacts[0].status.value == 'ok'\n"
    )
    imported = _imported(run, tmp_path)
    assert "regaudit.reporters.text" in imported
    unwanted = NOT_ON_THE_CHECK_PATH + NOT_NEEDED + (NOT_WITHOUT_FINDINGS if model == CLEAN else ())
    assert imported & set(unwanted) == set()


def test_the_collector_is_off_for_start_up_only(tmp_path):
    """`regaudit check` turns the cyclic garbage collector off while it starts (cli._StartUp), on
    again before the first file is examined (or a run over many files would keep its cyclic
    garbage), and leaves it as it found it."""
    run = (
        "import gc, io, sys, contextlib, regaudit.cli, regaudit.engine\n"
        "seen = []\n"
        "examine = regaudit.engine._Examiner.examine\n"
        "def spy(self, candidate):\n"
        "    seen.append(gc.isenabled())\n"
        "    return examine(self, candidate)\n"
        "regaudit.engine._Examiner.examine = spy\n"
        f"sys.argv = ['regaudit', 'check', {str(CLEAN)!r}, {str(WITH_FINDINGS)!r}]\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n        regaudit.cli.main()\n    except SystemExit:\n        pass\n"
        "print(seen, gc.isenabled(), gc.get_freeze_count())\n"
    )
    completed = subprocess.run([sys.executable, "-c", run], capture_output=True, text=True, cwd=tmp_path,
                               env={"PYTHONPATH": str(ROOT)})
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.split() == ["[True,", "True]", "True", "0"]


def test_diff_audits_keep_their_results_out_of_the_collectors_way(tmp_path):
    """`regaudit diff` keeps two audits' results: `audit()` freezes them in batches, which it does
    only when nothing else is frozen, so the command line turns the collector on without freezing
    its start-up there."""
    run = (
        "import gc, io, sys, contextlib, regaudit.cli, regaudit.engine\n"
        "seen = []\n"
        "enter = regaudit.engine._KeptOutOfGc.__enter__\n"
        "def spy(self):\n"
        "    kept = enter(self)\n"
        "    seen.append(self.active)\n"
        "    return kept\n"
        "regaudit.engine._KeptOutOfGc.__enter__ = spy\n"
        f"sys.argv = ['regaudit', 'diff', {str(CLEAN)!r}, {str(WITH_FINDINGS)!r}]\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n        regaudit.cli.main()\n    except SystemExit:\n        pass\n"
        "print(seen, gc.isenabled(), gc.get_freeze_count())\n"
    )
    completed = subprocess.run([sys.executable, "-c", run], capture_output=True, text=True, cwd=tmp_path,
                               env={"PYTHONPATH": str(ROOT)})
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.split() == ["[True,", "True]", "True", "0"]


class _Point(NamedTuple):
    """A point."""

    x: int
    y: int = 0
    label: str | None = None

    @property
    def norm(self) -> int:
        return abs(self.x) + abs(self.y)

    @classmethod
    def origin(cls) -> _Point:
        return cls(0)


def test_namedtuple_without_typing_behaves_as_typing_namedtuple():
    point = _Point(3, -4)
    assert point == (3, -4, None) and point.norm == 7 and _Point.origin() == (0, 0, None)
    assert _Point._fields == ("x", "y", "label") and _Point._field_defaults == {"y": 0, "label": None}
    assert point._replace(label="a").label == "a" and repr(point) == "_Point(x=3, y=-4, label=None)"
    assert _Point.__doc__ == "A point." and _Point.__module__ == __name__ and _Point.__qualname__ == "_Point"
    assert pickle.loads(pickle.dumps(point)) == point  # --jobs sends results between processes
    with pytest.raises(TypeError):

        class _Wrong(NamedTuple):
            x: int = 0
            y: int

    with pytest.raises(AttributeError):

        class _Overwrites(NamedTuple):
            x: int

            def _replace(self, **changes):
                return self
