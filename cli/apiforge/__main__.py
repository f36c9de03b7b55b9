"""Entry point of the `apiforge` console script and of `python -m apiforge`."""

from __future__ import annotations

from .cli import app


def main() -> None:
    app(prog_name="apiforge")


if __name__ == "__main__":
    main()
