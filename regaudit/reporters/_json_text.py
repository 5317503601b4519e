"""`json.dumps(value, indent=2)`, byte for byte, at a fraction of its cost, for the JSON and SARIF
reports.

With `indent` set, Python's `json` (3.11) gives up its C encoder and encodes in pure Python, one
generator per nested value and one `yield` per token: most of the time of a JSON or SARIF report
went there. This writes the same text from nested calls that join strings, and leaves the
escaping of strings to the same C function `json` uses (`json.encoder.encode_basestring_ascii`:
`ensure_ascii`, so lone surrogates and non-ASCII text are written as `\\uXXXX` escapes exactly as
`json.dumps` writes them).

Only what `json.dumps` accepts by default is accepted: dicts (keys str, int, float, bool or None),
lists and tuples, str, int, float, bool and None, subclasses included; anything else raises
TypeError as `json.dumps` does. Like `json.dumps`, it does not detect cycles' recursion beyond
Python's own recursion limit. `tests/test_report_machine.py` compares both on the reports'
documents and on values built to reach every branch.
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring_ascii as _string

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_STEP = "  "  # indent=2


def dumps(value: Any, depth: int = 0, allow_nan: bool = True) -> str:
    """`json.dumps(value, indent=2, allow_nan=allow_nan)`, as if `value` sat `depth` levels deep in
    a larger document: every line after the first starts with `depth` more indents, so that an
    object dumped alone can be written into its place in the document.

    Raises ValueError for a NaN or infinite float when `allow_nan` is false, and TypeError for a
    value JSON cannot hold, with `json`'s messages.
    """
    return _value(value, "\n" + _STEP * depth, allow_nan)


def _value(value: Any, newline: str, allow_nan: bool) -> str:
    kind = type(value)
    if kind is str:
        return _string(value)
    if kind is dict:
        return _object(value, newline, allow_nan)
    if kind is list:
        return _array(value, newline, allow_nan)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if kind is int:
        return int.__repr__(value)
    if kind is float:
        return _float(value, allow_nan)
    # Subclasses, in the order json.encoder tries them.
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        return _float(value, allow_nan)
    if isinstance(value, (list, tuple)):
        return _array(value, newline, allow_nan)
    if isinstance(value, dict):
        return _object(value, newline, allow_nan)
    raise TypeError(f"Object of type {value.__class__.__name__} is not JSON serializable")


def _object(value: dict, newline: str, allow_nan: bool) -> str:
    if not value:
        return "{}"
    inner = newline + _STEP
    items = [
        f"{_string(key) if type(key) is str else _key(key, allow_nan)}: "
        f"{_string(item) if type(item) is str else _value(item, inner, allow_nan)}"
        for key, item in value.items()
    ]
    return "{" + inner + ("," + inner).join(items) + newline + "}"


def _array(value: list | tuple, newline: str, allow_nan: bool) -> str:
    if not value:
        return "[]"
    inner = newline + _STEP
    items = [_string(item) if type(item) is str else _value(item, inner, allow_nan) for item in value]
    return "[" + inner + ("," + inner).join(items) + newline + "]"


def _key(key: Any, allow_nan: bool) -> str:
    """A dict key as json.encoder writes it: always a JSON string."""
    if isinstance(key, str):
        text = key
    elif isinstance(key, float):
        text = _float(key, allow_nan)
    elif key is True:
        text = "true"
    elif key is False:
        text = "false"
    elif key is None:
        text = "null"
    elif isinstance(key, int):
        text = int.__repr__(key)
    else:
        raise TypeError(f"keys must be str, int, float, bool or None, not {key.__class__.__name__}")
    return _string(text)


def _float(value: float, allow_nan: bool) -> str:
    if value != value:
        text = "NaN"
    elif value == float("inf"):
        text = "Infinity"
    elif value == -float("inf"):
        text = "-Infinity"
    else:
        return float.__repr__(value)
    if not allow_nan:
        json.dumps(value, indent=2, allow_nan=False)  # raises json's own ValueError, worded as with indent
    return text
