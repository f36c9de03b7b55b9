"""The update plan: what regenerate does to every file, decided before anything is written.

Pure: it takes the new file plan, the recorded baselines and what is on disk, and
returns each file's outcome. `regenerate` writes the outcome, `check` and
`--dry-run` only report it — so all three agree by construction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from .merge import Action, FileOutcome, create_once, merge_file
from .plan import FilePlan, Ownership


@dataclass(frozen=True)
class Move:
    """A file that now lives at another path (a renamed resource): its history travels along."""

    old_path: str
    rewrite: Callable[[str], str] | None = None  # applied to a user-owned file's content


@dataclass(frozen=True)
class FileChange:
    path: str
    action: Action
    content: str | None  # what the path must hold afterwards (None: absent)
    changed: bool  # whether the disk changes
    conflicts: int = 0
    detail: str = ""
    moved_from: str | None = None


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
    def is_noop(self) -> bool:
        return not self.writes and not self.removals


def plan_update(
    *,
    generated: FilePlan,
    baseline: Mapping[str, str],
    ownership: Mapping[str, Ownership],
    disk: Mapping[str, str | None],
    moves: Mapping[str, Move] | None = None,
) -> UpdatePlan:
    """Every file's outcome: generated files, then files that are no longer generated."""
    moves = moves or {}
    changes: list[FileChange] = []
    removals: set[str] = set()
    for path in sorted(generated):
        planned = generated[path]
        move = moves.get(path)
        base, yours = baseline.get(path), disk.get(path)
        if move is not None and yours is None and base is None:
            old_base, old_yours = baseline.get(move.old_path), disk.get(move.old_path)
            if old_yours is not None:
                removals.add(move.old_path)
            if old_yours is None:  # deleted by the user: stays deleted under the new name
                base = old_base
            elif old_yours != old_base:  # edited: the user's version travels along
                base, yours = _carried(move, old_base, old_yours)
        decide = create_once if planned.ownership == "create_once" else merge_file
        outcome = decide(base, yours, planned.content)
        changes.append(_change(path, outcome, disk.get(path), move))
    moved_away = {move.old_path for move in moves.values()}
    for path in sorted(set(baseline) - set(generated) - moved_away):
        outcome = (create_once if ownership.get(path) == "create_once" else merge_file)(
            baseline[path], disk.get(path), None
        )
        changes.append(_change(path, outcome, disk.get(path), None))
        if outcome.action == "remove":
            removals.add(path)
    return UpdatePlan(tuple(changes), tuple(sorted(removals)))


def _carried(move: Move, base: str | None, yours: str | None) -> tuple[str | None, str | None]:
    if move.rewrite is None:
        return base, yours
    return (
        move.rewrite(base) if base is not None else None,
        move.rewrite(yours) if yours is not None else None,
    )


def _change(
    path: str, outcome: FileOutcome, on_disk: str | None, move: Move | None
) -> FileChange:
    moved_from = move.old_path if move is not None else None
    changed = outcome.content != on_disk
    return FileChange(
        path=path,
        action=outcome.action,
        content=outcome.content,
        changed=changed,
        conflicts=outcome.conflicts,
        detail=outcome.detail or (f"moved from {moved_from}" if moved_from else ""),
        moved_from=moved_from,
    )
