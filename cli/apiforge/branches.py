"""Merging two branches' versions of the generated files into what the merged spec renders.

During a git merge each side has its own baseline (what apiforge generated on that
branch) and its own files (with that branch's user edits). The merged spec renders a
new file; each side's edits, taken relative to its own baseline, are merged into it
one side after the other — the same three-way merge regenerate always does, twice.
Edits the user made after `git merge` (to files git merged cleanly) are merged in last.
Pure: contents in, the update plan out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .merge import CONFLICT_MARKER, GENERATED, YOURS, Action, FileOutcome, create_once, merge_file
from .plan import FilePlan
from .update import FileChange, UpdatePlan

THEIRS_LABEL = "theirs (MERGE_HEAD): that branch's edits"
OURS_LABEL = "ours (HEAD) and the merged spec"
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
    merge_base: Mapping[str, str | None],
    exclude: frozenset[str] = frozenset(),
) -> UpdatePlan:
    """Every generated path's outcome; `exclude` are paths decided elsewhere (migrations).

    `merge_base` holds the files as they were where the branches forked.
    """
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
        if not first.conflicts:  # else the markers of both merges would share labels
            second = _relabelled(second)
        second = _with_edits_since_git_merge(
            second,
            merged_by_git=_clean_merge(
                merge_base.get(path), ours.files.get(path), theirs.files.get(path)
            ),
            on_disk=disk.get(path),
        )
        change = _change(path, first, second, disk.get(path))
        changes.append(change)
        if change.action == "remove":
            removals.append(path)
    return UpdatePlan(tuple(changes), tuple(removals))


def _relabelled(outcome: FileOutcome) -> FileOutcome:
    """Conflict markers of the second merge name the branches, not "yours" and "generated"."""
    if not outcome.conflicts or outcome.content is None:
        return outcome
    content = outcome.content.replace(f"<<<<<<< {YOURS}\n", f"<<<<<<< {THEIRS_LABEL}\n")
    content = content.replace(f">>>>>>> {GENERATED}\n", f">>>>>>> {OURS_LABEL}\n")
    return FileOutcome(outcome.action, content, outcome.conflicts, outcome.detail)


def _with_edits_since_git_merge(
    outcome: FileOutcome, *, merged_by_git: str | None, on_disk: str | None
) -> FileOutcome:
    """Carry over what the user changed in a file after git merged it cleanly."""
    untouched = on_disk is None or on_disk == merged_by_git
    if merged_by_git is None or untouched or outcome.content is None or outcome.conflicts:
        return outcome
    if CONFLICT_MARKER.search(on_disk or ""):
        return outcome  # git conflicted there after all: its markers are not an edit
    carried = merge_file(merged_by_git, on_disk, outcome.content)
    return FileOutcome(carried.action, carried.content, carried.conflicts, carried.detail)


def _clean_merge(base: str | None, ours: str | None, theirs: str | None) -> str | None:
    """What git's merge wrote for a file it could merge without conflicts, else None."""
    if ours is None or theirs is None:
        return None
    if ours == theirs or theirs == base:
        return ours
    if base is None:
        return None
    if ours == base:
        return theirs
    import merge3

    merger = merge3.Merge3(
        base.splitlines(keepends=True),
        ours.splitlines(keepends=True),
        theirs.splitlines(keepends=True),
    )
    lines: list[str] = []
    for kind, *sides in merger.merge_groups():
        if kind == "conflict":
            return None
        lines.extend(sides[0])
    return "".join(lines)


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
