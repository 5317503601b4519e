"""Finding artifacts and reading each format: content decides, never the extension alone."""

from __future__ import annotations

import json
import struct
import zipfile
from pathlib import Path

import h5py
import pytest

from conftest import dense
from regaudit.loaders import Candidate, discover, load, should_report
from regaudit.loaders.problems import (
    Corrupt,
    FormatMismatch,
    GitLfsPointer,
    NoArchitecture,
    NotAModel,
    OverLimits,
    UnreadableInput,
)
from regaudit.loaders.sniff import Content, classify

MODEL = {"module": "keras", "class_name": "Sequential", "registered_name": None,
         "config": {"name": "m", "layers": [dense("d", kernel_regularizer={"class_name": "L2", "config": {"l2": 0.001}})]},
         "compile_config": {"optimizer": {"module": "keras.optimizers", "class_name": "AdamW",
                                          "config": {"weight_decay": 0.004}, "registered_name": None}}}
LFS_POINTER = (
    "version https://git-lfs.github.com/spec/v1\n"
    "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n"
    "size 12345\n"
)


def write_keras_zip(path: Path, config=MODEL, metadata=None) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("metadata.json", json.dumps(metadata or {"keras_version": "3.15.1", "date_saved": "x"}))
        archive.writestr("config.json", json.dumps(config))
        archive.writestr("model.weights.h5", b"")
    return path


def write_h5(path: Path, **attrs) -> Path:
    with h5py.File(path, "w") as file:
        for key, value in attrs.items():
            file.attrs[key] = value
    return path


def load_path(path: Path, explicit: bool = True):
    return load(Candidate(path, str(path), explicit))


@pytest.mark.parametrize(
    "head, content",
    [
        (b"PK\x03\x04rest", Content.ZIP),
        (b"PK\x05\x06" + b"\0" * 18, Content.ZIP),
        (b"\x89HDF\r\n\x1a\n", Content.HDF5),
        (b"\0" * 512 + b"\x89HDF\r\n\x1a\n", Content.HDF5),  # after a 512-byte user block
        (LFS_POINTER.encode(), Content.LFS_POINTER),
        (b'\xef\xbb\xbf  \n{"class_name": 1}', Content.JSON),
        (b"[1, 2]", Content.JSON),
        (b"", Content.EMPTY),
        (b"\x80\x04\x95 pickle", Content.OTHER),
    ],
)
def test_classify_by_content(head, content):
    assert classify(head) is content


def test_keras_zip_reads_config_metadata_and_optimizer(tmp_path):
    tree = load_path(write_keras_zip(tmp_path / "m.keras"))
    assert (tree.format, tree.keras_version) == ("keras-zip", "3.15.1")
    assert (tree.optimizer.class_name, tree.optimizer.weight_decay) == ("AdamW", 0.004)
    assert [layer.path for layer in tree.layers()] == ["d"]


def test_unzipped_keras_directory(tmp_path):
    directory = tmp_path / "saved"
    directory.mkdir()
    (directory / "config.json").write_text(json.dumps(MODEL))
    (directory / "metadata.json").write_text(json.dumps({"keras_version": "3.15.1"}))
    (directory / "model.weights.h5").write_bytes(b"")
    tree = load_path(directory)
    assert (tree.format, tree.keras_version) == ("keras-dir", "3.15.1")
    assert [c.display for c in discover([str(tmp_path)])] == [str(directory)]


def test_hdf5_full_model_accepts_str_and_bytes_attributes(tmp_path):
    config = json.dumps({"class_name": "Sequential", "config": MODEL["config"]})
    training = json.dumps({"optimizer_config": {"class_name": "Custom>AdamW", "config": {"weight_decay": 0.004}}})
    as_str = load_path(write_h5(tmp_path / "a.h5", model_config=config, keras_version="2.21.0", training_config=training))
    as_bytes = load_path(write_h5(tmp_path / "b.h5", model_config=config.encode(), keras_version=b"1.2.2"))
    assert (as_str.format, as_str.keras_version, as_str.optimizer.class_name) == ("hdf5", "2.21.0", "AdamW")
    assert as_bytes.keras_version == "1.2.2"
    assert [r.factors["l2"] for _, r in as_bytes.regularized()] == [0.001]


def test_hdf5_loss_scale_optimizer_is_unwrapped(tmp_path):
    training = json.dumps({"optimizer_config": {"class_name": "LossScaleOptimizer", "config": {
        "inner_optimizer": {"module": "keras.optimizers", "class_name": "SGD", "config": {"weight_decay": 0.01}}}}})
    tree = load_path(write_h5(tmp_path / "m.h5", model_config=json.dumps(MODEL), training_config=training))
    assert (tree.optimizer.class_name, tree.optimizer.weight_decay) == ("SGD", 0.01)


def test_weights_only_files_are_skipped_with_a_reason(tmp_path):
    legacy = write_h5(tmp_path / "w.h5", layer_names=[b"dense"], keras_version="2.3.1")
    keras3 = tmp_path / "w.weights.h5"
    with h5py.File(keras3, "w") as file:
        file.create_group("layers/dense/vars")
        file.create_group("vars")
    sharded = tmp_path / "w.weights.json"
    sharded.write_text(json.dumps({"metadata": {"total_size": 1.0}, "weight_map": {"/vars": "w_00000.weights.h5"}}))
    for path, phrase in [(legacy, "save_weights"), (keras3, "Keras 3 weights-only"), (sharded, "sharded weights")]:
        with pytest.raises(NoArchitecture, match=phrase):
            load_path(path)


@pytest.mark.parametrize(
    "document, problem, phrase",
    [
        ({"format": "graph-model", "modelTopology": {"node": []}}, NoArchitecture, "graph model"),
        ([{"name": "flatten", "type": "Flatten", "config": {}, "weights": []}], NotAModel, "list of 1 objects with keys name, type"),
        ({"name": "not a model"}, NotAModel, "an object with keys name"),
        ({"modelTopology": "text"}, Corrupt, "modelTopology is not an object"),
    ],
)
def test_json_documents_that_hold_no_model(tmp_path, document, problem, phrase):
    path = tmp_path / "model.json"
    path.write_text(json.dumps(document))
    with pytest.raises(problem, match=phrase):
        load_path(path)


def test_tfjs_with_and_without_model_config_wrapper(tmp_path):
    wrapped = tmp_path / "converted.json"
    wrapped.write_text(json.dumps({"format": "layers-model", "modelTopology": {
        "keras_version": "2.4.0", "model_config": {"class_name": "Sequential", "config": MODEL["config"]},
        "training_config": {"optimizer_config": {"class_name": "Adam", "config": {"lr": 0.001}}}}}))
    bare = tmp_path / "saved_by_tfjs.json"
    bare.write_text(json.dumps({"format": "layers-model", "modelTopology": {
        "class_name": "Sequential", "config": MODEL["config"], "keras_version": "tfjs-layers 4.22.0"}}))
    for path, version in [(wrapped, "2.4.0"), (bare, "tfjs-layers 4.22.0")]:
        tree = load_path(path)
        assert (tree.format, tree.keras_version, len(list(tree.regularized()))) == ("tfjs-layers", version, 1)


def test_get_config_output_without_class_name(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"name": "m", "layers": MODEL["config"]["layers"]}))
    assert [layer.path for layer in load_path(path).layers()] == ["d"]


@pytest.mark.parametrize(
    "name, write, container",
    [
        # tf.keras <= 2.12 wrote HDF5 under a .keras name; tf_keras loads it, Keras 3 refuses (RA406).
        ("model.keras", lambda p: write_h5(p, model_config=json.dumps(MODEL)), "hdf5"),
        ("model.h5", write_keras_zip, "zip"),
        ("model.json", write_keras_zip, "zip"),
        ("model.hdf5", lambda p: p.write_text(json.dumps(MODEL)), "json"),
    ],
)
def test_model_under_another_extension_is_audited_by_content(tmp_path, name, write, container):
    path = tmp_path / name
    write(path)
    tree = load_path(path)
    assert [layer.path for layer in tree.layers()] == ["d"]
    assert (tree.container, tree.file_suffix) == (container, path.suffix)


@pytest.mark.parametrize(
    "name, write, phrase",
    [
        ("model.keras", lambda p: write_h5(p, something="else"), "named .keras but holds HDF5, and no Keras model"),
        ("model.h5", lambda p: p.write_text('{"epochs": 3}'), "named .h5 but holds JSON, and no Keras model"),
    ],
)
def test_other_format_holding_no_model_under_a_model_name(tmp_path, name, write, phrase):
    path = tmp_path / name
    write(path)
    with pytest.raises(FormatMismatch, match=phrase):
        load_path(path)


def test_weights_only_hdf5_under_any_name_is_weights_only(tmp_path):
    for name in ("weights.keras", "weights.json", "weights.bin"):
        path = write_h5(tmp_path / name, layer_names=[b"d"])
        with pytest.raises(NoArchitecture, match="weights-only HDF5"):
            load_path(path)


def test_other_extensions_are_read_by_content(tmp_path):
    assert load_path(write_keras_zip(tmp_path / "model.bin")).format == "keras-zip"


@pytest.mark.parametrize(
    "content, problem, phrase",
    [
        (b"", Corrupt, "empty file"),
        (LFS_POINTER.encode(), GitLfsPointer, "git lfs pull"),
        (b"PK\x03\x04garbage", Corrupt, "not a readable zip"),
        (b"\x89HDF\r\n\x1a\n" + b"\0" * 100, Corrupt, "not a readable HDF5"),
        (b'{"class_name": "Sequential", "config": {"layers": [', Corrupt, "not valid JSON"),
        (b"\x80\x04\x95 a pickle", NotAModel, "neither a zip archive, HDF5 nor JSON"),
    ],
)
def test_unreadable_content(tmp_path, content, problem, phrase):
    path = tmp_path / "model.bin"
    path.write_bytes(content)
    with pytest.raises(problem, match=phrase):
        load_path(path)


def test_zip_without_config_json(tmp_path):
    path = tmp_path / "model.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("model.weights.h5", b"")
    with pytest.raises(NotAModel, match="without config.json"):
        load_path(path)


def test_paths_that_cannot_be_read(tmp_path):
    with pytest.raises(UnreadableInput, match="no such file"):
        load_path(tmp_path / "missing.keras")
    with pytest.raises(NotAModel, match="no Keras model files found"):
        load_path(tmp_path)


def test_saved_model_without_a_meta_graph_is_corrupt(tmp_path):
    # saved_model_schema_version: 1 and nothing else; tests/test_savedmodel.py covers real SavedModels.
    (tmp_path / "saved_model.pb").write_bytes(b"\x08\x01")
    with pytest.raises(Corrupt, match="saved_model.pb holds no meta graph"):
        load_path(tmp_path)


def test_directory_walk_picks_models_by_content_and_passes_over_the_rest(tmp_path):
    write_keras_zip(tmp_path / "a.keras")
    (tmp_path / "nested" / "deeper").mkdir(parents=True)
    write_keras_zip(tmp_path / "nested" / "deeper" / "renamed.bin")
    (tmp_path / "README.md").write_text("# models")
    (tmp_path / "notes.json").write_text('{"hello": "world"}')
    (tmp_path / ".git").mkdir()
    write_keras_zip(tmp_path / ".git" / "hidden.keras")
    (tmp_path / "venv").mkdir()
    (tmp_path / "venv" / "pyvenv.cfg").write_text("home = /usr")
    write_keras_zip(tmp_path / "venv" / "vendored.keras")
    found = [c.display for c in discover([str(tmp_path)])]
    root = str(tmp_path)
    # notes.json is a candidate by its extension; reading it later shows it is not a model.
    assert found == [f"{root}/a.keras", f"{root}/notes.json", f"{root}/nested/deeper/renamed.bin"]


def test_each_file_is_audited_once_even_when_named_twice(tmp_path):
    path = write_keras_zip(tmp_path / "a.keras")
    assert len(list(discover([str(path), str(tmp_path), str(path)]))) == 1


def test_an_empty_directory_is_reported(tmp_path):
    assert [(c.display, c.explicit) for c in discover([str(tmp_path)])] == [(str(tmp_path), True)]


@pytest.mark.parametrize(
    "name, explicit, problem, reported",
    [
        ("x.bin", False, NotAModel("n"), False),  # some other zip found in a walk
        ("x.json", False, NotAModel("n"), False),  # package.json and friends
        ("x.keras", False, NotAModel("n"), True),  # a .keras always claims to be a model
        ("x.h5", False, NoArchitecture("n"), True),  # weights-only: listed, never silent
        ("x.bin", False, Corrupt("n"), False),
        ("x.h5", False, Corrupt("n"), True),
        ("x.json", True, NotAModel("n"), True),  # named on the command line: always reported
    ],
)
def test_what_a_directory_walk_reports(name, explicit, problem, reported):
    assert should_report(Candidate(Path(name), name, explicit), problem) is reported


def test_declared_zip_size_is_refused_before_inflating(tmp_path):
    path = tmp_path / "bomb.keras"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open("config.json", "w", force_zip64=True) as member:
            chunk = b" " * (1 << 20)
            for _ in range(80):
                member.write(chunk)
    assert path.stat().st_size < 1 << 20
    with pytest.raises(OverLimits, match="declares 80 MB uncompressed"):
        load_path(path)


# --- .keras archives read without zipfile's per-entry objects (keras_zip._plain_members) -------------


def _zipfile_members(path: Path) -> tuple[bytes, bytes | None]:
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        return archive.read("config.json"), archive.read("metadata.json") if "metadata.json" in names else None


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_plain_archive_reader_returns_what_zipfile_reads(tmp_path, compression):
    from regaudit.loaders.keras_zip import _plain_members

    path = tmp_path / "model.keras"
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        archive.writestr("metadata.json", json.dumps({"keras_version": "3.15.1"}))
        archive.writestr("config.json", json.dumps(MODEL) * 50)  # deflate has something to do
        archive.writestr("model.weights.h5", b"\0" * 1000)
    with open(path, "rb") as stream:
        assert _plain_members(stream) == _zipfile_members(path)


def test_plain_archive_reader_leaves_unusual_archives_to_zipfile(tmp_path):
    from regaudit.loaders.keras_zip import _plain_members

    commented = write_keras_zip(tmp_path / "commented.keras")
    with zipfile.ZipFile(commented, "a") as archive:
        archive.comment = b"a comment"
    prefixed = tmp_path / "prefixed.keras"
    prefixed.write_bytes(b"#!/bin/sh\n" + write_keras_zip(tmp_path / "plain.keras").read_bytes())
    for path in (commented, prefixed):
        with open(path, "rb") as stream:
            assert _plain_members(stream) is None
    assert load_path(commented).root.children[0].regularizers[0].factors == {"l2": 0.001}  # zipfile reads it


def test_plain_archive_reader_refuses_damage_in_zipfile_words(tmp_path):
    # A flipped byte in the stored config fails the CRC: the plain reader leaves it to zipfile,
    # whose message the report has always quoted.
    path = write_keras_zip(tmp_path / "flipped.keras")
    data = bytearray(path.read_bytes())
    data[data.index(b'"class_name"') + 2] ^= 0x20
    path.write_bytes(bytes(data))
    with pytest.raises(Corrupt, match=r"config.json could not be read from the archive \(Bad CRC-32"):
        load_path(path)


def test_plain_archive_reader_keeps_the_limits(tmp_path, monkeypatch):
    from regaudit.loaders import keras_zip

    path = write_keras_zip(tmp_path / "model.keras")
    monkeypatch.setattr(keras_zip, "MAX_CONFIG_BYTES", 16)
    with open(path, "rb") as stream, pytest.raises(OverLimits, match="config.json declares .* over the 0 MB limit"):
        keras_zip._plain_members(stream)
    missing = tmp_path / "no_config.keras"
    with zipfile.ZipFile(missing, "w") as archive:
        archive.writestr("metadata.json", "{}")
    with open(missing, "rb") as stream, pytest.raises(NotAModel, match="without config.json"):
        keras_zip._plain_members(stream)


def _overlapping_archives(tmp_path: Path) -> list[Path]:
    """Two archives whose config.json data runs into another entry: its compressed size swallows
    the next member's local header, or a second central entry names the same local header. Since
    the "quoted-overlap" fix (gh-109858: Python 3.11.8, 3.12.1, 3.13), zipfile, and so Keras's
    load_model, refuses to read such a member ("Overlapped entries")."""
    swallowing = tmp_path / "swallowing.keras"
    with zipfile.ZipFile(swallowing, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("config.json", json.dumps(MODEL))
        archive.writestr("metadata.json", "{}")
    data = bytearray(swallowing.read_bytes())
    entry = data.index(b"PK\x01\x02")  # config.json's, the first
    declared = struct.unpack_from("<L", data, entry + 20)[0]
    struct.pack_into("<L", data, entry + 20, declared + 30)  # inflating stops at the stream's end
    swallowing.write_bytes(bytes(data))
    shared = tmp_path / "shared.keras"
    with zipfile.ZipFile(shared, "w") as archive:
        archive.writestr("config.json", json.dumps(MODEL))
        archive.writestr("metadata.json", "{}")
        with pytest.warns(UserWarning, match="Duplicate name"):  # zipfile keeps the last
            archive.writestr("config.json", json.dumps(MODEL))
    data = bytearray(shared.read_bytes())
    struct.pack_into("<L", data, data.rindex(b"PK\x01\x02") + 42, 0)  # the last entry -> the first's header
    shared.write_bytes(bytes(data))
    return [swallowing, shared]


def test_plain_archive_reader_leaves_overlapping_members_to_zipfile(tmp_path):
    # zipfile's verdict on an overlapping member depends on the Python running it (and Keras reads
    # with that zipfile): the plain reader must not accept what zipfile refuses.
    from regaudit.loaders.keras_zip import _plain_members

    for path in _overlapping_archives(tmp_path):
        with open(path, "rb") as stream:
            assert _plain_members(stream) is None, path.name


def test_central_directory_entries_are_counted_before_zipfile_reads_them(tmp_path, monkeypatch):
    # The end record may declare 1 entry over a central directory of millions, which zipfile
    # turns into one ZipInfo each (~500 bytes: 2,000,000 entries took 1 GB). One entry with an
    # extra field makes the plain reader leave the archive to zipfile; the entries are counted
    # before it opens the archive, against the same limit as a declared count.
    from regaudit.loaders import keras_zip

    monkeypatch.setattr(keras_zip, "MAX_ZIP_ENTRIES", 50)
    path = write_keras_zip(tmp_path / "many.keras")
    with zipfile.ZipFile(path, "a") as archive:
        for index in range(60):
            info = zipfile.ZipInfo(f"f{index}")
            info.extra = b"\xfe\xca\x00\x00" if index == 0 else b""
            archive.writestr(info, b"")
    data = bytearray(path.read_bytes())
    end = data.rindex(b"PK\x05\x06")
    struct.pack_into("<2H", data, end + 8, 1, 1)  # declares 1 entry
    path.write_bytes(bytes(data))
    with pytest.raises(OverLimits, match="holds at least 51 entries in its central directory, over the 50 limit"):
        load_path(path)
    monkeypatch.setattr(keras_zip, "MAX_ZIP_ENTRIES", 63)  # 3 members and the 60 added
    assert load_path(path).root.children[0].regularizers[0].factors == {"l2": 0.001}  # zipfile reads it
