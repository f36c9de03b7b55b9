"""Merging two branches' versions of the generated files into what the merged spec renders.

During a git merge each side has its own baseline (what apiforge generated on that
branch) and its own files (with that branch's user edits). The merged spec renders a
new file; each side's edits, taken relative to its own baseline, are merged into it
one side after the other — the same three-way merge regenerate always does, twice.
Pure: contents in, the update plan out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .merge import Action, FileOutcome, create_once, merge_file
from .plan import FilePlan
from .update import FileChange, UpdatePlan

RESOLVED = "git merge resolved: rendered from the merged spec, both branches' edits kept"


@dataclass(frozen=True)
class Side:
    """One branch of the merge: what apiforge generated there, and its files."""

    baseline: Mapping[str, str]
    files: Mapping[str, str | None]


def plan_branch_merge(
    *,
    generated: FilePlan,
    ours: Side,
    theirs: Side,
    disk: Mapping[str, str | None],
    exclude: frozenset[str] = frozenset(),
) -> UpdatePlan:
    """Every generated path's outcome; `exclude` are paths decided elsewhere (migrations)."""
    paths = (set(generated) | set(ours.baseline) | set(theirs.baseline)) - exclude
    changes: list[FileChange] = []
    removals: list[str] = []
    for path in sorted(paths):
        planned = generated.get(path)
        new = planned.content if planned is not None else None
        once = planned is not None and planned.ownership == "create_once"
        first = (create_once if once else merge_file)(
            ours.baseline.get(path), ours.files.get(path), new
        )
        second = merge_file(theirs.baseline.get(path), theirs.files.get(path), first.content)
        change = _change(path, first, second, disk.get(path))
        changes.append(change)
        if change.action == "remove":
            removals.append(path)
    return UpdatePlan(tuple(changes), tuple(removals))


def _change(path: str, first: FileOutcome, second: FileOutcome, on_disk: str | None) -> FileChange:
    content = second.content
    conflicts = first.conflicts + second.conflicts
    action: Action
    if conflicts:
        action, detail = "conflict", "both branches' edits overlap"
    elif content == on_disk:
        action, detail = "identical", ""
    elif content is None:
        action, detail = "remove", ""
    elif on_disk is None:
        action, detail = "create", ""
    else:
        action, detail = "merge", RESOLVED
    return FileChange(
        path=path,
        action=action,
        content=content,
        changed=content != on_disk,
        conflicts=conflicts,
        detail=detail,
    )
