"""Weight evidence on files written by hand (no Keras needed): the Keras docs' seed example, and
hostile weights (truncated, lying shapes and dtypes, huge declared sizes, external links), each of
which must give a one-line reason while the config audit of the same file is still reported and
memory stays bounded.

The layout written here is the one Keras 3 writes (`layers/<group>/vars/<index>`, each `vars`
group naming its layer); tests/test_evidence.py checks that layout against real Keras files.
"""

from __future__ import annotations

import json
import tracemalloc
import zipfile
from pathlib import Path

import h5py
import numpy
import pytest

from conftest import run_cli
from regaudit.config import Settings
from regaudit.engine import audit
from regaudit.outcomes import Status


def dense_config(units: int = 5, regularizer: dict | None = None) -> dict:
    regularizer = regularizer or {"module": "keras.regularizers", "class_name": "L1", "config": {"l1": 0.01},
                                  "registered_name": None}
    dense = {"module": "keras.layers", "class_name": "Dense", "registered_name": None,
             "config": {"name": "dense", "units": units, "use_bias": True, "kernel_initializer": "ones",
                        "bias_initializer": "zeros", "kernel_regularizer": regularizer}}
    return {"module": "keras", "class_name": "Sequential", "registered_name": None,
            "config": {"name": "sequential", "layers": [dense]}}


def write_weights(path: Path, arrays: dict[str, numpy.ndarray] | None = None, build=None) -> None:
    with h5py.File(path, "w") as file:
        file.create_group("vars").attrs["name"] = "sequential"
        group = file.create_group("layers/dense/vars")
        group.attrs["name"] = "dense"
        if build is not None:
            build(file, group)
            return
        for index, value in enumerate((arrays or {}).values()):
            group.create_dataset(str(index), data=value)


def keras_file(tmp_path: Path, weights: Path, *, config: dict | None = None, compress: bool = False) -> Path:
    path = tmp_path / "model.keras"
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(path, "w", compression=method) as archive:
        archive.writestr("config.json", json.dumps(config or dense_config()))
        archive.writestr("metadata.json", json.dumps({"keras_version": "3.15.1"}))
        archive.write(weights, "model.weights.h5")
    return path


def seed_example(tmp_path: Path, compress: bool = False) -> Path:
    weights = tmp_path / "model.weights.h5"
    write_weights(weights, {"kernel": numpy.ones((5, 5), "float32"), "bias": numpy.zeros(5, "float32")})
    return keras_file(tmp_path, weights, compress=compress)


def evidence(path: Path):
    [artifact] = audit([str(path)], Settings(weights=True)).artifacts
    return artifact


def collect_peak(path: Path) -> int:
    """Peak memory (bytes) of reading the weights alone, the config already read."""
    from regaudit.evidence import collect

    [artifact] = audit([str(path)], Settings()).artifacts
    tracemalloc.start()
    collect(path, artifact.tree)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


@pytest.mark.parametrize("compress", [False, True], ids=["stored-in-place", "deflated-to-temporary-file"])
def test_keras_docs_seed_example_kernel_term_is_0_25(tmp_path, compress):
    """keras.io/api/layers/regularizers: Dense(5), L1(0.01), all-ones kernel, 5 input features."""
    artifact = evidence(seed_example(tmp_path, compress))
    assert artifact.evidence.slots[("dense", "kernel")].penalty == pytest.approx(0.25)
    kernel, bias = artifact.evidence.weights["dense"]
    assert (kernel.name, kernel.slot, kernel.shape, kernel.sum_abs, kernel.max_abs) == ("kernel", "kernel", (5, 5), 25, 1)
    assert (bias.name, bias.zero_fraction) == ("bias", 1.0)


def test_json_text_and_sarif_carry_the_evidence(tmp_path):
    path = seed_example(tmp_path)
    report = json.loads(run_cli("check", "--weights", "--format", "json", str(path)).stdout)
    [artifact] = report["artifacts"]
    [layer] = artifact["layers"]
    assert layer["regularizers"][0]["evidence"] == {"penalty": pytest.approx(0.25), "reason": None}
    assert layer["weights"][0]["sum_abs"] == 25.0 and layer["weights"][0]["shape"] == [5, 5]
    assert artifact["summary"]["weight_penalty"]["sum"] == pytest.approx(0.25)
    without = json.loads(run_cli("check", "--format", "json", str(path)).stdout)["artifacts"][0]
    assert without["layers"][0]["weights"] is None and without["summary"]["weight_penalty"] is None
    assert without["layers"][0]["regularizers"][0]["evidence"] is None
    text = run_cli("check", "--weights", str(path)).stdout
    assert "PENALTY" in text and "0.25" in text
    assert "PENALTY" not in run_cli("check", str(path)).stdout


def test_html_shows_each_slot_penalty_and_each_layer_share(tmp_path):
    page = run_cli("check", "--weights", "--format", "html", str(seed_example(tmp_path))).stdout
    section = page.split('<section class="weight-penalty">', 1)[1].split("</section>", 1)[0]
    assert "Each layer&#39;s share of the total weight penalty" in section or "Each layer's share" in section
    assert 'aria-label="100.0% of the total"' in section and ">0.25<" in section
    assert '<section class="weight-penalty">' not in run_cli("check", "--format", "html", str(seed_example(tmp_path))).stdout


def test_sarif_cites_the_evidence_of_weight_findings(tmp_path):
    weights = tmp_path / "model.weights.h5"
    write_weights(weights, {"kernel": numpy.array([[numpy.nan, 1.0], [0.5, 0.5]], "float32"),
                            "bias": numpy.zeros(2, "float32")})
    path = keras_file(tmp_path, weights, config=dense_config(2))
    log = json.loads(run_cli("check", "--weights", "--format", "sarif", str(path)).stdout)
    cited = [r for r in log["runs"][0]["results"] if r["ruleId"] == "RA601"]
    assert len(cited) == 1
    [kernel, bias] = cited[0]["properties"]["evidence"]["weights"]
    assert (kernel["name"], kernel["nonfinite"], kernel["sum_abs"]) == ("kernel", 1, "nan")


def test_a_run_without_weights_never_imports_numpy(tmp_path):
    path = seed_example(tmp_path)
    code = ("import sys; from regaudit.engine import audit; audit([sys.argv[1]]); "
            "print('numpy' in sys.modules, 'regaudit.evidence' in sys.modules)")
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def assert_refused(artifact, *fragments: str) -> str:
    """The config audit stands, and every regularized slot says in one line why it has no penalty."""
    assert artifact.status is Status.OK and artifact.tree is not None
    [(layer, regularizer)] = list(artifact.tree.regularized())
    slot = artifact.evidence.slots[(layer.path, regularizer.slot)]
    assert slot.penalty is None and "\n" not in slot.reason, slot
    for fragment in fragments:
        assert fragment in slot.reason, slot.reason
    return slot.reason


def test_truncated_weights_file(tmp_path):
    whole = tmp_path / "whole.weights.h5"
    write_weights(whole, {"kernel": numpy.ones((64, 64), "float32"), "bias": numpy.zeros(64, "float32")})
    data = whole.read_bytes()
    cut = tmp_path / "model.weights.h5"
    cut.write_bytes(data[: len(data) - 9000])
    artifact = evidence(keras_file(tmp_path, cut, config=dense_config(64)))
    reason = assert_refused(artifact)
    assert "truncated" in reason or "not readable HDF5" in reason


def with_kernel(tmp_path: Path, make_kernel) -> Path:
    """A Dense(2) model whose kernel dataset `vars/0` is written by `make_kernel(group)`."""
    weights = tmp_path / "model.weights.h5"

    def build(file, group):
        make_kernel(group)
        group.create_dataset("1", data=numpy.zeros(2, "float32"))

    write_weights(weights, build=build)
    return keras_file(tmp_path, weights, config=dense_config(2))


def test_declared_shape_the_file_does_not_hold(tmp_path):
    # A 4 GB kernel declared, no bytes written.
    path = with_kernel(tmp_path, lambda group: group.create_dataset("0", shape=(32768, 32768), dtype="float32"))
    assert_refused(evidence(path), "declares 4,096.0 MB", "the shape or dtype lies")
    assert collect_peak(path) < 10 * 1024 * 1024


def test_huge_compressed_dataset_is_not_inflated(tmp_path):
    path = with_kernel(tmp_path, lambda group: group.create_dataset(
        "0", shape=(100_000, 100_000), dtype="float32", chunks=(1000, 1000), compression="gzip", fillvalue=1.0))
    assert_refused(evidence(path), "refusing to inflate")
    assert collect_peak(path) < 10 * 1024 * 1024


def test_non_numeric_dataset(tmp_path):
    path = with_kernel(tmp_path, lambda group: group.create_dataset("0", data=numpy.array([b"kernel", b"lies"])))
    assert_refused(evidence(path), "not a numeric tensor")


def test_external_link_in_the_weights(tmp_path):
    def linked(group):
        group["0"] = h5py.ExternalLink("/etc/hostname", "/data")

    reason = assert_refused(evidence(with_kernel(tmp_path, linked)), "external link")
    assert reason.startswith("weights not read:")


def test_external_raw_storage(tmp_path):
    (tmp_path / "raw.bin").write_bytes(numpy.ones(4, "float32").tobytes())
    path = with_kernel(tmp_path, lambda group: group.create_dataset(
        "0", shape=(2, 2), dtype="float32", external=[(str(tmp_path / "raw.bin"), 0, 16)]))
    assert_refused(evidence(path), "another file")


def test_a_variable_the_table_does_not_expect_is_unmapped_not_guessed(tmp_path):
    weights = tmp_path / "model.weights.h5"
    write_weights(weights, {"kernel": numpy.ones((2, 2), "float32"), "bias": numpy.zeros(2, "float32"),
                            "extra": numpy.ones(3, "float32")})
    artifact = evidence(keras_file(tmp_path, weights, config=dense_config(2)))
    assert_refused(artifact, "stores 3 variables", "not guessing")
    assert [w.mapped for w in artifact.evidence.weights["dense"]] == [False, False, False]
    assert [w.name for w in artifact.evidence.weights["dense"]] == ["vars/0", "vars/1", "vars/2"]


def tfjs_model(tmp_path: Path, weights: list[dict], payload: bytes) -> Path:
    topology = {"class_name": "Sequential", "config": {"name": "sequential", "layers": [
        {"class_name": "Dense", "config": {"name": "dense", "units": 2, "kernel_initializer": {"class_name": "Ones"},
                                           "kernel_regularizer": {"class_name": "L1L2", "config": {"l1": 0.5, "l2": 0.0}}}}]}}
    document = {"format": "layers-model", "modelTopology": {"model_config": topology, "keras_version": "2.15.0"},
                "weightsManifest": [{"paths": ["group1-shard1of1.bin"], "weights": weights}]}
    (tmp_path / "model.json").write_text(json.dumps(document))
    (tmp_path / "group1-shard1of1.bin").write_bytes(payload)
    return tmp_path / "model.json"


def test_tfjs_shards_are_read_by_the_manifest(tmp_path):
    kernel = numpy.array([[1, -2], [3, 0]], "float32")
    path = tfjs_model(tmp_path, [{"name": "dense/kernel", "shape": [2, 2], "dtype": "float32"},
                                 {"name": "dense/bias", "shape": [2], "dtype": "float32"}],
                      kernel.tobytes() + numpy.zeros(2, "float32").tobytes())
    artifact = evidence(path)
    assert artifact.evidence.slots[("dense", "kernel")].penalty == pytest.approx(0.5 * 6)


@pytest.mark.parametrize("shape, dtype, why", [
    ([2, 2], "float32", "declares 24 bytes"),  # the shard holds 16 bytes of kernel and nothing else
    ([100_000_000, 1000], "float32", "truncated, or the shapes or dtypes lie"),  # 400 GB declared
    ([2, 2], "complex64", "unsupported dtype"),
])
def test_tfjs_manifest_that_lies(tmp_path, shape, dtype, why):
    path = tfjs_model(tmp_path, [{"name": "dense/kernel", "shape": shape, "dtype": dtype},
                                 {"name": "dense/bias", "shape": [2], "dtype": "float32"}],
                      numpy.ones(4, "float32").tobytes())
    assert_refused(evidence(path), why)
    assert collect_peak(path) < 10 * 1024 * 1024


def test_tfjs_shard_outside_the_model_folder(tmp_path):
    path = tfjs_model(tmp_path, [], b"")
    document = json.loads(path.read_text())
    document["weightsManifest"][0]["paths"] = ["../../etc/passwd"]
    path.write_text(json.dumps(document))
    assert_refused(evidence(path), "outside the model's folder")


def test_config_json_has_no_weights(tmp_path):
    path = tmp_path / "model.json"
    path.write_text(json.dumps(dense_config()))
    assert_refused(evidence(path), "config only, no weights")


def test_keras1_hdf5_penalties_follow_keras1_names(corpus):
    """Keras 1.2 names weights <layer>_W / <layer>_b; its L1L2Regularizer adds
    sum(l1 * |W|) + sum(l2 * W**2) (keras/regularizers.py, Keras 1.2), here l2 = 0.001."""
    path = corpus / "h5_k1_jeremyshannon_behavclone_model.h5"
    artifact = evidence(path)
    slots = artifact.evidence.slots
    assert len(slots) == 8 and all(entry.penalty is not None for entry in slots.values())
    with h5py.File(path, "r") as file:
        kernel = file["model_weights/dense_1/dense_1_W:0"][()].astype("float64")
    assert slots[("dense_1", "kernel")].penalty == pytest.approx(0.001 * numpy.square(kernel).sum(), rel=1e-6)
    names = {weight.name for _, weight in artifact.evidence.all_weights()}
    assert names == {"kernel", "bias"}


def test_tfjs_quantized_weights_are_dequantized(tmp_path):
    """tfjs-converter's --quantize_uint8: value = q * scale + min (tfjs-core io/io_utils.ts)."""
    quantized = numpy.array([0, 10, 20, 255], "uint8")
    path = tfjs_model(tmp_path, [
        {"name": "dense/kernel", "shape": [2, 2], "dtype": "float32",
         "quantization": {"dtype": "uint8", "scale": 0.5, "min": -1.0}},
        {"name": "dense/bias", "shape": [2], "dtype": "float32"}], quantized.tobytes() + numpy.zeros(2, "float32").tobytes())
    artifact = evidence(path)
    values = quantized.astype("float32") * 0.5 - 1.0
    assert artifact.evidence.weights["dense"][0].sum_abs == pytest.approx(numpy.abs(values).sum())
    assert artifact.evidence.slots[("dense", "kernel")].penalty == pytest.approx(0.5 * numpy.abs(values).sum())
