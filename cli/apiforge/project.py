"""What the commands do, as keyword-only library functions that raise and never print.

Each function runs the pipeline of DESIGN §1 for one command: load the spec, render
the plan, compare or write, and returns a result the report module turns into output.
"""

from __future__ import annotations

import difflib
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from . import loader, state, writer
from .errors import RefusedChange, UserError
from .merge import marked_files
from .plan import FilePlan
from .renames import Mention
from .render import MIGRATIONS_DIR
from .revisions import MigrationProblem
from .spec import ServiceSpec, Spec

SPEC_FILE = "apiforge.yaml"
DATABASES = ("sqlite", "postgresql", "mysql")

STARTER_SPEC = """\
# apiforge spec: the single source of truth for this service.
# Edit it, then run `apiforge regenerate` to bring the code and migrations in line.
# `apiforge schema` prints its JSON Schema, for completion in your editor.
apiforge: 1

service:
  name: starter
  version: 0.1.0
  api_prefix: /api/v1
  database: sqlite      # sqlite | postgresql | mysql

resources:
  # One entry per resource: singular, snake_case. Each gets a table, a migration,
  # CRUD routes under /api/v1/<plural> and a hooks module that is yours to edit.
  item:
    fields:
      # `field: type` is the short form; options go in a mapping.
      name: {type: str, max_length: 100, search: true, sort: true}
      description: {type: text, required: false}
"""


@dataclass(frozen=True)
class NewServiceResult:
    project_dir: Path
    service_name: str
    package_name: str
    database: str
    files: tuple[str, ...]  # every path written, relative to project_dir, sorted


def new_service(
    name: str, *, spec_path: Path | None, database: str | None, directory: Path
) -> NewServiceResult:
    """Create `directory/name/` with the spec, the generated service and its `.apiforge/` record."""
    check_service_name(name)
    if database is not None and database not in DATABASES:
        raise UserError(f"unknown database {database!r}; choose one of: {', '.join(DATABASES)}")
    project_dir = directory / name
    if project_dir.is_dir() and any(project_dir.iterdir()):
        # Checked before rendering too, so the user hears about it without waiting.
        raise UserError(
            f"{project_dir} already exists and is not empty; choose another name or --dir"
        )
    original = STARTER_SPEC if spec_path is None else loader.read_spec_text(spec_path)
    loader.check_yaml(original, filename=str(spec_path or SPEC_FILE))  # bounded, before editing
    spec_text = set_service_settings(original, name=name, database=database)
    spec = loader.load_spec_text(spec_text, filename=str(spec_path or SPEC_FILE))
    from .regenerate import plan_for_new_project

    plan = plan_for_new_project(spec)
    files = project_files(spec_text, plan)
    writer.create_project(project_dir, files)
    return NewServiceResult(
        project_dir=project_dir,
        service_name=spec.service.name,
        package_name=spec.service.package_name,
        database=spec.service.database,
        files=tuple(sorted(files)),
    )


def check_service_name(name: str) -> None:
    """NAME follows the rule of `service.name` in the spec; say why when it does not."""
    from pydantic import ValidationError

    try:
        ServiceSpec.model_validate({"name": name})
    except ValidationError as error:
        detail = error.errors()[0]
        reason = detail.get("ctx", {}).get("error")
        message = (
            str(reason) if reason else f"service name {name!r} is not allowed: {detail['msg']}"
        )
        raise UserError(message) from None


def set_service_settings(text: str, *, name: str, database: str | None) -> str:
    """Set `service.name` (and `service.database`) keeping the spec's comments and layout.

    Text that is not a YAML mapping comes back unchanged: the loader then reports
    the problem with its exact location in the user's file.
    """
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap
    from ruamel.yaml.error import YAMLError
    from ruamel.yaml.util import load_yaml_guess_indent

    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap the user's long lines
    try:
        document = yaml.load(text)
        _, indent, sequence_offset = load_yaml_guess_indent(text)
    except YAMLError:
        return text
    except IndexError:  # ruamel's guess trips over a `key:` line before `---` (%TAG ...:)
        indent, sequence_offset = None, None
    if not isinstance(document, CommentedMap):
        return text
    if "service" not in document:
        position = list(document).index("apiforge") + 1 if "apiforge" in document else 0
        document.insert(position, "service", CommentedMap())
    service = document["service"]
    if not isinstance(service, CommentedMap):
        return text
    wanted = {"name": name} if database is None else {"name": name, "database": database}
    if all(service.get(key) == value for key, value in wanted.items()):
        return text  # nothing to change: keep the file byte for byte
    service.update(wanted)
    yaml.indent(mapping=indent or 2, sequence=indent or 2, offset=sequence_offset or 0)
    output = io.StringIO()
    yaml.dump(document, output)
    return output.getvalue()


def project_files(spec_text: str, plan: FilePlan) -> dict[str, str]:
    """Everything a project holds: the spec, every planned file and the `.apiforge/` record."""
    files = {SPEC_FILE: spec_text}
    files.update({path: planned.content for path, planned in plan.items()})
    files.update(state.state_files(spec_text, plan))
    return files


def validate(spec_path: Path) -> Spec:
    spec, _ = loader.load_spec(spec_path)
    return spec


# --- check -------------------------------------------------------------------------------

DriftKind = Literal["modified", "missing", "conflict"]


@dataclass(frozen=True)
class FileDrift:
    path: str
    kind: DriftKind
    diff: str = ""  # unified diff, disk → generated (for `modified`)
    lines: tuple[int, ...] = ()  # line numbers of conflict markers (for `conflict`)


@dataclass(frozen=True)
class CheckResult:
    project_dir: Path
    drift: tuple[FileDrift, ...]
    # Files whose `.apiforge/baseline` differs from what the spec renders now: a
    # regenerate is pending (spec edited, or apiforge upgraded, since the last run).
    stale_baseline: tuple[str, ...] = ()
    spec_changed: bool = False  # apiforge.yaml differs in meaning from the snapshot
    checked: int = 0  # how many generated files were compared
    refused: str | None = None  # why regenerate would refuse the pending spec change
    # Revisions the migration chain cannot be trusted with (edited, by hand, several heads).
    migrations: tuple[MigrationProblem, ...] = ()
    stale_validators: tuple[Mention, ...] = ()  # the user's validators of renamed fields

    @property
    def clean(self) -> bool:
        return not (
            self.drift
            or self.stale_baseline
            or self.spec_changed
            or self.refused
            or self.migrations
            or self.stale_validators
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "project": str(self.project_dir),
            "clean": self.clean,
            "checked": self.checked,
            "files": [
                {"path": item.path, "kind": item.kind, "diff": item.diff, "lines": list(item.lines)}
                for item in self.drift
            ],
            "stale_baseline": list(self.stale_baseline),
            "spec_changed": self.spec_changed,
            "refused": self.refused,
            "migrations": [
                {"path": item.path, "problem": item.problem, "diff": item.diff}
                for item in self.migrations
            ],
            "stale_validators": [
                {"path": item.path, "line": item.line, "text": item.text}
                for item in self.stale_validators
            ],
        }

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2, sort_keys=True) + "\n"


def check(project: Path) -> CheckResult:
    """Compare the project with what regenerate would produce; report, never change.

    It is regenerate's own dry run, so the two can never disagree.
    """
    from .regenerate import regenerate

    # Report a destructive change as pending drift instead of refusing to look.
    try:
        result = regenerate(project, dry_run=True, allow_destructive=True)
    except RefusedChange as error:
        return CheckResult(project_dir=project, drift=(), spec_changed=True, refused=str(error))
    drift: list[FileDrift] = []
    stale: list[str] = []
    for path in result.changed_paths:
        if path.startswith(f"{state.STATE_DIR}/"):
            stale.append(path)
            continue
        before, after = result.disk.get(path), result.files.get(path)
        kind: DriftKind = "missing" if before is None else "modified"
        drift.append(FileDrift(path, kind, diff=unified_diff(path, before or "", after or "")))
    on_disk = {change.path: result.disk.get(change.path) for change in result.update.changes}
    for marked in marked_files(on_disk, result.generated):
        drift.append(FileDrift(marked.path, "conflict", lines=marked.lines))
    migrations = list(result.migration_problems)
    if len(result.migration_heads) > 1:
        heads = " and ".join(result.migration_heads)
        migrations.append(
            MigrationProblem(
                MIGRATIONS_DIR,
                f"the migration chain has several heads ({heads}): apiforge regenerate "
                "writes the revision that merges them",
            )
        )
    return CheckResult(
        project_dir=project,
        drift=tuple(drift),
        stale_baseline=tuple(stale),
        spec_changed=result.migration_path is not None and len(result.migration_heads) < 2,
        checked=len(result.update.changes),
        migrations=tuple(migrations),
        stale_validators=result.stale_validators,
    )


def unified_diff(path: str, on_disk: str, generated: str) -> str:
    lines = difflib.unified_diff(
        _diff_lines(on_disk),
        _diff_lines(generated),
        fromfile=f"a/{path} (on disk)",
        tofile=f"b/{path} (generated)",
    )
    return "".join(lines)


def _diff_lines(text: str) -> list[str]:
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n\\ No newline at end of file\n"
    return lines


# --- spec edits that regenerate ------------------------------------------------------------


def edit_and_regenerate(project: Path, edit: Any, *, dry_run: bool, allow_destructive: bool) -> Any:
    """Apply `edit(spec_text, filename) -> new text`, then regenerate with the edited spec.

    The spec is written together with the regenerated files, atomically: a refused
    or failed regenerate leaves the spec as it was too.
    """
    from .regenerate import regenerate

    writer.recover(project)  # the spec to edit is the one a killed write left complete
    spec_path = project / SPEC_FILE
    text = loader.read_spec_text(spec_path)
    loader.check_yaml(text, filename=str(spec_path))  # bounded, before the editor parses it
    edited = edit(text, str(spec_path))
    return regenerate(
        project, dry_run=dry_run, allow_destructive=allow_destructive, spec_text=edited
    )
