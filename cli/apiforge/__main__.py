"""Entry point of the `apiforge` console script and of `python -m apiforge`."""

from __future__ import annotations

import os
import sys

from .cli import app

EXIT_BROKEN_PIPE = 1


def main() -> None:
    try:
        app(prog_name="apiforge")
    except BrokenPipeError:
        # The reader went away (`apiforge --help | head`): nothing is left to say to it.
        # Point stdout at /dev/null so the interpreter's final flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(EXIT_BROKEN_PIPE)


if __name__ == "__main__":
    main()
