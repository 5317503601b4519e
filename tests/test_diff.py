"""`regaudit diff`: layer matching, slot comparison, the gate's exit codes, every report format, the
`--git` mode, and the fixture pairs built with real Keras (fixtures/diff_pairs, see generate.py there).
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from referencing import Registry, Resource

from conftest import FIXTURES, ROOT, assert_golden, dense, golden_context, run_cli, tree_of
from regaudit.config import Settings
from regaudit.diff import Change, Gate, Matching, compare, compare_regularizers, match_layers, side
from regaudit.loaders.regularizers import normalize
from regaudit.outcomes import ExitCode, Severity
from regaudit.reporters import render_diff

PAIRS = FIXTURES / "diff_pairs"
REPORTERS = ROOT / "regaudit" / "reporters"
DIFF_SCHEMA = json.loads((REPORTERS / "diff.schema.json").read_text())
REPORT_SCHEMA = json.loads((REPORTERS / "report.schema.json").read_text())
L2 = {"class_name": "L2", "config": {"l2": 0.001}}


def pair(name: str) -> tuple[str, str]:
    """The pair's old and new file, relative to the repository root (the tests run from there)."""
    files = sorted(path.relative_to(ROOT).as_posix() for path in (PAIRS / name).iterdir())
    return next(f for f in files if "/old." in f), next(f for f in files if "/new." in f)


def diff_of(*pairs_: tuple[str, str], gate: Gate = Gate()):
    settings = Settings()
    return compare([(side(old, settings), side(new, settings)) for old, new in pairs_], gate)


@pytest.fixture(autouse=True)
def at_root(monkeypatch):
    monkeypatch.chdir(ROOT)


def changes(result) -> dict[tuple[str, str], str]:
    """{(layer path, slot): verdict} for every slot change of every artifact."""
    from regaudit.reporters._diff import slot_verdict

    return {(layer.path, slot.slot): slot_verdict(slot) for a in result.artifacts for layer, slot in a.slot_changes()}


def validate(document: dict) -> None:
    registry = Registry().with_resources(
        [(schema["$id"], Resource.from_contents(schema)) for schema in (DIFF_SCHEMA, REPORT_SCHEMA)]
    )
    jsonschema.Draft202012Validator(DIFF_SCHEMA, registry=registry).validate(document)


def rendered(format_: str, result) -> str:
    stream = io.StringIO()
    render_diff(format_, result, golden_context(), stream)
    return stream.getvalue()


def weighted(name: str, **config) -> dict:
    """A Dense whose config declares its kernel, as every saved Dense does: a weight-bearing layer."""
    return dense(name, kernel_initializer={}, **config)


def write_model(path: Path, layers: list[dict], keras_version: str = "2.15.0") -> str:
    path.write_text(json.dumps({"class_name": "Sequential", "keras_version": keras_version,
                                "config": {"name": "m", "layers": layers}}))
    return str(path)


# --- the fixture pairs, each against what its generator changed ------------------------------------


def test_retrain_names_the_dropped_and_the_multiplied_layer_first():
    """The issue's "Done means": a retrain dropped encoder's L2 and multiplied hidden's by 100."""
    completed = run_cli("diff", *pair("retrain"), cwd=ROOT)
    first_lines = completed.stdout.splitlines()[:6]
    assert any("removed" in line and "encoder kernel: L2(l2=0.0001) -> none" in line for line in first_lines)
    assert any("strengthened" in line and "hidden kernel" in line and "l2 x100" in line for line in first_lines)
    assert completed.returncode == ExitCode.OK  # no error-severity finding introduced; no --fail-on-removed


def test_retrain_pair():
    result = diff_of(pair("retrain"))
    assert changes(result) == {
        ("encoder", "kernel"): "removed", ("hidden", "kernel"): "strengthened", ("bottleneck", "kernel"): "weakened",
    }
    (artifact,) = result.artifacts
    slots = {layer.path: (layer, slot) for layer, slot in artifact.slot_changes()}
    assert slots["encoder"][0].lost_all_regularization
    assert not slots["hidden"][0].lost_all_regularization
    assert slots["hidden"][1].ratios == {"l2": pytest.approx(100)}
    assert slots["bottleneck"][1].weakening == pytest.approx(20)
    assert artifact.matched == {Matching.PATH: 5}  # features, encoder, hidden, bottleneck, head
    assert [f.rule for f in artifact.introduced] == ["RA002", "RA104"] and artifact.resolved == []


def test_removed_pair_tf_keras_h5():
    result = diff_of(pair("removed"))
    assert changes(result) == {("conv", "bias"): "removed"}
    (artifact,) = result.artifacts
    (layer,) = artifact.layers
    assert not layer.lost_all_regularization  # conv keeps its kernel L2
    assert [f.rule for f in artifact.resolved] == ["RA105"]  # the bias penalty's finding went with it


def test_renamed_layer_is_matched_by_position_not_removed_and_added():
    (artifact,) = diff_of(pair("renamed")).artifacts
    (layer,) = artifact.layers
    assert (layer.old.path, layer.new.path, layer.matched_by) == ("fc1", "encoder", Matching.POSITION)
    assert layer.slots == ()  # the same L2(1e-4) on the same kernel
    assert artifact.matched == {Matching.PATH: 3, Matching.POSITION: 1}
    assert artifact.introduced == artifact.resolved == []


def test_inserted_layer_is_added_and_the_rest_match_by_path():
    (artifact,) = diff_of(pair("inserted")).artifacts
    (layer,) = artifact.layers
    assert (layer.old, layer.new.path, layer.new.class_name) == (None, "extra", "Dense")
    assert artifact.matched == {Matching.PATH: 4}
    assert [(f.rule, f.layer) for f in artifact.introduced] == [("RA002", "extra")]


def test_builtin_swapped_for_unregistered_class():
    result = diff_of(pair("swapped"))
    (artifact,) = result.artifacts
    ((layer, slot),) = list(artifact.slot_changes())
    assert (layer.path, slot.slot, slot.change) == ("fc2", "kernel", Change.CHANGED)
    assert set(slot.fields) >= {"class", "origin", "factors"}
    assert (slot.old.class_name, slot.new.class_name, slot.new.origin.value) == ("L2", "ScaledL2", "unregistered")
    assert slot.ratios == {}  # scale and l2 are different factors: no ratio between them
    assert [(f.rule, f.severity) for f in artifact.introduced] == [("RA301", Severity.ERROR)]
    assert result.exit_code() == ExitCode.FINDINGS


def test_h5_to_keras_of_the_same_model_changes_only_the_format():
    (artifact,) = diff_of(pair("h5_to_keras")).artifacts
    assert artifact.format_change == ("hdf5", "keras-zip")
    assert artifact.keras_version_change is None
    assert artifact.layers == [] and artifact.introduced == artifact.resolved == []


def test_savedmodel_to_keras_of_the_same_model_changes_only_the_format():
    """A new SavedModel version, or its .keras twin: artifact directories pair as one artifact."""
    (artifact,) = diff_of(("fixtures/savedmodels/sequential", "fixtures/savedmodels/sequential.keras")).artifacts
    assert artifact.format_change == ("savedmodel", "keras-zip")
    assert artifact.layers == [] and artifact.introduced == artifact.resolved == []


def test_keras1_to_keras2_reads_as_the_same_regularizers():
    """W_regularizer -> kernel_regularizer, L1L2Regularizer -> L2/L1/L1L2: respelled, never removed + added."""
    result = diff_of(pair("keras1_to_keras2"))
    (artifact,) = result.artifacts
    assert changes(result) == {
        ("dense_1", "kernel"): "respelled", ("dense_1", "bias"): "respelled", ("dense_2", "kernel"): "respelled",
    }
    assert artifact.keras_version_change == ("1.2.2", "2.21.0")
    assert [layer.matched_by for layer in artifact.layers] == [Matching.PATH, Matching.PATH]
    assert [f.rule for f in artifact.resolved] == ["RA401"] * 3  # the Keras 1 arguments Keras 2 cannot load
    assert result.exit_code() == ExitCode.OK
    assert diff_of(pair("keras1_to_keras2"), gate=Gate(fail_on_removed=True)).exit_code() == ExitCode.OK


# Loads each pair's files with the library that saved them and prints each layer's regularizer
# configs. Run in a child process: importing TensorFlow in the test process would add ~500 MB to
# every child it forks later (tests/test_hostile.py measures its children's peak memory).
KERAS_VIEW = r"""
import json, os, sys, warnings
os.environ["KERAS_BACKEND"] = "tensorflow"
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
sys.path.insert(0, sys.argv[1])
import generate, keras, tf_keras
custom = {"ScaledL2": generate._scaled_l2(keras)}
views = {}
for name, library, paths in json.loads(sys.argv[2]):
    library = {"keras": keras, "tf_keras": tf_keras}[library]
    views[name] = []
    for path in paths:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = library.models.load_model(path, custom_objects=custom, compile=False)
        views[name].append([
            [layer.name, slot, {type(r).__name__: r.get_config()},
             float(r(getattr(layer, slot))) if slot != "activity" else None]  # the penalty Keras adds
            for layer in model.layers
            for slot in ("kernel", "bias", "activity")
            for r in [getattr(layer, slot + "_regularizer", None)] if r is not None
        ])
print(json.dumps(views))
"""


@pytest.fixture(scope="module")
def keras_views() -> dict:
    """{pair: [old view, new view]}, each view [[layer, slot, {class: config}, penalty], ...]."""
    if not os.environ.get("CI") and not all(importlib.util.find_spec(name) for name in ("keras", "tf_keras")):
        pytest.skip("keras and tf_keras are not installed (the test extra)")  # found, never imported here
    libraries = {"retrain": "keras", "renamed": "keras", "inserted": "keras", "swapped": "keras",
                 "h5_to_keras": "keras", "removed": "tf_keras"}
    request = [[name, library, [str(ROOT / path) for path in pair(name)]] for name, library in libraries.items()]
    completed = subprocess.run([sys.executable, "-c", KERAS_VIEW, str(PAIRS), json.dumps(request)],
                               capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert completed.returncode == 0, completed.stderr[-2000:]
    return json.loads(completed.stdout)


@pytest.mark.keras
def test_pairs_agree_with_keras_itself(keras_views):
    """Both sides of each Keras-built pair, loaded by the library that saved them: the (layer, slot)s
    whose regularizer config differs are exactly the ones the diff reports (the Keras 1 pair aside:
    Keras 1 cannot be installed to load it)."""
    for name, (old_view, new_view) in keras_views.items():
        result = diff_of(pair(name))
        renamed = {l.old.path: l.new.path for a in result.artifacts for l in a.layers if l.renamed}
        old = {(renamed.get(layer, layer), slot): config for layer, slot, config, _ in old_view}
        new = {(layer, slot): config for layer, slot, config, _ in new_view}
        differing = {key for key in old.keys() | new.keys() if old.get(key) != new.get(key)}
        assert differing == set(changes(result)), name


@pytest.mark.keras
def test_weights_penalty_changes_are_what_keras_computes(keras_views):
    """With --weights, every regularized slot of the retrain pair shows the penalty Keras computes
    on each side's stored weights, unchanged regularizers (head) included."""
    settings = Settings(weights=True)
    result = compare([(side(old, settings), side(new, settings)) for old, new in [pair("retrain")]])
    shown = {(layer.path, slot.slot): slot.penalty for a in result.artifacts for layer, slot in a.slot_changes()}
    old_view, new_view = keras_views["retrain"]
    old = {(layer, slot): penalty for layer, slot, _, penalty in old_view}
    new = {(layer, slot): penalty for layer, slot, _, penalty in new_view}
    assert set(shown) == old.keys() | new.keys() == {
        ("encoder", "kernel"), ("hidden", "kernel"), ("bottleneck", "kernel"), ("head", "kernel"),
    }
    for key, (before, after) in shown.items():
        assert before == pytest.approx(old.get(key), rel=1e-5) if key in old else before is None
        assert after == pytest.approx(new.get(key), rel=1e-5) if key in new else after is None
    document = json.loads(rendered("json", result))
    validate(document)
    head = next(r for l in document["artifacts"][0]["layers"] for r in l["regularizers"] if l["new_path"] == "head")
    assert head["change"] == "unchanged" and head["penalty"]["new"] == pytest.approx(new[("head", "kernel")], rel=1e-5)
    assert "unchanged     head kernel: L2(l2=0.0001); penalty 0.00014 -> 0.000167" in rendered("text", result)


def test_without_weights_no_penalty_and_no_unchanged_slots():
    result = diff_of(pair("retrain"))
    assert all(slot.penalty is None and slot.change is not Change.UNCHANGED
               for a in result.artifacts for _, slot in a.slot_changes())


# --- matching and comparing, on small configs --------------------------------------------------------


def test_match_by_name_when_a_layer_moves_into_a_block():
    old = tree_of([dense("a"), dense("b")])
    inner = {"class_name": "Sequential", "config": {"name": "block", "layers": [dense("b")]}}
    new = tree_of([dense("a"), inner])
    how = {(o.path if o else None, n.path if n else None): m for o, n, m in match_layers(old, new)}
    assert how[("a", "a")] is Matching.PATH
    assert how[("b", "block/b")] is Matching.NAME
    assert how[(None, "block")] is None  # the new container is added


def test_position_needs_the_same_class_and_place():
    old = tree_of([dense("a"), {"class_name": "Dropout", "config": {"name": "drop", "rate": 0.5}}, dense("z")])
    new = tree_of([dense("a"), {"class_name": "Dense", "config": {"name": "d2", "units": 2}}, dense("z")])
    matches = {(o.path if o else None, n.path if n else None): m for o, n, m in match_layers(old, new)}
    assert matches == {("a", "a"): Matching.PATH, ("drop", None): None, (None, "d2"): None, ("z", "z"): Matching.PATH}


def test_fewer_layers_of_a_class_in_a_gap_match_as_many_as_there_are():
    # Which of three renamed Dense layers became neither of the two is not knowable; two match, one is removed.
    old = tree_of([dense("x1"), dense("x2"), dense("x3"), {"class_name": "Flatten", "config": {"name": "f"}}])
    new = tree_of([dense("y1"), dense("y2"), {"class_name": "Flatten", "config": {"name": "f"}}])
    pairs = [(o.path if o else None, n.path if n else None, m) for o, n, m in match_layers(old, new)]
    matched = [(o, n) for o, n, m in pairs if m is Matching.POSITION]
    assert len(matched) == 2 and len([o for o, n, m in pairs if n is None]) == 1
    assert ("f", "f", Matching.PATH) in pairs


def test_factor_noise_of_float32_is_not_a_change():
    old = normalize({"class_name": "L2", "config": {"l2": 0.01}}, slot="kernel", argument="kernel_regularizer")
    new = normalize({"class_name": "L2", "config": {"l2": 0.009999999776482582}}, slot="kernel",
                    argument="kernel_regularizer")
    assert compare_regularizers(old, new) is None


def test_factors_set_to_zero_take_the_penalty_away():
    old = normalize({"class_name": "L1L2", "config": {"l1": 0.0, "l2": 0.01}}, slot="kernel", argument="kernel_regularizer")
    new = normalize({"class_name": "L1L2", "config": {"l1": 0.0, "l2": 0.0}}, slot="kernel", argument="kernel_regularizer")
    change = compare_regularizers(old, new)
    assert change.ratios == {"l2": 0.0} and change.takes_penalty_away and change.weakening == float("inf")


def test_options_change_is_a_change():
    old = normalize({"class_name": "OrthogonalRegularizer", "config": {"factor": 0.01, "mode": "rows"}},
                    slot="kernel", argument="kernel_regularizer")
    change = compare_regularizers(old, old._replace(options={"mode": "columns"}))
    assert change.change is Change.CHANGED and change.fields == ("options",) and change.ratios == {}


# --- the gate ---------------------------------------------------------------------------------------


@pytest.fixture
def weakened(tmp_path) -> tuple[str, str]:
    """d's L2 divided by 20; nothing else changes, and no finding is introduced."""
    old = write_model(tmp_path / "old.json", [weighted("d", kernel_regularizer={"class_name": "L2", "config": {"l2": 1e-3}})])
    new = write_model(tmp_path / "new.json", [weighted("d", kernel_regularizer={"class_name": "L2", "config": {"l2": 5e-5}})])
    return old, new


@pytest.mark.parametrize("options, code", [
    ((), 0),
    (("--fail-on-removed",), 0),  # weakened is not removed
    (("--max-weakening", "30"), 0),  # divided by 20, not by more than 30
    (("--max-weakening", "10"), 1),  # implies --fail-on-removed
    (("--fail-on-removed", "--max-weakening", "20"), 0),  # "more than" 20
    (("--fail-on-removed", "--max-weakening", "19.9"), 1),
])
def test_max_weakening(weakened, options, code):
    assert run_cli("diff", *options, *weakened).returncode == code


@pytest.mark.parametrize("name, options, code", [
    ("retrain", (), 0),
    ("retrain", ("--fail-on-removed",), 1),  # encoder lost its L2
    ("retrain", ("--fail-on", "warning"), 1),  # RA002 introduced on encoder
    ("retrain", ("--fail-on", "info"), 1),
    ("retrain", ("--fail-on", "never"), 0),
    ("retrain", ("--fail-on", "never", "--fail-on-removed"), 1),
    ("removed", ("--fail-on-removed",), 1),  # conv's bias L1: a weight-bearing layer lost a penalty
    ("removed", ("--fail-on", "info"), 0),  # a finding resolved, none introduced
    ("swapped", (), 1),  # RA301 (error) introduced
    ("swapped", ("--fail-on", "never", "--fail-on-removed"), 0),  # a class swap takes no penalty away
    ("renamed", ("--fail-on", "info", "--fail-on-removed"), 0),
    ("inserted", ("--fail-on", "warning"), 1),
    ("keras1_to_keras2", ("--fail-on", "info", "--fail-on-removed", "--max-weakening", "1"), 0),
])
def test_gate_exit_codes(name, options, code):
    completed = run_cli("diff", *options, *pair(name), cwd=ROOT)
    assert completed.returncode == code, completed.stdout + completed.stderr


def test_unreadable_side_exits_3(tmp_path):
    lfs = tmp_path / "model.keras"
    lfs.write_text("version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 1\n")
    old, _ = pair("retrain")
    completed = run_cli("diff", str(ROOT / old), str(lfs))
    assert completed.returncode == 3 and "RA902" in completed.stdout
    assert run_cli("diff", str(tmp_path / "missing.keras"), str(ROOT / old)).returncode == 3


def test_weights_only_files_are_skipped_not_unreadable():
    weights = "fixtures/models/k3_weights_only.weights.h5"
    result = diff_of((weights, weights))
    assert [a.status for a in result.artifacts] == ["skipped"] and result.exit_code() == ExitCode.OK
    assert "old: RA901" in rendered("text", result)
    validate(json.loads(rendered("json", result)))


def test_usage_errors_exit_2(tmp_path):
    assert run_cli("diff", "only-one.keras").returncode == 2
    assert run_cli("diff", "--format", "html", *pair("retrain"), cwd=ROOT).returncode == 2


def test_directories_pair_by_relative_path(tmp_path):
    old_dir, new_dir = tmp_path / "old", tmp_path / "new"
    (old_dir / "sub").mkdir(parents=True)
    (new_dir / "sub").mkdir(parents=True)
    (old_dir / "sub" / "m.keras").write_bytes((ROOT / pair("retrain")[0]).read_bytes())
    (new_dir / "sub" / "m.keras").write_bytes((ROOT / pair("retrain")[1]).read_bytes())
    (old_dir / "gone.h5").write_bytes((ROOT / pair("removed")[0]).read_bytes())
    (new_dir / "new.keras").write_bytes((ROOT / pair("swapped")[1]).read_bytes())
    for folder in (old_dir, new_dir):
        (folder / "same.keras").write_bytes((ROOT / pair("renamed")[0]).read_bytes())
    result = compare([(side(str(old_dir), Settings()), side(str(new_dir), Settings()))])
    assert {a.key: a.status for a in result.artifacts} == {
        "new.keras": "added", "same.keras": "unchanged", "sub/m.keras": "changed", "gone.h5": "removed",
    }
    assert f"{new_dir / 'same.keras'}  (keras-zip, Keras 3.15.1) unchanged\n\n" in rendered("text", result)
    markdown = rendered("markdown", result)
    assert "same.keras" not in markdown and "4 artifacts compared (1 added, 1 unchanged, 1 changed, 1 removed)" in markdown
    added = next(a for a in result.artifacts if a.key == "new.keras")
    assert added.layers == [] and [f.rule for f in added.introduced] == ["RA301"]
    assert result.exit_code() == ExitCode.FINDINGS


# --- report formats -----------------------------------------------------------------------------------

GOLDEN_PAIRS = ("retrain", "removed", "renamed", "inserted", "swapped", "h5_to_keras", "keras1_to_keras2")


@pytest.fixture
def golden_diff():
    return diff_of(*(pair(name) for name in GOLDEN_PAIRS), gate=Gate(Severity.ERROR, True, 10.0))


@pytest.mark.parametrize("format_, golden", [
    ("text", "diff.txt"), ("json", "diff.json"), ("markdown", "diff.md"), ("github", "diff.github.txt"),
])
def test_golden(golden_diff, format_, golden):
    assert_golden(golden, rendered(format_, golden_diff))


def test_json_is_valid_against_its_schema_for_every_pair(golden_diff):
    document = json.loads(rendered("json", golden_diff))
    validate(document)
    assert document["gate"]["exit_code"] == 1
    verdicts = {(a["key"] or a["new"]["path"], l["new_path"] or l["old_path"], r["slot"]): (r["verdict"], r["fails_gate"])
                for a in document["artifacts"] for l in a["layers"] for r in l["regularizers"]}
    retrain = "fixtures/diff_pairs/retrain/new.keras"
    assert verdicts[(retrain, "encoder", "kernel")] == ("removed", True)
    assert verdicts[(retrain, "bottleneck", "kernel")] == ("weakened", True)  # /20 > --max-weakening 10
    assert verdicts[(retrain, "hidden", "kernel")] == ("strengthened", False)
    for name in ("added", "removed"):
        single = compare([(side(None if name == "added" else pair("retrain")[0], Settings()),
                           side(pair("retrain")[1] if name == "added" else None, Settings()))])
        validate(json.loads(rendered("json", single)))


def test_markdown_fits_a_pull_request_comment(tmp_path):
    # 3,000 layers, each with its L2 removed: far more rows than a comment holds.
    layers = [weighted(f"layer_{i:04d}_" + "x" * 40, kernel_regularizer=L2) for i in range(3000)]
    old = write_model(tmp_path / "old.json", layers)
    new = write_model(tmp_path / "new.json", [weighted(layer["config"]["name"]) for layer in layers])
    completed = run_cli("diff", "--format", "markdown", "--fail-on-removed", old, new)
    assert completed.returncode == 1
    text = completed.stdout
    assert len(text) <= 65_536
    assert "more rows not shown: a pull-request comment holds 65,536 characters" in text
    assert "`layer_0000_" in text  # the rows that fit are the first ones


def test_markdown_github_and_text_escape_hostile_names(tmp_path):
    name = "x`|<img src=x>\n::error::pwned @admin"
    old = write_model(tmp_path / "old.json", [weighted(name, kernel_regularizer=L2)])
    new = write_model(tmp_path / "new.json", [weighted(name)])
    markdown = run_cli("diff", "--format", "markdown", old, new).stdout
    # A code span (no HTML, no mention, no link) on one line: the table row stays whole.
    # The newline is shown as an escape (regaudit/reporters/_escape.py).
    assert "| ``x`\\|<img src=x>\\n::error::pwned @admin`` |" in markdown and "\n::error" not in markdown
    github = run_cli("diff", "--format", "github", old, new).stdout
    assert all(line.startswith("::") for line in github.splitlines())
    assert "x`|<img src=x>\\n::error::pwned @admin" in github
    text = run_cli("diff", old, new).stdout
    assert "\\n:\\x3aerror:\\x3apwned" in text  # log_text: no line of the text report can start a workflow command
    assert not any(line.lstrip().startswith("::") for line in text.splitlines())


# --- --git ----------------------------------------------------------------------------------------------


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path) -> Path:
    repo = tmp_path / "repo"
    (repo / "models").mkdir(parents=True)
    git(repo, "init", "-q")
    git(repo, "config", "user.email", "ci@example.com")
    git(repo, "config", "user.name", "ci")
    (repo / "models" / "m.keras").write_bytes((ROOT / pair("retrain")[0]).read_bytes())
    (repo / "models" / "gone.h5").write_bytes((ROOT / pair("removed")[0]).read_bytes())
    (repo / "models" / "-rf.keras").write_bytes((ROOT / pair("renamed")[0]).read_bytes())
    git(repo, "add", "--", ".")
    git(repo, "commit", "-q", "-m", "models")
    (repo / "models" / "m.keras").write_bytes((ROOT / pair("retrain")[1]).read_bytes())
    (repo / "models" / "gone.h5").unlink()
    (repo / "models" / "-rf.keras").write_bytes((ROOT / pair("renamed")[1]).read_bytes())
    return repo


def test_git_mode_reads_old_from_the_object_store(repo):
    completed = run_cli("diff", "--git", "HEAD", "--format", "json", "--fail-on-removed", "models", cwd=repo)
    assert completed.returncode == 1, completed.stderr
    document = json.loads(completed.stdout)
    validate(document)
    statuses = {a["key"]: (a["status"], (a["old"] or a["new"])["path"]) for a in document["artifacts"]}
    assert statuses == {
        "-rf.keras": ("changed", "models/-rf.keras"),
        "m.keras": ("changed", "models/m.keras"),
        "gone.h5": ("removed", "models/gone.h5"),
    }
    renamed = next(a for a in document["artifacts"] if a["key"] == "-rf.keras")
    assert renamed["matching"] == {"path": 3, "position": 1}


def test_git_mode_from_the_top_and_from_a_subfolder(repo):
    def statuses(*args: str, cwd: Path) -> dict:
        completed = run_cli("diff", "--git", "HEAD", "--format", "json", *args, cwd=cwd)
        return {(a["new"] or a["old"])["path"]: a["status"] for a in json.loads(completed.stdout)["artifacts"]}

    expected = {"models/-rf.keras": "changed", "models/m.keras": "changed", "models/gone.h5": "removed"}
    assert statuses(".", cwd=repo) == expected
    assert statuses("..", cwd=repo / "models") == {f"../{path}": status for path, status in expected.items()}
    assert statuses(".", "../models/m.keras", cwd=repo / "models") == {
        "-rf.keras": "changed", "m.keras": "changed", "gone.h5": "removed", "../models/m.keras": "changed",
    }


def test_git_mode_single_file_and_a_file_named_like_an_option(repo):
    completed = run_cli("diff", "--git", "HEAD", "--", "models/-rf.keras", cwd=repo)
    assert completed.returncode == 0 and "fc1 -> encoder" in completed.stdout
    (repo / "models" / "new.keras").write_bytes((ROOT / pair("swapped")[1]).read_bytes())
    completed = run_cli("diff", "--git", "HEAD", "models/new.keras", cwd=repo)
    assert completed.returncode == 1 and "added" in completed.stdout  # RA301 in a new file


def test_git_mode_suppresses_the_same_findings_on_both_sides(repo):
    """per-file-ignores globs are relative to the configuration file: the old side (copied out of
    git into a temporary folder) must match them as the working tree does, or an ignored finding
    would read as resolved."""
    swapped = (ROOT / pair("swapped")[1]).read_bytes()  # RA301 on fc2
    (repo / "models" / "custom.keras").write_bytes(swapped)
    (repo / ".regaudit.toml").write_text('[per-file-ignores]\n"models/custom.keras" = ["RA301"]\n')
    git(repo, "add", "--", ".")
    git(repo, "commit", "-q", "-m", "custom")
    (repo / "models" / "custom.keras").write_bytes(swapped[:])  # unchanged content
    completed = run_cli("diff", "--git", "HEAD", "--format", "json", "models/custom.keras", cwd=repo)
    (artifact,) = json.loads(completed.stdout)["artifacts"]
    assert artifact["findings"] == {"introduced": [], "resolved": []} and artifact["status"] == "unchanged"


def test_git_mode_lfs_pointer_is_ra902(repo):
    pointer = "version https://git-lfs.github.com/spec/v1\noid sha256:" + "a" * 64 + "\nsize 12345\n"
    (repo / "models" / "big.keras").write_text(pointer)
    git(repo, "add", "--", "models/big.keras")
    git(repo, "commit", "-q", "-m", "lfs")
    (repo / "models" / "big.keras").write_bytes((ROOT / pair("retrain")[1]).read_bytes())
    completed = run_cli("diff", "--git", "HEAD", "models/big.keras", cwd=repo)
    assert completed.returncode == 3
    assert "old: RA902 Git LFS pointer" in completed.stdout


def test_git_mode_errors(repo, tmp_path):
    bad = run_cli("diff", "--git", "no-such-branch", "models", cwd=repo)
    assert bad.returncode == 2 and "not a commit" in bad.stderr
    option = run_cli("diff", "--git", "--output=/tmp/x", "models", cwd=repo)  # a revision is never an option
    assert option.returncode == 2 and not Path("/tmp/x").exists()
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    assert run_cli("diff", "--git", "HEAD", str(outside), cwd=repo).returncode == 2
    nowhere = run_cli("diff", "--git", "HEAD", "models/none.keras", cwd=repo)
    assert nowhere.returncode == 2 and "neither in HEAD nor in the working tree" in nowhere.stderr
    no_repository = run_cli("diff", "--git", "HEAD", str(outside), cwd=outside)
    assert no_repository.returncode == 2 and "not a git repository" in no_repository.stderr


def test_git_mode_refuses_more_than_the_bound(repo, tmp_path, monkeypatch):
    from regaudit.git_revision import GitProblem, materialize

    monkeypatch.chdir(repo)
    with pytest.raises(GitProblem, match="more than 1,000 bytes"):
        materialize("HEAD", ["models"], tmp_path / "out", max_bytes=1000)  # 3 model files, ~90 KB
    assert not (tmp_path / "out").exists()


def test_readme_example_is_the_real_output():
    import re
    import shlex

    readme = (ROOT / "README.md").read_text()
    block = re.search(r"```console\n\$ regaudit diff (.*?)\n(.*?)\$ echo \$\?\n(\d+)\n```", readme, flags=re.S)
    completed = run_cli("diff", *shlex.split(block.group(1)), cwd=PAIRS / "retrain")
    assert (completed.stdout, completed.returncode) == (block.group(2), int(block.group(3)))


def test_readme_weights_example_is_the_start_of_the_real_output():
    import re
    import textwrap

    readme = (ROOT / "README.md").read_text()
    block = re.search(r"\n  ```console\n  \$ regaudit diff --weights old.keras new.keras\n(.*?)\n  \.\.\.\n", readme, flags=re.S)
    shown = textwrap.dedent(block.group(1))
    completed = run_cli("diff", "--weights", "old.keras", "new.keras", cwd=PAIRS / "retrain")
    assert completed.stdout.startswith(shown + "\n")
