"""Run an audit: find artifacts, read each into a tree, run the selected checks, then apply the
user's severities, ignores and baseline. Configuration is resolved before this point.

Examining an artifact is independent of every other, so with `jobs > 1` it runs in worker
processes; suppressions remember what they hid (for RA907/RA908), so they are applied here, in
input order, and the result is the same as a serial run's.

The command line keeps nothing: `Audit` streams each finished result to the reporters, which
render it and forget it. `audit()` keeps every result for a library caller; what it keeps is
small (once the checks have run, a tree drops its layers' raw config, see
`ModelTree.release_config`), and the kept results are moved out of the garbage collector's way
in batches, so that a run over many files costs the same per file at the end as at the start.
"""

from __future__ import annotations

import gc
import os
import sys
from contextlib import contextmanager
from itertools import chain, islice

from regaudit.catalog import Catalog, load_catalog
from regaudit.checks import Hit, RuleContext, all_checks
from regaudit.config import Settings
from regaudit.exclusion import path_filter
from regaudit.loaders import STDIN, Candidate, discover, load, should_report
from regaudit.loaders.problems import ArtifactProblem, OverLimits
from regaudit.outcomes import ArtifactResult, AuditResult, Diagnostic, Finding, RunTotals, Status
from regaudit.selection import RuleSelection
from regaudit.suppression import Baseline, Ignores, Stale
from regaudit.tree import ModelTree

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections import deque
    from typing import Any, Callable, Generator, Iterable, Iterator
    from regaudit.checks import Check
    from regaudit.evidence import Evidence

INTERNAL_ERROR = "RA909"
# Wraps the stream of examined artifacts, e.g. to draw a progress bar: (items, total) -> items.
if TYPE_CHECKING:
    Progress = Callable[[Iterable["ArtifactResult | None"], int], Iterable["ArtifactResult | None"]]
    # Renders an artifact's part of each report, in a worker process (regaudit.reporters.Pieces).
    Pieces = Callable[[ArtifactResult], tuple]


def audit(paths: Iterable[str] | str, settings: Settings | None = None, **options: Any) -> AuditResult:
    """Audit `paths` (files and directories, in the order given) with resolved `settings`, and
    keep every artifact's result: what `regaudit.audit()` gives library callers. `options` are
    `Audit`'s (`jobs`, `ignore_unknown`, `progress`). Raises nothing for a bad input: each
    becomes an artifact with an error.
    """
    run = Audit(paths, settings, **options)
    result = AuditResult()
    with _KeptOutOfGc() as kept:
        for artifact in run:
            result.artifacts.append(artifact)
            kept()
    result.configuration = run.totals.configuration
    result.fail_on = run.totals.fail_on
    return result


class Audit:
    """An audit as a stream: iterating gives each artifact's finished result (suppressions
    applied) in input order, as soon as it and every artifact before it have been examined;
    nothing is kept. Once the iteration ends, `totals` holds the run's counts, configuration
    findings (RA907/RA908, known only then) and gate. Iterate once.

    `jobs` is the number of worker processes: 1 examines every file in this process; 0 means one
    per CPU when there are at least PARALLEL_MIN_FILES files, else none. The results are the same
    whatever `jobs` is. `ignore_unknown` passes over named files that are not models; `progress`
    wraps the stream of examined artifacts (e.g. to draw a progress bar).

    `pieces` (see `regaudit.reporters.Pieces`) renders an artifact's part of every report; with
    workers, and when no per-file or per-layer ignore or baseline can change an artifact's
    findings afterwards, the workers call it, and each artifact comes back with its `pieces` and
    without its tree and evidence (which only the rendering reads): the parent then only writes.

    The command line renders each result as it comes (see `regaudit.reporters.feed`), so that
    rendering overlaps the workers' examining and memory stays flat however many files a run has.
    """

    def __init__(
        self,
        paths: Iterable[str] | str,
        settings: Settings | None = None,
        *,
        jobs: int = 1,
        ignore_unknown: bool = False,
        progress: Progress | None = None,
        pieces: Pieces | None = None,
    ) -> None:
        self.paths = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
        self.settings = settings or Settings()
        self.jobs = jobs
        self.ignore_unknown = ignore_unknown
        self.progress = progress
        self.pieces = pieces
        self.totals = RunTotals(self.settings.fail_on)
        # Read now, so that a baseline that cannot be read (ConfigError) stops the run before any
        # report is begun.
        self._suppressions = _Suppressions(self.settings, load_catalog())

    def __iter__(self) -> Iterator[ArtifactResult]:
        settings = self.settings
        catalog = load_catalog()
        exclude = path_filter(settings).excluded
        # Found as the examining goes: workers start on the first files while the walk goes on.
        candidates: Iterable[Candidate] = discover(self.paths, ignore_unknown=self.ignore_unknown, exclude=exclude,
                                                   force_exclude=settings.force_exclude)
        if self.progress is not None:
            candidates = list(candidates)  # a progress bar needs the total first
        # Standard input can be read by this process only.
        jobs = 1 if any(os.fspath(path) == STDIN for path in self.paths) else self.jobs
        suppressions = self._suppressions
        # Rendered in the workers only when nothing here can change an artifact's findings after them.
        pieces = self.pieces if suppressions.inert else None
        examined = _examine_all(iter(candidates), settings, catalog, jobs, pieces)
        if self.progress is not None:
            examined = self.progress(examined, len(candidates))  # type: ignore[arg-type]
        for artifact in examined:
            if artifact is not None:
                suppressions.apply(artifact)
                self.totals.add(artifact)
                yield artifact
        self.totals.configuration = suppressions.findings()


# `jobs=0`: one worker per CPU, or none when there are fewer files than PARALLEL_MIN_FILES.
AUTO_JOBS = 0
# Below this many files, starting worker processes costs more than it saves: measured in
# bench/RESULTS.md (a worker pool costs ~40 ms to start; a small model ~0.3 ms to examine).
# An explicit job count is honoured whatever the number of files: a worker also keeps a crash
# in a native reader away from the other files.
PARALLEL_MIN_FILES = 200
# Files per task sent to a worker as they are found: enough to make the per-task cost of a
# process pool small, few enough that the last task does not keep one worker busy long after the
# others are done (bench/NOTES.md). At most CHUNKS_AHEAD tasks per worker wait at a time, so that
# results never pile up in memory ahead of the reports.
CHUNK_SIZE = 32
CHUNKS_AHEAD = 4


def _examine_all(
    candidates: Iterator[Candidate], settings: Settings, catalog: Catalog, jobs: int, pieces: Pieces | None = None
) -> Iterator[ArtifactResult | None]:
    # Never slower than serial: with jobs=0, workers only when there is enough work to pay for
    # them; and a single file is examined here whatever the job count. Never more workers than
    # files: with the fork start method, the pool starts every worker at the first task.
    head = list(islice(candidates, PARALLEL_MIN_FILES if jobs == AUTO_JOBS else max(jobs, 2)))
    if jobs == AUTO_JOBS:
        jobs = (os.cpu_count() or 1) if len(head) >= PARALLEL_MIN_FILES else 1
    jobs = min(jobs, len(head))
    candidates = chain(head, candidates)
    if jobs <= 1 or len(head) <= 1:
        examiner = _Examiner(settings, catalog)
        return (examiner.examine(candidate) for candidate in candidates)
    return _examine_in_workers(candidates, settings, jobs, pieces)


def _chunks(candidates: Iterator[Candidate], size: int) -> Iterator[list[Candidate]]:
    while chunk := list(islice(candidates, size)):
        yield chunk


def _examine_in_workers(
    candidates: Iterator[Candidate], settings: Settings, jobs: int, pieces: Pieces | None
) -> Iterator[ArtifactResult | None]:
    # Imported here: multiprocessing is heavy, and a serial run (the default) never needs it.
    from concurrent.futures import ProcessPoolExecutor

    chunks = _chunks(candidates, CHUNK_SIZE)
    with ProcessPoolExecutor(max_workers=jobs, initializer=_start_worker, initargs=(settings, pieces)) as pool:
        unfinished = yield from _results_until_broken(pool, chunks, jobs * CHUNKS_AHEAD)
    # If a worker died (a crash in a native reader), it took the pool with it. The files still to
    # do are examined one process each, so the crash stays with its own file.
    for chunk in unfinished:
        for candidate in chunk:
            yield _examine_isolated(candidate, settings)


def _results_until_broken(
    pool: Any, chunks: Iterator[list[Candidate]], ahead: int
) -> Generator[ArtifactResult | None, None, Iterable[list[Candidate]]]:
    """Each chunk's results in input order, handing chunks out as they come and taking results
    back as soon as they are ready, with at most `ahead` chunks waiting. Returns the chunks not
    done when a dead worker broke the pool (empty when none did): a worker can die while chunks
    are still being handed out, so submitting may find the pool broken too."""
    from collections import deque
    from concurrent.futures.process import BrokenProcessPool

    waiting: deque[tuple[list[Candidate], Any]] = deque()  # (chunk, future), in input order

    def unfinished(*more: list[Candidate]) -> Iterable[list[Candidate]]:
        return chain([chunk for chunk, _ in waiting], more, chunks)

    for chunk in chunks:
        try:
            waiting.append((chunk, pool.submit(_examine_chunk_in_worker, chunk)))
        except BrokenProcessPool:
            return unfinished(chunk)
        while waiting and (len(waiting) >= ahead or waiting[0][1].done()):
            if not (yield from _first_results(waiting)):
                return unfinished()
    while waiting:
        if not (yield from _first_results(waiting)):
            return unfinished()
    return ()


def _first_results(waiting: deque) -> Generator[ArtifactResult | None, None, bool]:
    """The results of the first waiting chunk, once it is done; False (and the chunk left waiting)
    when its worker died."""
    from concurrent.futures.process import BrokenProcessPool

    try:
        data = waiting[0][1].result()
    except BrokenProcessPool:
        return False
    waiting.popleft()
    results = _unpacked(data)
    results.reverse()
    while results:  # each let go as it is handed on
        yield results.pop()
    return True


def _examine_isolated(candidate: Candidate, settings: Settings) -> ArtifactResult | None:
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    with ProcessPoolExecutor(max_workers=1, initializer=_start_worker, initargs=(settings, None)) as pool:
        try:
            (result,) = _unpacked(pool.submit(_examine_chunk_in_worker, [candidate]).result())
            return result
        except BrokenProcessPool:
            return ArtifactResult(
                candidate.display,
                Status.ERROR,
                error=Diagnostic(INTERNAL_ERROR, "the process reading this file stopped unexpectedly (a crash "
                                 "in a native library, or out of memory); please report it with the file"),
            )


_worker: "_Examiner | None" = None
_worker_pieces: "Pieces | None" = None


def _start_worker(settings: Settings, pieces: "Pieces | None") -> None:
    global _worker, _worker_pieces
    _worker = _Examiner(settings, load_catalog())
    _worker_pieces = pieces


def _examine_chunk_in_worker(chunk: list[Candidate]) -> bytes:
    """The chunk's results, pickled here rather than by the pool (see `_deep_pickling`); with
    pieces, rendered here, and sent without what only the rendering reads."""
    import pickle  # here: only --jobs pickles, and a serial run should not import it

    assert _worker is not None
    results = [_worker.examine(candidate) for candidate in chunk]
    if _worker_pieces is not None:
        for result in results:
            if result is not None:
                result.pieces = _worker_pieces(result)
                result.tree = result.evidence = None
    with _deep_pickling():
        try:
            return pickle.dumps(results, pickle.HIGHEST_PROTOCOL)
        except RecursionError:  # deeper than even that: refuse the file, keep the others
            return pickle.dumps([_transportable(*pair) for pair in zip(chunk, results)], pickle.HIGHEST_PROTOCOL)


def _transportable(candidate: Candidate, result: ArtifactResult | None) -> ArtifactResult | None:
    import pickle

    try:
        pickle.dumps(result, pickle.HIGHEST_PROTOCOL)
    except RecursionError:
        return _problem(candidate, OverLimits("the config is nested too deeply to pass between processes"))
    return result


def _unpacked(data: bytes) -> list[ArtifactResult | None]:
    import pickle

    with _deep_pickling():
        return pickle.loads(data)


# pickle recurses twice per level of nesting, so a config value nested 500 deep (json reads up to
# about 1,000 levels) exceeded Python's default limit of 1,000 on its way back from a worker, and
# the whole run failed where a serial run (which never pickles) was fine.
_PICKLE_RECURSION_LIMIT = 10_000


@contextmanager
def _deep_pickling() -> Iterator[None]:
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, _PICKLE_RECURSION_LIMIT))
    try:
        yield
    finally:
        sys.setrecursionlimit(limit)


class _Examiner:
    """Reads one artifact and runs the selected checks on it; the same in any process."""

    def __init__(self, settings: Settings, catalog: Catalog) -> None:
        self.catalog = catalog
        self.selection = RuleSelection(settings, catalog)
        self.context = RuleContext(settings)
        self.checks: dict[str, Check] = {
            code: check for code, check in all_checks().items() if code in catalog.codes and self.selection.enabled(code)
        }

    def examine(self, candidate: Candidate) -> ArtifactResult | None:
        """The artifact's result, with no cyclic garbage collection while it is read and checked.

        Parsing a config and building its tree allocate many containers that all stay alive until
        the artifact is done, so every collection in between walks a growing heap for nothing: with
        it, a 20,000-layer model cost 42 µs per layer instead of 19 (bench/NOTES.md), and the cost
        grew faster than the model. The little cyclic garbage one artifact makes is collected once
        the collector is back on, after the artifact. (A plain try/finally: a context manager cost
        more than a small file's checks.)
        """
        if not gc.isenabled():
            return self._examine(candidate)
        gc.disable()
        try:
            return self._examine(candidate)
        finally:
            gc.enable()

    def _examine(self, candidate: Candidate) -> ArtifactResult | None:
        try:
            tree = load(candidate)
            settings = self.context.settings
            evidence = _weight_evidence(candidate, tree, settings.near_zero) if settings.weights else None
            findings = self.run_checks(tree, evidence)
        except ArtifactProblem as problem:
            return _problem(candidate, problem) if should_report(candidate, problem) else None
        except RecursionError:
            return _problem(candidate, OverLimits("the config is nested too deeply to walk; refusing it"))
        except MemoryError:
            return _problem(candidate, OverLimits("reading the file ran out of memory; refusing it"))
        except Exception as error:  # a bug in regaudit: say so, for this artifact only
            return ArtifactResult(candidate.display, Status.ERROR, error=_internal_error(error))
        tree.release_config()
        return ArtifactResult(
            candidate.display, Status.OK, format=tree.format, keras_version=tree.keras_version, tree=tree,
            findings=findings, evidence=evidence,
        )

    def run_checks(self, tree: ModelTree, evidence: "Evidence | None" = None) -> list[Finding]:
        context = self.context if evidence is None else self.context._replace(evidence=evidence)
        findings = [
            _finding(self.catalog, self.selection, code, hit)
            for code, check in self.checks.items()
            for hit in check(tree, context)
        ]
        if not findings:
            return findings
        order = {layer.path: index for index, layer in enumerate(tree.layers())}
        return sorted(findings, key=lambda f: (order.get(f.layer, -1) if f.layer is not None else -1, f.rule))


class _KeptOutOfGc:
    """Keeps `audit()`'s growing list of results out of the cyclic garbage collector's full passes.

    `audit()` keeps every result for its caller, and each full collection would walk all of them
    again: 16-48% of a large run's time (issue 11). Every `BATCH` results, the garbage
    made since the last batch is collected (a pass over that batch only: everything older is
    frozen) and what survives is frozen (`gc.freeze`). At the end everything is unfrozen again,
    so a library caller's results are collected as usual once dropped. Skipped when the caller
    froze objects of its own or turned the collector off: their choice is left alone.
    """

    BATCH = 256

    def __enter__(self) -> Callable[[], None]:
        self.active = gc.isenabled() and gc.get_freeze_count() == 0
        self.pending = 0
        return self._kept if self.active else _nothing

    def _kept(self) -> None:
        self.pending += 1
        if self.pending >= self.BATCH:
            self.pending = 0
            gc.collect()
            gc.freeze()

    def __exit__(self, *exc_info: object) -> None:
        if self.active:
            gc.unfreeze()


def _nothing() -> None:
    pass


def _weight_evidence(candidate: Candidate, tree: ModelTree, near_zero: float) -> "Evidence":
    # Imported only with --weights: numpy and h5py are never loaded for a config-only audit.
    from regaudit.evidence import collect

    return collect(candidate.path, tree, near_zero)


class _Suppressions:
    """Per-file and per-layer ignores and the baseline, applied in input order."""

    def __init__(self, settings: Settings, catalog: Catalog) -> None:
        self.catalog = catalog
        self.selection = RuleSelection(settings, catalog)
        self.ignores = Ignores(settings, catalog)
        self.baseline = Baseline.read(settings.baseline) if settings.baseline else None
        # Nothing to suppress: applying leaves every artifact's findings as they are.
        self.inert = self.ignores.empty and self.baseline is None

    def apply(self, artifact: ArtifactResult) -> None:
        if self.inert:
            return
        total = len(artifact.findings)
        artifact.findings = self.ignores.filter(artifact)
        if self.baseline is not None:
            artifact.findings = self.baseline.filter(artifact)
        artifact.suppressed = total - len(artifact.findings)

    def findings(self) -> list[Finding]:
        """Unused ignores (RA907) and stale baseline entries (RA908), when those rules are selected."""
        stale: list[Stale] = self.ignores.stale() + (self.baseline.stale() if self.baseline else [])
        return [
            _finding(self.catalog, self.selection, entry.code, Hit(None, entry.argument, entry.message))
            for entry in stale
            if self.selection.enabled(entry.code)
        ]


def _finding(catalog: Catalog, selection: RuleSelection, code: str, hit: Hit) -> Finding:
    rule = catalog.brief(code)
    severity = selection.severity(code, hit.severity or rule.severity)
    return Finding(rule.code, rule.name, severity, hit.layer, hit.argument, hit.message)


def _problem(candidate: Candidate, problem: ArtifactProblem) -> ArtifactResult:
    return ArtifactResult(candidate.display, problem.status, error=problem.diagnostic)


def _internal_error(error: Exception) -> Diagnostic:
    if os.environ.get("REGAUDIT_DEBUG"):
        import traceback

        traceback.print_exc()
    detail = str(error).splitlines()[0] if str(error) else ""
    return Diagnostic(
        INTERNAL_ERROR,
        f"regaudit failed on this file ({type(error).__name__}: {detail}); this is a bug in "
        "regaudit, please report it (set REGAUDIT_DEBUG=1 for the traceback)",
    )
