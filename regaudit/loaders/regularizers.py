"""Normalize every Keras serialization of a regularizer into one :class:`Regularizer`.

The classification mirrors how Keras itself resolves the entry when loading (Keras 3
``serialization_lib.deserialize_keras_object`` with ``module_objects=regularizers.ALL_OBJECTS_DICT``),
so that "unregistered" means exactly "load_model fails without custom_objects".
See shared/reference/keras-formats.md sections 2.2, 2.3 and 3.2.
"""

from __future__ import annotations

import math

from regaudit.loaders.limits import MAX_NESTING
from regaudit.tree import Origin, Regularizer

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Iterable, Mapping

SUFFIX = "_regularizer"

# Keras 1 argument names and the modern slot each maps to (Keras 2.0 legacy interfaces).
LEGACY_ARGUMENTS = {
    "W_regularizer": "kernel",
    "b_regularizer": "bias",
    "U_regularizer": "recurrent",
    # Keras 0.x spelling, still found in hand-written configs; Keras 2 renamed it kernel_regularizer.
    "weight_regularizer": "kernel",
}

# Built-in classes with each one's factor defaults (identical in Keras 3, tf.keras and Keras 2).
BUILTIN_DEFAULTS: dict[str, dict[str, float]] = {
    "L1": {"l1": 0.01},
    "L2": {"l2": 0.01},
    "L1L2": {"l1": 0.0, "l2": 0.0},
    "OrthogonalRegularizer": {"factor": 0.01},
    "Regularizer": {},
}
# tfjs-layers fills a missing L1L2 factor with 0.01, not 0 (keras_facts.TFJS_L1L2_DEFAULT; its
# `l1()`/`l2()` helpers build L1L2 too), and knows no other class (RA405).
TFJS_DEFAULTS: dict[str, dict[str, float]] = {**BUILTIN_DEFAULTS, "L1L2": {"l1": 0.01, "l2": 0.01}}
# Keras 3 also resolves the snake_case names of its built-ins (regularizers.ALL_OBJECTS_DICT).
BUILTIN_ALIASES = {
    "l1": "L1",
    "l2": "L2",
    "l1l2": "L1L2",
    "orthogonal_regularizer": "OrthogonalRegularizer",
    "regularizer": "Regularizer",
}
# tf.keras resolved the string "l1_l2" specially to L1L2(0.01, 0.01); Keras 3 rejects it.
STRING_ONLY_IDENTIFIERS = {"l1_l2": ("L1L2", {"l1": 0.01, "l2": 0.01})}

KERAS_MODULE_ROOTS = ("keras", "tf_keras", "tensorflow")


def slot_for(argument: str, layer_class: str) -> str:
    """The weight (or activity) a `*_regularizer` argument applies to."""
    if argument == "W_regularizer" and layer_class == "Embedding":
        return "embeddings"
    return LEGACY_ARGUMENTS.get(argument, argument[: -len(SUFFIX)])


def layer_regularizers(
    layer_class: str,
    config: Mapping[str, Any],
    *,
    defaults: Mapping[str, Mapping[str, float]] = BUILTIN_DEFAULTS,
    arguments: Iterable[str] | None = None,
) -> tuple[Regularizer, ...]:
    """Every regularizer set in one layer config, in config order.

    `defaults` are the factors the runtime that reads the config gives a built-in class when its
    config leaves one out: BUILTIN_DEFAULTS for Keras, TFJS_DEFAULTS for a TF.js model.json.
    `arguments` are the config's `*_regularizer` keys in config order, when the caller has them
    already (else every key is looked at).
    """
    found = []
    for argument in config if arguments is None else arguments:
        if argument.endswith(SUFFIX):
            value = config[argument]
            if value is not None:
                found.append(normalize(value, slot=slot_for(argument, layer_class), argument=argument, defaults=defaults))
    if layer_class == "ActivityRegularization":
        found.append(_activity_regularization_layer(config))
    return tuple(found)


def normalize(
    value: Any, *, slot: str, argument: str | None, defaults: Mapping[str, Mapping[str, float]] = BUILTIN_DEFAULTS
) -> Regularizer:
    if isinstance(value, str):
        return _from_string(value, slot, argument, defaults)
    if isinstance(value, dict):
        if "class_name" in value:
            return _from_object(value, slot, argument, defaults)
        if "name" in value:
            return _from_keras1(value, slot, argument)
    return _unknown(slot, argument, f"expected an object with class_name, got {describe_value(value)}")


def _activity_regularization_layer(config: Mapping[str, Any]) -> Regularizer:
    # The layer builds activity_regularizer=L1L2(l1, l2) itself and saves the plain floats.
    factors = {"l1": config.get("l1", 0.0), "l2": config.get("l2", 0.0)}
    return _builtin("L1L2", factors, slot="activity", argument=None)


def _from_string(value: str, slot: str, argument: str | None, defaults: Mapping[str, Mapping[str, float]]) -> Regularizer:
    # The identifier is kept: which strings a Keras line resolves is a fact of its own (RA307).
    return _resolve_string(value, slot, argument, defaults)._replace(identifier=value)


def _resolve_string(value: str, slot: str, argument: str | None, defaults: Mapping[str, Mapping[str, float]]) -> Regularizer:
    # Keras 2 saved functions as their __name__ and lambdas as "<lambda>"; Keras 3 never saves strings.
    if value == "<lambda>":
        return Regularizer(slot, argument, "<lambda>", Origin.LAMBDA)
    if value in STRING_ONLY_IDENTIFIERS:
        class_name, factors = STRING_ONLY_IDENTIFIERS[value]
        return _builtin(class_name, factors, slot, argument)
    builtin = BUILTIN_ALIASES.get(value, value)
    if builtin in BUILTIN_DEFAULTS:
        return _builtin(builtin, {}, slot, argument, defaults=defaults)
    return _function(value, slot, argument, module=None)


def _from_object(value: dict, slot: str, argument: str | None, defaults: Mapping[str, Mapping[str, float]]) -> Regularizer:
    class_name = value.get("class_name")
    config = value.get("config")
    # Keras 3 and tf.keras >= 2.13 write a `module` key; older forms have none. Null means __main__.
    has_module = "module" in value
    module = value.get("module")
    registered = value.get("registered_name")
    if not isinstance(class_name, str):
        return _unknown(slot, argument, f"class_name is {describe_value(class_name)}, not a string")
    if module is not None and not isinstance(module, str):  # Keras fails on it (module.startswith)
        return _unknown(slot, argument, f"module is {describe_value(module)}, not a string")
    if class_name == "__lambda__":
        return Regularizer(slot, argument, "<lambda>", Origin.LAMBDA)
    if class_name == "function":
        # Keras 3 takes the function's name from `config` for module "builtins", else registered_name.
        name = config if module == "builtins" else registered
        if not isinstance(name, str):
            return _unknown(slot, argument, "function entry without a function name")
        return _function(name, slot, argument, module=module)
    if isinstance(registered, str) and ">" in registered:
        return _registered(class_name, registered, config, slot, argument, module)
    if ">" in class_name:  # tf.keras <= 2.12 wrote the registered name as class_name
        return _registered(class_name, class_name, config, slot, argument, module)
    if has_module and module is None:
        return _custom(class_name, config, slot, argument, module, Origin.UNREGISTERED, registered)
    builtin = BUILTIN_ALIASES.get(class_name, class_name)
    if builtin in BUILTIN_DEFAULTS:
        return _builtin_from_config(builtin, config, slot, argument, module, defaults)
    if has_module and _is_keras_module(module):
        return _unknown(slot, argument, f"Keras has no built-in regularizer named {class_name!r}")
    return _custom(class_name, config, slot, argument, module, Origin.UNREGISTERED, registered)


def _from_keras1(value: dict, slot: str, argument: str | None) -> Regularizer:
    factors, options = _split_config({k: v for k, v in value.items() if k != "name"})
    name = value["name"] if isinstance(value["name"], str) else describe_value(value["name"])
    return Regularizer(slot, argument, name, Origin.LEGACY, factors, options)


def _builtin_from_config(
    class_name: str,
    config: Any,
    slot: str,
    argument: str | None,
    module: str | None,
    defaults: Mapping[str, Mapping[str, float]],
) -> Regularizer:
    if config is None:
        config = {}
    if not isinstance(config, dict):
        return _unknown(slot, argument, f"{class_name} config is {describe_value(config)}, not an object")
    factors, options = _split_config(config)
    expected = BUILTIN_DEFAULTS[class_name]
    bad = [key for key in expected if key in config and key not in factors]
    if bad:
        return _unknown(slot, argument, f"{class_name} factor {bad[0]!r} is {describe_value(config[bad[0]])}, not a number")
    return _builtin(class_name, factors, slot, argument, options=options, module=module, defaults=defaults)


def _builtin(
    class_name: str,
    factors: Mapping[str, float],
    slot: str,
    argument: str | None,
    *,
    options: Mapping[str, Any] | None = None,
    module: str | None = None,
    defaults: Mapping[str, Mapping[str, float]] = BUILTIN_DEFAULTS,
) -> Regularizer:
    # Missing factors take the constructor defaults, as the runtime does when it rebuilds the object.
    complete = {**defaults[class_name], **factors}
    return Regularizer(slot, argument, class_name, Origin.BUILTIN, complete, options or {}, module=module)


def _registered(
    class_name: str, registered: str, config: Any, slot: str, argument: str | None, module: str | None
) -> Regularizer:
    return _custom(_registered_part(class_name), config, slot, argument, module, Origin.REGISTERED, registered)


def _custom(
    class_name: str,
    config: Any,
    slot: str,
    argument: str | None,
    module: str | None,
    origin: Origin,
    registered: Any,
) -> Regularizer:
    factors, options = _split_config(config) if isinstance(config, dict) else ({}, {})
    return Regularizer(
        slot,
        argument,
        class_name,
        origin,
        factors,
        options,
        module=module,
        registered_name=registered if isinstance(registered, str) else None,
    )


def _function(name: str, slot: str, argument: str | None, *, module: str | None) -> Regularizer:
    if ">" in name:
        return Regularizer(slot, argument, _registered_part(name), Origin.REGISTERED, module=module, registered_name=name)
    return Regularizer(slot, argument, name, Origin.FUNCTION, module=module)


def _registered_part(name: str) -> str:
    """`Name` of a registered `package>Name` (register_keras_serializable joins them with one `>`)."""
    return name.partition(">")[2] or name


def _unknown(slot: str, argument: str | None, problem: str) -> Regularizer:
    return Regularizer(slot, argument, None, Origin.UNKNOWN, problem=problem)


def _split_config(config: Mapping[str, Any]) -> tuple[dict[str, float], dict[str, Any]]:
    """Numbers are factors; everything else (mode="rows", nested objects) is an option."""
    factors: dict[str, float] = {}
    options: dict[str, Any] = {}
    for key, value in config.items():
        if key in ("shared_object_id", "__passive_serialization__"):
            continue
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            factors[key] = _as_float(value)
        elif _nested_deeper_than(value, MAX_NESTING):
            # Kept whole, a value the JSON parser allowed could still overflow the recursion of
            # a report or diff that writes it, and lose every other file's result with it.
            options[key] = f"<a value nested more than {MAX_NESTING} levels deep>"
        else:
            options[key] = value
    return factors, options


def _nested_deeper_than(value: Any, limit: int) -> bool:
    pending = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, (dict, list)):
            if depth >= limit:
                return True
            pending.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return False


def _as_float(value: int | float) -> float:
    try:
        return float(value)
    except OverflowError:  # a JSON integer too large for a float
        return math.inf


def _is_keras_module(module: Any) -> bool:
    return isinstance(module, str) and module.split(".")[0] in KERAS_MODULE_ROOTS


def describe_value(value: Any) -> str:
    """A JSON value's kind for a message: `null`, `a number`, `the string 'l2'`, `a list`."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return f"the string {value[:40]!r}"
    if isinstance(value, list):
        return "a list"
    return "an object"
