"""What people write by hand for the same answer: load the model with Keras and sum layer.losses.

    python bench/weights_load_model.py MODEL.keras
"""
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main(path):
    import keras

    model = keras.saving.load_model(path, compile=False)
    total = sum(float(loss) for loss in model.losses)
    print(f"{len(model.losses)} regularization terms, total {total:.6g}  {path}")


if __name__ == "__main__":
    main(sys.argv[1])
