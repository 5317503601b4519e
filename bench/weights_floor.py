"""The --weights floor: open the weights of a .keras file with h5py, read every dataset and
compute its sum of absolute values and sum of squares with numpy. Nothing else.

    python bench/weights_floor.py MODEL.keras

The weights member is read into memory in one sequential read (the quickest way to give h5py a
zip member), so the difference from regaudit is regaudit's own work: reading the config,
mapping every variable to its layer and slot, the other statistics (max |x|, zeros, near-zeros,
NaN/Inf), the penalties and the report.
"""
import io
import sys
import zipfile

import h5py
import numpy


def main(path):
    with zipfile.ZipFile(path) as archive:
        member = io.BytesIO(archive.read("model.weights.h5"))
        totals = [0.0, 0.0, 0]

        def visit(name, item):
            if isinstance(item, h5py.Dataset):
                values = item[()]
                totals[0] += float(numpy.abs(values).sum(dtype=numpy.float64))
                totals[1] += float(numpy.square(values, dtype=numpy.float64).sum())
                totals[2] += 1

        with h5py.File(member, "r") as file:
            file.visititems(visit)
    print(f"{totals[2]} datasets, sum|x| = {totals[0]:.6g}, sum x^2 = {totals[1]:.6g}  {path}")


if __name__ == "__main__":
    main(sys.argv[1])
