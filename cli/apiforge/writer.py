"""Atomic writes that survive a kill at any instant: a journal, as git and databases keep.

A write is one transaction in `PROJECT/.apiforge-transaction/`:

1. prepare: every new file is staged (and fsynced) in `new/`, and every file it replaces
   or removes is copied to `backup/`; the project itself is not touched yet;
2. commit: `journal.json` (every operation, with the sha256 of the old and new content) is
   fsynced under a temporary name and renamed into place — the point of no return;
3. apply: staged files are renamed over their targets, removed files unlinked;
4. finish: the journal is deleted, then the transaction folder.

Killed before 2, the next command throws the staging away (the project never changed);
killed after 2, it completes the write (roll forward). A write that fails midway (a folder
that refuses the rename) marks the journal `rolling-back` and restores the backups, so a
kill during that is finished the same way. `recover` does that and is idempotent: every
step compares content before it acts. SIGINT and SIGTERM abort a write before the commit
(nothing written) and wait for it after (everything written); either way the error says so.

Only this module and the command layer touch the project on disk.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import stat
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath
from types import FrameType
from typing import Literal

from .errors import Interrupted, UserError

STAGING_PREFIX = ".apiforge-staging-"  # new-service builds its tree beside the target
TRANSACTION_DIR = ".apiforge-transaction"
JOURNAL = "journal.json"
JOURNAL_FORMAT = 1
# Test-only: seconds to pause after each step of a write, so tests can kill it mid-way.
TEST_DELAY_VARIABLE = "APIFORGE_TEST_ONLY_WRITE_DELAY"

State = Literal["committed", "rolling-back"]


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
        or pure.parts[0] == TRANSACTION_DIR
    ):
        raise UserError(f"refusing to write {path!r}: it is not a path inside the project")
    return pure


# --- the transaction ------------------------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    path: str
    action: Literal["write", "remove"]
    old: str | None  # sha256 of the content before (None: the file did not exist)
    new: str | None  # sha256 of the content after (None: removed)


@dataclass(frozen=True)
class Journal:
    state: State
    operations: tuple[Operation, ...]
    created_dirs: tuple[str, ...]  # folders the write creates, outermost first

    def to_json(self) -> str:
        document = {
            "format": JOURNAL_FORMAT,
            "state": self.state,
            "operations": [vars(operation) for operation in self.operations],
            "created_dirs": list(self.created_dirs),
        }
        return json.dumps(document, indent=1, sort_keys=True) + "\n"


@dataclass(frozen=True)
class Recovery:
    """What `recover` found and did, in one line for the user."""

    outcome: Literal["completed", "rolled back", "discarded"]
    files: int

    def __str__(self) -> str:
        if self.outcome == "completed":
            return (
                f"completed the write of an interrupted apiforge command "
                f"({self.files} file{'s' if self.files != 1 else ''})"
            )
        if self.outcome == "rolled back":
            return "rolled back the write of an interrupted apiforge command: nothing of it remains"
        return "removed the staging of an interrupted apiforge command (it had written nothing)"


def write_files(root: Path, files: Mapping[str, str], *, remove: Iterable[str] = ()) -> None:
    """Write `files` (path → content) under `root` and delete `remove`, all or nothing.

    All or nothing holds even when the process is killed: see the module docstring.
    """
    targets = {path: check_relative_path(path) for path in files}
    removals = [check_relative_path(path) for path in sorted(set(remove))]
    clashing = sorted(set(files) & set(remove))
    if clashing:
        raise UserError(f"cannot both write and remove {', '.join(clashing)}")
    recover(root)  # a transaction a killed command left behind comes first
    if not targets and not removals:
        return  # nothing to write: a read-only project is fine
    with _signals_handled() as signals:
        transaction = _open_transaction(root)
        with _locked(transaction):
            try:
                journal = _prepare(root, transaction, files, targets, removals)
                signals.defer()  # from here on the write completes, whatever arrives
                _write_journal(transaction, journal)
            except BaseException as error:
                shutil.rmtree(transaction, ignore_errors=True)
                raise _unstaged(root, error) from error
            _apply(root, transaction, journal)
    if signals.received is not None:
        count = len(journal.operations)
        raise Interrupted(
            signals.received,
            f"the write had begun and was completed first: all {count} changes are in place",
        )


def _unstaged(root: Path, error: BaseException) -> BaseException:
    """What to raise when the write stopped before its commit: the project is untouched."""
    if isinstance(error, _Signalled):
        return Interrupted(error.signum, "nothing was written; the project is unchanged")
    if isinstance(error, OSError):
        return UserError(
            f"could not stage the files for {root}: {_describe(error)}; nothing was changed"
        )
    return error


def recover(root: Path) -> Recovery | None:
    """Finish or undo the transaction a killed command left in `root`; None when there is none."""
    transaction = root / TRANSACTION_DIR
    if not os.path.lexists(transaction):
        return None
    with _signals_handled() as signals, _locked(transaction):
        signals.defer()  # recovery is short and idempotent: never stop it halfway
        journal = _read_journal(transaction)
        if journal is None:
            shutil.rmtree(transaction)
            recovery = Recovery("discarded", 0)
        elif journal.state == "committed":
            _apply(root, transaction, journal)
            recovery = Recovery("completed", len(journal.operations))
        else:
            _roll_back(root, transaction, journal, failed_at=None)
            recovery = Recovery("rolled back", len(journal.operations))
    if signals.received is not None:
        raise Interrupted(signals.received, f"{recovery} first; nothing else was done")
    return recovery


def _open_transaction(root: Path) -> Path:
    transaction = root / TRANSACTION_DIR
    try:
        transaction.mkdir()
    except FileExistsError:
        raise UserError(
            f"another apiforge command is writing {root} ({TRANSACTION_DIR} exists); "
            "wait for it to finish"
        ) from None
    except OSError as error:
        raise UserError(
            f"cannot write to {root}: {_describe(error)}; nothing was changed"
        ) from error
    return transaction


def _prepare(
    root: Path,
    transaction: Path,
    files: Mapping[str, str],
    targets: Mapping[str, PurePosixPath],
    removals: list[PurePosixPath],
) -> Journal:
    """Stage every new file and back up every file that changes; the project stays as it is.

    Staged files and backups are named by their operation's number: two flat folders.
    """
    operations: list[Operation] = []
    created: set[str] = set()
    for folder in ("new", "backup"):
        (transaction / folder).mkdir()
    for path, relative in sorted(targets.items()):
        data = files[path].encode("utf-8")  # bytes: no newline translation on any OS
        staged = _staged(transaction, len(operations))
        _write_durably(staged, data)
        old = _back_up(root / relative, _backup(transaction, len(operations)))
        if old is not None:
            # A regenerated file keeps the permissions the user gave it (an executable script).
            os.chmod(staged, stat.S_IMODE((root / relative).stat().st_mode))
        created.update(_missing_dirs(root, relative.parent))
        operations.append(Operation(str(relative), "write", old, _sha256(data)))
        _test_pause()
    for relative in removals:
        old = _back_up(root / relative, _backup(transaction, len(operations)))
        if old is not None:
            operations.append(Operation(str(relative), "remove", old, None))
        _test_pause()
    _fsync_dir(transaction / "new")
    by_depth = sorted(created, key=lambda path: len(PurePosixPath(path).parts))
    return Journal("committed", tuple(operations), tuple(by_depth))


def _staged(transaction: Path, number: int) -> Path:
    return transaction / "new" / str(number)


def _backup(transaction: Path, number: int) -> Path:
    return transaction / "backup" / str(number)


def _back_up(target: Path, saved: Path) -> str | None:
    """Copy the file the write changes to `saved`; return its sha256 (None: no such file)."""
    if not os.path.lexists(target):
        return None
    if target.is_dir() and not target.is_symlink():
        raise IsADirectoryError(21, "it is a folder, not a file", str(target))
    # Not fsynced: a backup serves a rollback in this process; after a power loss the
    # committed journal rolls forward from the (fsynced) staged files instead.
    shutil.copy2(target, saved, follow_symlinks=False)
    return _sha256_of(target)


def _write_journal(transaction: Path, journal: Journal) -> None:
    """Replace the journal atomically and durably: this is what a later recovery trusts."""
    pending = transaction / f"{JOURNAL}.tmp"
    _write_durably(pending, journal.to_json().encode("utf-8"))
    os.replace(pending, transaction / JOURNAL)
    _fsync_dir(transaction)
    _test_pause()


def _read_journal(transaction: Path) -> Journal | None:
    try:
        document = json.loads((transaction / JOURNAL).read_text(encoding="utf-8"))
        return Journal(
            state=document["state"],
            operations=tuple(Operation(**operation) for operation in document["operations"]),
            created_dirs=tuple(document["created_dirs"]),
        )
    except FileNotFoundError:
        return None  # never committed (or already finished): the staging is all there is
    except (OSError, ValueError, KeyError, TypeError) as error:  # written by hand, not by us
        raise UserError(
            f"{transaction / JOURNAL} cannot be read ({error!r}); the project may be half "
            "written: restore it from version control, then delete that folder"
        ) from None


def _apply(root: Path, transaction: Path, journal: Journal) -> None:
    """Roll forward: put every staged file in place; on a failure, roll back instead."""
    current = ""
    try:
        for number, operation in enumerate(journal.operations):
            current = operation.path
            _apply_one(root, _staged(transaction, number), operation)
            _test_pause()
        for folder in {(root / operation.path).parent for operation in journal.operations}:
            current = str(folder.relative_to(root))
            with contextlib.suppress(FileNotFoundError):  # a folder a removal emptied
                _fsync_dir(folder)  # the renames are on disk before the journal goes
    except OSError as error:
        _roll_back(root, transaction, journal, failed_at=(current, error))
    except BaseException:  # a bug, or a signal in a thread we could not guard
        with contextlib.suppress(UserError):
            _roll_back(root, transaction, journal, failed_at=None)
        raise
    _finish(transaction)


def _apply_one(root: Path, staged: Path, operation: Operation) -> None:
    target = root / operation.path
    if operation.action == "remove":
        target.unlink(missing_ok=True)
        return
    if _sha256_of(target) == operation.new:
        return  # done before the kill
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(staged, target)


def _roll_back(
    root: Path, transaction: Path, journal: Journal, *, failed_at: tuple[str, OSError] | None
) -> None:
    """Put back every file the journal changed, then raise what happened (when live)."""
    with contextlib.suppress(OSError):  # not durable then: a recovery would retry forward first
        _write_journal(
            transaction, Journal("rolling-back", journal.operations, journal.created_dirs)
        )
    unrestored: list[str] = []
    for number, operation in reversed(list(enumerate(journal.operations))):
        try:
            _restore_one(root, _backup(transaction, number), operation)
        except OSError:
            unrestored.append(operation.path)
        _test_pause()
    _remove_empty_dirs([root / folder for folder in journal.created_dirs])
    failure = (
        f"could not write {root / failed_at[0]}: {_describe(failed_at[1])}"
        if failed_at
        else "rolling back an interrupted apiforge command failed"
    )
    if unrestored:
        raise UserError(
            f"{failure}, and these files could not be restored yet: {', '.join(unrestored)}; "
            f"their previous content is in {transaction / 'backup'}; the next apiforge "
            "command tries again"
        )
    _finish(transaction)
    if failed_at is not None:
        raise UserError(f"{failure}; nothing was changed") from failed_at[1]


def _restore_one(root: Path, backup: Path, operation: Operation) -> None:
    target = root / operation.path
    current = _sha256_of(target)
    if current == operation.old:
        return  # never changed, or restored before the kill
    if operation.old is None:
        if current == operation.new:
            target.unlink()
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(backup, target)


def _finish(transaction: Path) -> None:
    (transaction / JOURNAL).unlink(missing_ok=True)  # from here on, nothing is pending
    shutil.rmtree(transaction, ignore_errors=True)


# --- signals --------------------------------------------------------------------------------


class _Signalled(BaseException):
    """SIGINT/SIGTERM arrived before the commit: unwind, throwing the staging away."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


class _SignalGuard:
    """Turns SIGINT/SIGTERM into `_Signalled` until `defer()`, then only remembers them."""

    def __init__(self) -> None:
        self.deferring = False
        self.received: int | None = None

    def defer(self) -> None:
        self.deferring = True

    def handle(self, signum: int, frame: FrameType | None) -> None:
        self.received = signum
        if not self.deferring:
            raise _Signalled(signum)


@contextlib.contextmanager
def _signals_handled() -> Iterator[_SignalGuard]:
    guard = _SignalGuard()
    if threading.current_thread() is not threading.main_thread():
        yield guard  # only the main thread may set handlers (a library caller's thread)
        return
    previous = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    for number in previous:
        signal.signal(number, guard.handle)
    try:
        yield guard
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


# --- durable file operations ----------------------------------------------------------------


def _write_durably(path: Path, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _fsync_dir(folder: Path) -> None:
    """Make renames and new entries in `folder` durable (a no-op where folders cannot be)."""
    if not hasattr(os, "O_DIRECTORY"):
        return
    descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


@contextlib.contextmanager
def _locked(transaction: Path) -> Iterator[None]:
    """Hold the transaction for this process, so a concurrent command never recovers it."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no advisory locks on folders
        yield
        return
    descriptor = os.open(transaction, os.O_RDONLY)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise UserError(
                f"another apiforge command is writing {transaction.parent}; wait for it to finish"
            ) from None
        yield  # a killed process releases it with its descriptors
    finally:
        os.close(descriptor)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _sha256_of(path: Path) -> str | None:
    try:
        return _sha256(path.read_bytes())
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None


def _missing_dirs(root: Path, relative: PurePosixPath) -> list[str]:
    """Ancestors of `relative` (itself included) that do not exist under `root` yet."""
    missing: list[str] = []
    while relative != PurePosixPath(".") and not (root / relative).exists():
        missing.append(str(relative))
        relative = relative.parent
    return missing


def _test_pause() -> None:
    delay = os.environ.get(TEST_DELAY_VARIABLE)
    if delay:
        time.sleep(float(delay))


# --- a new project --------------------------------------------------------------------------


def create_project(target: Path, files: Mapping[str, str]) -> None:
    """Create `target` holding exactly `files`; on failure nothing is left behind.

    The tree is built in a sibling temporary folder and renamed to `target` at the end.
    An existing empty folder is fine (it is replaced); a non-empty one is refused.
    """
    _refuse_non_empty(target)
    relative_paths = {path: check_relative_path(path) for path in files}
    _sweep_stale_staging(target.parent)
    with _signals_handled() as signals:
        created_parents = _make_parents(target.parent)
        container: Path | None = None
        try:
            container = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=target.parent))
            with _locked(container):  # held while building: a sweep leaves it alone
                tree = container / "project"  # a plain mkdir: normal permissions
                tree.mkdir()
                for path, relative in relative_paths.items():
                    _write_text(tree / relative, files[path])
                signals.defer()  # one rename: it happens or it does not
                _move_tree_into_place(tree, target)
        except BaseException as error:
            if container is not None:
                shutil.rmtree(container, ignore_errors=True)
            _remove_empty_dirs(created_parents)
            if isinstance(error, _Signalled):
                raise Interrupted(error.signum, f"{target} was not created") from None
            if isinstance(error, OSError):
                raise UserError(f"could not create {target}: {_describe(error)}") from error
            raise
        shutil.rmtree(container, ignore_errors=True)
    if signals.received is not None:
        raise Interrupted(signals.received, f"{target} had been created completely first")


def _sweep_stale_staging(parent: Path) -> None:
    """Remove the trees a killed new-service left here: staging no live process holds."""
    for stale in parent.glob(f"{STAGING_PREFIX}*") if parent.is_dir() else []:
        with contextlib.suppress(OSError, UserError):
            if {entry.name for entry in stale.iterdir()} <= {"project"}:  # nothing else's
                with _locked(stale):
                    shutil.rmtree(stale)


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


def _remove_empty_dirs(folders: list[Path]) -> None:
    """Remove folders we created (deepest first), leaving any that gained content."""
    for folder in sorted(set(folders), key=lambda path: len(path.parts), reverse=True):
        with contextlib.suppress(OSError):  # not empty (or gone): leave it
            folder.rmdir()


def _write_text(path: Path, content: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode("utf-8"))  # bytes: no newline translation on any OS


def _describe(error: BaseException) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error) or type(error).__name__
