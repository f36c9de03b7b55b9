"""The migration chain: which revisions exist, how they link, and whether they reach the spec.

Migrations are not ordinary generated files. A database that applied some of them
needs every one to stay exactly as written, so regenerate writes a missing recorded
revision again, and reports (never silently accepts) one that was edited or written
by hand. Pure: it reads the texts it is given, never the disk.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from .render import MIGRATIONS_DIR

# A timestamped id: `20261129143005_3fa9c1`, sorting by time like Rails' migrations.
TIMESTAMPED = re.compile(r"^(\d{14})_[0-9a-f]+$")
_ASSIGNED = r"^{name}(?::[^=]*)?=\s*(.+)$"


@dataclass(frozen=True)
class Revision:
    path: str
    id: str
    parents: tuple[str, ...]


@dataclass(frozen=True)
class MigrationProblem:
    """A revision file the chain cannot be trusted with, as `check` reports it."""

    path: str
    problem: str
    diff: str = ""  # for an edited revision: recorded → on disk


@dataclass(frozen=True)
class Chain:
    """The chain as alembic will see it once regenerate has restored missing revisions."""

    revisions: tuple[Revision, ...]
    heads: tuple[str, ...]  # ids that no revision names as its parent, sorted
    restored: tuple[str, ...] = ()  # recorded paths missing on disk: written again
    edited: tuple[str, ...] = ()  # recorded paths that differ on disk
    unrecorded: tuple[str, ...] = ()  # revision files apiforge did not write
    broken: tuple[str, ...] = field(default=())  # messages: links to nowhere, unreadable files


def is_revision_path(path: str) -> bool:
    return path.startswith(f"{MIGRATIONS_DIR}/") and path.endswith(".py")


def parse(path: str, text: str) -> Revision | None:
    """`revision` and `down_revision` of a module; None when it declares no revision."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return _parse_by_pattern(path, text)
    values: dict[str, object] = {}
    for node in tree.body:
        target, value = _assignment(node)
        if target in ("revision", "down_revision") and value is not None:
            try:
                values[target] = ast.literal_eval(value)
            except ValueError:
                return None
    revision = values.get("revision")
    if not isinstance(revision, str):
        return None
    return Revision(path, revision, _parents(values.get("down_revision")))


def _assignment(node: ast.stmt) -> tuple[str | None, ast.expr | None]:
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return node.target.id, node.value
    if isinstance(node, ast.Assign) and len(node.targets) == 1:
        target = node.targets[0]
        return (target.id if isinstance(target, ast.Name) else None), node.value
    return None, None


def _parents(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, (tuple, list)):
        return tuple(item for item in value if isinstance(item, str))
    return ()


def _parse_by_pattern(path: str, text: str) -> Revision | None:
    """A module that does not compile: still tell which revision it meant to be."""
    revision = re.search(_ASSIGNED.format(name="revision"), text, re.MULTILINE)
    if revision is None:
        return None
    ids = re.findall(r"['\"]([^'\"]+)['\"]", revision.group(1))
    if not ids:
        return None
    down = re.search(_ASSIGNED.format(name="down_revision"), text, re.MULTILINE)
    parents = re.findall(r"['\"]([^'\"]+)['\"]", down.group(1)) if down else []
    return Revision(path, ids[0], tuple(parents))


def analyse(recorded: Mapping[str, str], on_disk: Mapping[str, str]) -> Chain:
    """The chain from the recorded revisions (path → content) and the files on disk."""
    effective = {path: on_disk.get(path, text) for path, text in recorded.items()}
    unrecorded = sorted(path for path in on_disk if path not in recorded)
    effective.update({path: on_disk[path] for path in unrecorded})
    revisions: list[Revision] = []
    broken: list[str] = []
    for path in sorted(effective):
        revision = parse(path, effective[path])
        if revision is None:
            if path in recorded or "revision" in effective[path]:
                broken.append(f"{path}: declares no `revision` alembic can read")
            continue
        revisions.append(revision)
    known = {revision.id for revision in revisions}
    for revision in revisions:
        broken += [
            f"{revision.path}: down_revision {parent!r} names no revision in {MIGRATIONS_DIR}/"
            for parent in revision.parents
            if parent not in known
        ]
    broken += _duplicates(revisions)
    parents = {parent for revision in revisions for parent in revision.parents}
    return Chain(
        revisions=tuple(revisions),
        heads=tuple(sorted(known - parents)),
        restored=tuple(sorted(path for path in recorded if path not in on_disk)),
        edited=tuple(
            sorted(p for p, text in recorded.items() if p in on_disk and on_disk[p] != text)
        ),
        unrecorded=tuple(p for p in unrecorded if any(r.path == p for r in revisions)),
        broken=tuple(broken),
    )


def _duplicates(revisions: Iterable[Revision]) -> list[str]:
    seen: dict[str, str] = {}
    problems = []
    for revision in revisions:
        if revision.id in seen:
            problems.append(
                f"{revision.path}: revision {revision.id!r} is also declared by "
                f"{seen[revision.id]}; give one of them another id"
            )
        seen.setdefault(revision.id, revision.path)
    return problems


def creation_time(now: datetime, existing: Iterable[str]) -> datetime:
    """`now`, or a second after the newest timestamped revision when the clock is behind it.

    Filenames then sort in chain order even across machines with skewed clocks.
    """
    now = now.astimezone(UTC).replace(microsecond=0)
    stamps = [match.group(1) for match in map(TIMESTAMPED.match, existing) if match]
    if not stamps:
        return now
    latest = datetime.strptime(max(stamps), "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    return max(now, latest + timedelta(seconds=1))
