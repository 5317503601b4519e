"""Every setting of a regularizer reaches every report: non-numeric settings (OrthogonalRegularizer's
`mode`, a custom class's flags and nested objects) are `options` beside `factors` (issue 8, kind 2)."""

from __future__ import annotations

import json
import os
import warnings

import jsonschema
import pytest

from conftest import ROOT, json_report, rendered, require, run_cli

import regaudit
from regaudit.describe import option

SCHEMA = json.loads((ROOT / "regaudit" / "reporters" / "report.schema.json").read_text())
K3 = "keras.regularizers"


def _model(*regularizers: dict) -> dict:
    layers = [
        {"class_name": "Dense", "config": {"name": f"d{index}", "units": 4, "kernel_initializer": {},
                                            "kernel_regularizer": regularizer}}
        for index, regularizer in enumerate(regularizers)
    ]
    return {"class_name": "Sequential", "config": {"name": "m", "layers": layers}}


ORTHOGONAL = {"module": K3, "class_name": "OrthogonalRegularizer", "config": {"factor": 0.01, "mode": "rows"},
              "registered_name": None}
CUSTOM = {"module": "pkg", "class_name": "Banded", "registered_name": "pkg>Banded",
          "config": {"scale": 0.5, "symmetric": True, "band": None, "shape": [3, 3], "inner": {"l2": float("nan")}}}


@pytest.fixture
def model_file(tmp_path):
    path = tmp_path / "model.json"
    path.write_text(json.dumps(_model(ORTHOGONAL, CUSTOM, {"class_name": "L2", "config": {"l2": 0.001}})))
    return path


def test_json_report_carries_options_beside_factors(model_file):
    _, report = json_report(str(model_file))
    jsonschema.validate(report, SCHEMA, cls=jsonschema.Draft202012Validator)
    orthogonal, custom, l2 = (layer["regularizers"][0] for layer in report["artifacts"][0]["layers"])
    assert orthogonal["factors"] == {"factor": 0.01} and orthogonal["options"] == {"mode": "rows"}
    assert custom["factors"] == {"scale": 0.5}
    # Nested values are kept as saved; a NaN inside them is spelled out, as factors are.
    assert custom["options"] == {"symmetric": True, "band": None, "shape": [3, 3], "inner": {"l2": "nan"}}
    assert l2["options"] == {}  # always present


def test_schema_requires_options():
    assert "options" in SCHEMA["$defs"]["regularizer"]["required"]
    assert SCHEMA["properties"]["schema_version"]["const"] == 1  # an added field: still version 1


def test_html_report_shows_options(model_file):
    html = rendered("html", regaudit.audit([str(model_file)]))
    assert "mode=rows" in html
    assert "symmetric=True" in html and "band=None" in html and "shape=[3,3]" in html


@pytest.mark.parametrize(
    "regularizer, shown",
    [(ORTHOGONAL, "OrthogonalRegularizer(factor=0.01, mode=rows)"),
     ({**CUSTOM, "config": {"symmetric": False}}, "Banded(symmetric=False)")],
)
def test_text_report_shows_options(tmp_path, regularizer, shown):
    path = tmp_path / "model.json"
    path.write_text(json.dumps(_model(regularizer)))
    assert shown in run_cli("check", str(path)).stdout


def test_huge_option_is_cut_in_labels_and_kept_in_json():
    assert option(list(range(10_000))) == "[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,\u2026"
    assert option("rows") == "rows" and option(None) == "None" and option({"a": 1}) == '{"a":1}'


@pytest.mark.keras
def test_real_keras_orthogonal_mode_reaches_json(tmp_path):
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    keras = require("keras")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(
        3, kernel_regularizer=keras.regularizers.OrthogonalRegularizer(0.02, mode="columns"))])
    path = tmp_path / "orthogonal.keras"
    model.save(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reloaded = keras.saving.load_model(path)
    assert reloaded.layers[0].kernel_regularizer.mode == "columns"  # what Keras keeps, regaudit must show
    _, report = json_report(str(path))
    (entry,) = [r for layer in report["artifacts"][0]["layers"] for r in layer["regularizers"]]
    assert entry["class_name"] == "OrthogonalRegularizer"
    assert entry["factors"] == {"factor": pytest.approx(0.02)} and entry["options"] == {"mode": "columns"}
