"""Context for the benchmark: what a click-based command that reads zip + JSON pays before it
does any work (interpreter start-up plus these imports). Not a competitor, a yardstick."""
import json  # noqa: F401
import zipfile  # noqa: F401

import click  # noqa: F401
