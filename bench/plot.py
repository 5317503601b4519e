"""Plot the growth curve from bench/.cache/results.json into bench/growth.png (needs matplotlib,
which run.sh installs into the bench environment only)."""
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

BENCH = Path(__file__).resolve().parent
growth = json.loads((BENCH / ".cache" / "results.json").read_text())["growth"]
rows, counts = growth["rows"], growth["counts"]
figure, axes = plt.subplots(figsize=(6.4, 4.2))
for tool, label, marker in (("regaudit", "regaudit check", "o"), ("floor", "floor (bench/floor.py)", "s")):
    axes.plot(counts, [rows[f"{tool} {count}"]["cpu"] * 1e3 for count in counts], marker=marker,
              label=f"{label}: CPU time, median")
top = counts[-1]
axes.plot(counts, [rows[f"regaudit {top}"]["cpu"] * 1e3 * count / top for count in counts], ":",
          color="grey", label=f"proportional to layers (through regaudit at {top:,})")
axes.set_xscale("log")
axes.set_yscale("log")
axes.set_xlabel("layers in the model")
axes.set_ylabel("ms per run (whole process)")
axes.set_title("Cost against model size (bench/.cache/layers/N.keras)")
axes.grid(True, which="both", alpha=0.3)
axes.legend()
figure.tight_layout()
figure.savefig(BENCH / "growth.png", dpi=100)
print(f"wrote {BENCH / 'growth.png'}")
