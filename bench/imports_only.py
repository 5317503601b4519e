"""Context for the benchmark: what an argparse-based command that reads zip + JSON pays before it
does any work (interpreter start-up plus these imports and one parser, whose first translation
look-up imports `locale`). regaudit's command line used click until issue 11: `import click` alone
was more than the one-file budget (bench/NOTES.md). Not a competitor, a yardstick."""
import argparse
import json  # noqa: F401
import zipfile  # noqa: F401

argparse.ArgumentParser()
