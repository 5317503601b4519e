"""The reports' fast paths write exactly what the general code writes.

The text, JSON and SARIF reports take a short cut for the usual case (a message of plain words, a
cell that fits its column, a name with nothing to escape, JSON indented without Python's pure-Python
encoder). Each short cut is compared here with the code it stands in for, on the golden run's
documents and on many seeded random inputs built to reach the edges (tabs, runs of spaces, words
longer than a line, Unicode blanks, lone surrogates, non-finite floats, non-string keys).
"""

from __future__ import annotations

import io
import json
import math
import random

import pytest

from regaudit.reporters import _escape, _json_text, render
from regaudit.reporters import json as json_report
from regaudit.reporters import text

RANDOM_CASES = 3000


def _random_json(rng: random.Random, depth: int = 0):
    roll = rng.random()
    if depth > 4 or roll < 0.45:
        return rng.choice([
            rng.random() * 10 ** rng.randint(-30, 30), -0.0, rng.randint(-10**20, 10**20), True, False, None,
            "".join(chr(rng.randint(0, 0x10FFFF)) for _ in range(rng.randint(0, 6))), "plain name", "",
        ])
    if roll < 0.7:
        items = [_random_json(rng, depth + 1) for _ in range(rng.randint(0, 4))]
        return tuple(items) if rng.random() < 0.2 else items
    keys = ["k", "", "\udcff", "é\u2028", 1, 2.5, True, False, None]
    return {rng.choice(keys) if rng.random() < 0.5 else f"key{index}": _random_json(rng, depth + 1)
            for index in range(rng.randint(0, 4))}


def test_json_text_writes_what_json_dumps_writes():
    rng = random.Random(11)
    for _ in range(RANDOM_CASES):
        value = _random_json(rng)
        assert _json_text.dumps(value) == json.dumps(value, indent=2)
        # Dumped alone at a depth, as the JSON report writes each artifact into its list.
        assert _json_text.dumps(value, 2) == json.dumps(value, indent=2).replace("\n", "\n    ")


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, [1.0, {"x": math.inf}], {math.nan: 1}])
def test_json_text_handles_non_finite_floats_as_json_does(value):
    assert _json_text.dumps(value) == json.dumps(value, indent=2)  # NaN, Infinity, as JSON5 spells them
    with pytest.raises(ValueError) as ours:
        _json_text.dumps(value, allow_nan=False)
    with pytest.raises(ValueError) as theirs:
        json.dumps(value, indent=2, allow_nan=False)
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("value", [{"x": object()}, [b"bytes"], {(1, 2): "tuple key"}, {1, 2}])
def test_json_text_refuses_what_json_refuses(value):
    with pytest.raises(TypeError):
        json.dumps(value, indent=2)
    with pytest.raises(TypeError):
        _json_text.dumps(value)


def test_json_and_sarif_documents_of_the_golden_run_are_json_dumps(golden_result, monkeypatch):
    from conftest import ROOT, golden_context

    monkeypatch.chdir(ROOT)
    context = golden_context()
    for artifact in golden_result.artifacts:
        document = json_report._artifact(artifact)
        assert _json_text.dumps(document, allow_nan=False) == json.dumps(document, indent=2, allow_nan=False)
    stream = io.StringIO()
    render("sarif", golden_result, context, stream)
    document = json.loads(stream.getvalue())
    assert _json_text.dumps(document) == json.dumps(document, indent=2)


def _random_prose(rng: random.Random) -> str:
    pieces = ["a", "regularizer", "kernel_regularizer=L2(l2=0.01)", "x" * rng.randint(1, 120), " ", "  ", "\t",
              "\n", "\u3000", "\xa0", "\x1f", "\x85", "a\u2003b", "é", "-", "--", "/", "::", "dense_1,"]
    return "".join(rng.choice(pieces) if rng.random() < 0.3 else rng.choice(pieces[:3]) + " "
                   for _ in range(rng.randint(0, 40))).rstrip(" ") if rng.random() < 0.8 else \
        "".join(rng.choice(pieces) for _ in range(rng.randint(0, 40)))


def test_plain_wrapping_is_textwraps():
    rng = random.Random(12)
    taken = 0
    for _ in range(RANDOM_CASES):
        prose = _random_prose(rng)
        width = rng.choice([40, 60, 80, 100, 140])
        indent = rng.choice(["", text.INDENT, text.MESSAGE_INDENT])
        plain = text._wrapped_plainly(prose, indent, width)
        wrapper = text._linear_wrapper()(width, initial_indent=indent, subsequent_indent=indent, break_on_hyphens=False)
        if plain is not None:
            taken += 1
            assert plain == wrapper.wrap(prose), (prose, width, indent)
    assert taken > RANDOM_CASES // 10  # the short cut is taken, or this test would compare nothing


def test_a_usual_finding_message_takes_the_short_cut():
    message = ("Dense with no weight regularizer, unlike 4 of the 6 trainable Dense layers (e.g. dense_1 has "
               "kernel_regularizer=L1L2(l1=1e-05, l2=0.001)); regularize it the same way")
    assert text._wrapped_plainly(message, text.MESSAGE_INDENT, 100) is not None


def test_a_cell_that_fits_is_written_as_the_general_wrapping_writes_it():
    rng = random.Random(13)
    alphabet = ["a", "b", " ", "/", "  ", "\u3000", "é", "L2(l2=0.01)"]
    for _ in range(RANDOM_CASES):
        cell = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        width = rng.randint(max(1, len(cell)), len(cell) + 5)
        assert text._wrap_cell(cell, width) == text._wrap_long_cell(cell, width), (cell, width)


def test_a_row_that_fits_is_written_as_its_wrapped_cells_would_be():
    rng = random.Random(14)
    for _ in range(RANDOM_CASES):
        row = tuple("".join(rng.choice("ab /") for _ in range(rng.randint(0, 8))) for _ in range(5))
        widths = [max(len(cell), 1) + rng.randint(0, 2) for cell in row]
        cells = [text._wrap_long_cell(cell, width) for cell, width in zip(row, widths)]
        expected = text.INDENT + text._GAP.join(cell[0].ljust(width) for cell, width in zip(cells, widths)).rstrip()
        assert all(len(cell) == 1 for cell in cells) and text._table_row(row, widths) == [expected]


def test_log_text_short_cut_escapes_as_the_general_path():
    rng = random.Random(15)
    pieces = ["a", "::", ":", "#", "##[", "[", "\x1b", "\x7f", "\n", "\t", " ", "é", "\u202e", "\udcff", "\x00"]
    for _ in range(RANDOM_CASES):
        name = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 10)))
        assert _escape.log_text(name) == _escape._log_text_escaped(name), repr(name)
