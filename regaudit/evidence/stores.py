"""Where the weights are, and reading them safely: HDF5 datasets and TF.js binary shards.

Every tensor is checked against what its container really holds before a byte is read (a
declared size the file cannot back is refused), and is read in blocks of at most
:data:`~regaudit.evidence.statistics.CHUNK_VALUES` values.
"""

from __future__ import annotations

import io
import math
import os
import struct
import tempfile
import zipfile
from contextlib import ExitStack
from pathlib import Path

from regaudit._namedtuple import NamedTuple
from regaudit.evidence.statistics import CHUNK_VALUES

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Iterator

MiB = 1024 * 1024
# A compressed HDF5 dataset may inflate at most this much (Keras's own zip-bomb ratio).
MAX_INFLATION = 100
# An archive member extracted to a temporary file (only when it is compressed) is at most this big.
MAX_EXTRACTED_BYTES = 16 * 1024 * MiB
_NUMERIC_KINDS = frozenset("fiub")


class WeightsProblem(Exception):
    """The weights as a whole cannot be read; the message is the one-line reason."""


class Tensor(NamedTuple):
    """A stored tensor that has passed the size checks: shape, dtype and a way to read it."""

    shape: tuple[int, ...]
    dtype: str
    blocks: Callable[[], Iterator[Any]]  # numpy arrays, at most CHUNK_VALUES values each
    load: Callable[[], Any]  # the whole tensor


class Unreadable(NamedTuple):
    shape: tuple[int, ...]
    dtype: str
    reason: str


# --- HDF5 ----------------------------------------------------------------------------------------


def open_hdf5(stack: ExitStack, source: Any) -> Any:
    """An h5py File on a path or file-like object, refusing files that link outside themselves."""
    import h5py

    try:
        file = stack.enter_context(h5py.File(source, "r", locking=False) if isinstance(source, (str, Path))
                                   else h5py.File(source, "r"))
    except (OSError, ValueError, RuntimeError) as error:
        raise WeightsProblem(f"the weights file is not readable HDF5 ({_first_line(error)})") from None
    linked = file.id.links.visit(lambda name, info: name if info.type == h5py.h5l.TYPE_EXTERNAL else None, info=True)
    if linked is not None:
        raise WeightsProblem(
            f"the weights file contains an external link ({linked.decode(errors='replace')}) to another "
            "file; refusing weights that reach outside themselves"
        )
    return file


def hdf5_tensor(dataset: Any, file_size: int) -> Tensor | Unreadable:
    """Check one HDF5 dataset against the bytes its file really holds."""
    try:
        shape = tuple(int(n) for n in dataset.shape) if dataset.shape is not None else ()
        dtype = dataset.dtype
    except (OSError, ValueError, RuntimeError, TypeError) as error:
        return Unreadable((), "unknown", f"unreadable dataset header ({_first_line(error)})")
    name = str(dtype)
    if dtype.kind not in _NUMERIC_KINDS or dtype.subdtype is not None:
        return Unreadable(shape, name, f"not a numeric tensor (HDF5 type {name})")
    declared = math.prod(shape) * dtype.itemsize
    try:
        if dataset.is_virtual or dataset.external:
            return Unreadable(shape, name, "its data lives in another file (virtual or external storage); not read")
        stored = dataset.id.get_storage_size()
        filtered = bool(dataset.chunks) and bool(dataset._filters)
        offset = None if dataset.chunks else dataset.id.get_offset()
    except (OSError, ValueError, RuntimeError, TypeError) as error:
        return Unreadable(shape, name, f"unreadable dataset layout ({_first_line(error)})")
    if filtered:
        if declared > MAX_INFLATION * stored + MiB:
            return Unreadable(shape, name, f"declares {_size(declared)} but stores {_size(stored)} compressed; "
                                           "refusing to inflate it")
    elif stored < declared:
        return Unreadable(shape, name, f"declares {_size(declared)} ({_shape(shape)} {name}) but the file holds "
                                       f"{_size(stored)} of it: truncated, or the shape or dtype lies")
    elif offset is not None and offset + declared > file_size:
        return Unreadable(shape, name, f"its {_size(declared)} extend past the end of the file: truncated")
    return Tensor(shape, name, lambda: _hdf5_blocks(dataset, shape), lambda: dataset[()])


def _hdf5_blocks(dataset: Any, shape: tuple[int, ...]) -> Iterator[Any]:
    for selection in blocks(shape):
        yield dataset[selection]


def blocks(shape: tuple[int, ...]) -> Iterator[tuple]:
    """Index tuples that cover an array of `shape` in row-major blocks of at most CHUNK_VALUES."""
    if math.prod(shape) <= CHUNK_VALUES:
        yield ()
        return
    axis = next(k for k in range(len(shape)) if math.prod(shape[k + 1 :]) <= CHUNK_VALUES)
    step = max(1, CHUNK_VALUES // max(1, math.prod(shape[axis + 1 :])))
    for prefix in _indices(shape[:axis]):
        for start in range(0, shape[axis], step):
            yield prefix + (slice(start, min(start + step, shape[axis])),)


def _indices(shape: tuple[int, ...]) -> Iterator[tuple[int, ...]]:
    if not shape:
        yield ()
        return
    for first in range(shape[0]):
        for rest in _indices(shape[1:]):
            yield (first, *rest)


# --- zip archive members -------------------------------------------------------------------------


class MemberView(io.RawIOBase):
    """A stored (uncompressed) zip member read in place, seekable, without extracting it."""

    def __init__(self, path: Path, start: int, length: int) -> None:
        self._file = open(path, "rb")
        self._start = start
        self._length = length
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._length}[whence]
        self._position = max(0, base + offset)
        return self._position

    def readinto(self, buffer: Any) -> int:
        wanted = min(len(buffer), max(0, self._length - self._position))
        if not wanted:
            return 0
        # One positioned read straight into h5py's buffer: no seek, no intermediate copy.
        read = os.preadv(self._file.fileno(), [memoryview(buffer)[:wanted]], self._start + self._position)
        self._position += read
        return read

    def close(self) -> None:
        self._file.close()
        super().close()


def open_member(stack: ExitStack, archive_path: Path, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> tuple[Any, int]:
    """A readable, seekable view of one archive member and its size: in place when it is stored
    uncompressed (as Keras writes it), else extracted to a bounded temporary file."""
    if info.compress_type == zipfile.ZIP_STORED and not info.flag_bits & 0x1:
        start = _member_data_offset(archive_path, info)
        if start + info.file_size > archive_path.stat().st_size:
            raise WeightsProblem(f"{info.filename} extends past the end of the archive: truncated")
        return stack.enter_context(MemberView(archive_path, start, info.file_size)), info.file_size
    if info.file_size > MAX_EXTRACTED_BYTES or info.file_size > MAX_INFLATION * max(info.compress_size, 1) + MiB:
        raise WeightsProblem(f"{info.filename} declares {_size(info.file_size)} uncompressed from "
                             f"{_size(info.compress_size)}; refusing to inflate it")
    temporary = stack.enter_context(tempfile.TemporaryFile())
    written = 0
    try:
        with archive.open(info) as stream:
            while chunk := stream.read(MiB):
                written += len(chunk)
                if written > info.file_size:
                    raise WeightsProblem(f"{info.filename} inflates beyond its declared size; refusing it")
                temporary.write(chunk)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as error:
        raise WeightsProblem(f"{info.filename} could not be read from the archive ({_first_line(error)})") from None
    temporary.seek(0)
    return temporary, written


def _member_data_offset(archive_path: Path, info: zipfile.ZipInfo) -> int:
    with open(archive_path, "rb") as file:
        file.seek(info.header_offset)
        header = file.read(30)
    if len(header) < 30 or header[:4] != b"PK\x03\x04":
        raise WeightsProblem(f"{info.filename}: damaged local header in the archive")
    name_length, extra_length = struct.unpack("<HH", header[26:30])
    return info.header_offset + 30 + name_length + extra_length


# --- TF.js binary shards -------------------------------------------------------------------------

# TF.js dtypes and their bytes per value (tfjs-core/src/io/types.ts DTYPE_VALUE_SIZE_MAP).
TFJS_DTYPES = {"float32": ("<f4", 4), "int32": ("<i4", 4), "bool": ("u1", 1)}
TFJS_QUANTIZED = {"uint8": ("u1", 1), "uint16": ("<u2", 2), "float16": ("<f2", 2)}


class Shards:
    """The shard files of one weightsManifest group, read as one byte sequence."""

    def __init__(self, files: list[Path]) -> None:
        self.files = files
        self.sizes = [file.stat().st_size for file in files]

    @property
    def total(self) -> int:
        return sum(self.sizes)

    def read(self, start: int, length: int) -> bytes:
        parts = []
        offset = 0
        for file, size in zip(self.files, self.sizes):
            if length <= 0:
                break
            if start < offset + size:
                begin = max(0, start - offset)
                take = min(size - begin, length)
                with open(file, "rb") as stream:
                    stream.seek(begin)
                    parts.append(stream.read(take))
                start += take
                length -= take
            offset += size
        return b"".join(parts)


def tfjs_tensor(shards: Shards, offset: int, shape: tuple[int, ...], dtype: str, quantization: Any) -> Tensor:
    import numpy

    stored, width = TFJS_QUANTIZED[quantization["dtype"]] if quantization else TFJS_DTYPES[dtype]
    count = math.prod(shape)

    def decode(data: bytes) -> Any:
        values = numpy.frombuffer(data, dtype=stored)
        if quantization and quantization["dtype"] != "float16":
            return values.astype(numpy.float32) * numpy.float32(quantization["scale"]) + numpy.float32(quantization["min"])
        return values.astype(numpy.float32) if quantization else values

    def chunks() -> Iterator[Any]:
        for start in range(0, max(count, 1), CHUNK_VALUES):
            number = min(CHUNK_VALUES, count - start)
            if number > 0:
                yield decode(shards.read(offset + start * width, number * width))

    return Tensor(shape, dtype, chunks, lambda: decode(shards.read(offset, count * width)).reshape(shape))


def tfjs_width(dtype: Any, quantization: Any) -> int | None:
    if isinstance(quantization, dict):
        known = TFJS_QUANTIZED.get(quantization.get("dtype"))
        numbers = all(isinstance(quantization.get(k), (int, float)) for k in ("scale", "min"))
        if known is None or (quantization.get("dtype") != "float16" and not numbers):
            return None
        return known[1]
    known = TFJS_DTYPES.get(dtype)
    return known[1] if known else None


def inside(folder: Path, relative: Any) -> Path | None:
    """`relative` resolved under `folder`, or None if it is not a plain path that stays inside."""
    if not isinstance(relative, str) or not relative or os.path.isabs(relative) or "\\" in relative:
        return None
    candidate = (folder / relative).resolve()
    try:
        candidate.relative_to(folder.resolve())
    except ValueError:
        return None
    return candidate


# --- wording -------------------------------------------------------------------------------------


def _size(count: int) -> str:
    return f"{count / MiB:,.1f} MB" if count >= MiB else f"{count:,} bytes"


def _shape(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
