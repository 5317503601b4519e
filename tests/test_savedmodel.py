"""TensorFlow SavedModel directories: what regaudit reads from them, and how it refuses bad ones.

The fixtures in fixtures/savedmodels/ were saved by tf_keras (fixtures/generate_savedmodels.py),
which recorded what Keras saw on the live model in expected.json. test_keras_crosscheck.py loads
the same directories with tf_keras. These tests need no TensorFlow.
"""

from __future__ import annotations

import builtins
import json
import shutil
import sys
from pathlib import Path

import pytest

from conftest import FIXTURES, regaudit_view, run_cli
from regaudit.engine import audit
from regaudit.loaders.savedmodel_proto import message_classes
from regaudit.outcomes import Status
from regaudit.testing import write_saved_model
from test_hostile import assert_refused, bit_flipped, run_measured

sys.path.insert(0, str(FIXTURES))
from keras_truth import compare_views  # noqa: E402

SAVEDMODELS = FIXTURES / "savedmodels"
EXPECTED = json.loads((SAVEDMODELS / "expected.json").read_text())
MESSAGES = message_classes()


def audited(path: Path | str):
    (artifact,) = audit([str(path)]).artifacts
    return artifact


def copy_of(name: str, tmp_path: Path) -> Path:
    target = tmp_path / name
    shutil.copytree(SAVEDMODELS / name, target)
    return target


def metadata_of(path: Path):
    return MESSAGES["SavedMetadata"].FromString((path / "keras_metadata.pb").read_bytes())


def entry(metadata, node_path: str):
    return next(node for node in metadata.nodes if node.node_path == node_path)


def saved_model_with(directory: Path, nodes: list[dict], *, keras_metadata: list[dict] | None = None) -> Path:
    """A SavedModel directory whose object graph holds `nodes` ({identifier, metadata, children}),
    and, when given, a keras_metadata.pb with those entries."""
    if keras_metadata is not None:
        write_saved_model(directory, keras_metadata)
    directory.mkdir(parents=True, exist_ok=True)
    saved = MESSAGES["SavedModel"]()
    graph = saved.meta_graphs.add().object_graph_def
    for node in nodes:
        added = graph.nodes.add()
        for child_id, name in node.get("children", []):
            added.children.add(node_id=child_id, local_name=name)
        if "identifier" in node:
            added.user_object.identifier = node["identifier"]
            added.user_object.metadata = node.get("metadata", "")
    (directory / "saved_model.pb").write_bytes(saved.SerializeToString())
    return directory


def dense_entry(name: str, regularizer: dict | None = None) -> dict:
    config = {"name": name, "trainable": True, "units": 2, "kernel_initializer": {"class_name": "GlorotUniform", "config": {}},
              "bias_initializer": {"class_name": "Zeros", "config": {}}, "kernel_regularizer": regularizer}
    return {"name": name, "trainable": True, "class_name": "Dense", "config": config}


# --- what is read --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_regularizers_equal_what_keras_saw_on_the_live_model(name):
    artifact = audited(SAVEDMODELS / name)
    assert artifact.status is Status.OK, artifact.error
    assert artifact.format == "savedmodel" and artifact.keras_version == "2.21.0"
    assert compare_views(EXPECTED[name]["keras_view"], regaudit_view(artifact.tree)) == []


def layer_table(artifact) -> list[tuple]:
    return [
        (layer.path, layer.class_name, layer.kind, layer.trainable, sorted(layer.weights), dict(layer.absent_weights),
         [(r.slot, r.argument, r.class_name, r.origin, dict(r.factors), dict(r.options)) for r in layer.regularizers])
        for layer in artifact.tree.layers()
    ]


@pytest.mark.parametrize("name", ["sequential", "nested_functional"])
def test_a_savedmodel_audits_exactly_like_the_same_model_saved_as_keras(name):
    saved_model, keras_file = audited(SAVEDMODELS / name), audited(SAVEDMODELS / f"{name}.keras")
    assert layer_table(saved_model) == layer_table(keras_file)
    assert saved_model.findings == keras_file.findings
    assert saved_model.tree.optimizer == keras_file.tree.optimizer
    assert (saved_model.format, keras_file.format) == ("savedmodel", "keras-zip")


def test_the_optimizer_of_a_compiled_model_is_read_from_its_training_config():
    tree = audited(SAVEDMODELS / "sequential").tree
    assert (tree.optimizer.class_name, tree.optimizer.weight_decay) == ("AdamW", pytest.approx(0.004))
    assert "RA202" in {finding.rule for finding in audited(SAVEDMODELS / "sequential").findings}


def test_a_subclassed_model_gets_its_layers_from_the_per_layer_entries():
    tree = audited(SAVEDMODELS / "subclassed").tree
    assert tree.root.class_name == "Net"
    # Entries come in object-graph order; the nested Sequential lists its InputLayer as its config does.
    assert {layer.path for layer in tree.layers()} == {
        "encoder", "frozen", "plain", "seq", "seq/seq_dense_input", "seq/seq_dense", "block", "block/block_dense", "head",
    }
    layers = {layer.path: layer for layer in tree.layers()}
    assert layers["frozen"].trainable is False and not layers["frozen"].effectively_trainable
    assert layers["block"].kind.value == "model" and layers["seq"].class_name == "Sequential"


def test_the_tf_2_4_layout_reads_the_metadata_from_saved_model_pb():
    assert not (SAVEDMODELS / "tf24_functional" / "keras_metadata.pb").exists()
    assert layer_table(audited(SAVEDMODELS / "tf24_functional")) == layer_table(audited(SAVEDMODELS / "nested_functional"))


def test_nothing_under_variables_is_ever_opened(monkeypatch):
    opened = []
    real_open = builtins.open

    def recording_open(file, *args, **kwargs):
        opened.append(str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", recording_open)
    for name in EXPECTED:
        audited(SAVEDMODELS / name)
    assert opened and not [path for path in opened if "variables" in Path(path).parts]


# --- layouts -------------------------------------------------------------------------------------


def test_tf_serving_versions_are_each_one_artifact(tmp_path):
    for version in ("1", "2"):
        shutil.copytree(SAVEDMODELS / "sequential", tmp_path / "models" / "ranker" / version)
    result = audit([str(tmp_path / "models")])
    assert [(Path(a.path).relative_to(tmp_path).as_posix(), a.status) for a in result.artifacts] == [
        ("models/ranker/1", Status.OK), ("models/ranker/2", Status.OK),
    ]
    assert [a.path for a in audit([str(tmp_path / "models" / "ranker")]).artifacts] == [
        str(tmp_path / "models" / "ranker" / "1"), str(tmp_path / "models" / "ranker" / "2"),
    ]


def test_savedmodels_are_found_in_a_directory_walk_and_their_problems_listed(tmp_path):
    shutil.copytree(SAVEDMODELS / "subclassed", tmp_path / "repo" / "exports" / "net")
    shutil.copytree(SAVEDMODELS / "plain_module", tmp_path / "repo" / "exports" / "module")
    broken = shutil.copytree(SAVEDMODELS / "sequential", tmp_path / "repo" / "broken")
    (broken / "keras_metadata.pb").write_bytes((broken / "keras_metadata.pb").read_bytes()[:100])
    (tmp_path / "repo" / "README.md").write_text("not a model")
    result = audit([str(tmp_path / "repo")])
    found = {Path(a.path).name: (a.status, a.error.code if a.error else None) for a in result.artifacts}
    assert found == {"broken": (Status.ERROR, "RA903"), "module": (Status.SKIPPED, "RA901"), "net": (Status.OK, None)}


# --- honest skips ---------------------------------------------------------------------------------


def test_a_plain_tf_module_is_skipped_as_not_a_keras_model():
    artifact = audited(SAVEDMODELS / "plain_module")
    assert (artifact.status, artifact.error.code) == (Status.SKIPPED, "RA901")
    assert "tf.Module" in artifact.error.message and "no Keras layers" in artifact.error.message
    assert ".keras" not in artifact.error.message and "model.save" not in artifact.error.message


def test_a_keras_model_exported_with_tf_saved_model_save_says_how_to_keep_the_configs(tmp_path):
    # TF >= 2.5 writes the Keras identifiers into the object graph but the configs only into
    # keras_metadata.pb, which tf.saved_model.save does not write.
    path = saved_model_with(tmp_path / "exported", [
        {"identifier": "_tf_keras_network", "children": [(1, "layer-0")]},
        {"identifier": "_tf_keras_layer"},
    ])
    artifact = audited(path)
    assert (artifact.status, artifact.error.code) == (Status.SKIPPED, "RA901")
    assert "keras_metadata.pb" in artifact.error.message and "model.save(path)" in artifact.error.message


def test_a_savedmodel_of_another_library_is_skipped(tmp_path):
    path = saved_model_with(tmp_path / "forest", [{"identifier": "_generic_user_object", "children": [(1, "trees")]}, {}])
    artifact = audited(path)
    assert (artifact.status, artifact.error.code) == (Status.SKIPPED, "RA901")
    assert ".keras" not in artifact.error.message


def test_a_text_format_savedmodel_is_skipped_with_its_reason(tmp_path):
    (tmp_path / "text").mkdir()
    (tmp_path / "text" / "saved_model.pbtxt").write_text("saved_model_schema_version: 1\n")
    artifact = audited(tmp_path / "text")
    assert (artifact.status, artifact.error.code) == (Status.SKIPPED, "RA901")
    assert "saved_model.pbtxt" in artifact.error.message


def test_old_layout_with_metadata_that_is_not_json_is_refused(tmp_path):
    path = saved_model_with(tmp_path / "old", [{"identifier": "_tf_keras_network", "metadata": "{not json"}])
    artifact = audited(path)
    assert (artifact.status, artifact.error.code) == (Status.ERROR, "RA903")
    assert "saved_model.pb entry root" in artifact.error.message


# --- per-layer entries and the root config --------------------------------------------------------


def test_where_a_layer_entry_and_the_root_config_disagree_the_entry_wins_and_it_is_recorded(tmp_path):
    path = copy_of("sequential", tmp_path)
    metadata = metadata_of(path)
    node = next(n for n in metadata.nodes if json.loads(n.metadata).get("name") == "d_classes")
    layer = json.loads(node.metadata)
    layer["config"]["kernel_regularizer"] = {"class_name": "L2", "config": {"l2": 0.5}}
    node.metadata = json.dumps(layer)
    (path / "keras_metadata.pb").write_bytes(metadata.SerializeToString())
    tree = audited(path).tree
    kernel = next(r for r in next(l for l in tree.layers() if l.path == "d_classes").regularizers if r.slot == "kernel")
    assert (kernel.class_name, dict(kernel.factors)) == ("L2", {"l2": 0.5})
    (disagreement,) = tree.disagreements
    assert disagreement.path == "d_classes"
    saved = next(r for r in disagreement.in_model_config.regularizers if r.slot == "kernel")
    assert (saved.class_name, dict(saved.factors)) == ("L1", {"l1": pytest.approx(0.02)})
    assert next(l for l in tree.layers() if l.path == "d_classes").inbound == ("d_l1_l2_str",)
    (finding,) = [f for f in audited(path).findings if f.rule == "RA420"]
    assert finding.layer == "d_classes"
    assert "kernel regularizer L1(l1=0.02) in the model config, L2(l2=0.5) in the entry" in finding.message


def test_an_unmodified_savedmodel_has_no_disagreement():
    for name in ("sequential", "nested_functional", "origins", "subclassed", "tf24_functional"):
        assert audited(SAVEDMODELS / name).tree.disagreements == ()


# --- hostile input ---------------------------------------------------------------------------------


def test_truncated_keras_metadata(tmp_path):
    path = copy_of("nested_functional", tmp_path)
    data = (path / "keras_metadata.pb").read_bytes()
    (path / "keras_metadata.pb").write_bytes(data[: len(data) // 2])
    assert_refused(tmp_path, path, "RA903", "keras_metadata.pb is not a valid protobuf message")


def test_random_bit_flips_in_keras_metadata_never_crash(tmp_path):
    pristine = (SAVEDMODELS / "sequential" / "keras_metadata.pb").read_bytes()
    paths = []
    for index, data in enumerate(bit_flipped(pristine, copies=16, flips=6, seed=20261129)):
        path = copy_of("sequential", tmp_path / f"flip{index}")
        (path / "keras_metadata.pb").write_bytes(data)
        paths.append(str(path))
    exit_code, stdout, stderr, _ = run_measured(tmp_path, "--format", "json", *paths)
    assert stderr == ""
    artifacts = json.loads(stdout)["artifacts"]
    assert len(artifacts) == len(paths)
    for artifact in artifacts:
        assert artifact["status"] == "ok" or artifact["error"]["code"] in ("RA903", "RA906", "RA901"), artifact["error"]
    assert any(artifact["status"] != "ok" for artifact in artifacts)


def test_a_length_prefix_larger_than_the_file_is_refused(tmp_path):
    path = saved_model_with(tmp_path / "liar", [{}])
    # field 1 (nodes), length-delimited, declaring 2**31 bytes in a 12-byte file
    (path / "keras_metadata.pb").write_bytes(b"\x0a\x80\x80\x80\x80\x08" + b"\x10\x00" * 3)
    assert_refused(tmp_path, path, "RA903", "not a valid protobuf message")


def test_an_oversize_keras_metadata_is_refused_before_it_is_read(tmp_path):
    path = saved_model_with(tmp_path / "huge", [{}])
    with open(path / "keras_metadata.pb", "wb") as stream:
        stream.truncate(129 * 1024 * 1024)  # sparse: no disk used
    assert_refused(tmp_path, path, "RA906", "keras_metadata.pb declares 129 MB")


def test_deeply_nested_protobuf_messages_are_refused(tmp_path):
    path = saved_model_with(tmp_path / "deep", [{}])
    depth = 100_000
    # nodes { version { <unknown group 7> x depth } }: the decoder must stop, not recurse
    inner = b"\x3b" * depth + b"\x3c" * depth
    version = b"\x32" + _varint(len(inner)) + inner
    (path / "keras_metadata.pb").write_bytes(b"\x0a" + _varint(len(version)) + version)
    exit_code, stdout, stderr, peak_kb = run_measured(tmp_path, "--format", "json", str(path))
    (artifact,) = json.loads(stdout)["artifacts"]
    assert stderr == "" and exit_code == 3
    assert artifact["error"]["code"] in ("RA903", "RA906"), artifact["error"]


def test_json_metadata_nested_100000_deep_is_refused(tmp_path):
    path = saved_model_with(tmp_path / "deepjson", [{}], keras_metadata=[
        {"node_path": "root", "identifier": "_tf_keras_network", "metadata": "[" * 100_000 + "]" * 100_000},
    ])
    assert_refused(tmp_path, path, "RA906", "nests JSON deeper")


def test_node_paths_nested_beyond_any_real_model_are_refused(tmp_path):
    deep = "root" + ".block" * 1000
    path = saved_model_with(tmp_path / "deeppath", [{}], keras_metadata=[
        {"node_path": "root", "identifier": "_tf_keras_model", "metadata": json.dumps({"name": "m", "class_name": "M", "config": {}})},
        {"node_path": deep, "identifier": "_tf_keras_layer", "metadata": json.dumps(dense_entry("d"))},
    ])
    assert_refused(tmp_path, path, "RA906", "node path nested more than")


def test_subclassed_models_nested_beyond_the_limit_are_refused(tmp_path):
    model = json.dumps({"name": "m", "class_name": "M", "config": {}})
    nodes = [{"node_path": "root" + ".b" * depth, "identifier": "_tf_keras_model", "metadata": model} for depth in range(100)]
    path = saved_model_with(tmp_path / "deepmodels", [{}], keras_metadata=nodes)
    assert_refused(tmp_path, path, "RA906", "nested more than 64 levels")


def test_saved_model_pb_that_is_not_a_protobuf_message(tmp_path):
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "saved_model.pb").write_bytes(b"\xff" * 64)
    assert_refused(tmp_path, tmp_path / "junk", "RA903", "saved_model.pb is not a valid protobuf message")


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


# --- the check path stays free of TensorFlow ------------------------------------------------------


def test_a_keras_audit_does_not_import_protobuf():
    probe = (
        "import sys, regaudit\n"
        "regaudit.audit([%r])\n"
        "print('google.protobuf' in sys.modules)\n"
    ) % str(SAVEDMODELS / "sequential.keras")
    import subprocess

    completed = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert completed.stdout.strip() == "False", completed.stderr


def test_the_cli_reports_a_savedmodel_like_any_model():
    completed = run_cli("check", str(SAVEDMODELS / "subclassed"))
    assert completed.returncode == 0, completed.stderr
    assert "(savedmodel, Keras 2.21.0)" in completed.stdout and "block/block_dense" in completed.stdout


def test_the_json_report_of_savedmodels_follows_the_report_schema():
    import jsonschema

    from conftest import ROOT, json_report

    schema = json.loads((ROOT / "regaudit" / "reporters" / "report.schema.json").read_text())
    _, report = json_report(str(SAVEDMODELS / "subclassed"), str(SAVEDMODELS / "plain_module"))
    jsonschema.validate(report, schema, cls=jsonschema.Draft202012Validator)
    assert [(a["format"], a["status"]) for a in report["artifacts"]] == [("savedmodel", "ok"), (None, "skipped")]


def test_a_layer_saved_without_a_config_is_listed_with_nothing_known(tmp_path):
    # get_config() not implemented: tf_keras saves the entry without "config" and revives a
    # RevivedLayer from the traced functions; nothing says which regularizers it had.
    write_saved_model(tmp_path / "net", [
        {"node_path": "root", "identifier": "_tf_keras_model", "metadata": {"name": "net", "class_name": "Net"}},
        {"node_path": "root.custom", "identifier": "_tf_keras_layer", "metadata": {"name": "custom", "class_name": "Custom", "trainable": False}},
        {"node_path": "root.dense", "identifier": "_tf_keras_layer", "metadata": dense_entry("dense", {"class_name": "L2", "config": {"l2": 0.1}})},
    ])
    layers = {layer.path: layer for layer in audited(tmp_path / "net").tree.layers()}
    assert (layers["custom"].class_name, layers["custom"].regularizers, layers["custom"].trainable) == ("Custom", (), False)
    assert [r.class_name for r in layers["dense"].regularizers] == ["L2"]


def test_a_subclassed_model_inside_a_functional_model_gets_its_layers_from_its_entries(tmp_path):
    block = {"name": "block", "class_name": "Block", "config": {}}
    functional = {"name": "f", "class_name": "Functional", "config": {"name": "f", "layers": [
        {"class_name": "InputLayer", "name": "x", "config": {"name": "x"}, "inbound_nodes": []},
        {"class_name": "Block", "name": "block", "config": {"name": "block"}, "inbound_nodes": [[["x", 0, 0, {}]]]},
    ], "input_layers": [["x", 0, 0]], "output_layers": [["block", 0, 0]]}}
    write_saved_model(tmp_path / "f", [
        {"node_path": "root", "identifier": "_tf_keras_network", "metadata": functional},
        {"node_path": "root.layer-1", "identifier": "_tf_keras_model", "metadata": block},
        {"node_path": "root.layer-1.inner", "identifier": "_tf_keras_layer",
         "metadata": dense_entry("inner", {"class_name": "L1", "config": {"l1": 0.01}})},
    ])
    tree = audited(tmp_path / "f").tree
    assert {layer.path: [r.class_name for r in layer.regularizers] for layer in tree.layers()} == {
        "x": [], "block": [], "block/inner": ["L1"],
    }
    assert tree.disagreements == ()


def test_json_values_are_counted_across_all_entries_before_any_is_parsed(tmp_path, monkeypatch):
    # Each entry alone is within the limit; together they are not (a SavedModel holds one JSON text per layer).
    monkeypatch.setattr("regaudit.loaders.limits.MAX_JSON_VALUES", 1000)
    entry = {"name": "d", "class_name": "Dense", "config": {"name": "d", "values": [0] * 400}}
    write_saved_model(tmp_path / "many", [
        {"node_path": "root", "identifier": "_tf_keras_model", "metadata": {"name": "m", "class_name": "M", "config": {}}},
        *({"node_path": f"root.d{index}", "identifier": "_tf_keras_layer", "metadata": entry} for index in range(3)),
    ])
    artifact = audited(tmp_path / "many")
    assert (artifact.status, artifact.error.code) == (Status.ERROR, "RA906")
    assert "keras_metadata.pb holds about 1,2" in artifact.error.message and "REGAUDIT_MAX_JSON_VALUES" in artifact.error.message
