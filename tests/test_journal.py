"""The write journal: a write survives a kill at any instant (issue 8 item 12).

Every test ends the same way: after the next command (`writer.recover`), the project is
exactly the old one or exactly the new one, its `.apiforge/` record loads, and no staging
is left anywhere.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from apiforge import state, writer
from apiforge.errors import Interrupted, UserError
from apiforge.plan import FilePlan, PlannedFile

CLI_DIR = Path(__file__).resolve().parents[1] / "cli"
SPEC = "apiforge: 1\nservice:\n  name: shop\n"


def plan_of(files: dict[str, str]) -> FilePlan:
    return {path: PlannedFile(path, text) for path, text in files.items()}


OLD_FILES = {
    "src/shop/models/item.py": "class Item: ...\n",
    "src/shop/routers/item.py": "ROUTES = ['item']\n",
    "src/shop/models/gone.py": "class Gone: ...\n",
}
NEW_FILES = {
    "src/shop/models/item.py": "class Item:\n    title: str\n",
    "src/shop/routers/item.py": "ROUTES = ['item', 'tag']\n",
    "src/shop/deep/new/module.py": "NEW = True\n",
}


def project_tree(files: dict[str, str], spec: str) -> dict[str, str]:
    return {"apiforge.yaml": spec, **files, **state.state_files(spec, plan_of(files))}


OLD = project_tree(OLD_FILES, SPEC)
NEW = project_tree(NEW_FILES, SPEC + "# tags added\n")
WRITES = {path: text for path, text in NEW.items() if OLD.get(path) != text}
REMOVALS = sorted(set(OLD) - set(NEW))


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(root)): b"<dir>" if path.is_dir() else path.read_bytes()
        for path in sorted(root.rglob("*"))
    }


def make_tree(root: Path, files: dict[str, str]) -> dict[str, bytes]:
    if root.exists():
        shutil.rmtree(root)
    for relative, content in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes(content.encode())
    return snapshot(root)


@pytest.fixture
def trees(tmp_path: Path) -> tuple[Path, dict[str, bytes], dict[str, bytes]]:
    """The project root (holding the old tree), and the snapshots of the old and new trees."""
    new = make_tree(tmp_path / "expected", NEW)
    shutil.rmtree(tmp_path / "expected")
    root = tmp_path / "project"
    old = make_tree(root, OLD)
    return root, old, new


def assert_whole(root: Path, old: dict[str, bytes], new: dict[str, bytes]) -> str:
    """The project is exactly old or exactly new, its record loads, nothing is left over."""
    now = snapshot(root)
    assert now in (old, new), sorted(set(now.items()) ^ set(old.items()))
    state.load_state(root)
    assert not (root / writer.TRANSACTION_DIR).exists()
    assert os.listdir(root.parent) == ["project"]
    return "new" if now == new else "old"


# --- a crash at every step ----------------------------------------------------------------

CRASHED = 86  # the exit status of a child that crashed where it was told to
STEPS = ("replace", "unlink", "rmdir", "mkdir", "chmod")  # every call that changes the disk


def run_crashing(root: Path, crash_at: int) -> int:
    """Write in a forked child that dies (`os._exit`, as abrupt as SIGKILL: no handler, no
    `finally`) at its `crash_at`th step; return its exit status (0: it finished first)."""
    child = os.fork()
    if child == 0:  # pragma: no cover - the child never returns into pytest
        try:
            calls = {"count": 0}
            real_mkdir = os.mkdir

            def crashing(function: Callable[..., object]) -> Callable[..., object]:
                def step(*args: object, **kwargs: object) -> object:
                    if function is not real_mkdir or not os.path.exists(args[0]):  # type: ignore[arg-type]
                        calls["count"] += 1  # (a mkdir of a folder that exists changes nothing)
                    if calls["count"] == crash_at:
                        os._exit(CRASHED)
                    return function(*args, **kwargs)

                return step

            for name in STEPS:
                setattr(os, name, crashing(getattr(os, name)))
            shutil.copy2 = crashing(shutil.copy2)  # type: ignore[assignment]
            os.fsync = lambda descriptor: None  # durability is for power loss, not for kills
            writer.write_files(root, WRITES, remove=REMOVALS)
            os._exit(0)
        except BaseException:
            import traceback

            traceback.print_exc()
            os._exit(1)
    _, status = os.waitpid(child, 0)
    return os.waitstatus_to_exitcode(status)


def test_a_crash_at_any_step_is_recovered_to_exactly_old_or_new(
    trees: tuple[Path, dict[str, bytes], dict[str, bytes]],
) -> None:
    root, old, new = trees
    outcomes: list[str] = []
    crash_at = 1
    while True:
        status = run_crashing(root, crash_at)
        assert status in (0, CRASHED)
        recovery = writer.recover(root)  # what the next command does first
        outcomes.append(assert_whole(root, old, new))
        if status == 0:
            assert recovery is None and outcomes[-1] == "new"
            break
        if recovery is not None and recovery.outcome == "completed":
            assert outcomes[-1] == "new"
        make_tree(root, OLD)
        crash_at += 1
    # The sweep really crossed the commit: early crashes roll back, late ones complete.
    assert outcomes[0] == "old" and "new" in outcomes[:-1]
    assert crash_at > 2 * len(WRITES)


def failing_at(failing: int, error: BaseException) -> Callable[..., Callable[..., None]]:
    """A wrapper for os functions: together, their `failing`th call raises `error`."""
    calls = {"count": 0}

    def counted(function: Callable[..., None]) -> Callable[..., None]:
        def step(*args: object) -> None:
            calls["count"] += 1
            if calls["count"] == failing:
                raise error.with_traceback(None)
            function(*args)

        return step

    return counted


@pytest.mark.parametrize("error", [OSError(28, "No space left on device"), KeyboardInterrupt()])
def test_an_error_at_any_step_changes_nothing_and_leaves_nothing(
    trees: tuple[Path, dict[str, bytes], dict[str, bytes]],
    monkeypatch: pytest.MonkeyPatch,
    error: BaseException,
) -> None:
    root, old, new = trees
    for failing in range(1, 200):
        real_replace, real_fsync = os.replace, os.fsync
        counted = failing_at(failing, error)

        monkeypatch.setattr(os, "replace", counted(real_replace))
        # Each fsync may fail (EIO, ENOSPC); none needs the disk here: errors, not power loss.
        monkeypatch.setattr(os, "fsync", counted(lambda descriptor: None))
        try:
            writer.write_files(root, WRITES, remove=REMOVALS)
        except UserError as raised:
            assert "nothing was changed" in str(raised)
            assert assert_whole(root, old, new) == "old"
            continue
        except KeyboardInterrupt:  # not a signal (those wait): an error from deep inside
            monkeypatch.setattr(os, "replace", real_replace)
            writer.recover(root)  # once committed, the next command completes the write
            assert_whole(root, old, new)
            make_tree(root, OLD)
            continue
        finally:
            monkeypatch.setattr(os, "replace", real_replace)
            monkeypatch.setattr(os, "fsync", real_fsync)
        assert assert_whole(root, old, new) == "new"  # the error came after the last step
        break
    else:
        pytest.fail("the write never completed")


def committed_but_not_applied(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The state a kill right after the commit leaves: a journal, nothing applied yet."""
    with monkeypatch.context() as patched:
        patched.setattr(writer, "_apply", lambda *args: None)
        writer.write_files(root, WRITES, remove=REMOVALS)
    assert (root / writer.TRANSACTION_DIR / writer.JOURNAL).is_file()


def test_a_journal_written_by_hand_is_a_clear_error(
    trees: tuple[Path, dict[str, bytes], dict[str, bytes]], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = trees[0]
    committed_but_not_applied(root, monkeypatch)
    (root / writer.TRANSACTION_DIR / writer.JOURNAL).write_text('{"state": "committed"}')

    with pytest.raises(UserError, match="journal.json cannot be read .*restore it from version"):
        writer.recover(root)


def test_a_signal_during_recovery_waits_for_it_and_stops_after(
    trees: tuple[Path, dict[str, bytes], dict[str, bytes]], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, old, new = trees
    committed_but_not_applied(root, monkeypatch)
    signal_on_step(monkeypatch, "replace", 1, signal.SIGINT)

    with pytest.raises(Interrupted, match="completed the write .* first; nothing else was done"):
        writer.recover(root)

    assert assert_whole(root, old, new) == "new"


# --- signals ------------------------------------------------------------------------------


def signal_on_step(monkeypatch: pytest.MonkeyPatch, name: str, number: int, signum: int) -> None:
    """Send ourselves `signum` on the `number`th call of os.`name`."""
    real = getattr(os, name)
    calls = {"count": 0}

    def step(*args: object) -> object:
        calls["count"] += 1
        if calls["count"] == number:
            os.kill(os.getpid(), signum)
        return real(*args)

    monkeypatch.setattr(os, name, step)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_while_staging_writes_nothing_and_says_so(
    trees: tuple[Path, dict[str, bytes], dict[str, bytes]],
    monkeypatch: pytest.MonkeyPatch,
    signum: int,
) -> None:
    root, old, new = trees
    signal_on_step(monkeypatch, "fsync", 3, signum)

    unchanged = "nothing was written; the project is unchanged"
    with pytest.raises(Interrupted, match=unchanged) as caught:
        writer.write_files(root, WRITES, remove=REMOVALS)

    assert caught.value.exit_code == 128 + signum
    assert assert_whole(root, old, new) == "old"


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_after_the_commit_completes_the_write_and_says_so(
    trees: tuple[Path, dict[str, bytes], dict[str, bytes]],
    monkeypatch: pytest.MonkeyPatch,
    signum: int,
) -> None:
    root, old, new = trees
    signal_on_step(monkeypatch, "replace", 2, signum)  # 1: the journal, 2: the first file

    with pytest.raises(Interrupted, match=f"all {len(WRITES) + len(REMOVALS)} changes are in"):
        writer.write_files(root, WRITES, remove=REMOVALS)

    assert assert_whole(root, old, new) == "new"


def test_the_default_signal_handlers_come_back(
    trees: tuple[Path, dict[str, bytes], dict[str, bytes]],
) -> None:
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    writer.write_files(trees[0], WRITES, remove=REMOVALS)
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before


# --- an unwritable folder ------------------------------------------------------------------


def test_an_unwritable_folder_changes_nothing_and_says_so(
    trees: tuple[Path, dict[str, bytes], dict[str, bytes]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rename into routers/ is refused (as a read-only folder refuses it)."""
    root, old, new = trees
    real_replace = os.replace

    def replace(source: str | Path, target: str | Path) -> None:
        if Path(target).parent == root / "src/shop/routers":
            raise PermissionError(13, "Permission denied")
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", replace)

    with pytest.raises(UserError) as caught:
        writer.write_files(root, WRITES, remove=REMOVALS)

    assert str(caught.value) == (
        f"could not write {root / 'src/shop/routers/item.py'}: Permission denied; "
        "nothing was changed"
    )
    assert assert_whole(root, old, new) == "old"


UNPRIVILEGED_DRIVER = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    sys.path.insert(0, sys.argv[1])
    from apiforge import writer
    from apiforge.errors import UserError

    root, files, remove = json.loads(sys.argv[2])
    try:
        writer.write_files(Path(root), files, remove=remove)
    except UserError as error:
        print(error)
        sys.exit(2)
    """
)


def test_a_really_read_only_folder_changes_nothing_and_leaves_nothing(tmp_path: Path) -> None:
    """A real read-only folder (as root, the write runs as `nobody` through setpriv)."""
    as_root = os.geteuid() == 0
    if as_root and shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: permissions cannot be tested")
    base = tmp_path / "shared"
    base.mkdir()
    new = make_tree(base / "expected", NEW)
    shutil.rmtree(base / "expected")
    root = base / "project"
    old = make_tree(root, OLD)
    prefix: list[str] = []
    if as_root:
        for path in [tmp_path.parent, tmp_path]:
            path.chmod(path.stat().st_mode | 0o711)  # traversable by nobody
        for path in [base, *base.rglob("*")]:
            os.chown(path, 65534, 65534)
        prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    (root / "src/shop/routers").chmod(0o555)
    try:
        run = subprocess.run(
            [*prefix, sys.executable, "-c", UNPRIVILEGED_DRIVER, str(CLI_DIR),
             json.dumps([str(root), WRITES, REMOVALS])],
            capture_output=True, text=True, check=False, timeout=60,
        )  # fmt: skip
    finally:
        (root / "src/shop/routers").chmod(0o755)
    assert run.returncode == 2, run.stderr
    assert "Permission denied; nothing was changed" in run.stdout
    assert "could not be restored" not in run.stdout
    assert snapshot(root) == old != new
    assert sorted(os.listdir(base)) == ["project"]


# --- the real command, killed at random instants --------------------------------------------

KILL_SPEC = """\
apiforge: 1
service:
  name: shop
resources:
  author:
    fields:
      name: {type: str, max_length: 100}
  book:
    fields:
      title: {type: str, max_length: 200}
      author: {type: ref, to: author}
  review:
    fields:
      body: text
      book: {type: ref, to: book}
"""
GROWN_SPEC = KILL_SPEC.replace(
    "      name: {type: str, max_length: 100}\n",
    "      name: {type: str, max_length: 100}\n      bio: {type: text, required: false}\n",
).replace("      body: text\n", "      body: text\n      stars: {type: int, default: 3}\n")
PARALLEL_KILLS = 6  # processes run (and killed) at once
STEP_DELAY = "0.01"  # seconds per write step: a write phase long enough to land kills in


def apiforge_process(project: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(CLI_DIR), writer.TEST_DELAY_VARIABLE: STEP_DELAY}
    return subprocess.Popen(
        [sys.executable, "-m", "apiforge", *args, "--project", str(project)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def comparable(tree: dict[str, bytes], old: dict[str, bytes]) -> dict[str, bytes]:
    """`tree` with the revision files a run added reduced to their number: revision ids may
    carry the time they were written, so two runs of one regenerate name them differently."""
    added = {path for path in tree if "migrations/versions/" in path and path not in old}
    kept = {path: content for path, content in tree.items() if path not in added}
    if ".apiforge/state.json" in kept:
        document = json.loads(kept[".apiforge/state.json"])
        document["files"] = [
            record
            for record in document["files"]
            if record["path"] not in {path.removeprefix(f"{state.BASELINE_DIR}/") for path in added}
        ]
        kept[".apiforge/state.json"] = json.dumps(document).encode()
    kept["<added revision files>"] = str(len(added)).encode()
    return kept


def kill_in_the_write_phase(
    process: subprocess.Popen[str], project: Path, signum: int, delay: float
) -> str:
    """Wait for the transaction folder to appear, then `delay` seconds, then send `signum`;
    return what the process wrote on stderr."""
    import time

    while not (project / writer.TRANSACTION_DIR).exists() and process.poll() is None:
        time.sleep(0.001)
    time.sleep(delay)
    if process.poll() is None:
        process.send_signal(signum)
    return process.communicate(timeout=300)[1]


def test_regenerate_killed_at_random_instants_leaves_old_or_new_and_no_litter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGKILL and SIGTERM at random instants of the write phase of `python -m apiforge
    regenerate` (runs in parallel); the next command (`check`) recovers, and the project is
    all old or all new, its record loads, and no staging is left anywhere.
    APIFORGE_KILL_RUNS=24 runs more kills."""
    import random
    import time
    from concurrent.futures import ThreadPoolExecutor

    from typer.testing import CliRunner

    from apiforge import project as projects
    from apiforge.cli import app
    from apiforge.regenerate import regenerate

    (tmp_path / "spec.yaml").write_text(KILL_SPEC)
    template = tmp_path / "template" / "shop"
    projects.new_service("shop", spec_path=tmp_path / "spec.yaml", database=None,
                         directory=template.parent)  # fmt: skip
    (template / "apiforge.yaml").write_text(GROWN_SPEC)
    old = snapshot(template)

    # One uninterrupted run in this process: the new tree, and how long its write lasts.
    reference = tmp_path / "reference" / "shop"
    shutil.copytree(template, reference)
    monkeypatch.setenv(writer.TEST_DELAY_VARIABLE, STEP_DELAY)
    real_write_files, timed = writer.write_files, []

    def write_files(*args: object, **kwargs: object) -> None:
        started = time.monotonic()
        real_write_files(*args, **kwargs)  # type: ignore[arg-type]
        timed.append(time.monotonic() - started)

    monkeypatch.setattr(writer, "write_files", write_files)
    regenerate(reference)
    monkeypatch.undo()
    new = snapshot(reference)
    assert new != old and timed

    runs = int(os.environ.get("APIFORGE_KILL_RUNS", "4"))
    signals = [(signal.SIGKILL, signal.SIGTERM)[number % 2] for number in range(runs)]
    projects_to_kill = []
    for number in range(runs):
        project = tmp_path / f"run{number}" / "shop"
        shutil.copytree(template, project)
        projects_to_kill.append(project)
    processes: list[subprocess.Popen[str]] = []
    stderr: list[str] = []
    for first in range(0, runs, PARALLEL_KILLS):
        batch = slice(first, first + PARALLEL_KILLS)
        started = [apiforge_process(project, "regenerate") for project in projects_to_kill[batch]]
        with ThreadPoolExecutor(max_workers=PARALLEL_KILLS) as pool:
            stderr += pool.map(
                lambda job: kill_in_the_write_phase(*job, random.uniform(0, timed[0])),
                zip(started, projects_to_kill[batch], signals[batch], strict=True),
            )
        processes += started

    seen: dict[str, int] = {}
    for project, process, signum, errors in zip(
        projects_to_kill, processes, signals, stderr, strict=True
    ):
        checked = CliRunner().invoke(app, ["check", "--project", str(project)])
        assert "damaged" not in checked.output, checked.output
        now = comparable(snapshot(project), old)
        outcome = (
            "new" if now == comparable(new, old) else "old" if now == comparable(old, old) else
            "mixed"
        )  # fmt: skip
        assert outcome != "mixed", (signum, errors)
        assert os.listdir(project.parent) == ["shop"]  # no staging beside the project either
        assert not (project / writer.TRANSACTION_DIR).exists()
        if signum == signal.SIGTERM and process.returncode == 128 + signum:
            said = "nothing was written" if outcome == "old" else "changes are in place"
            assert said in errors, errors
        key = f"{signal.Signals(signum).name}: {outcome} (exit {process.returncode})"
        seen[key] = seen.get(key, 0) + 1
    print(f"write phase {timed[0]:.2f}s; outcomes: {seen}")


# --- what the next command says -------------------------------------------------------------


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    from apiforge import project as projects

    (tmp_path / "spec.yaml").write_text(KILL_SPEC)
    projects.new_service("shop", spec_path=tmp_path / "spec.yaml", database=None,
                         directory=tmp_path / "code")  # fmt: skip
    (tmp_path / "code/shop/apiforge.yaml").write_text(GROWN_SPEC)
    return tmp_path / "code/shop"


def cli(*args: str) -> object:
    from typer.testing import CliRunner

    from apiforge.cli import app

    return CliRunner().invoke(app, list(args))


def test_the_next_command_completes_a_committed_write_and_says_so(
    shop: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from apiforge.regenerate import regenerate

    monkeypatch.setattr(writer, "_apply", lambda *args: None)  # killed right after the commit
    regenerate(shop)
    monkeypatch.undo()
    assert (shop / writer.TRANSACTION_DIR / writer.JOURNAL).is_file()

    result = cli("check", "--project", str(shop))

    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert re.search(
        r"^apiforge: completed the write of an interrupted apiforge command \(\d+ files\)$",
        result.stderr,  # type: ignore[attr-defined]
        re.MULTILINE,
    )
    assert os.listdir(shop.parent) == ["shop"]
    assert not (shop / writer.TRANSACTION_DIR).exists()


def test_the_next_command_throws_away_an_uncommitted_staging_and_says_so(
    shop: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from apiforge.regenerate import regenerate

    before = snapshot(shop)
    monkeypatch.setattr(writer, "_write_journal", lambda *args: None)  # killed before it
    monkeypatch.setattr(writer, "_apply", lambda *args: None)
    regenerate(shop)
    monkeypatch.undo()
    assert snapshot(shop) != before  # the staging is there, the project files as they were

    result = cli("regenerate", "--project", str(shop), "--dry-run")

    assert "(it had written nothing)" in result.stderr  # type: ignore[attr-defined]
    assert snapshot(shop) == before


def test_regenerate_into_an_unwritable_folder_says_nothing_was_changed(
    shop: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = snapshot(shop)
    real_replace = os.replace

    def replace(source: str | Path, target: str | Path) -> None:
        if Path(target).parent == shop / "src/shop/models":  # as a read-only folder refuses
            raise PermissionError(13, "Permission denied")
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", replace)

    result = cli("regenerate", "--project", str(shop))

    assert result.exit_code == 2  # type: ignore[attr-defined]
    assert "Permission denied; nothing was changed" in result.output  # type: ignore[attr-defined]
    assert "restored" not in result.output  # type: ignore[attr-defined]
    assert snapshot(shop) == before
    assert os.listdir(shop.parent) == ["shop"]


# --- new-service ----------------------------------------------------------------------------


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_during_new_service_creates_nothing_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, signum: int
) -> None:
    real_write_bytes = Path.write_bytes

    def write_bytes(path: Path, data: bytes) -> int:
        if path.name == "b.txt":
            os.kill(os.getpid(), signum)
        return real_write_bytes(path, data)

    monkeypatch.setattr(Path, "write_bytes", write_bytes)

    with pytest.raises(Interrupted, match="was not created") as caught:
        writer.create_project(tmp_path / "code" / "shop", {"a.txt": "a", "b.txt": "b", "c": "c"})

    assert caught.value.exit_code == 128 + signum
    assert os.listdir(tmp_path) == []


def test_new_service_sweeps_what_a_killed_one_left_but_not_a_live_ones(tmp_path: Path) -> None:
    killed = tmp_path / f"{writer.STAGING_PREFIX}killed"
    (killed / "project/src").mkdir(parents=True)
    live = tmp_path / f"{writer.STAGING_PREFIX}live"
    (live / "project").mkdir(parents=True)
    foreign = tmp_path / f"{writer.STAGING_PREFIX}foreign"
    (foreign / "backup").mkdir(parents=True)  # not a new-service tree: not ours to remove

    with writer._locked(live):
        writer.create_project(tmp_path / "shop", {"a.txt": "a"})

    assert sorted(os.listdir(tmp_path)) == sorted(["shop", live.name, foreign.name])
