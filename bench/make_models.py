"""Generate the benchmark models into bench/.cache/ (needs keras; not regaudit).

    python bench/make_models.py [--force]

Writes:
  resnet50.keras            ResNet50(weights=None) with an L2(1e-4) kernel_regularizer
                            on every Conv2D/Dense, saved by keras (~100 MB of weights).
  resnet50_noweights.keras  the SAME config.json + metadata.json, re-zipped with an
                            empty (but valid) HDF5 as model.weights.h5: same config,
                            ~no weights, so any time difference comes from the weights.
  small.keras               a few Dense layers, for contrast (tiny config, tiny weights).

Existing files are kept unless --force is given.
"""
import argparse
import io
import os
import sys
import zipfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # silence TF's C++ start-up chatter

CACHE = os.path.join(os.path.dirname(os.path.abspath(__file__)), ".cache")
REGULARIZED = {"Conv2D", "Dense"}


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


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--force", action="store_true", help="regenerate even if present")
    args = ap.parse_args()
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


if __name__ == "__main__":
    sys.exit(main())
