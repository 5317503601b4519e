"""The hand-written alternative: load the model with keras and walk its layers.

    python bench/load_model_walk.py MODEL.keras|DIRECTORY ...

What one writes without regaudit: keras.saving.load_model (which imports the
backend, rebuilds every layer and reads all the weights), then a walk over the
layer objects counting regularizer attributes that are set. Prints the count and
the path of each model (a directory stands for its .keras files, sorted), which
should match bench/floor.py on the same files. keras is imported once.
"""
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # keep TF's start-up logs off stderr

import keras  # noqa: E402  (after the env var on purpose)

from floor import models  # noqa: E402  (the same files, in the same order, as the floor)


def children(layer):
    """Sub-layers a layer object holds: nested models, wrappers, RNN cells."""
    if hasattr(layer, "forward_layer"):  # Bidirectional: .layer is an unused template
        return [layer.forward_layer, layer.backward_layer]
    out = list(getattr(layer, "layers", None) or [])  # Sequential / Functional / subclass
    for attr in ("layer", "cell"):  # Wrapper (TimeDistributed, ...), RNN
        if getattr(layer, attr, None) is not None:
            out.append(getattr(layer, attr))
    out.extend(getattr(layer, "cells", None) or [])  # StackedRNNCells
    return out


def count(model):
    n, seen, stack = 0, set(), [model]
    while stack:
        layer = stack.pop()
        if id(layer) in seen:  # shared layers are counted once
            continue
        seen.add(id(layer))
        # Keras 3 keeps kernel_/bias_/activity_/gamma_/recurrent_... regularizers
        # as plain instance attributes, so vars() finds all of them.
        n += sum(
            1 for k, v in vars(layer).items() if k.endswith("_regularizer") and v is not None
        )
        stack.extend(children(layer))
    return n


for path in models(sys.argv[1:]):
    print(count(keras.saving.load_model(path, compile=False)), path)
    keras.backend.clear_session()  # as a script over many files must, or memory grows per model
