"""Regenerate: bring a project in line with its spec, merging the user's edits (DESIGN §1).

load spec + snapshot → render → plan the migration → plan every file's merge → write
it all atomically with the new `.apiforge/` record. A dry run stops before writing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path

from . import loader, render, state, writer
from .errors import SpecError, UserError
from .merge import MarkedFile, marked_files
from .model import derive
from .plan import FilePlan, PlannedFile
from .spec import Spec
from .update import Move, UpdatePlan, plan_update

SPEC_FILE = "apiforge.yaml"
REVISION = re.compile(r"^revision(?::[^=]*)?=\s*['\"]([^'\"]+)['\"]", re.MULTILINE)
DOWN_REVISION = re.compile(r"^down_revision(?::[^=]*)?=\s*(.+)$", re.MULTILINE)
NUMBERED = re.compile(r"^(\d{4})_")


@dataclass(frozen=True)
class RegenerateResult:
    project_dir: Path
    update: UpdatePlan
    files: Mapping[str, str]  # everything written: changed files, the spec, `.apiforge/`
    disk: Mapping[str, str | None]  # what those paths held before
    migration_path: str | None  # the new revision, when the data model changed
    migration_summary: tuple[str, ...]
    spec_written: bool  # the spec itself was edited (add-resource and friends)
    dry_run: bool

    @property
    def conflicts(self) -> int:
        """Files left with conflict markers: this run's conflicts and any still unresolved."""
        return len(self.markers)

    @cached_property
    def markers(self) -> tuple[MarkedFile, ...]:
        """Every file apiforge manages that holds conflict markers once this run is done."""
        after = {change.path: change.content for change in self.update.changes}
        return marked_files(after, self.generated)

    @property
    def generated(self) -> dict[str, str]:
        """Path → the text generated for it now (recorded as its new baseline)."""
        prefix = f"{state.BASELINE_DIR}/"
        return {
            path.removeprefix(prefix): text
            for path, text in self.files.items()
            if path.startswith(prefix)
        }

    @property
    def changed_paths(self) -> list[str]:
        """Every path whose content regenerate changes (written or removed)."""
        written = [path for path, text in self.files.items() if self.disk.get(path) != text]
        return sorted({*written, *self.update.removals})


def regenerate(
    project: Path,
    *,
    dry_run: bool = False,
    allow_destructive: bool = False,
    spec_text: str | None = None,
) -> RegenerateResult:
    """Merge the newly generated project into `project`; `spec_text` replaces the spec file."""
    writer.recover(project)  # a write a killed command left half done comes first
    recorded = state.load_state(project)
    current_text = _read_spec(project)
    new_text = current_text if spec_text is None else spec_text
    spec = loader.load_spec_text(new_text, filename=str(project / SPEC_FILE))
    previous = _snapshot_spec(recorded.spec_text)
    migration = _plan_migration(
        project,
        previous,
        spec,
        allow_destructive=allow_destructive,
        old_rules=recorded.schema_rules,
    )
    plan = _full_plan(spec, recorded, migration)
    moves = resource_moves(previous, spec)
    moved_from = {move.old_path for move in moves.values()}
    disk = _read_disk(project, set(plan) | set(recorded.baseline) | moved_from)
    update = plan_update(
        generated=plan,
        baseline=recorded.baseline,
        ownership={path: record.ownership for path, record in recorded.files.items()},
        disk=disk,
        moves=moves,
    )
    files = dict(update.writes)
    # A spec edit that changes no meaning (a comment) needs no new snapshot.
    same_meaning = spec.model_dump(mode="json") == previous.model_dump(mode="json")
    files.update(state.state_files(recorded.spec_text if same_meaning else new_text, plan))
    files[SPEC_FILE] = new_text
    before = {**disk, **_read_disk(project, set(files) - set(disk))}
    if not dry_run:
        changed = {path: text for path, text in files.items() if before.get(path) != text}
        writer.write_files(project, changed, remove=update.removals)
    return RegenerateResult(
        project_dir=project,
        update=update,
        files=files,
        disk=before,
        migration_path=migration[0] if migration else None,
        migration_summary=tuple(migration[2]) if migration else (),
        spec_written=new_text != current_text,
        dry_run=dry_run,
    )


def plan_for_new_project(spec: Spec) -> FilePlan:
    """The files of a new project: the rendered service and its first migration."""
    migration = _first_migration(spec)
    return render.render_project(spec, migrations={migration[0]: migration[1]})


def _first_migration(spec: Spec) -> tuple[str, str, list[str]]:
    from .migrations import plan_migration

    first = plan_migration(None, spec, previous=None, number=1, allow_destructive=False)
    assert first is not None  # a spec always has at least one resource to create
    return f"{render.MIGRATIONS_DIR}/{first.filename}", first.content, list(first.summary)


def _plan_migration(
    project: Path, previous: Spec, spec: Spec, *, allow_destructive: bool, old_rules: int
) -> tuple[str, str, list[str]] | None:
    from .migrations import plan_migration

    head, number = migration_head(project)
    migration = plan_migration(
        previous,
        spec,
        previous=head,
        number=number,
        allow_destructive=allow_destructive,
        old_rules=old_rules,
    )
    if migration is None:
        return None
    path = f"{render.MIGRATIONS_DIR}/{migration.filename}"
    return path, migration.content, list(migration.summary)


def _full_plan(
    spec: Spec, recorded: state.ProjectState, migration: tuple[str, str, list[str]] | None
) -> FilePlan:
    """The render, plus every revision written before (kept exactly as recorded)."""
    new_revision = {migration[0]: migration[1]} if migration else {}
    plan = render.render_project(spec, migrations=new_revision)
    for path in recorded.files:
        if path.startswith(f"{render.MIGRATIONS_DIR}/") and path not in plan:
            plan[path] = PlannedFile(path, recorded.baseline[path], "create_once")
        elif path.startswith(f"{render.MIGRATIONS_DIR}/"):
            plan[path] = replace(plan[path], content=recorded.baseline[path])
    return plan


def migration_head(project: Path) -> tuple[str | None, int]:
    """The current Alembic head (the new revision's parent) and the next revision number.

    Read from the files, so revisions the user wrote by hand are respected too.
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    numbers = [0]
    versions = project / render.MIGRATIONS_DIR
    for file in sorted(versions.glob("*.py")) if versions.is_dir() else []:
        text = file.read_text(encoding="utf-8", errors="replace")
        revision = REVISION.search(text)
        if revision is None:
            continue
        revisions.add(revision.group(1))
        down = DOWN_REVISION.search(text)
        parents.update(re.findall(r"['\"]([^'\"]+)['\"]", down.group(1)) if down else [])
        numbered = NUMBERED.match(file.name)
        if numbered:
            numbers.append(int(numbered.group(1)))
    heads = sorted(revisions - parents)
    if len(heads) > 1:
        raise UserError(
            f"migrations have several heads ({', '.join(heads)}); merge them "
            "(`alembic merge heads`) before regenerating"
        )
    return (heads[0] if heads else None), max(numbers) + 1


def resource_moves(previous: Spec, spec: Spec) -> dict[str, Move]:
    """New path → Move for every file of a resource renamed with `renamed_from`."""
    moves: dict[str, Move] = {}
    for name, resource in spec.resources.items():
        old = resource.renamed_from
        if not old or old not in previous.resources or name in previous.resources:
            continue
        rewrite = _identifier_rewriter(previous, old, spec, name)
        old_paths = render.resource_files(previous, old)
        new_paths = render.resource_files(spec, name)
        for old_path, new_path in zip(old_paths, new_paths, strict=True):
            is_hooks = "/hooks/" in new_path
            moves[new_path] = Move(old_path, rewrite if is_hooks else None)
    return moves


def _identifier_rewriter(previous: Spec, old: str, spec: Spec, new: str) -> Callable[[str], str]:
    """Rewrite a user-owned hooks module for the resource's new name (module and classes)."""
    old_model, new_model = derive(previous).resource(old), derive(spec).resource(new)
    package = derive(spec).package
    module_pattern = re.compile(rf"\b{package}\.(\w+)\.{re.escape(old_model.module)}\b")
    class_pattern = re.compile(rf"\b{old_model.class_name}(\w*)\b")

    def rewrite(text: str) -> str:
        text = module_pattern.sub(lambda m: f"{package}.{m.group(1)}.{new_model.module}", text)
        return class_pattern.sub(lambda m: f"{new_model.class_name}{m.group(1)}", text)

    return rewrite


def load_snapshot(project: Path) -> Spec:
    """The spec the project was last generated from (`.apiforge/spec.yaml`)."""
    return _snapshot_spec(state.load_state(project).spec_text)


def _snapshot_spec(snapshot_text: str) -> Spec:
    try:
        return loader.load_spec_text(snapshot_text, filename=state.SPEC_SNAPSHOT)
    except SpecError as error:
        raise UserError(
            f"{state.SPEC_SNAPSHOT} no longer loads ({error.problems[0].message}); "
            "restore .apiforge/ from version control"
        ) from None


def _read_spec(project: Path) -> str:
    path = project / SPEC_FILE
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{project}: {state.NOT_A_PROJECT} (no {SPEC_FILE})") from None


def _read_disk(project: Path, paths: set[str]) -> Mapping[str, str | None]:
    contents: dict[str, str | None] = {}
    for path in paths:
        try:
            contents[path] = (project / path).read_bytes().decode("utf-8", errors="replace")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            contents[path] = None
    return contents
