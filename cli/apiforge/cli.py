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
    from click import ClickException as ClickReportedError  # type: ignore[assignment,no-redef,import-not-found,unused-ignore]

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
        except BrokenPipeError:
            raise  # the reader of our output went away: `__main__` exits quietly
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

    _recover(project_dir)
    result = project.check(project_dir)
    if as_json:
        typer.echo(result.to_json(), nl=False)
    else:
        print_check(make_console(), result)
    if not result.clean:
        raise typer.Exit(1)


ProjectOption = Annotated[
    Path, typer.Option("--project", metavar="DIR", file_okay=False, help="The project folder.")
]
DryRunOption = Annotated[
    bool, typer.Option("--dry-run", help="Show what would change; write nothing.")
]
DestructiveOption = Annotated[
    bool,
    typer.Option(
        "--allow-destructive", help="Allow dropping tables or columns (their data is lost)."
    ),
]


@app.command()
def regenerate(
    project_dir: ProjectOption = Path("."),
    dry_run: DryRunOption = False,
    allow_destructive: DestructiveOption = False,
    accept_migrations: Annotated[
        bool,
        typer.Option(
            "--accept-migrations",
            help="Record migration files you edited or wrote by hand as they are on disk, "
            "so check accepts them (it fails on them until then).",
        ),
    ] = False,
) -> None:
    """Bring the project in line with the spec: merge your edits, add a migration.

    During a git merge, resolve apiforge.yaml only, then run this: it rebuilds the
    generated files and .apiforge/ from both branches, keeping both sides' edits, and
    writes a migration that merges the branches' heads.
    """
    from .regenerate import regenerate as run

    _recover(project_dir)
    _finish(
        run(
            project_dir,
            dry_run=dry_run,
            allow_destructive=allow_destructive,
            accept_migrations=accept_migrations,
        )
    )


@app.command("add-resource")
def add_resource(
    name: Annotated[str, typer.Argument(help="Resource name: singular, snake_case.")],
    fields: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="[FIELD:TYPE[:OPTION...]]...",
            help="Fields, e.g. title:str:search isbn:str:unique author:ref:author",
        ),
    ] = None,
    project_dir: ProjectOption = Path("."),
    dry_run: DryRunOption = False,
    allow_destructive: DestructiveOption = False,
) -> None:
    """Add a resource to the spec (keeping its comments) and regenerate."""
    from . import spec_edit

    wanted = list(fields or [])
    if not wanted and _interactive():
        wanted = _ask_fields(spec_edit.field_prompt_help(), spec_edit.parse_field)
    _edit(
        project_dir,
        lambda text, filename: spec_edit.add_resource(text, name, wanted, filename=filename),
        dry_run=dry_run,
        allow_destructive=allow_destructive,
    )


@app.command("remove-resource")
def remove_resource(
    name: Annotated[str, typer.Argument(help="The resource to remove.")],
    project_dir: ProjectOption = Path("."),
    dry_run: DryRunOption = False,
    allow_destructive: DestructiveOption = False,
) -> None:
    """Remove a resource from the spec and regenerate (dropping a table: --allow-destructive)."""
    from . import spec_edit

    _edit(
        project_dir,
        lambda text, filename: spec_edit.remove_resource(text, name, filename=filename),
        dry_run=dry_run,
        allow_destructive=allow_destructive,
    )


@app.command("rename-resource")
def rename_resource(
    old: Annotated[str, typer.Argument(help="Current resource name.")],
    new: Annotated[str, typer.Argument(help="New resource name.")],
    project_dir: ProjectOption = Path("."),
    dry_run: DryRunOption = False,
) -> None:
    """Rename a resource everywhere: spec, files (your edits move along), code and table."""
    from . import spec_edit

    _edit(
        project_dir,
        lambda text, filename: spec_edit.rename_resource(
            text, old, new, filename=filename, snapshot=_snapshot(project_dir)
        ),
        dry_run=dry_run,
        allow_destructive=False,
    )


@app.command("rename-field")
def rename_field(
    resource: Annotated[str, typer.Argument(help="The resource that has the field.")],
    old: Annotated[str, typer.Argument(help="Current field name.")],
    new: Annotated[str, typer.Argument(help="New field name.")],
    project_dir: ProjectOption = Path("."),
    dry_run: DryRunOption = False,
) -> None:
    """Rename a field everywhere, with a migration that renames the column and keeps its data."""
    from . import spec_edit

    _edit(
        project_dir,
        lambda text, filename: spec_edit.rename_field(
            text, resource, old, new, filename=filename, snapshot=_snapshot(project_dir)
        ),
        dry_run=dry_run,
        allow_destructive=False,
    )


def _snapshot(project_dir: Path) -> Any:
    """The spec last generated from: renames name what the database holds now."""
    from .regenerate import load_snapshot

    return load_snapshot(project_dir)


def _edit(project_dir: Path, edit: Any, *, dry_run: bool, allow_destructive: bool) -> None:
    from . import project

    _recover(project_dir)
    _finish(
        project.edit_and_regenerate(
            project_dir, edit, dry_run=dry_run, allow_destructive=allow_destructive
        )
    )


def _recover(project_dir: Path) -> None:
    """Finish or undo the write of an apiforge command that was killed, and say so."""
    from .writer import recover

    recovery = recover(project_dir)
    if recovery is not None:
        typer.echo(f"apiforge: {recovery}", err=True)


def _finish(result: Any) -> None:
    """Print what regenerate did (or would do); conflicts exit with 1."""
    from .report import make_console, print_regenerate

    print_regenerate(make_console(), result)
    if result.conflicts or result.migration_problems:
        raise typer.Exit(1)


def _ask_fields(help_text: str, parse: Any) -> list[str]:
    """Ask for fields one per line, checking each as it is typed."""
    from .errors import UserError

    typer.echo(help_text)
    fields: list[str] = []
    while True:
        answer = str(typer.prompt("field (empty to finish)", default="", show_default=False))
        if not answer.strip():
            return fields
        try:
            parse(answer.strip())
        except UserError as error:
            typer.echo(f"  {error}", err=True)
            continue
        fields.append(answer.strip())
