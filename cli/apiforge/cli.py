"""The command layer: parse arguments, call one library function, print its report.

This is the only module that prints and exits. Errors meet one boundary,
`ApiforgeGroup.invoke`, which maps them to exit codes (DESIGN §3).

Start-up speed is a contract: this module imports only typer and the
standard library at load time. The pipeline (pydantic, ruamel, copier, jinja2) is
imported inside the command that needs it, so `apiforge --help` stays instant.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

try:  # typer ≥ 0.2x vendors click; its usage errors derive from TyperException
    from typer import TyperException as ClickReportedError
except ImportError:  # pragma: no cover - older typer re-exports click's exceptions
    from click import ClickException as ClickReportedError  # type: ignore[assignment]

from . import __version__
from .errors import ApiforgeError

EXIT_INTERNAL = 70  # EX_SOFTWARE from sysexits.h
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it


class Database(StrEnum):
    sqlite = "sqlite"
    postgresql = "postgresql"
    mysql = "mysql"


class ApiforgeGroup(TyperGroup):
    """The single error boundary: every command runs inside `invoke`."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, ClickReportedError):
            raise  # usage errors (exit 2) and deliberate exits are click's to report
        except ApiforgeError as error:
            from .report import make_console, print_error

            print_error(make_console(stderr=True), error)
            raise typer.Exit(error.exit_code) from None
        except (KeyboardInterrupt, typer.Abort):
            typer.echo("interrupted", err=True)
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except Exception as error:
            _report_internal_error(error)
            raise typer.Exit(EXIT_INTERNAL) from None


def _report_internal_error(error: Exception) -> None:
    from .report import make_console, print_internal_error

    if os.environ.get("APIFORGE_DEBUG") == "1":
        traceback.print_exc(file=sys.stderr)
    print_internal_error(make_console(stderr=True), error, version=__version__)


app = typer.Typer(
    name="apiforge",
    cls=ApiforgeGroup,
    help="Generate FastAPI CRUD services from a YAML spec and keep them in step with it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"apiforge {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="Show the version and exit.", callback=_print_version, is_eager=True
        ),
    ] = False,
) -> None:
    """Generate FastAPI CRUD services from a YAML spec and keep them in step with it."""


@app.command("new-service")
def new_service_command(
    name: Annotated[str, typer.Argument(help="Service name: the folder and distribution name.")],
    spec: Annotated[
        Path | None,
        typer.Option(
            "--spec",
            metavar="FILE",
            dir_okay=False,
            help="Start from this spec instead of the built-in starter.",
        ),
    ] = None,
    database: Annotated[
        Database | None, typer.Option("--database", help="Database the service uses.")
    ] = None,
    directory: Annotated[
        Path,
        typer.Option(
            "--dir", metavar="DIR", file_okay=False, help="Create the service in DIR/NAME."
        ),
    ] = Path("."),
    no_input: Annotated[
        bool, typer.Option("--no-input", help="Never prompt; use defaults for what is not given.")
    ] = False,
) -> None:
    """Create DIR/NAME/ with apiforge.yaml, the generated service and its first migration."""
    from . import project
    from .report import make_console, print_new_service

    chosen = database.value if database else None
    if chosen is None and spec is None and not no_input and _interactive():
        chosen = _ask_database()
    result = project.new_service(name, spec_path=spec, database=chosen, directory=directory)
    print_new_service(make_console(), result)


def _interactive() -> bool:
    return sys.stdin.isatty()


def _ask_database() -> str:
    choices = [item.value for item in Database]
    while True:
        answer = str(typer.prompt(f"Database ({', '.join(choices)})", default="sqlite"))
        if answer in choices:
            return answer
        typer.echo(f"choose one of: {', '.join(choices)}", err=True)


@app.command()
def validate(
    spec: Annotated[Path, typer.Argument(help="The spec file to validate.")] = Path(
        "apiforge.yaml"
    ),
) -> None:
    """Validate a spec and report every problem as file:line:col."""
    from . import project
    from .report import make_console, print_valid

    print_valid(make_console(), spec, project.validate(spec))


@app.command()
def schema() -> None:
    """Print the spec's JSON Schema (for editor completion and validation)."""
    from .loader import spec_json_schema

    # Plain JSON on stdout, no rich markup, so it can be piped into a file.
    typer.echo(json.dumps(spec_json_schema(), indent=2, ensure_ascii=False))


@app.command()
def check(
    project_dir: Annotated[
        Path, typer.Option("--project", metavar="DIR", file_okay=False, help="The project folder.")
    ] = Path("."),
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """For CI: exit 0 when the project is exactly what regenerate would produce, else 1."""
    from . import project
    from .report import make_console, print_check

    result = project.check(project_dir)
    if as_json:
        typer.echo(result.to_json(), nl=False)
    else:
        print_check(make_console(), result)
    if not result.clean:
        raise typer.Exit(1)
