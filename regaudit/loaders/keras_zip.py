"""Keras v3 `.keras` archives (also written by tf.keras >= 2.12) and their unzipped directory form.

Only `config.json` and `metadata.json` are read; the weights member is never opened.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

from regaudit._namedtuple import NamedTuple
from regaudit.loaders.keras_config import build_tree, optimizer_from
from regaudit.loaders.limits import (
    MAX_CONFIG_BYTES,
    MAX_METADATA_BYTES,
    MAX_ZIP_ENTRIES,
    ZIP_ENTRIES_VARIABLE,
    check_declared_size,
    parse_json,
    raise_hint,
    read_bounded,
)
from regaudit.loaders.problems import Corrupt, NotAModel, OverLimits
from regaudit.tree import ModelTree

TYPE_CHECKING = False
if TYPE_CHECKING:
    import zipfile
    from typing import BinaryIO

CONFIG = "config.json"
METADATA = "metadata.json"
_WEIGHTS = ("model.weights.h5", "model.weights.npz", "variables.h5")
# What zipfile (besides its BadZipFile) and zlib raise on a damaged, encrypted or exotic archive.
_ZIP_ERRORS = (zlib.error, EOFError, RuntimeError, NotImplementedError, OSError, ValueError)


def _zipfile_errors() -> tuple[type[BaseException], ...]:
    # A function, so that an except clause imports zipfile only once something was raised.
    import zipfile

    return (zipfile.BadZipFile, *_ZIP_ERRORS)


def is_keras_directory(path: Path) -> bool:
    """`save_model(..., zipped=False)` and Hugging Face uploads: config.json next to the weights."""
    return (path / CONFIG).is_file() and any((path / name).is_file() for name in (METADATA, *_WEIGHTS))


def load_archive(path: Path, stream: BinaryIO | None = None) -> ModelTree:
    """The tree of a `.keras` archive, read through `stream` when the caller has the file open."""
    if stream is None:
        try:
            with open(path, "rb") as opened:
                return load_archive(path, opened)
        except OSError as error:
            raise Corrupt(f"not a readable zip archive ({error}); the file may be truncated or corrupt") from None
    directory = _check_entry_count(stream)
    members = _plain_members(stream)
    if members is None:
        _check_directory_entries(stream, directory)
        members = _members_by_zipfile(stream)
    config, metadata = members
    return _tree(config, metadata, "keras-zip")


def _members_by_zipfile(stream: BinaryIO) -> tuple[bytes, bytes | None]:
    # Imported here, for the archives the plain reader leaves to it: zipfile and what it imports
    # (shutil, bz2, lzma, threading) cost ~4 ms, a tenth of a one-file check (bench/NOTES.md).
    import zipfile

    try:
        archive = zipfile.ZipFile(stream)
    except _zipfile_errors() as error:
        raise Corrupt(f"not a readable zip archive ({error}); the file may be truncated or corrupt") from None
    with archive:
        config = _read_member(archive, CONFIG, MAX_CONFIG_BYTES)
        if config is None:
            raise NotAModel("zip archive without config.json: not a Keras .keras file")
        return config, _read_member(archive, METADATA, MAX_METADATA_BYTES)


# A central-directory entry and a local file header (APPNOTE.TXT 4.3.12 and 4.3.7).
_CENTRAL_ENTRY = struct.Struct("<4s4B4HL2L5H2L")
_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")
_STORED, _DEFLATED = 0, 8
_UNSUPPORTED_FLAGS = 0x1 | 0x20 | 0x40  # encrypted, compressed patched data, strong encryption
_MAX_EXTRACT_VERSION = 63  # zipfile refuses anything newer
_WANTED = {CONFIG.encode(): CONFIG, METADATA.encode(): METADATA}


class _MemberEntry(NamedTuple):
    flags: int
    method: int
    crc: int
    compressed_size: int
    file_size: int
    offset: int
    end: int  # where the next entry's local header, or the central directory, starts


def _plain_members(stream: BinaryIO) -> tuple[bytes, bytes | None] | None:
    """config.json and metadata.json of an archive laid out as Python's zipfile writes it (how
    every Keras line saves): one read of the central directory and one of each member, where
    zipfile builds an object for every entry and a reader for every member, which cost more than
    a small model's whole audit. The same limits apply: the declared size is checked before a
    member is read or inflated, at most that many bytes are inflated, and the CRC must match.

    None for anything else (ZIP64, a comment, bytes before the archive, extra fields, encryption,
    compression other than deflate, any damage): zipfile then reads the archive as before and
    reports what it finds in the same words.
    """
    try:
        directory = _plain_directory(stream)
        if directory is None:
            return None
        config_entry = directory.get(CONFIG)
        if config_entry is None:
            raise NotAModel("zip archive without config.json: not a Keras .keras file")
        check_declared_size(config_entry.file_size, MAX_CONFIG_BYTES, CONFIG)
        config = _plain_member(stream, config_entry, CONFIG, MAX_CONFIG_BYTES)
        if config is None:
            return None
        metadata_entry = directory.get(METADATA)
        if metadata_entry is None:
            return config, None
        check_declared_size(metadata_entry.file_size, MAX_METADATA_BYTES, METADATA)
        metadata = _plain_member(stream, metadata_entry, METADATA, MAX_METADATA_BYTES)
        return None if metadata is None else (config, metadata)
    except (OSError, struct.error, zlib.error):
        return None


def _plain_directory(stream: BinaryIO) -> dict[str, _MemberEntry] | None:
    """The entries of config.json and metadata.json (the last of each name, as zipfile keeps),
    once every entry has passed the checks zipfile makes when it opens the archive, each with the
    offset its data must end by: zipfile refuses a member that runs into another entry
    ("Overlapped entries", since Python 3.11.8 and 3.12.1), so such a member is left to it."""
    size = stream.seek(0, 2)
    if size < _EOCD.size:
        return None
    # The record, and the 20 bytes before it where zipfile looks for a ZIP64 locator.
    tail_size = min(size, _ZIP64_LOCATOR.size + _EOCD.size)
    stream.seek(size - tail_size)
    tail = stream.read(tail_size)
    signature, disk, directory_disk, disk_entries, entries, directory_size, directory_at, comment = _EOCD.unpack_from(
        tail, tail_size - _EOCD.size
    )
    if (
        signature != b"PK\x05\x06" or comment or disk or directory_disk or disk_entries != entries
        or entries == 0xFFFF or directory_at + directory_size != size - _EOCD.size
        or (tail_size > _EOCD.size and tail[:4] == b"PK\x06\x07")
    ):
        return None
    stream.seek(directory_at)
    directory = stream.read(directory_size)
    if len(directory) != directory_size:
        return None
    found: dict[str, _MemberEntry] = {}
    offsets: list[int] = []
    at = 0
    while at < directory_size:
        if at + _CENTRAL_ENTRY.size > directory_size:
            return None
        (signature, _, _, extract_version, _, flags, method, _, _, crc, compressed_size, file_size, name_length,
         extra_length, comment_length, _, _, _, offset) = _CENTRAL_ENTRY.unpack_from(directory, at)
        name_at = at + _CENTRAL_ENTRY.size
        at = name_at + name_length + extra_length + comment_length
        if signature != b"PK\x01\x02" or extract_version > _MAX_EXTRACT_VERSION or extra_length or at > directory_size:
            return None
        offsets.append(offset)
        name = directory[name_at : name_at + name_length]
        if b"\x00" in name:  # zipfile cuts a name at a NUL
            return None
        if flags & 0x800:  # a UTF-8 name, which zipfile decodes (and refuses when it is not UTF-8)
            try:
                name.decode("utf-8")
            except UnicodeDecodeError:
                return None
        if name in _WANTED:
            found[_WANTED[name]] = _MemberEntry(flags, method, crc, compressed_size, file_size, offset, directory_at)
    if any(offsets.count(entry.offset) > 1 for entry in found.values()):  # two entries, one local header
        return None
    return {
        name: entry._replace(end=min((o for o in offsets if o > entry.offset), default=directory_at))
        for name, entry in found.items()
    }


def _plain_member(stream: BinaryIO, entry: _MemberEntry, name: str, limit: int) -> bytes | None:
    """The member's bytes, or None where zipfile must judge (see _plain_members)."""
    if entry.flags & _UNSUPPORTED_FLAGS or entry.method not in (_STORED, _DEFLATED) or entry.compressed_size > limit:
        return None
    if entry.method == _STORED and entry.compressed_size != entry.file_size:
        return None
    stream.seek(entry.offset)
    header = stream.read(_LOCAL_HEADER.size + len(name))
    if len(header) != _LOCAL_HEADER.size + len(name):
        return None
    fields = _LOCAL_HEADER.unpack_from(header)
    signature, name_length, extra_length = fields[0], fields[-2], fields[-1]
    if signature != b"PK\x03\x04" or name_length != len(name) or header[_LOCAL_HEADER.size :] != name.encode():
        return None
    if entry.offset + len(header) + extra_length + entry.compressed_size > entry.end:
        return None
    if extra_length:
        stream.seek(extra_length, 1)
    data = stream.read(entry.compressed_size)
    if len(data) != entry.compressed_size:
        return None
    if entry.method == _DEFLATED:
        inflater = zlib.decompressobj(-15)
        # Never more than the declared size (itself within the limit) and one byte to tell a liar.
        data = inflater.decompress(data, entry.file_size + 1)
        if not inflater.eof:
            return None
    if len(data) != entry.file_size or zlib.crc32(data) != entry.crc:
        return None
    return data


# The end-of-central-directory record (APPNOTE.TXT 4.3.16) and its ZIP64 locator and record
# (4.3.15, 4.3.14): the entry count is read from them before zipfile builds one object per entry.
_EOCD = struct.Struct("<4s4H2LH")
_ZIP64_LOCATOR = struct.Struct("<4sLQL")
_ZIP64_EOCD = struct.Struct("<4sQ2H2L4Q")
_EOCD_SEARCH = _EOCD.size + 0xFFFF  # the record ends the file, after a comment of up to 64 KB


def _check_entry_count(stream: BinaryIO) -> tuple[int, int] | None:
    """Refuse an archive whose end record (or ZIP64 record) declares more entries than the limit.

    Returns where zipfile reads the central directory: the offset it ends at and its size, from
    the records zipfile reads (the ZIP64 one right before its locator); None when there is no end
    record, which zipfile reports.
    """
    try:
        size = stream.seek(0, 2)
        start, tail = _end_record(stream, size)
        at = tail.rfind(b"PK\x05\x06")
        if at < 0 or at + _EOCD.size > len(tail):
            return None  # zipfile reports the damage
        record = _EOCD.unpack_from(tail, at)
        entries = max(record[3:5])
        directory = (start + at, record[5])
        locator_at = start + at - _ZIP64_LOCATOR.size
        if locator_at >= 0:
            stream.seek(locator_at)
            locator = _ZIP64_LOCATOR.unpack(stream.read(_ZIP64_LOCATOR.size))
            if locator[0] == b"PK\x06\x07":
                located = _zip64_record(stream, locator[2])
                read = _zip64_record(stream, locator_at - _ZIP64_EOCD.size)  # where zipfile reads it
                entries = max(entries, *(zip64[7] for zip64 in (located, read) if zip64 is not None))
                if read is not None:
                    directory = (locator_at - _ZIP64_EOCD.size, read[8])
    except (OSError, struct.error, ValueError):
        return None  # zipfile reports the damage
    if entries > MAX_ZIP_ENTRIES:
        raise _too_many_entries(f"declares {entries:,} entries")
    return directory


def _zip64_record(stream: BinaryIO, at: int) -> tuple | None:
    if at < 0:
        return None
    stream.seek(at)
    record = stream.read(_ZIP64_EOCD.size)
    return _ZIP64_EOCD.unpack(record) if len(record) == _ZIP64_EOCD.size and record[:4] == b"PK\x06\x06" else None


def _check_directory_entries(stream: BinaryIO, directory: tuple[int, int] | None) -> None:
    """zipfile makes an object of every entry in the central directory (~500 bytes each), whatever
    count the end record declares: the entries are counted first, against the same limit.
    `directory` is what `_check_entry_count` returned."""
    if directory is None or directory[1] > directory[0]:
        return  # zipfile reports the damage
    end, size = directory
    stream.seek(end - size)
    entries = stream.read(size)
    at = count = 0
    while entries[at : at + 4] == b"PK\x01\x02" and at + _CENTRAL_ENTRY.size <= len(entries):
        count += 1
        if count > MAX_ZIP_ENTRIES:
            raise _too_many_entries(f"holds at least {count:,} entries in its central directory")
        name_length, extra_length, comment_length = _ENTRY_LENGTHS.unpack_from(entries, at + 28)
        at += _CENTRAL_ENTRY.size + name_length + extra_length + comment_length


_ENTRY_LENGTHS = struct.Struct("<3H")  # of the name, extra field and comment, 28 bytes into an entry


def _too_many_entries(what: str) -> OverLimits:
    return OverLimits(
        f"zip archive {what}, over the {MAX_ZIP_ENTRIES:,} limit (a .keras archive holds a handful); "
        f"refusing to open it; {raise_hint(ZIP_ENTRIES_VARIABLE)}"
    )


def _end_record(stream: BinaryIO, size: int) -> tuple[int, bytes]:
    """Where the bytes that hold the end-of-central-directory record start, and those bytes.

    An archive without a comment (what every Keras writes) ends with the bare 22-byte record,
    read alone; otherwise the last 64 KB are searched, as zipfile does too.
    """
    if size >= _EOCD.size:
        stream.seek(size - _EOCD.size)
        last = stream.read(_EOCD.size)
        if last[:4] == b"PK\x05\x06" and last[-2:] == b"\x00\x00":
            return size - _EOCD.size, last
    start = max(0, size - _EOCD_SEARCH)
    stream.seek(start)
    return start, stream.read()


def load_directory(path: Path) -> ModelTree:
    metadata_path = path / METADATA
    metadata = _read_file(metadata_path, MAX_METADATA_BYTES) if metadata_path.is_file() else None
    return _tree(_read_file(path / CONFIG, MAX_CONFIG_BYTES), metadata, "keras-dir")


def _read_member(archive: zipfile.ZipFile, name: str, limit: int) -> bytes | None:
    try:
        info = archive.getinfo(name)
    except KeyError:
        return None
    # Decide from the declared size before inflating anything: a zip bomb never gets read.
    check_declared_size(info.file_size, limit, name)
    try:
        with archive.open(info) as stream:
            return read_bounded(stream, limit, name)
    except _zipfile_errors() as error:
        raise Corrupt(f"{name} could not be read from the archive ({error}); the file may be corrupt") from None


def _read_file(path: Path, limit: int) -> bytes:
    check_declared_size(path.stat().st_size, limit, path.name)
    with open(path, "rb") as stream:
        return read_bounded(stream, limit, path.name)


def _tree(config: bytes, metadata: bytes | None, format: str) -> ModelTree:
    model = parse_json(config, CONFIG)
    details = parse_json(metadata, METADATA) if metadata is not None else {}
    version = details.get("keras_version") if isinstance(details, dict) else None
    compile_config = model.get("compile_config") if isinstance(model, dict) else None
    return build_tree(
        model,
        format=format,
        keras_version=version if isinstance(version, str) else None,
        optimizer=optimizer_from(compile_config.get("optimizer")) if isinstance(compile_config, dict) else None,
    )
