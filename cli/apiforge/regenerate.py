"""Regenerate: bring a project in line with its spec, merging the user's edits (DESIGN §1).

load spec + snapshot → render → plan the migration → plan every file's merge → write
it all atomically with the new `.apiforge/` record. A dry run stops before writing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from . import gitmerge, loader, render, revisions, state, writer
from .branches import Side, plan_branch_merge
from .errors import RefusedChange, SpecError, UserError
from .merge import MarkedFile, conflict_marker_lines, marked_files
from .plan import FilePlan, PlannedFile
from .renames import CodeRenames, Mention, code_renames, stale_validators
from .spec import Spec
from .update import Move, UpdatePlan, plan_update

SPEC_FILE = "apiforge.yaml"


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
    # Revision files this run could not vouch for (edited, or written by hand).
    migration_problems: tuple[revisions.MigrationProblem, ...] = ()
    git_merge: bool = False  # built from both sides of a git merge in progress
    migration_heads: tuple[str, ...] = ()  # the chain's heads before this run
    # Validators in the user's code that name a field the spec renamed (pydantic refuses them).
    stale_validators: tuple[Mention, ...] = ()

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
    accept_migrations: bool = False,
    now: datetime | None = None,
) -> RegenerateResult:
    """Merge the newly generated project into `project`; `spec_text` replaces the spec file.

    `accept_migrations` records revision files edited or written by hand as they are.
    During a git merge whose record conflicts, both sides are read from git instead.
    """
    writer.recover(project)  # a write a killed command left half done comes first
    current_text = _read_spec(project)
    new_text = current_text if spec_text is None else spec_text
    sources = _sources(project, new_text)
    recorded, previous = sources.recorded, sources.previous
    spec = loader.load_spec_text(new_text, filename=str(project / SPEC_FILE))
    revision_files = _revision_files(project)
    chain = _chain(recorded, revision_files)
    accepted = _accepted(revision_files, chain) if accept_migrations else {}
    migration = _plan_migration(
        previous,
        spec,
        chain,
        allow_destructive=allow_destructive,
        old_rules=recorded.schema_rules,
        now=now or datetime.now(UTC),
    )
    plan = _full_plan(spec, recorded, migration, accepted)
    moves = resource_moves(previous, spec) if sources.sides is None else {}
    moved_from = {move.old_path for move in moves.values()}
    known = set(plan) | set(recorded.baseline) | moved_from
    disk = _read_disk(project, known)
    renames = code_renames(previous, spec, recorded.baseline, _contents(plan))
    own_files = _read_disk(project, _own_modules(project, known)) if renames else {}
    # Undecodable bytes would not survive a rewrite: such a file is left alone.
    own_code = {path: text for path, text in own_files.items() if text and "\ufffd" not in text}
    update = _plan_files(sources, plan, disk, moves, renames=renames, own_files=own_code)
    update = _revision_outcomes(update, chain, accepted, plan)
    files = dict(update.writes)
    # A spec edit that changes no meaning (a comment) needs no new snapshot.
    same_meaning = spec.model_dump(mode="json") == previous.model_dump(mode="json")
    snapshot = sources.snapshot_text if same_meaning and sources.snapshot_text else new_text
    files.update(state.state_files(snapshot, plan))
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
        migration_problems=_remaining_problems(chain, accepted, recorded.baseline, disk),
        git_merge=sources.sides is not None,
        migration_heads=chain.heads,
        stale_validators=tuple(stale_validators(spec, _users_code(update, plan), _contents(plan))),
    )


def _plan_files(
    sources: _Sources,
    plan: FilePlan,
    disk: Mapping[str, str | None],
    moves: Mapping[str, Move],
    *,
    renames: CodeRenames,
    own_files: Mapping[str, str],
) -> UpdatePlan:
    """Every file's outcome: merged with the record, or with both sides of a git merge."""
    recorded = sources.recorded
    ownership = {path: record.ownership for path, record in recorded.files.items()}
    if sources.sides is None:
        return plan_update(
            generated=plan,
            baseline=recorded.baseline,
            ownership=ownership,
            disk=disk,
            moves=moves,
            renames=renames,
            user_code=is_user_code,
            own_files=own_files,
        )
    # Revisions are never merged: each side's are kept exactly as recorded.
    revision_paths = {p for p in {*plan, *recorded.files} if revisions.is_revision_path(p)}
    files = plan_branch_merge(
        generated=plan,
        ours=sources.sides[0],
        theirs=sources.sides[1],
        disk=disk,
        merge_base=sources.merge_base or {},
        exclude=frozenset(revision_paths),
    )
    revision_files = plan_update(
        generated={path: plan[path] for path in revision_paths if path in plan},
        baseline={p: recorded.baseline[p] for p in revision_paths if p in recorded.baseline},
        ownership=ownership,
        disk=disk,
    )
    changes = sorted((*files.changes, *revision_files.changes), key=lambda c: c.path)
    return UpdatePlan(tuple(changes), tuple(sorted({*files.removals, *revision_files.removals})))


def plan_for_new_project(spec: Spec, *, created: datetime | None = None) -> FilePlan:
    """The files of a new project: the rendered service and its first migration.

    `created` (default: now) stamps the first revision's id; the rest is pure.
    """
    migration = _first_migration(spec, created or datetime.now(UTC))
    return render.render_project(spec, migrations={migration[0]: migration[1]})


def _first_migration(spec: Spec, created: datetime) -> tuple[str, str, list[str]]:
    from .migrations import plan_migration

    first = plan_migration(None, spec, previous=None, created=created, allow_destructive=False)
    assert first is not None  # a spec always has at least one resource to create
    return f"{render.MIGRATIONS_DIR}/{first.filename}", first.content, list(first.summary)


# --- where the record comes from: `.apiforge/`, or both sides of a git merge ---------


@dataclass(frozen=True)
class _Sources:
    recorded: state.ProjectState  # in a git merge: both sides' records together
    previous: Spec  # the data model the database has once every recorded revision ran
    snapshot_text: str | None  # the snapshot to keep when the spec's meaning is unchanged
    sides: tuple[Side, Side] | None = None  # ours and theirs, during a git merge
    merge_base: Mapping[str, str | None] | None = None  # the files where the branches forked


def _sources(project: Path, spec_text: str) -> _Sources:
    try:
        recorded = state.load_state(project)
        return _Sources(recorded, _snapshot_spec(recorded.spec_text), recorded.spec_text)
    except UserError:
        merge = gitmerge.merge_in_progress(project)
        if merge is None or not (project / state.STATE_DIR).is_dir():
            raise
    lines = conflict_marker_lines(spec_text)
    if lines:
        raise RefusedChange(
            f"{SPEC_FILE} still holds conflict markers (line {', '.join(map(str, lines))}): "
            "resolve the spec — the one file of the merge that is yours — then run "
            "apiforge regenerate again; it resolves the generated files and .apiforge/"
        )
    return _merge_sources(project, merge, spec_text)


def _merge_sources(project: Path, merge: gitmerge.GitMerge, spec_text: str) -> _Sources:
    ours = state.read_state(project, merge.reader(gitmerge.OURS))
    theirs = state.read_state(project, merge.reader(gitmerge.THEIRS))
    base_text = (
        merge.read_many(merge.base, [state.SPEC_SNAPSHOT])[state.SPEC_SNAPSHOT]
        if merge.base
        else None
    )
    previous = _merged_snapshot(base_text, ours.spec_text, theirs.spec_text, spec_text)
    paths = {*ours.baseline, *theirs.baseline}
    recorded = state.ProjectState(
        generator_version=ours.generator_version,
        schema_rules=max(ours.schema_rules, theirs.schema_rules),
        spec_text=ours.spec_text,
        files={**ours.files, **theirs.files},
        baseline={**ours.baseline, **theirs.baseline},
    )
    sides = (
        Side(ours.baseline, merge.reader(gitmerge.OURS).many(paths)),
        Side(theirs.baseline, merge.reader(gitmerge.THEIRS).many(paths)),
    )
    forked = merge.read_many(merge.base, paths) if merge.base else {}
    return _Sources(recorded, previous, None, sides, forked)


def _merged_snapshot(base: str | None, ours: str, theirs: str, resolved: str) -> Spec:
    """The data model once both branches' migrations ran: their snapshots merged by key.

    Where both changed a setting of the service differently, the resolved spec decides.
    """
    from ruamel.yaml import YAML

    def data(text: str | None) -> Any:
        return YAML(typ="safe").load(text) if text else None

    merged = _merge_data(data(base), data(ours), data(theirs), data(resolved), "")
    text = json.dumps(merged, default=str)
    try:
        return loader.load_spec_text(text, filename=f"{state.SPEC_SNAPSHOT} (both branches)")
    except SpecError as error:
        raise UserError(
            f"the two branches' spec snapshots do not merge into a valid spec "
            f"({error.problems[0].message}); regenerate on one branch so they agree"
        ) from None


_MISSING: Any = object()


def _merge_data(base: Any, ours: Any, theirs: Any, resolved: Any, where: str) -> Any:
    if ours == theirs or theirs == base:
        return ours
    if ours == base:
        return theirs
    if all(isinstance(side, dict) for side in (ours, theirs)):
        base = base if isinstance(base, dict) else {}
        resolved = resolved if isinstance(resolved, dict) else {}
        merged = {}
        for key in [*ours, *(k for k in theirs if k not in ours)]:
            value = _merge_data(
                base.get(key, _MISSING),
                ours.get(key, _MISSING),
                theirs.get(key, _MISSING),
                resolved.get(key, _MISSING),
                f"{where}.{key}" if where else str(key),
            )
            if value is not _MISSING:
                merged[key] = value
        return merged
    if not where.startswith("resources"):
        return resolved  # no table depends on it: nothing for a migration to reconcile
    raise RefusedChange(
        f"both branches changed `{where}` in the spec, differently: apiforge cannot tell "
        "what the database holds once both branches' migrations ran; change one branch "
        "so they agree (and regenerate there), then merge again"
    )


# --- migrations ------------------------------------------------------------------------


def _chain(recorded: state.ProjectState, on_disk: Mapping[str, str]) -> revisions.Chain:
    recorded_revisions = {
        path: text for path, text in recorded.baseline.items() if revisions.is_revision_path(path)
    }
    chain = revisions.analyse(recorded_revisions, on_disk)
    if chain.broken:
        raise RefusedChange(
            "The migration chain is broken:\n"
            + "\n".join(f"  - {problem}" for problem in chain.broken)
            + "\nRestore the missing revisions from version control (or fix the files), "
            "then run the command again."
        )
    return chain


def _revision_files(project: Path) -> dict[str, str]:
    """Every revision module on disk (path → text): alembic runs all of them."""
    versions = project / render.MIGRATIONS_DIR
    if not versions.is_dir():
        return {}
    return {
        f"{render.MIGRATIONS_DIR}/{file.name}": file.read_bytes().decode("utf-8", "replace")
        for file in sorted(versions.glob("*.py"))
        if file.is_file() and not file.name.startswith(("__init__", ".#"))  # as alembic skips
    }


def _accepted(on_disk: Mapping[str, str], chain: revisions.Chain) -> dict[str, str]:
    """Revision files edited or written by hand, recorded as they are (--accept-migrations)."""
    return {path: on_disk[path] for path in (*chain.edited, *chain.unrecorded)}


def _plan_migration(
    previous: Spec,
    spec: Spec,
    chain: revisions.Chain,
    *,
    allow_destructive: bool,
    old_rules: int,
    now: datetime,
) -> tuple[str, str, list[str]] | None:
    from .migrations import plan_migration

    created = revisions.creation_time(now, (r.id for r in chain.revisions))
    migration = plan_migration(
        previous,
        spec,
        previous=chain.heads,
        created=created,
        allow_destructive=allow_destructive,
        old_rules=old_rules,
    )
    if migration is None:
        return None
    path = f"{render.MIGRATIONS_DIR}/{migration.filename}"
    summary = list(migration.summary)
    if len(chain.heads) > 1:
        summary.insert(0, f"merge the migration heads {' and '.join(chain.heads)}")
    return path, migration.content, summary


def _full_plan(
    spec: Spec,
    recorded: state.ProjectState,
    migration: tuple[str, str, list[str]] | None,
    accepted: Mapping[str, str],
) -> FilePlan:
    """The render, plus every revision written before (kept exactly as recorded)."""
    new_revision = {migration[0]: migration[1]} if migration else {}
    plan = render.render_project(spec, migrations=new_revision)
    for path in recorded.files:
        if revisions.is_revision_path(path) and path not in plan:
            plan[path] = PlannedFile(path, recorded.baseline[path], "create_once")
        elif revisions.is_revision_path(path):
            plan[path] = replace(plan[path], content=recorded.baseline[path])
    for path, text in accepted.items():
        plan[path] = PlannedFile(path, text, "create_once")
    return plan


def _revision_outcomes(
    update: UpdatePlan, chain: revisions.Chain, accepted: Mapping[str, str], plan: FilePlan
) -> UpdatePlan:
    """A revision is not an ordinary file: one the chain needs is written again."""
    changes = []
    for change in update.changes:
        if change.path in chain.restored and change.path in plan:
            change = replace(
                change,
                action="create",
                content=plan[change.path].content,
                changed=True,
                detail="a revision the migration chain needs: written again",
            )
        elif change.path in accepted:
            change = replace(change, detail="recorded as it is (--accept-migrations)")
        elif change.path in chain.edited:
            change = replace(change, action="keep", detail=EDITED_REVISION)
        changes.append(change)
    return UpdatePlan(tuple(changes), update.removals)


EDITED_REVISION = "edited since apiforge wrote it: see apiforge check"


def _remaining_problems(
    chain: revisions.Chain,
    accepted: Mapping[str, str],
    baseline: Mapping[str, str],
    disk: Mapping[str, str | None],
) -> tuple[revisions.MigrationProblem, ...]:
    from .project import unified_diff

    problems = [
        revisions.MigrationProblem(
            path,
            "edited since apiforge wrote it: a database that ran the recorded revision "
            "differs from one that runs this file. Restore it from version control, or "
            "record it as it is: apiforge regenerate --accept-migrations",
            unified_diff(path, baseline[path], disk.get(path) or ""),
        )
        for path in chain.edited
        if path not in accepted
    ]
    problems += [
        revisions.MigrationProblem(
            path,
            "a revision apiforge did not write: if it belongs in the chain, record it "
            "with apiforge regenerate --accept-migrations; otherwise remove it",
        )
        for path in chain.unrecorded
        if path not in accepted
    ]
    return tuple(problems)


def resource_moves(previous: Spec, spec: Spec) -> dict[str, Move]:
    """New path → Move for every file of a resource renamed with `renamed_from`."""
    moves: dict[str, Move] = {}
    for name, resource in spec.resources.items():
        old = resource.renamed_from
        if not old or old not in previous.resources or name in previous.resources:
            continue
        old_paths = render.resource_files(previous, old)
        new_paths = render.resource_files(spec, name)
        for old_path, new_path in zip(old_paths, new_paths, strict=True):
            moves[new_path] = Move(old_path)
    return moves


def is_user_code(path: str) -> bool:
    """Python a rename may touch: the service and its tests, never a written revision."""
    return path.endswith(".py") and not path.startswith(f"{render.MIGRATIONS_DIR}/")


def _own_modules(project: Path, known: set[str]) -> set[str]:
    """The Python files of the service and its tests that apiforge never generated."""
    found = set()
    for folder in ("src", "tests"):
        for file in (project / folder).rglob("*.py"):
            path = file.relative_to(project).as_posix()
            if path not in known:
                found.add(path)
    return found


def _users_code(update: UpdatePlan, plan: FilePlan) -> dict[str, str]:
    """Path → content of the code that is the user's: hooks modules, edited files, and
    modules of their own."""
    users: dict[str, str] = {}
    for change in update.changes:
        planned = plan.get(change.path)
        if change.content is None or not is_user_code(change.path):
            continue
        if (
            planned is None
            or planned.ownership == "create_once"
            or change.content != planned.content
        ):
            users[change.path] = change.content
    return users


def _contents(plan: FilePlan) -> dict[str, str]:
    return {path: planned.content for path, planned in plan.items()}


def load_snapshot(project: Path) -> Spec:
    """The spec the project was last generated from (`.apiforge/spec.yaml`)."""
    return _snapshot_spec(state.read_snapshot(project))


def _snapshot_spec(snapshot_text: str) -> Spec:
    try:
        # Accepted when it was generated: checks added since must not lock the project out.
        return loader.load_spec_text(
            snapshot_text, filename=state.SPEC_SNAPSHOT, generation_checks=False
        )
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
