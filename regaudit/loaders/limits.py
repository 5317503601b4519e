"""Safety limits for reading untrusted model files, and the bounded readers that enforce them."""

from __future__ import annotations

import json
from typing import IO, Any

from regaudit.loaders.problems import Corrupt, OverLimits

MiB = 1024 * 1024
# The largest config a real model needs is a few MB (a 1,000-layer network is about 5 MB).
MAX_CONFIG_BYTES = 64 * MiB
MAX_METADATA_BYTES = 1 * MiB
# Nested models, wrappers and RNN cells deeper than this are not a real architecture.
MAX_NESTING = 64


def read_bounded(stream: IO[bytes], limit: int, what: str) -> bytes:
    """Read at most `limit` bytes; a stream that holds more is refused, whatever it declared."""
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise OverLimits(f"{what} is larger than {limit // MiB} MB; refusing to read it")
    return data


def check_declared_size(size: int, limit: int, what: str) -> None:
    if size > limit:
        raise OverLimits(
            f"{what} declares {_megabytes(size)} uncompressed, over the {limit // MiB} MB limit; "
            "refusing to inflate it"
        )


def parse_json(data: bytes | str, what: str) -> Any:
    try:
        text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
    except UnicodeDecodeError as error:
        raise Corrupt(f"{what} is not UTF-8 text (byte {error.start}); the file may be corrupt") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise Corrupt(
            f"{what} is not valid JSON ({error.msg} at line {error.lineno}, column {error.colno}); "
            "the file may be truncated or corrupt"
        ) from None
    except RecursionError:
        raise OverLimits(f"{what} nests JSON deeper than the parser allows; refusing it") from None


def _megabytes(size: int) -> str:
    return f"{size / MiB:,.0f} MB" if size >= MiB else f"{size:,} bytes"
