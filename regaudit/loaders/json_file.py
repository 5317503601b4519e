"""JSON documents: `to_json()` / `get_config()` output of Keras 1, 2 and 3, and TF.js `model.json`."""

from __future__ import annotations

from pathlib import Path

from regaudit.loaders.keras_config import build_tree, is_serialized_object, model_from_layer_list, optimizer_from
from regaudit.loaders.limits import MAX_CONFIG_BYTES, check_declared_size, parse_json, read_bounded
from regaudit.loaders.problems import Corrupt, NoArchitecture, NotAModel
from regaudit.tree import ModelTree

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import IO, Any


def load_json(path: Path) -> ModelTree:
    check_declared_size(path.stat().st_size, MAX_CONFIG_BYTES, path.name)
    with open(path, "rb") as stream:
        return load_json_stream(stream, path.name)


def load_json_stream(stream: IO[bytes], what: str) -> ModelTree:
    """A model config JSON from an open stream (a file, or standard input for `-`)."""
    return tree_from_document(parse_json(read_bounded(stream, MAX_CONFIG_BYTES, what), what))


def tree_from_document(document: Any) -> ModelTree:
    if isinstance(document, dict):
        # A stray key never hides an architecture: Keras's model_from_json and TF.js read the model
        # whatever else the document holds, so weight markers only decide when there is none.
        if "modelTopology" in document:
            return _tfjs(document)
        if is_serialized_object(document):
            return _model_config(document)
        if isinstance(document.get("layers"), list):  # model.get_config() output, without class_name
            kind = "Functional" if "input_layers" in document else "Sequential"
            return build_tree({"class_name": kind, "config": document}, format="config-json")
        if "weight_map" in document:
            raise NoArchitecture(
                "Keras sharded weights index (.weights.json): weights only, no architecture; "
                "audit the .keras model or its config.json instead"
            )
        if "weightsManifest" in document:
            raise NoArchitecture("TensorFlow.js weights manifest without modelTopology: no architecture to audit")
    elif isinstance(document, list) and document and all(is_serialized_object(e) for e in document):
        return build_tree(model_from_layer_list(document), format="config-json")
    raise NotAModel(
        f"JSON that is not a Keras model config ({_shape(document)}); expected to_json() output "
        "(class_name and config), a TF.js model.json (modelTopology) or a get_config() layer list"
    )


def _model_config(document: dict) -> ModelTree:
    version = document.get("keras_version")
    compile_config = document.get("compile_config")
    optimizer = optimizer_from(compile_config.get("optimizer")) if isinstance(compile_config, dict) else None
    return build_tree(
        document,
        format="config-json",
        keras_version=version if isinstance(version, str) else None,
        # Keras 1.0 to_json() could carry the optimizer at the top level.
        optimizer=optimizer or optimizer_from(document.get("optimizer")),
    )


def _tfjs(document: dict) -> ModelTree:
    topology = document["modelTopology"]
    if not isinstance(topology, dict):
        raise Corrupt("TF.js model.json whose modelTopology is not an object")
    # tfjs-layers (src/models.ts modelFromJSON / loadLayersModel, 4.22.0) takes model_config when
    # it is not null, and the topology itself otherwise, whatever `format` or other keys say.
    model = topology["model_config"] if topology.get("model_config") is not None else topology
    if not is_serialized_object(model) and (document.get("format") == "graph-model" or "node" in topology):
        raise NoArchitecture(
            "TensorFlow.js graph model: a graph of TF ops with no Keras layer config, so no "
            "regularizers can be read; audit the Keras model it was converted from"
        )
    training = topology.get("training_config") or document.get("trainingConfig")
    version = topology.get("keras_version")
    return build_tree(
        model,
        format="tfjs-layers",
        keras_version=version if isinstance(version, str) else None,
        optimizer=optimizer_from(training.get("optimizer_config")) if isinstance(training, dict) else None,
    )


def _shape(document: Any) -> str:
    if isinstance(document, dict):
        keys = ", ".join(list(document)[:5])
        return f"an object with keys {keys}" if keys else "an empty object"
    if isinstance(document, list):
        first = document[0] if document else None
        if isinstance(first, dict):
            return f"a list of {len(document)} objects with keys {', '.join(list(first)[:5])}"
        return f"a list of {len(document)} items"
    return f"a JSON {type(document).__name__}"
