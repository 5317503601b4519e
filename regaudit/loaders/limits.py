"""Safety limits for reading untrusted model files, and the bounded readers that enforce them."""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
from typing import IO, Any, Iterator

from regaudit.loaders.problems import Corrupt, OverLimits

MiB = 1024 * 1024
# The largest config a real model needs is a few MB (a 1,000-layer network is about 5 MB).
MAX_CONFIG_BYTES = 64 * MiB
MAX_METADATA_BYTES = 1 * MiB
# Nested models, wrappers and RNN cells deeper than this are not a real architecture.
MAX_NESTING = 64


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
