"""Atomic writes: stage everything first, then move into place, or change nothing at all.

Only this module and the command layer touch the project on disk. Staging happens in a
temporary folder next to the project (same filesystem, so moves are `rename`s) rather
than inside it, so an interrupted run never leaves litter in the user's tree.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath

from .errors import UserError

STAGING_PREFIX = ".apiforge-staging-"


def check_relative_path(path: str) -> PurePosixPath:
    """A project path must be relative and stay inside the project root."""
    pure = PurePosixPath(path)
    windows = PureWindowsPath(path)
    if (
        not path
        or "\0" in path
        or pure.is_absolute()
        or windows.is_absolute()
        or windows.drive
        or ".." in pure.parts
        or ".." in windows.parts
        or pure == PurePosixPath(".")
    ):
        raise UserError(f"refusing to write {path!r}: it is not a path inside the project")
    return pure


def write_files(root: Path, files: Mapping[str, str], *, remove: Iterable[str] = ()) -> None:
    """Write `files` (path → content) under `root` and delete `remove`, all or nothing.

    Every file is staged first; only then are they moved into place, keeping a backup
    of each replaced or removed file until the end, so a failure midway restores
    every file exactly as it was.
    """
    targets = {path: check_relative_path(path) for path in files}
    removals = [check_relative_path(path) for path in sorted(set(remove))]
    clashing = sorted(set(files) & set(remove))
    if clashing:
        raise UserError(f"cannot both write and remove {', '.join(clashing)}")
    journal = _Journal(Path(_make_staging_dir(root)))
    try:
        for path, relative in targets.items():
            _write_text(journal.staging / "new" / relative, files[path])
    except OSError as error:
        shutil.rmtree(journal.staging, ignore_errors=True)
        raise UserError(f"could not stage files for {root}: {_describe(error)}") from error
    try:
        _commit(root, journal, sorted(targets.values()), removals)
    finally:
        if not journal.keep_backups:
            shutil.rmtree(journal.staging, ignore_errors=True)


def create_project(target: Path, files: Mapping[str, str]) -> None:
    """Create `target` holding exactly `files`; on failure nothing is left behind.

    The tree is built in a sibling temporary folder and renamed to `target` at the end.
    An existing empty folder is fine (it is replaced); a non-empty one is refused.
    """
    _refuse_non_empty(target)
    relative_paths = {path: check_relative_path(path) for path in files}
    created_parents = _make_parents(target.parent)
    container: Path | None = None
    try:
        container = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=target.parent))
        tree = container / "project"  # a plain mkdir, so the project gets normal permissions
        tree.mkdir()
        for path, relative in relative_paths.items():
            _write_text(tree / relative, files[path])
        _move_tree_into_place(tree, target)
    except BaseException as error:
        if container is not None:
            shutil.rmtree(container, ignore_errors=True)
        _remove_empty_dirs(created_parents)
        if isinstance(error, OSError):
            raise UserError(f"could not create {target}: {_describe(error)}") from error
        raise
    shutil.rmtree(container, ignore_errors=True)


def _refuse_non_empty(target: Path) -> None:
    if target.is_dir():
        if any(target.iterdir()):
            raise UserError(
                f"{target} already exists and is not empty; choose another name or --dir"
            )
    elif target.exists() or target.is_symlink():
        raise UserError(f"{target} already exists and is not a folder")


def _make_parents(folder: Path) -> list[Path]:
    """Create `folder` and its missing ancestors; return the ones created, deepest first."""
    missing: list[Path] = []
    current = folder.absolute()
    while not current.exists():
        missing.append(current)
        current = current.parent
    try:
        for path in reversed(missing):
            path.mkdir()
    except OSError as error:
        _remove_empty_dirs(missing)
        raise UserError(f"could not create {folder}: {_describe(error)}") from error
    return missing


def _move_tree_into_place(tree: Path, target: Path) -> None:
    if not target.is_dir():
        os.rename(tree, target)
        return
    # An existing empty folder: keep its permissions, then swap it for the built tree.
    os.chmod(tree, stat.S_IMODE(target.stat().st_mode))
    target.rmdir()
    try:
        os.rename(tree, target)
    except OSError:
        target.mkdir(exist_ok=True)  # put the user's empty folder back
        raise


@dataclass
class _Journal:
    """What the commit phase has done so far, so it can be undone in reverse."""

    staging: Path
    keep_backups: bool = False  # set when a rollback failed: the backups are the user's data
    done: list[tuple[Path, Path | None]] = field(default_factory=list)  # (target, backup)
    created_dirs: list[Path] = field(default_factory=list)

    def backup(self, target: Path, relative: PurePosixPath) -> Path | None:
        if not target.exists():
            return None
        if target.is_dir() and not target.is_symlink():
            raise IsADirectoryError(f"{target} is a folder, not a file")
        saved = self.staging / "backup" / relative
        saved.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(target, saved, follow_symlinks=False)
        return saved


def _commit(
    root: Path, journal: _Journal, writes: list[PurePosixPath], removals: list[PurePosixPath]
) -> None:
    current = ""
    try:
        for relative in writes:
            current = str(relative)
            _replace_one(root, relative, journal)
        for relative in removals:
            current = str(relative)
            _remove_one(root, relative, journal)
    except BaseException as error:
        leftovers = _rollback(journal)
        if leftovers:
            journal.keep_backups = True
            raise UserError(
                f"writing {current} failed ({_describe(error)}) and these files could not "
                f"be restored: {', '.join(leftovers)}; their previous content is in "
                f"{journal.staging / 'backup'}"
            ) from error
        if isinstance(error, OSError):
            raise UserError(
                f"could not write {root / current}: {_describe(error)}; nothing was changed"
            ) from error
        raise


def _replace_one(root: Path, relative: PurePosixPath, journal: _Journal) -> None:
    target = root / relative
    journal.created_dirs.extend(_missing_dirs(target.parent))
    target.parent.mkdir(parents=True, exist_ok=True)
    backup = journal.backup(target, relative)
    staged = journal.staging / "new" / relative
    if backup is not None:
        # A regenerated file keeps the permissions the user gave it (an executable script).
        os.chmod(staged, stat.S_IMODE(os.lstat(backup).st_mode))
    journal.done.append((target, backup))  # recorded first: a half-done replace is undone too
    os.replace(staged, target)


def _remove_one(root: Path, relative: PurePosixPath, journal: _Journal) -> None:
    target = root / relative
    backup = journal.backup(target, relative)
    if backup is None:
        return  # already gone: nothing to remove, nothing to restore
    journal.done.append((target, backup))
    target.unlink()


def _rollback(journal: _Journal) -> list[str]:
    """Undo the commit in reverse order; return the files that could not be restored."""
    failed: list[str] = []
    for target, backup in reversed(journal.done):
        try:
            if backup is None:
                target.unlink(missing_ok=True)
            else:
                os.replace(backup, target)
        except OSError:
            failed.append(str(target))
    _remove_empty_dirs(list(reversed(journal.created_dirs)))
    return failed


def _missing_dirs(folder: Path) -> list[Path]:
    """Ancestors of `folder` (itself included) that do not exist yet, outermost first."""
    missing: list[Path] = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    return list(reversed(missing))


def _remove_empty_dirs(folders: list[Path]) -> None:
    """Remove folders we created (deepest first), leaving any that gained content."""
    for folder in sorted(set(folders), key=lambda path: len(path.parts), reverse=True):
        with contextlib.suppress(OSError):  # not empty (or gone): leave it
            folder.rmdir()


def _make_staging_dir(root: Path) -> str:
    """A staging folder beside `root` when that is the same filesystem, else inside it."""
    parent = root.absolute().parent
    try:
        if parent.stat().st_dev == root.stat().st_dev:
            return tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=parent)
    except OSError:
        pass  # parent not readable or writable (a read-only mount above a volume, say)
    try:
        return tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=root)
    except OSError as error:
        raise UserError(f"cannot write to {root}: {_describe(error)}") from error


def _write_text(path: Path, content: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode("utf-8"))  # bytes: no newline translation on any OS


def _describe(error: BaseException) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error) or type(error).__name__
