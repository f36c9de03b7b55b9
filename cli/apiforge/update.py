"""The update plan: what regenerate does to every file, decided before anything is written.

Pure: it takes the new file plan, the recorded baselines and what is on disk, and
returns each file's outcome. `regenerate` writes the outcome, `check` and
`--dry-run` only report it — so all three agree by construction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

from .merge import Action, FileOutcome, create_once, merge_file
from .plan import FilePlan, Ownership, PlannedFile
from .renames import (
    CodeRenames,
    Mention,
    Renamed,
    describe,
    mentions_in,
    rename_code,
    users_renames,
)


@dataclass(frozen=True)
class Move:
    """A file that now lives at another path (a renamed resource): its history travels along."""

    old_path: str


@dataclass(frozen=True)
class FileChange:
    path: str
    action: Action
    content: str | None  # what the path must hold afterwards (None: absent)
    changed: bool  # whether the disk changes
    conflicts: int = 0
    detail: str = ""
    moved_from: str | None = None
    renamed: Renamed = ()  # identifiers renamed in the user's code of this file
    mentions: tuple[Mention, ...] = ()  # the user's lines that still say an old name


@dataclass(frozen=True)
class UpdatePlan:
    changes: tuple[FileChange, ...]
    removals: tuple[str, ...] = field(default=())  # paths to delete (incl. moved-from paths)

    @property
    def writes(self) -> dict[str, str]:
        return {c.path: c.content for c in self.changes if c.changed and c.content is not None}

    @property
    def conflicts(self) -> tuple[FileChange, ...]:
        return tuple(c for c in self.changes if c.action == "conflict")

    @property
    def mentions(self) -> tuple[Mention, ...]:
        return tuple(mention for change in self.changes for mention in change.mentions)

    @property
    def is_noop(self) -> bool:
        return not self.writes and not self.removals


def plan_update(
    *,
    generated: FilePlan,
    baseline: Mapping[str, str],
    ownership: Mapping[str, Ownership],
    disk: Mapping[str, str | None],
    moves: Mapping[str, Move] | None = None,
    renames: CodeRenames | None = None,
    user_code: Callable[[str], bool] = lambda path: False,
    own_files: Mapping[str, str] | None = None,
) -> UpdatePlan:
    """Every file's outcome: generated files, files that are no longer generated, and
    the user's own modules (`own_files`, never generated) when something is renamed.

    `renames` are applied to the user's code (`user_code(path)`: hooks modules and
    edited generated files), to their version and to its base alike, so the merge
    carries the user's lines with the new names.
    """
    moves = moves or {}
    renames = renames or CodeRenames()
    changes: list[FileChange] = []
    removals: set[str] = set()
    for path in sorted(generated):
        move = moves.get(path)
        base, yours = _history(path, move, baseline, disk, removals)
        on_disk = disk.get(path)
        planned = generated[path]
        if renames and user_code(path) and yours is not None:
            changes.append(_user_code(planned, base, yours, on_disk, move, renames))
        else:
            outcome = _decide(planned.ownership)(base, yours, planned.content)
            changes.append(_change(path, outcome, on_disk, move))
    moved_away = {move.old_path for move in moves.values()}
    for path in sorted(set(baseline) - set(generated) - moved_away):
        outcome = _decide(ownership.get(path, "managed"))(baseline[path], disk.get(path), None)
        changes.append(_change(path, outcome, disk.get(path), None))
        if outcome.action == "remove":
            removals.add(path)
    for path, text in sorted((own_files or {}).items()) if renames else ():
        changes.append(_own_file(path, text, renames))
    return UpdatePlan(tuple(changes), tuple(sorted(removals)))


def _own_file(path: str, text: str, renames: CodeRenames) -> FileChange:
    """A module of the user's own: renamed like a hooks module, every line theirs."""
    rewritten = rename_code(text, renames)
    unparsed = (Mention(path, 0, rewritten.error),) if rewritten.error else ()
    found = mentions_in(path, rewritten.text, None, renames)
    outcome = FileOutcome("identical", rewritten.text, detail="your own module")
    change = _change(path, outcome, text, None, rewritten.renamed)
    return replace(change, mentions=(*unparsed, *found))


def _decide(ownership: Ownership) -> Callable[[str | None, str | None, str | None], FileOutcome]:
    return create_once if ownership == "create_once" else merge_file


def _history(
    path: str,
    move: Move | None,
    baseline: Mapping[str, str],
    disk: Mapping[str, str | None],
    removals: set[str],
) -> tuple[str | None, str | None]:
    """A generated file's base and the user's version; a moved file's come from its old
    path (which is then removed)."""
    base, yours = baseline.get(path), disk.get(path)
    if move is None or yours is not None or base is not None:
        return base, yours
    old_base, old_yours = baseline.get(move.old_path), disk.get(move.old_path)
    if old_yours is None:  # deleted by the user: stays deleted under the new name
        return old_base, None
    removals.add(move.old_path)
    if old_yours != old_base:  # edited: the user's version travels along
        return old_base, old_yours
    return None, None  # untouched: generated afresh under the new name


def _user_code(
    planned: PlannedFile,
    base: str | None,
    yours: str,
    on_disk: str | None,
    move: Move | None,
    renames: CodeRenames,
) -> FileChange:
    """A file that holds the user's code (a hooks module, or an edited generated file):
    renamed by syntax before the merge, then searched for what still says the old names."""
    owned = planned.ownership == "create_once"
    renamed: Renamed = ()
    unparsed: tuple[Mention, ...] = ()
    if owned or yours != base:
        base, yours, renamed, unparsed = _renamed(planned.path, base, yours, renames, owned=owned)
    if owned and move is not None and base is not None and not unparsed:
        outcome = _carried_along(base, yours, planned.content)
    else:
        outcome = _decide(planned.ownership)(base, yours, planned.content)
    found: list[Mention] = []
    users_lines = owned or outcome.content != planned.content
    if outcome.content is not None and users_lines:
        found = mentions_in(planned.path, outcome.content, planned.content, renames)
    change = _change(planned.path, outcome, on_disk, move, renamed)
    return replace(change, mentions=(*unparsed, *found))


def _renamed(
    path: str, base: str | None, yours: str, renames: CodeRenames, *, owned: bool
) -> tuple[str | None, str, Renamed, tuple[Mention, ...]]:
    """Base and yours with the renames applied, what that renamed in the user's lines, and
    a mention of the file when it could not be parsed.

    In a generated file the user's lines are what is not the base's; a hooks module is
    the user's throughout.
    """
    new_yours = rename_code(yours, renames)
    if new_yours.error is not None:  # not Python (conflict markers?): leave both alone
        return base, yours, (), (Mention(path, 0, new_yours.error),)
    new_base = rename_code(base, renames) if base is not None else None
    mine = users_renames(new_yours, None if owned else new_base)
    return (new_base.text if new_base else None), new_yours.text, mine, ()


def _carried_along(base: str, yours: str, generated: str) -> FileOutcome:
    """A moved hooks module: the generator's own lines (its docstring) follow the new name
    where the user left them alone; anything the merge cannot place stays the user's."""
    merged = merge_file(base, yours, generated)
    if merged.action == "conflict" or merged.content is None:
        return FileOutcome("update", yours)
    return FileOutcome("update", merged.content)


def _change(
    path: str,
    outcome: FileOutcome,
    on_disk: str | None,
    move: Move | None,
    renamed: Renamed = (),
) -> FileChange:
    moved_from = move.old_path if move is not None else None
    changed = outcome.content != on_disk
    action = outcome.action
    if changed and action in ("identical", "keep"):
        action = "update"  # a user's file that follows a rename is not left as it was
    details = [outcome.detail or (f"moved from {moved_from}" if moved_from else "")]
    if renamed:
        details.append(describe(renamed, counts_only=True))
    return FileChange(
        path=path,
        action=action,
        content=outcome.content,
        changed=changed,
        conflicts=outcome.conflicts,
        detail="; ".join(part for part in details if part),
        moved_from=moved_from,
        renamed=renamed,
    )
