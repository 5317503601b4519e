"""Legacy HDF5 model files (Keras 1, Keras 2, tf.keras, tf_keras and Keras 3's legacy saver).

Only root attributes are read (`model_config`, `keras_version`, `training_config`); weights are
never touched. h5py is imported here, lazily, so that .keras and JSON audits never pay for it.
"""

from __future__ import annotations

from pathlib import Path

from regaudit.loaders.keras_config import build_tree, optimizer_from
from regaudit.loaders.limits import (
    CONFIG_MB_VARIABLE,
    MAX_CONFIG_BYTES,
    MiB,
    address_space_ceiling,
    parse_json,
    raise_hint,
)
from regaudit.loaders.problems import Corrupt, NoArchitecture, NotAModel, OverLimits
from regaudit.tree import ModelTree

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_KERAS3_WEIGHT_GROUPS = frozenset({"layers", "vars", "optimizer"})
# What h5py raises on damaged files and unreadable objects.
_H5_ERRORS = (OSError, RuntimeError, ValueError, KeyError)


def load_hdf5(path: Path) -> ModelTree:
    import h5py

    try:
        file = h5py.File(path, "r", locking=False)
    except _H5_ERRORS as error:
        raise Corrupt(f"not a readable HDF5 file ({_first_line(error)}); it may be truncated or corrupt") from None
    with file:
        try:
            return _read_model(file, h5py)
        except _H5_ERRORS as error:
            raise Corrupt(f"HDF5 metadata could not be read ({_first_line(error)}); the file may be corrupt") from None


def _read_model(file: Any, h5py: Any) -> ModelTree:
    _refuse_external_links(file, h5py)
    attributes = set(file.attrs.keys())
    if "model_config" not in attributes:
        raise _no_model_config(file, attributes)
    model = parse_json(_text_attribute(file, "model_config", h5py), "model_config")
    training = _optional_json(file, "training_config", attributes, h5py)
    version = _text_attribute(file, "keras_version", h5py) if "keras_version" in attributes else None
    return build_tree(
        model,
        format="hdf5",
        keras_version=version,
        optimizer=optimizer_from(training.get("optimizer_config")) if isinstance(training, dict) else None,
    )


def _no_model_config(file: Any, attributes: set[str]) -> Exception:
    if "layer_names" in attributes:
        return NoArchitecture(
            "weights-only HDF5 (written by save_weights): it holds no architecture; audit the full "
            "model file (model.save) or the to_json() config saved beside it"
        )
    # Keras 3 `.weights.h5` and its shards: only layers/, vars/ and optimizer/ groups, no attributes.
    groups = set(file.keys())
    if not attributes and groups and groups <= _KERAS3_WEIGHT_GROUPS:
        return NoArchitecture(
            "Keras 3 weights-only file (.weights.h5, or a shard of one): it holds no architecture; "
            "audit the .keras model or its config.json instead"
        )
    return NotAModel("HDF5 file without Keras model attributes (no model_config): not a Keras model")


def _refuse_external_links(file: Any, h5py: Any) -> None:
    # An external link makes HDF5 open another file on access; Keras refuses such files too.
    def visit(name: bytes, info: Any) -> bytes | None:
        return name if info.type == h5py.h5l.TYPE_EXTERNAL else None

    linked = file.id.links.visit(visit, info=True)
    if linked is not None:
        raise OverLimits(
            f"HDF5 file contains an external link ({linked.decode(errors='replace')}) to another "
            "file; refusing files that reach outside themselves"
        )


# What h5py's type classes hold, for a message about an attribute that is not text.
_TYPE_CLASS_NAMES = {
    0: "an integer", 1: "a float", 2: "a time", 4: "a bitfield", 5: "opaque bytes", 6: "a compound",
    7: "a reference", 8: "an enum", 9: "a variable-length sequence", 10: "an array",
}
# A config of up to MAX_CONFIG_BYTES is held by HDF5, by h5py and as a Python str at once.
_READ_HEADROOM = 4 * MAX_CONFIG_BYTES


def _text_attribute(file: Any, name: str, h5py: Any) -> str:
    """One text attribute, checked from its declared type and shape before any byte is read.

    Keras writes model_config, training_config and keras_version as one string (tf_keras
    hdf5_format.save_model_to_hdf5); anything else is a file no Keras can load, and an array of
    strings could make HDF5 read one large heap object once per element.
    """
    attribute = file.attrs.get_id(name)
    space = attribute.get_space()
    if space.get_simple_extent_type() == h5py.h5s.NULL:
        raise Corrupt(f"attribute {name} is empty (an HDF5 null attribute), not text; Keras cannot load this file")
    kind = attribute.get_type()
    if kind.get_class() != h5py.h5t.STRING:
        stored = _TYPE_CLASS_NAMES.get(kind.get_class(), "a non-text type")
        raise Corrupt(f"attribute {name} is stored as {stored}, not text; Keras cannot load this file")
    count = space.get_simple_extent_npoints()
    if count != 1:
        raise Corrupt(f"attribute {name} holds {count:,} strings, not one text; Keras cannot load this file")
    if not kind.is_variable_str() and attribute.get_storage_size() > MAX_CONFIG_BYTES:
        raise OverLimits(
            f"attribute {name} is larger than {MAX_CONFIG_BYTES // MiB} MB; refusing to read it; "
            f"{raise_hint(CONFIG_MB_VARIABLE)}"
        )
    value = _read_attribute(file, name)
    # h5py 3 returns str; files read through h5py 2 conventions give bytes, numpy.bytes_ or 1-element arrays.
    if hasattr(value, "shape") and getattr(value, "size", 0) == 1 and value.shape != ():
        value = value.reshape(()).item()
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if not isinstance(value, str):
        raise Corrupt(f"attribute {name} is not text")
    if len(value) > MAX_CONFIG_BYTES:
        raise OverLimits(
            f"attribute {name} is larger than {MAX_CONFIG_BYTES // MiB} MB; refusing it; {raise_hint(CONFIG_MB_VARIABLE)}"
        )
    return value


def _read_attribute(file: Any, name: str) -> Any:
    # A variable-length string's length is written in the file and HDF5 allocates it before
    # checking it against the data: a lying length asks for up to 4 GB.
    try:
        with address_space_ceiling(_READ_HEADROOM):
            return file.attrs[name]
    except (MemoryError, *_H5_ERRORS) as error:
        if isinstance(error, MemoryError) or "allocat" in str(error):
            raise OverLimits(
                f"attribute {name} declares more than the {_READ_HEADROOM // MiB} MB regaudit reads for a "
                "config (a variable-length string whose length field does not match its data); refusing it"
            ) from None
        raise


def _optional_json(file: Any, name: str, attributes: set[str], h5py: Any) -> Any:
    if name not in attributes:
        return None
    return parse_json(_text_attribute(file, name, h5py), name)


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
