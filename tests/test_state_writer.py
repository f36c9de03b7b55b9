"""The `.apiforge/` record and the atomic writer: round trips, determinism, all-or-nothing."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

from apiforge import __version__, state, writer
from apiforge.errors import UserError
from apiforge.plan import FilePlan, PlannedFile

SPEC_TEXT = "apiforge: 1\nservice:\n  name: shop  # a comment\n"


def make_plan(*files: PlannedFile) -> FilePlan:
    return {planned.path: planned for planned in files}


PLAN = make_plan(
    PlannedFile("src/shop/main.py", "app = 1\n"),
    PlannedFile("src/shop/hooks/item.py", "# yours\n", "create_once"),
    PlannedFile("README.md", "windows line\r\nno final newline"),
)


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file and folder under root, so a test can assert nothing at all changed."""
    return {
        str(path.relative_to(root)): b"<dir>" if path.is_dir() else path.read_bytes()
        for path in sorted(root.rglob("*"))
    }


def make_tree(root: Path, files: dict[str, str]) -> None:
    for relative, content in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes(content.encode())


# --- state ---------------------------------------------------------------------------------


def test_state_files_lay_out_snapshot_state_and_baselines() -> None:
    files = state.state_files(SPEC_TEXT, PLAN)

    assert sorted(files) == [
        ".apiforge/baseline/README.md",
        ".apiforge/baseline/src/shop/hooks/item.py",
        ".apiforge/baseline/src/shop/main.py",
        ".apiforge/spec.yaml",
        ".apiforge/state.json",
    ]
    assert files[".apiforge/spec.yaml"] == SPEC_TEXT
    assert files[".apiforge/baseline/README.md"] == "windows line\r\nno final newline"
    document = json.loads(files[".apiforge/state.json"])
    assert document["generator_version"] == __version__
    assert document["files"][0] == {
        "path": "README.md",
        "ownership": "managed",
        "sha256": state.sha256_of("windows line\r\nno final newline"),
    }
    assert [record["path"] for record in document["files"]] == sorted(PLAN)


def test_state_json_is_deterministic_sorted_and_ends_with_a_newline() -> None:
    reversed_plan = dict(reversed(list(PLAN.items())))

    first = state.state_files(SPEC_TEXT, PLAN)
    second = state.state_files(SPEC_TEXT, reversed_plan)

    assert first == second
    text = first[".apiforge/state.json"]
    assert text.endswith("}\n")
    document = json.loads(text)
    # One line per file, sorted by path: two branches adding files merge line by line.
    lines = [line.strip().rstrip(",") for line in text.splitlines() if '"path"' in line]
    assert [json.loads(line) for line in lines] == document["files"]
    assert [record["path"] for record in document["files"]] == sorted(PLAN)


def test_two_branches_adding_files_merge_the_state_line_by_line(tmp_path: Path) -> None:
    """What git does with two branches' records: a clean merge that is the union."""
    base = {path: PlannedFile(path, path) for path in ("README.md", "a.py", "m.py", "z.py")}
    ours = {**base, "b.py": PlannedFile("b.py", "b"), "a.py": PlannedFile("a.py", "changed")}
    theirs = {**base, "n.py": PlannedFile("n.py", "n")}
    texts = {}
    for name, plan in (("base", base), ("ours", ours), ("theirs", theirs)):
        texts[name] = tmp_path / name
        texts[name].write_text(state.state_json(plan))
    merged = subprocess.run(
        ["git", "merge-file", "-p", texts["ours"], texts["base"], texts["theirs"]],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert merged.returncode == 0, merged.stdout
    assert merged.stdout == state.state_json({**theirs, **ours})


def test_state_round_trips_through_disk_byte_for_byte(tmp_path: Path) -> None:
    writer.write_files(tmp_path, state.state_files(SPEC_TEXT, PLAN))

    loaded = state.load_state(tmp_path)

    assert loaded.spec_text == SPEC_TEXT
    assert loaded.generator_version == __version__
    assert loaded.schema_rules == state.SCHEMA_RULES
    assert loaded.baseline == {path: planned.content for path, planned in PLAN.items()}
    assert loaded.files["src/shop/hooks/item.py"].ownership == "create_once"
    assert loaded.files["src/shop/main.py"].sha256 == state.sha256_of("app = 1\n")


def test_missing_record_says_it_is_not_an_apiforge_project(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="not an apiforge project; run apiforge new-service"):
        state.load_state(tmp_path)


@pytest.mark.parametrize(
    ("relative", "content", "message"),
    [
        (".apiforge/state.json", "{not json", "state.json is not valid JSON"),
        (".apiforge/state.json", "[]", "not a JSON object"),
        (".apiforge/state.json", '{"format": 1, "files": [{"path": "../x"}]}', "malformed"),
        (".apiforge/state.json", '{"format": 1, "schema_rules": "2", "files": []}', "positive"),
        (".apiforge/baseline/src/shop/main.py", "app = 2\n", "does not match its sha256"),
    ],
)
def test_damaged_record_is_a_clear_user_error(
    tmp_path: Path, relative: str, content: str, message: str
) -> None:
    writer.write_files(tmp_path, state.state_files(SPEC_TEXT, PLAN))
    (tmp_path / relative).write_text(content)

    with pytest.raises(UserError, match=message) as caught:
        state.load_state(tmp_path)
    assert "restore .apiforge/ from version control" in str(caught.value)


def test_missing_baseline_file_is_reported(tmp_path: Path) -> None:
    writer.write_files(tmp_path, state.state_files(SPEC_TEXT, PLAN))
    (tmp_path / ".apiforge/baseline/README.md").unlink()

    with pytest.raises(UserError, match="baseline/README.md is missing"):
        state.load_state(tmp_path)


def test_record_from_a_newer_apiforge_asks_for_an_upgrade(tmp_path: Path) -> None:
    writer.write_files(tmp_path, state.state_files(SPEC_TEXT, PLAN))
    (tmp_path / ".apiforge/state.json").write_text('{"format": 99, "files": []}')

    with pytest.raises(UserError, match="newer apiforge"):
        state.load_state(tmp_path)


def test_a_record_without_schema_rules_was_made_under_rules_1(tmp_path: Path) -> None:
    writer.write_files(tmp_path, state.state_files(SPEC_TEXT, PLAN))
    (tmp_path / ".apiforge/state.json").write_text('{"format": 1, "files": []}')
    assert state.load_state(tmp_path).schema_rules == 1
    (tmp_path / ".apiforge/state.json").write_text('{"format": 1, "schema_rules": 99, "files": []}')
    with pytest.raises(UserError, match="newer apiforge"):
        state.load_state(tmp_path)


# --- write_files ------------------------------------------------------------------------


def test_write_files_creates_replaces_and_removes(tmp_path: Path) -> None:
    root = tmp_path / "project"
    make_tree(root, {"keep.txt": "keep", "old.py": "old", "gone.py": "bye"})

    writer.write_files(root, {"old.py": "new", "deep/er/file.py": "x"}, remove=["gone.py"])

    assert snapshot(root) == {
        "deep": b"<dir>",
        "deep/er": b"<dir>",
        "deep/er/file.py": b"x",
        "keep.txt": b"keep",
        "old.py": b"new",
    }
    assert os.listdir(tmp_path) == ["project"]  # the staging folder is gone


def test_write_files_keeps_the_permissions_of_a_replaced_file(tmp_path: Path) -> None:
    make_tree(tmp_path, {"run.sh": "echo old\n"})
    (tmp_path / "run.sh").chmod(0o755)

    writer.write_files(tmp_path, {"run.sh": "echo new\n"})

    assert stat.S_IMODE((tmp_path / "run.sh").stat().st_mode) == 0o755


def fail_on_call(monkeypatch: pytest.MonkeyPatch, number: int, error: BaseException) -> None:
    """Make the `number`th os.replace raise; every other call works normally."""
    real_replace = os.replace
    calls = {"count": 0}

    def replace(source: str | Path, target: str | Path) -> None:
        calls["count"] += 1
        if calls["count"] == number:
            raise error
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", replace)


@pytest.mark.parametrize("error", [OSError(28, "No space left on device"), KeyboardInterrupt()])
def test_failure_midway_leaves_every_file_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: BaseException
) -> None:
    root = tmp_path / "project"
    make_tree(root, {"a.py": "a-old", "b.py": "b-old", "c.py": "c-old", "gone.py": "bye"})
    before = snapshot(root)
    fail_on_call(monkeypatch, 3, error)

    with pytest.raises((UserError, KeyboardInterrupt)):
        writer.write_files(
            root,
            {"a.py": "a-new", "b.py": "b-new", "c.py": "c-new", "new/d.py": "d"},
            remove=["gone.py"],
        )

    assert snapshot(root) == before
    assert os.listdir(tmp_path) == ["project"]


def test_failure_midway_is_reported_as_nothing_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_tree(tmp_path / "p", {"a.py": "a"})
    fail_on_call(monkeypatch, 2, PermissionError(13, "Permission denied"))

    with pytest.raises(UserError, match="Permission denied; nothing was changed"):
        writer.write_files(tmp_path / "p", {"a.py": "1", "b.py": "2"})


def test_a_failed_rollback_keeps_the_backups_and_names_the_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "project"
    make_tree(root, {"a.py": "a-old", "b.py": "b-old"})
    real_replace = os.replace

    def replace(source: str | Path, target: str | Path) -> None:
        if Path(target).name == "b.py" or "backup" in str(source):
            raise OSError(5, "Input/output error")
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", replace)

    with pytest.raises(UserError, match="could not be restored yet: a.py") as caught:
        writer.write_files(root, {"a.py": "a-new", "b.py": "b-new"})

    # The journal and backups live in the project, so the next command finds them.
    transaction = root / writer.TRANSACTION_DIR
    assert "a-old" in [saved.read_text() for saved in (transaction / "backup").iterdir()]
    assert str(transaction / "backup") in str(caught.value)
    monkeypatch.setattr(os, "replace", real_replace)  # the disk works again
    assert str(writer.recover(root)) == (
        "rolled back the write of an interrupted apiforge command: nothing of it remains"
    )
    assert snapshot(root) == {"a.py": b"a-old", "b.py": b"b-old"}


@pytest.mark.parametrize(
    "bad_path",
    [
        "../escape.py",
        "/etc/passwd",
        "a/../../escape.py",
        "",
        ".",
        "C:/windows.py",
        "a\\..\\..\\escape.py",
    ],
)
def test_paths_escaping_the_root_are_rejected(tmp_path: Path, bad_path: str) -> None:
    root = tmp_path / "project"
    root.mkdir()

    with pytest.raises(UserError, match="not a path inside the project"):
        writer.write_files(root, {"fine.py": "x", bad_path: "evil"})
    with pytest.raises(UserError, match="not a path inside the project"):
        writer.write_files(root, {}, remove=[bad_path])
    with pytest.raises(UserError, match="not a path inside the project"):
        writer.create_project(tmp_path / "new", {bad_path: "evil"})

    assert snapshot(tmp_path) == {"project": b"<dir>"}


def test_a_path_cannot_be_written_and_removed_at_once(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="cannot both write and remove a.py"):
        writer.write_files(tmp_path, {"a.py": "x"}, remove=["a.py"])


# --- create_project ---------------------------------------------------------------------


def test_create_project_builds_the_whole_tree(tmp_path: Path) -> None:
    writer.create_project(tmp_path / "shop", {"a.txt": "a", "src/shop/main.py": "m"})

    assert snapshot(tmp_path) == {
        "shop": b"<dir>",
        "shop/a.txt": b"a",
        "shop/src": b"<dir>",
        "shop/src/shop": b"<dir>",
        "shop/src/shop/main.py": b"m",
    }
    mode = stat.S_IMODE((tmp_path / "shop").stat().st_mode)
    assert mode & 0o755 == 0o755  # not the 0700 of a temporary folder


def test_create_project_fills_an_existing_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "shop").mkdir()

    writer.create_project(tmp_path / "shop", {"a.txt": "a"})

    assert snapshot(tmp_path) == {"shop": b"<dir>", "shop/a.txt": b"a"}


def test_create_project_refuses_a_non_empty_folder(tmp_path: Path) -> None:
    make_tree(tmp_path / "shop", {"mine.txt": "precious"})

    with pytest.raises(UserError, match="already exists and is not empty"):
        writer.create_project(tmp_path / "shop", {"a.txt": "a"})

    assert snapshot(tmp_path) == {"shop": b"<dir>", "shop/mine.txt": b"precious"}


def test_create_project_refuses_a_file_in_the_way(tmp_path: Path) -> None:
    (tmp_path / "shop").write_text("a file")

    with pytest.raises(UserError, match="not a folder"):
        writer.create_project(tmp_path / "shop", {"a.txt": "a"})


def test_create_project_makes_missing_parent_folders(tmp_path: Path) -> None:
    writer.create_project(tmp_path / "code" / "work" / "shop", {"a.txt": "a"})

    assert (tmp_path / "code/work/shop/a.txt").read_text() == "a"


def fail_writing(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    real_write_bytes = Path.write_bytes

    def write_bytes(path: Path, data: bytes) -> int:
        if path.name == name:
            raise OSError(28, "No space left on device")
        return real_write_bytes(path, data)

    monkeypatch.setattr(Path, "write_bytes", write_bytes)


def test_a_failed_new_project_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fail_writing(monkeypatch, "b.txt")

    with pytest.raises(UserError, match="No space left on device"):
        writer.create_project(tmp_path / "code" / "shop", {"a.txt": "a", "b.txt": "b"})

    assert snapshot(tmp_path) == {}  # not the project, not its parent, not the staging folder


def test_a_failed_final_rename_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def rename(source: str | Path, target: str | Path) -> None:
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(os, "rename", rename)

    with pytest.raises(UserError, match="cross-device"):
        writer.create_project(tmp_path / "shop", {"a.txt": "a"})
    assert snapshot(tmp_path) == {}


def test_a_failed_new_project_keeps_the_users_empty_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "shop").mkdir()
    fail_writing(monkeypatch, "a.txt")

    with pytest.raises(UserError):
        writer.create_project(tmp_path / "shop", {"a.txt": "a"})

    assert snapshot(tmp_path) == {"shop": b"<dir>"}
