"""The 81 real public model files in ../shared/corpus: each audits or is refused with a reason.

Expectations come from the corpus's own MANIFEST.tsv, written independently of regaudit:
its format column, its "regs:" tally of regularizers per argument and class, its keras_version
and layer counts.
"""

from __future__ import annotations

import collections
import csv
import re
from pathlib import Path

import pytest

from conftest import json_report

# Manifest formats that hold no auditable architecture, and the diagnostic each gets.
REFUSED = {
    "h5w_": ("skipped", "RA901", "weights-only"),
    "tfjsgraph_": ("skipped", "RA901", "graph model"),
    "k3_kerasteam_testdata_nested_container": ("skipped", "RA901", "subclassed model"),
    "other_": ("error", "RA901", "not a Keras model config"),
}


@pytest.fixture(scope="module")
def manifest(corpus) -> dict[str, dict[str, str]]:
    with open(corpus / "MANIFEST.tsv", newline="") as stream:
        return {row["file"]: row for row in csv.DictReader(stream, delimiter="\t")}


@pytest.fixture(scope="module")
def report(corpus, manifest) -> dict[str, dict]:
    """One run over every file, each named explicitly, as a user listing them would."""
    paths = [str(corpus / name) for name in sorted(manifest)]
    _, document = json_report(*paths)
    return {Path(artifact["path"]).name: artifact for artifact in document["artifacts"]}


def test_every_file_audits_or_is_refused_with_a_reason(manifest, report):
    assert set(report) == set(manifest)
    for name, artifact in report.items():
        expected = next((v for prefix, v in REFUSED.items() if name.startswith(prefix)), ("ok", None, None))
        status, code, phrase = expected
        assert artifact["status"] == status, (name, artifact["error"])
        if code is not None:
            assert artifact["error"]["code"] == code and phrase in artifact["error"]["message"], name


def test_regularizers_match_the_manifest_tally(manifest, report):
    checked = 0
    for name, row in manifest.items():
        tally = re.search(r"regs: (.*?) \(nonzero=(\d+), all-zero=(\d+)\)", row["notes"])
        found = collections.Counter()
        zero = nonzero = 0
        for layer in report[name]["layers"]:
            for regularizer in layer["regularizers"]:
                found[f"{regularizer['argument']}={regularizer['class_name']}"] += 1
                if all(value == 0 for value in regularizer["factors"].values()):
                    zero += 1
                else:
                    nonzero += 1
        if tally is None:
            assert not found or row["has_regularizers"] != "no", name
            continue
        expected = collections.Counter()
        for part in tally.group(1).split(", "):
            key, count = part.rsplit("x", 1)
            expected[key] += int(count)
        assert (found, nonzero, zero) == (expected, int(tally.group(2)), int(tally.group(3))), name
        checked += 1
    assert checked >= 30


def test_keras_versions_and_layer_counts_match_the_manifest(manifest, report):
    for name, row in manifest.items():
        artifact = report[name]
        version = re.search(r"keras_version=([^;]+);", row["notes"])
        if version and artifact["status"] == "ok":
            assert artifact["keras_version"] == version.group(1).strip(), name
        layers = re.search(r"(\d+) layers", row["notes"])
        if layers and artifact["status"] == "ok":
            top_level = sum(1 for layer in artifact["layers"] if "/" not in layer["path"])
            # The manifest counts either the top-level entries or every layer of nested models.
            assert int(layers.group(1)) in (top_level, len(artifact["layers"])), name


def test_keras1_files_report_legacy_arguments(report):
    findings = report["k1_jeremyshannon_behavclone_model.json"]["findings"]
    assert {f["rule"] for f in findings} == {"RA401"}
    assert all("kernel_regularizer=keras.regularizers.L2(0.001)" in f["message"] for f in findings)
    assert len(findings) == 8


def test_directory_walk_passes_over_the_non_model_json(corpus):
    _, document = json_report(str(corpus))
    names = {Path(artifact["path"]).name for artifact in document["artifacts"]}
    assert "other_ntu_dnn_inference_fashion_mnist_layerlist.json" not in names
    assert "h5w_dventimiglia_behavclone_weightsonly.h5" in names  # skipped, but listed
    assert "MANIFEST.tsv" not in names
