"""Safety limits for reading untrusted model files, and the bounded readers that enforce them."""

from __future__ import annotations

import json
import os
from contextlib import contextmanager

from regaudit.loaders.problems import Corrupt, OverLimits

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import IO, Any, Iterable, Iterator

MiB = 1024 * 1024


def _configured(variable: str, default: int) -> int:
    """A limit, raised (or lowered) by an environment variable for the rare real model that needs it."""
    try:
        value = int(os.environ.get(variable, default))
    except ValueError:
        return default
    return value if value > 0 else default


def raise_hint(variable: str) -> str:
    return f"if a real model needs more, raise the limit with the environment variable {variable}"


# Measured on the 82 corpus models and the fixtures: a config takes 400 to 1,600 bytes per layer
# (median 530; Keras 3 files, with module and registered_name, about 900), so about 1 MB per
# 1,000 layers, and 64 MB holds some 60,000 layers.
CONFIG_MB_VARIABLE = "REGAUDIT_MAX_CONFIG_MB"
MAX_CONFIG_BYTES = _configured(CONFIG_MB_VARIABLE, 64) * MiB
MAX_METADATA_BYTES = 1 * MiB
# Nested models, wrappers and RNN cells deeper than this are not a real architecture.
MAX_NESTING = 64
# Layers, wrapped layers and RNN cells in one model: 50 MB of config at 1 KB a layer, fifty times
# the largest Keras application (NASNetLarge, about 1,000 layers). Each costs about 1 KB in memory.
LAYERS_VARIABLE = "REGAUDIT_MAX_LAYERS"
MAX_LAYERS = _configured(LAYERS_VARIABLE, 50_000)
# JSON values, counted as ',', '{' and '[' before parsing: real configs have at most 26 per
# serialized object (about 80 per layer). Python holds each value in 50 to 100 bytes whatever its
# size in the file (`{}` is 2 bytes and a 64-byte dict), so this bounds a parse to a few hundred MB
# where the byte limit alone would allow 2 GB.
JSON_VALUES_VARIABLE = "REGAUDIT_MAX_JSON_VALUES"
MAX_JSON_VALUES = _configured(JSON_VALUES_VARIABLE, 4_000_000)
# Members of a .keras archive (Keras writes 3, plus assets): zipfile holds every central-directory
# entry in memory (about 400 bytes each), so the count is checked before opening the archive.
ZIP_ENTRIES_VARIABLE = "REGAUDIT_MAX_ZIP_ENTRIES"
MAX_ZIP_ENTRIES = _configured(ZIP_ENTRIES_VARIABLE, 100_000)


@contextmanager
def address_space_ceiling(extra: int) -> Iterator[None]:
    """Let the block allocate at most `extra` more bytes of address space (Linux: RLIMIT_AS).

    For native readers that size their buffers from lengths written in the file, such as an HDF5
    variable-length string whose length field claims 4 GB: the allocation fails at once (the
    reader raises its own error) instead of exhausting memory. A no-op where the platform cannot
    do it.
    """
    try:
        import resource

        with open("/proc/self/statm") as statm:
            in_use = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    except (ImportError, OSError, ValueError):
        yield
        return
    ceiling = in_use + extra
    if hard != resource.RLIM_INFINITY:
        ceiling = min(ceiling, hard)
    if soft != resource.RLIM_INFINITY and soft <= ceiling:
        yield  # already held lower by the user's own limit
        return
    resource.setrlimit(resource.RLIMIT_AS, (ceiling, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def read_bounded(stream: IO[bytes], limit: int, what: str) -> bytes:
    """Read at most `limit` bytes; a stream that holds more is refused, whatever it declared."""
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise OverLimits(f"{what} is larger than {limit // MiB} MB; refusing to read it; {raise_hint(CONFIG_MB_VARIABLE)}")
    return data


def check_declared_size(size: int, limit: int, what: str) -> None:
    if size > limit:
        raise OverLimits(
            f"{what} declares {_megabytes(size)} uncompressed, over the {limit // MiB} MB limit; "
            f"refusing to inflate it; {raise_hint(CONFIG_MB_VARIABLE)}"
        )


def parse_json(data: bytes | str, what: str) -> Any:
    try:
        # utf-8-sig's codec is Python code around the C decoder: what it does, without the call.
        # (Its error positions count from after the BOM too.)
        text = (data[3:] if data[:3] == _UTF8_BOM else data).decode("utf-8") if isinstance(data, bytes) else data
    except UnicodeDecodeError as error:
        raise Corrupt(f"{what} is not UTF-8 text (byte {error.start}); the file may be corrupt") from None
    _check_value_count(text, what)
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise Corrupt(
            f"{what} is not valid JSON ({error.msg} at line {error.lineno}, column {error.colno}); "
            "the file may be truncated or corrupt"
        ) from None
    except RecursionError:
        raise OverLimits(f"{what} nests JSON deeper than the parser allows; refusing it") from None


_UTF8_BOM = b"\xef\xbb\xbf"


def _check_value_count(text: str, what: str) -> None:
    check_json_values((text,), what)


def check_json_values(texts: Iterable[str], what: str) -> None:
    """Refuse, before parsing, JSON texts that together would build more than MAX_JSON_VALUES values
    (a SavedModel holds one JSON text per layer)."""
    # An upper bound on the values json.loads would build (separators inside strings count too).
    count = sum(text.count(",") + text.count("{") + text.count("[") for text in texts)
    if count > MAX_JSON_VALUES:
        raise OverLimits(
            f"{what} holds about {count:,} JSON values, over the {MAX_JSON_VALUES:,} limit (a real config has "
            f"about 80 a layer); refusing to parse it; {raise_hint(JSON_VALUES_VARIABLE)}"
        )


def _megabytes(size: int) -> str:
    return f"{size / MiB:,.0f} MB" if size >= MiB else f"{size:,} bytes"
