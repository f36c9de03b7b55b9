"""Entry point of the `apiforge` console script and of `python -m apiforge`."""

from __future__ import annotations

import os
import sys
import warnings

from .cli import app

EXIT_BROKEN_PIPE = 1


# Python's `re` warns about spec patterns that a future Python may read differently
# (`[[a]`); the spec checks run such patterns through the engines that will use them.
warnings.filterwarnings("ignore", message="Possible (nested set|set )", category=FutureWarning)


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
