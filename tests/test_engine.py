"""The engine's promises when something goes wrong inside regaudit itself: the bug is reported for
the one artifact it hit (RA909), the other artifacts are still audited, and the run exits 3."""

import gc
import os
import shutil

import pytest

from conftest import GOLDEN_INPUTS, GOLDEN_OPTIONS, MODELS, golden_context, rendered
from regaudit import checks, engine
from regaudit.config import Settings
from regaudit.engine import audit
from regaudit.outcomes import ExitCode, Status

GOOD = str(MODELS / "k3_compiled_adamw.keras")
BROKEN_BY = str(MODELS / "k3_nested.keras")


@pytest.fixture
def a_check_that_breaks_on_nested_models(monkeypatch):
    original = checks.all_checks()["RA001"]

    def breaks(tree, context):
        if any("/" in layer.path for layer in tree.layers()):
            raise KeyError("a bug")
        return original(tree, context)

    monkeypatch.setitem(checks.CHECKS, "RA001", breaks)


def test_a_bug_is_reported_for_that_artifact_only(a_check_that_breaks_on_nested_models, monkeypatch, capsys):
    monkeypatch.delenv("REGAUDIT_DEBUG", raising=False)
    result = audit([GOOD, BROKEN_BY], Settings())
    good, broken = result.artifacts
    assert good.status is Status.OK and {f.rule for f in good.findings} == {"RA202", "RA203"}
    assert (broken.status, broken.error.code) == (Status.ERROR, "RA909")
    assert "KeyError: 'a bug'" in broken.error.message and "please report it" in broken.error.message
    assert result.exit_code(Settings().fail_on) is ExitCode.UNREADABLE
    assert "Traceback" not in capsys.readouterr().err


def test_regaudit_debug_shows_the_traceback(a_check_that_breaks_on_nested_models, monkeypatch, capsys):
    monkeypatch.setenv("REGAUDIT_DEBUG", "1")
    audit([BROKEN_BY], Settings())
    assert "Traceback" in capsys.readouterr().err


def test_a_worker_that_dies_is_reported_for_its_file(monkeypatch):
    def dies_on_nested_models(tree, context):
        if any("/" in layer.path for layer in tree.layers()):
            os._exit(1)  # a crash in native code, as a hostile HDF5 file might cause
        return iter(())

    monkeypatch.setitem(checks.CHECKS, "RA001", dies_on_nested_models)
    result = audit([BROKEN_BY, GOOD, GOOD.replace("adamw", "adam_wd")], Settings(), jobs=2)
    crashed, *others = result.artifacts
    assert (crashed.path, crashed.status, crashed.error.code) == (BROKEN_BY, Status.ERROR, "RA909")
    assert "stopped unexpectedly" in crashed.error.message
    # The files the dead worker's pool still held are audited, each in a process of its own.
    assert [(artifact.status, artifact.error) for artifact in others] == [(Status.OK, None), (Status.OK, None)]


def test_a_worker_that_dies_mid_chunk_costs_only_its_own_file(monkeypatch, tmp_path):
    # Files go to workers in chunks: the crash must still be pinned to the one file that caused it,
    # whatever chunk it was in and however many files were in that chunk before and after it.
    monkeypatch.setattr(engine, "CHUNK_SIZE", 6)  # 12 files: 2 chunks
    paths = []
    for index in range(12):
        source = BROKEN_BY if index == 4 else GOOD
        paths.append(str(tmp_path / f"m{index:02d}.keras"))
        shutil.copyfile(source, paths[-1])

    def dies_on_nested_models(tree, context):
        if any("/" in layer.path for layer in tree.layers()):
            os._exit(1)
        return iter(())

    monkeypatch.setitem(checks.CHECKS, "RA001", dies_on_nested_models)
    result = audit(paths, Settings(), jobs=2)
    assert [artifact.path for artifact in result.artifacts] == paths
    statuses = [(artifact.status, artifact.error.code if artifact.error else None) for artifact in result.artifacts]
    assert statuses == [(Status.OK, None)] * 4 + [(Status.ERROR, "RA909")] + [(Status.OK, None)] * 7


def test_a_pool_broken_while_chunks_are_handed_out_keeps_what_it_finished():
    # A worker can die before every chunk has been submitted: submit() itself then raises
    # BrokenProcessPool. The chunks done are kept and the rest are left to the isolated re-run.
    import pickle
    from concurrent.futures import Future
    from concurrent.futures.process import BrokenProcessPool

    class BreaksOnThirdSubmit:
        submitted = 0

        def submit(self, function, chunk):
            self.submitted += 1
            if self.submitted == 3:
                raise BrokenProcessPool("a worker died")
            future = Future()
            if self.submitted == 1:
                future.set_result(pickle.dumps(["first"]))
            return future  # the second never finishes: its worker is the one that died

    def run(chunks, ahead):
        taken = []
        results = engine._results_until_broken(BreaksOnThirdSubmit(), iter(chunks), ahead)
        while True:
            try:
                taken.append(next(results))
            except StopIteration as stop:
                return taken, list(stop.value)

    chunks = [["a"], ["b"], ["c"], ["d"]]
    # The third submit finds the pool broken: the second and third chunks, and the fourth, not
    # yet handed out, are left for the re-run.
    assert run(chunks, ahead=8) == (["first"], [["b"], ["c"], ["d"]])


def test_a_worker_that_died_is_noticed_while_results_are_awaited():
    import pickle
    from concurrent.futures import Future
    from concurrent.futures.process import BrokenProcessPool

    class BreaksOnSecondChunk:
        submitted = 0

        def submit(self, function, chunk):
            self.submitted += 1
            future = Future()
            if self.submitted == 2:
                future.set_exception(BrokenProcessPool("a worker died"))
            else:
                future.set_result(pickle.dumps(chunk))
            return future

    results = engine._results_until_broken(BreaksOnSecondChunk(), iter([["a"], ["b"], ["c"]]), 1)
    assert next(results) == "a"
    with pytest.raises(StopIteration) as stop:
        next(results)
    assert list(stop.value.value) == [["b"], ["c"]]


def test_jobs_0_examines_a_few_files_in_this_process(monkeypatch):
    # Starting workers costs more than a few files take: --jobs 0 must never be slower than serial.
    import concurrent.futures

    def no_pool(*args, **kwargs):
        raise AssertionError("a process pool was started for a handful of files")

    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", no_pool)
    result = audit([GOOD, BROKEN_BY], Settings(), jobs=0)
    assert [artifact.status for artifact in result.artifacts] == [Status.OK, Status.OK]


def test_kept_results_are_released_to_the_collector_after_the_run(tmp_path):
    # Results are frozen out of the collector's way during a run, in batches; afterwards they must
    # be ordinary objects again, or a library caller's dropped results would never be collected.
    paths = []
    for index in range(engine._KeptOutOfGc.BATCH + 3):
        paths.append(str(tmp_path / f"m{index:03d}.keras"))
        shutil.copyfile(GOOD, paths[-1])
    assert gc.get_freeze_count() == 0
    result = audit(paths, Settings())
    assert len(result.artifacts) == len(paths)
    # Nothing is left in the permanent generation, which the collector never looks at.
    assert gc.get_freeze_count() == 0


def test_a_callers_own_frozen_objects_stay_frozen():
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        audit([GOOD], Settings())
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()


def test_trees_in_results_keep_what_reporters_read_and_drop_the_raw_config():
    (artifact,) = audit([str(MODELS / "k3_nested.keras")], Settings()).artifacts
    layers = list(artifact.tree.layers())
    assert all(layer.config == {} for layer in [artifact.tree.root, *layers])
    assert all(layer.name and layer.class_name for layer in layers)
    assert any(layer.regularizers for layer in layers) and any(layer.weights for layer in layers)


class _Recorder:
    """A consumer of the engine's stream that notes when each artifact reaches it."""

    def __init__(self, events: list) -> None:
        self.events = events
        self.alive: list = []

    def begin(self) -> None:
        self.events.append("begin")

    def artifact(self, artifact, piece=None) -> None:
        import weakref

        gc.collect()
        # Every artifact handed on before this one is gone: the stream keeps nothing.
        assert [ref() for ref in self.alive] == [None] * len(self.alive)
        self.alive.append(weakref.ref(artifact))
        self.events.append(("rendered", os.path.basename(artifact.path)))

    def end(self, totals) -> None:
        self.events.append(("end", totals.artifacts))


def _copies(tmp_path, count: int) -> list[str]:
    paths = []
    for index in range(count):
        paths.append(str(tmp_path / f"m{index}.keras"))
        shutil.copyfile(GOOD, paths[-1])
    return paths


def test_each_artifact_reaches_the_reporters_before_the_next_is_examined_and_is_then_forgotten(tmp_path, monkeypatch):
    from regaudit.reporters import feed

    events: list = []
    original = checks.all_checks()["RA001"]

    def noted(tree, context):
        events.append("examined")
        return original(tree, context)

    monkeypatch.setitem(checks.CHECKS, "RA001", noted)
    paths = _copies(tmp_path, 3)
    run = engine.Audit(paths, Settings())
    feed([_Recorder(events)], run, lambda: run.totals)
    assert run.totals.status_count(Status.OK) == 3
    assert events == [
        "begin", "examined", ("rendered", "m0.keras"), "examined", ("rendered", "m1.keras"),
        "examined", ("rendered", "m2.keras"), ("end", 3),
    ]


def test_a_parallel_stream_keeps_nothing_and_keeps_the_input_order(tmp_path):
    from regaudit.reporters import feed

    events: list = []
    paths = _copies(tmp_path, 20)
    run = engine.Audit(paths, Settings(), jobs=2)
    feed([_Recorder(events)], run, lambda: run.totals)
    assert events == ["begin", *[("rendered", f"m{index}.keras") for index in range(20)], ("end", 20)]
    assert run.totals.status_count(Status.OK) == 20


@pytest.mark.parametrize("format_", ["text", "concise", "json", "html", "sarif", "junit", "github", "markdown"])
def test_a_streamed_report_is_the_report_of_the_finished_result(format_, golden_result):
    import io

    from regaudit.catalog import load_catalog
    from regaudit.config import parse_options, settings_from
    from regaudit.reporters import feed, reporter

    known = load_catalog().is_selector
    settings = settings_from(parse_options(GOLDEN_OPTIONS, known_code=known, origin="test"))
    run = engine.Audit(GOLDEN_INPUTS, settings)
    stream = io.StringIO()
    feed([reporter(format_, golden_context(), stream)], run, lambda: run.totals)
    assert stream.getvalue() == rendered(format_, golden_result)


def _reports(jobs: int, paths: list[str], settings: Settings, formats=("text", "json", "concise")):
    """The reports of a streamed run, as the command line writes them, and the artifacts it saw."""
    import io

    from regaudit.reporters import Pieces, feed, reporter

    streams = [io.StringIO() for _ in formats]
    reports = [reporter(format_, golden_context(), stream) for format_, stream in zip(formats, streams)]
    seen: list = []

    class Seen:
        def begin(self):
            pass

        def artifact(self, artifact, piece=None):
            seen.append((artifact.pieces is not None, artifact.tree is not None))

        def end(self, totals):
            pass

    run = engine.Audit(paths, settings, jobs=jobs, pieces=Pieces.of(reports))
    feed([*reports, Seen()], run, lambda: run.totals)
    return [stream.getvalue() for stream in streams], seen


def test_workers_render_each_artifact_and_send_it_without_its_tree(tmp_path):
    paths = _copies(tmp_path, 6) + [BROKEN_BY]
    serial, seen_serial = _reports(1, paths, Settings())
    parallel, seen_parallel = _reports(2, paths, Settings())
    assert parallel == serial
    assert seen_serial == [(False, True)] * 7  # rendered here, from the tree
    assert seen_parallel == [(True, False)] * 7  # rendered by the workers; no tree crossed over


def test_workers_leave_the_rendering_here_when_an_ignore_can_change_the_findings(tmp_path):
    settings = Settings(per_layer_ignores={"*": ("RA202",)})
    paths = _copies(tmp_path, 6)
    serial, _ = _reports(1, paths, settings)
    parallel, seen = _reports(2, paths, settings)
    assert parallel == serial and "RA202" not in parallel[1] and "RA203" in parallel[1]
    assert seen == [(False, True)] * 6


def test_no_piece_is_rendered_ahead_for_a_report_that_needs_the_whole_run():
    import io

    from regaudit.reporters import Pieces, reporter

    reports = [reporter(format_, golden_context(), io.StringIO()) for format_ in ("text", "sarif")]
    assert Pieces.of(reports) is None and Pieces.of(reports[:1]) is not None


def test_never_more_workers_than_files(monkeypatch):
    # With the fork start method, ProcessPoolExecutor starts all max_workers processes at the
    # first task: `--jobs 100000` on three files forked 100,000 processes. The report is the same
    # whatever the job count, so the workers are capped at the number of files.
    started: list[int] = []

    def in_workers(candidates, settings, jobs, pieces):
        started.append(jobs)
        examiner = engine._Examiner(settings, engine.load_catalog())
        return (examiner.examine(candidate) for candidate in candidates)

    monkeypatch.setattr(engine, "_examine_in_workers", in_workers)
    paths = [str(MODELS / name) for name in ("k3_families.keras", "k3_inert.json", "k3_nested.h5")]
    serial = audit(paths)
    assert [artifact.status for artifact in audit(paths, jobs=100_000).artifacts] == [
        artifact.status for artifact in serial.artifacts]
    assert started == [3]
