"""Generate the benchmark models into bench/.cache/ (needs keras; not regaudit).

    python bench/make_models.py [--force]

Writes:
  resnet50.keras            ResNet50(weights=None) with an L2(1e-4) kernel_regularizer
                            on every Conv2D/Dense, saved by keras (~100 MB of weights).
  resnet50_noweights.keras  the SAME config.json + metadata.json, re-zipped with an
                            empty (but valid) HDF5 as model.weights.h5: same config,
                            ~no weights, so any time difference comes from the weights.
  small.keras               a few Dense layers, for contrast (tiny config, tiny weights).
  zoo/                      ZOO_DISTINCT small real models (MLPs, CNNs, RNNs, functional
                            blocks, nested models; some regularized), saved by keras.
  zoo1000/, zoo5000/        1,000 and 5,000 files: copies of the zoo/ files, in turn, so
                            that the zoos are real Keras files without 5,000 saves.
  layers/N.keras            for the growth curve, N = 10 ... 50,000 layers: a balanced tree of
                            Add layers over ReLU and (every 10th) L2-regularized Dense leaves.

Existing files are kept unless --force is given.
"""
import argparse
import io
import os
import random
import shutil
import sys
import zipfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # silence TF's C++ start-up chatter

CACHE = os.path.join(os.path.dirname(os.path.abspath(__file__)), ".cache")
REGULARIZED = {"Conv2D", "Dense"}
ZOO_DISTINCT = 60
ZOO_SIZES = (1000, 5000)
LAYER_COUNTS = (10, 100, 1000, 5000, 10000, 20000, 50000)


def make_resnet50(path):
    import keras

    base = keras.applications.ResNet50(weights=None)
    # Rebuild from a config with the regularizer set, rather than mutating layer
    # attributes: that way it is really in config.json, as a user's model would have it.
    config = base.get_config()
    reg = keras.regularizers.serialize(keras.regularizers.L2(1e-4))
    n = 0
    for layer in config["layers"]:
        if layer["class_name"] in REGULARIZED:
            layer["config"]["kernel_regularizer"] = reg
            n += 1
    model = keras.Model.from_config(config)
    model.save(path)
    print(f"{path}: {n} regularized layers, {model.count_params():,} params")


def make_noweights(src, dst):
    import h5py

    # A valid HDF5 file with nothing in it, so a tool that opens the weights member
    # still finds a well-formed (if empty) file rather than garbage.
    buf = io.BytesIO()
    with h5py.File(buf, "w"):
        pass
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            if info.filename == "model.weights.h5":
                zout.writestr(info, buf.getvalue(), compress_type=info.compress_type)
            else:
                # Copy every other member byte-for-byte (same name, same compression).
                zout.writestr(info, zin.read(info), compress_type=info.compress_type)
    print(f"{dst}: weights member replaced by {len(buf.getvalue())} bytes of empty HDF5")


def make_small(path):
    import keras

    reg = keras.regularizers.L2(1e-4)
    model = keras.Sequential(
        [
            keras.Input((32,)),
            keras.layers.Dense(64, activation="relu", kernel_regularizer=reg),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(10, kernel_regularizer=reg),
        ]
    )
    model.save(path)
    print(f"{path}: {len(model.layers)} layers")


def _regularizer(keras, rng):
    choice = rng.randrange(5)
    if choice == 0:
        return None
    if choice == 1:
        return keras.regularizers.L1(rng.choice((1e-5, 1e-4)))
    if choice == 2:
        return keras.regularizers.L1L2(l1=1e-5, l2=rng.choice((1e-4, 1e-3)))
    return keras.regularizers.L2(rng.choice((1e-5, 1e-4, 1e-3, 5e-2)))


def make_zoo_model(keras, index):
    """One small model; the architecture and the regularizers follow from `index`."""
    rng = random.Random(index)
    kind = index % 5
    reg = lambda: _regularizer(keras, rng)  # noqa: E731
    if kind == 0:  # MLP
        layers = [keras.Input((rng.randrange(4, 64),))]
        for _ in range(rng.randrange(2, 6)):
            layers.append(keras.layers.Dense(rng.choice((16, 32, 64)), activation="relu", kernel_regularizer=reg(),
                                             bias_regularizer=reg() if rng.random() < 0.2 else None))
            if rng.random() < 0.5:
                layers.append(keras.layers.Dropout(0.2))
        layers.append(keras.layers.Dense(rng.choice((1, 10)), activation="softmax"))
        return keras.Sequential(layers)
    if kind == 1:  # small CNN
        layers = [keras.Input((16, 16, 3))]
        for _ in range(rng.randrange(1, 4)):
            layers += [keras.layers.Conv2D(rng.choice((4, 8)), 3, padding="same", kernel_regularizer=reg()),
                       keras.layers.BatchNormalization(), keras.layers.Activation("relu")]
        layers += [keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(10, kernel_regularizer=reg())]
        return keras.Sequential(layers)
    if kind == 2:  # RNN text classifier
        cell = rng.choice((keras.layers.LSTM, keras.layers.GRU))
        return keras.Sequential([
            keras.Input((20,), dtype="int32"),
            keras.layers.Embedding(500, 8, embeddings_regularizer=reg()),
            cell(8, kernel_regularizer=reg(), recurrent_regularizer=reg()),
            keras.layers.Dense(2, activation="softmax"),
        ])
    if kind == 3:  # functional residual blocks
        inputs = keras.Input((32,))
        x = keras.layers.Dense(32, activation="relu", kernel_regularizer=reg())(inputs)
        for _ in range(rng.randrange(1, 4)):
            y = keras.layers.Dense(32, activation="relu", kernel_regularizer=reg())(x)
            y = keras.layers.LayerNormalization()(y)
            x = keras.layers.Add()([x, y])
        return keras.Model(inputs, keras.layers.Dense(1, activity_regularizer=reg())(x))
    # nested: a Sequential block inside a functional model
    block = keras.Sequential([keras.Input((16,)), keras.layers.Dense(16, kernel_regularizer=reg()),
                              keras.layers.Dense(16, activation="relu")], name="block")
    inputs = keras.Input((16,))
    return keras.Model(inputs, keras.layers.Dense(4)(block(inputs)))


def make_zoo(force):
    distinct = os.path.join(CACHE, "zoo")
    os.makedirs(distinct, exist_ok=True)
    sources = [os.path.join(distinct, f"m{index:03d}.keras") for index in range(ZOO_DISTINCT)]
    if force or not all(os.path.exists(path) for path in sources):
        import keras

        for index, path in enumerate(sources):
            keras.backend.clear_session()  # keep layer names (dense_1, ...) from growing across models
            make_zoo_model(keras, index).save(path)
        print(f"{distinct}: {ZOO_DISTINCT} small models")
    for size in ZOO_SIZES:
        folder = os.path.join(CACHE, f"zoo{size}")
        if not force and os.path.isdir(folder) and len(os.listdir(folder)) == size:
            continue
        shutil.rmtree(folder, ignore_errors=True)
        os.makedirs(folder)
        for index in range(size):
            shutil.copyfile(sources[index % ZOO_DISTINCT], os.path.join(folder, f"f{index:05d}.keras"))
        print(f"{folder}: {size} files")


def make_layers(path, count):
    """About `count` layers: leaves on one input (every 10th a Dense with an L2 kernel penalty, the
    others ReLU activations) joined pairwise by Add layers, a balanced tree. Not a chain: Keras's
    own graph walk recurses once per layer of depth; not one wide Concatenate: Keras builds that
    in quadratic time."""
    import keras

    keras.backend.clear_session()
    inputs = keras.Input((4,))
    l2 = keras.regularizers.L2(1e-4)
    level = [
        keras.layers.Dense(4, kernel_regularizer=l2)(inputs) if index % 10 == 0
        else keras.layers.Activation("relu")(inputs)
        for index in range(max(1, count // 2))
    ]
    while len(level) > 1:
        joined = [keras.layers.Add()([level[i], level[i + 1]]) for i in range(0, len(level) - 1, 2)]
        level = joined + level[len(joined) * 2:]
    model = keras.Model(inputs, level[0])
    model.save(path)
    print(f"{path}: {len(model.layers)} layers")


def make_growth(force):
    folder = os.path.join(CACHE, "layers")
    os.makedirs(folder, exist_ok=True)
    for count in LAYER_COUNTS:
        path = os.path.join(folder, f"{count}.keras")
        if force or not os.path.exists(path):
            make_layers(path, count)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--force", action="store_true", help="regenerate even if present")
    ap.add_argument("--only", choices=("files", "zoo", "growth"), help="build only this group")
    args = ap.parse_args()
    if args.only == "zoo":
        return make_zoo(args.force)
    if args.only == "growth":
        return make_growth(args.force)
    os.makedirs(CACHE, exist_ok=True)

    resnet = os.path.join(CACHE, "resnet50.keras")
    noweights = os.path.join(CACHE, "resnet50_noweights.keras")
    small = os.path.join(CACHE, "small.keras")

    def needed(p):
        return args.force or not os.path.exists(p)

    rebuilt = False
    if needed(resnet):
        make_resnet50(resnet)
        rebuilt = True
    # Derived from resnet50.keras, so redo it whenever that was rebuilt.
    if rebuilt or needed(noweights):
        make_noweights(resnet, noweights)
    if needed(small):
        make_small(small)
    for p in (resnet, noweights, small):
        print(f"  {os.path.getsize(p):>12,} bytes  {p}")
    if args.only != "files":
        make_zoo(args.force)
        make_growth(args.force)


if __name__ == "__main__":
    sys.exit(main())
