"""The command layer through typer's CliRunner: exit codes, messages, and what lands on disk.

Most tests swap the renderer for a tiny fake plan, so they exercise the CLI, the
project functions, the writer and the record without the templates; one test at
the end runs the real renderer.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest
from typer.testing import CliRunner

from apiforge import __version__, cli, project, render
from apiforge.cli import app
from apiforge.errors import RefusedChange
from apiforge.plan import FilePlan, PlannedFile
from apiforge.spec import Spec

REPO = Path(__file__).resolve().parents[1]
runner = CliRunner()

USER_SPEC = """\
# My shop: keep this comment
apiforge: 1
service:
  name: placeholder   # replaced by NAME
  version: 0.2.0
resources:
  product:
    fields:
      title: {type: str, max_length: 80}   # the product title
      price: decimal
"""

BAD_SPEC = """\
apiforge: 1
service:
  name: shop
resources:
  product:
    fields:
      title: {type: strng}
"""


def fake_render(spec: Spec, *, migrations: Mapping[str, str] | None = None) -> FilePlan:
    """A small plan shaped like the real one: managed files and a create_once hooks module."""
    package = spec.service.package_name
    files = [
        *(PlannedFile(path, text, "create_once") for path, text in (migrations or {}).items()),
        # A setext heading: a `=======` line the generator writes is not a conflict marker.
        PlannedFile(
            "README.md", f"{spec.service.name}\n=======\n\nDatabase: {spec.service.database}\n"
        ),
        PlannedFile(f"src/{package}/main.py", f"RESOURCES = {sorted(spec.resources)!r}\n"),
    ]
    for name, resource in spec.resources.items():
        files.append(
            PlannedFile(
                f"src/{package}/models/{name}.py",
                "".join(f"{field} = None\n" for field in resource.fields),
            )
        )
        files.append(PlannedFile(f"src/{package}/hooks/{name}.py", "# yours\n", "create_once"))
    return {planned.path: planned for planned in files}


@pytest.fixture
def fake_plan(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(render, "render_project", fake_render)


def new_shop(tmp_path: Path, *extra: str | Path) -> Path:
    result = runner.invoke(
        app, ["new-service", "shop", "--dir", str(tmp_path), *[str(arg) for arg in extra]]
    )
    assert result.exit_code == 0, result.output
    return tmp_path / "shop"


def tree(root: Path) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


# --- global options -------------------------------------------------------------------


def test_version() -> None:
    result = runner.invoke(app, ["--version"])

    assert result.exit_code == 0
    assert result.stdout == f"apiforge {__version__}\n"


def test_help_lists_the_commands() -> None:
    result = runner.invoke(app, ["--help"])

    assert result.exit_code == 0
    for command in ("new-service", "validate", "schema", "check"):
        assert command in result.stdout


def test_unknown_command_is_a_usage_error() -> None:
    result = runner.invoke(app, ["frobnicate"])

    assert result.exit_code == 2
    assert "No such command" in result.output


# --- new-service ----------------------------------------------------------------------


@pytest.mark.usefixtures("fake_plan")
def test_new_service_from_the_starter_spec(tmp_path: Path) -> None:
    result = runner.invoke(app, ["new-service", "shop", "--dir", str(tmp_path)])

    assert result.exit_code == 0, result.output
    project_dir = tmp_path / "shop"
    files = tree(project_dir)
    (revision,) = [path for path in files if path.startswith("migrations/versions/")]
    assert re.fullmatch(r"migrations/versions/\d{14}_[0-9a-f]{6}_create_items\.py", revision)
    assert [path.replace(revision, "migrations/versions/ID_create_items.py") for path in files] == [
        ".apiforge/baseline/README.md",
        ".apiforge/baseline/migrations/versions/ID_create_items.py",
        ".apiforge/baseline/src/shop/hooks/item.py",
        ".apiforge/baseline/src/shop/main.py",
        ".apiforge/baseline/src/shop/models/item.py",
        ".apiforge/spec.yaml",
        ".apiforge/state.json",
        "README.md",
        "apiforge.yaml",
        "migrations/versions/ID_create_items.py",
        "src/shop/hooks/item.py",
        "src/shop/main.py",
        "src/shop/models/item.py",
    ]
    spec_text = (project_dir / "apiforge.yaml").read_text()
    assert "  name: shop\n" in spec_text
    assert "# apiforge spec" in spec_text  # the starter is commented for a newcomer
    assert (project_dir / ".apiforge/spec.yaml").read_text() == spec_text
    assert (
        project_dir / "src/shop/models/item.py"
    ).read_text() == "name = None\ndescription = None\n"
    output = result.stdout
    assert re.search(r"create\s+src/shop/main\.py", output)
    assert re.search(r"create\s+\.apiforge/", output)
    assert ".apiforge/baseline" not in output  # the record is summed up in one line
    for step in (
        f"cd {project_dir}",
        "pip install -e '.[dev]'",
        "alembic upgrade head",
        "uvicorn shop.main:app --reload",
        "pytest",
    ):
        assert step in output


@pytest.mark.usefixtures("fake_plan")
def test_new_service_keeps_the_users_spec_comments(tmp_path: Path) -> None:
    spec_file = tmp_path / "my-spec.yaml"
    spec_file.write_text(USER_SPEC)

    project_dir = new_shop(tmp_path, "--spec", spec_file, "--database", "postgresql")

    spec_text = (project_dir / "apiforge.yaml").read_text()
    # Comments stay at their column, other lines are untouched, database goes at the end.
    assert spec_text == USER_SPEC.replace(
        "name: placeholder   # replaced by NAME", "name: shop          # replaced by NAME"
    ).replace("version: 0.2.0\n", "version: 0.2.0\n  database: postgresql\n")
    assert "Database: postgresql" in (project_dir / "README.md").read_text()


@pytest.mark.usefixtures("fake_plan")
def test_new_service_leaves_an_unchanged_spec_byte_for_byte(tmp_path: Path) -> None:
    spec_text = USER_SPEC.replace("placeholder", "shop")
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(spec_text + "\n\n# trailing comment   \n")

    project_dir = new_shop(tmp_path, "--spec", spec_file)

    assert (project_dir / "apiforge.yaml").read_text() == spec_file.read_text()


@pytest.mark.usefixtures("fake_plan")
def test_new_service_asks_for_the_database_at_a_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli, "_interactive", lambda: True)

    result = runner.invoke(
        app, ["new-service", "shop", "--dir", str(tmp_path)], input="oracle\nmysql\n"
    )

    assert result.exit_code == 0, result.output
    assert "choose one of: sqlite, postgresql, mysql" in result.stderr
    assert "Database: mysql" in (tmp_path / "shop/README.md").read_text()
    assert "  database: mysql" in (tmp_path / "shop/apiforge.yaml").read_text()


@pytest.mark.usefixtures("fake_plan")
def test_no_input_never_asks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "_interactive", lambda: True)

    project_dir = new_shop(tmp_path, "--no-input")

    assert "Database: sqlite" in (project_dir / "README.md").read_text()


@pytest.mark.usefixtures("fake_plan")
def test_new_service_fills_an_existing_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "shop").mkdir()

    project_dir = new_shop(tmp_path)

    assert (project_dir / "apiforge.yaml").is_file()


@pytest.mark.usefixtures("fake_plan")
@pytest.mark.parametrize("name", ["1shop", "my/shop", "shop!", "_shop", "a" * 64])
def test_new_service_rejects_a_bad_name_and_writes_nothing(tmp_path: Path, name: str) -> None:
    result = runner.invoke(app, ["new-service", name, "--dir", str(tmp_path)])

    assert result.exit_code == 2
    assert "not allowed" in result.stderr
    assert "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == []


@pytest.mark.usefixtures("fake_plan")
def test_new_service_rejects_an_unknown_database_and_writes_nothing(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["new-service", "shop", "--database", "oracle", "--dir", str(tmp_path)]
    )

    assert result.exit_code == 2
    assert "oracle" in result.output
    assert "sqlite" in result.output  # the message names the allowed values
    assert list(tmp_path.iterdir()) == []


@pytest.mark.usefixtures("fake_plan")
def test_new_service_reports_every_spec_problem_at_its_location(tmp_path: Path) -> None:
    spec_file = tmp_path / "bad.yaml"
    spec_file.write_text(BAD_SPEC)
    out = tmp_path / "out"

    result = runner.invoke(
        app, ["new-service", "shop", "--spec", str(spec_file), "--dir", str(out)]
    )

    assert result.exit_code == 2
    # Line 7 of the user's own file, even though NAME was written into a copy of it.
    assert re.search(rf"^{re.escape(str(spec_file))}:7:\d+: .*strng", result.stderr, re.M)
    assert "Traceback" not in result.output
    assert not out.exists()


@pytest.mark.usefixtures("fake_plan")
def test_new_service_with_a_missing_spec_file(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["new-service", "shop", "--spec", str(tmp_path / "nope.yaml"), "--dir", str(tmp_path)]
    )

    assert result.exit_code == 2
    assert "nope.yaml: no such spec file" in result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.usefixtures("fake_plan")
def test_new_service_refuses_a_non_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "notes.txt").write_text("mine")

    result = runner.invoke(app, ["new-service", "shop", "--dir", str(tmp_path)])

    assert result.exit_code == 2
    assert "already exists and is not empty" in result.stderr
    assert tree(tmp_path / "shop") == ["notes.txt"]


# --- validate and schema --------------------------------------------------------------


def test_validate_a_good_spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "apiforge.yaml").write_text(USER_SPEC)
    monkeypatch.chdir(tmp_path)

    result = runner.invoke(app, ["validate"])

    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("OK")
    assert "apiforge.yaml: service placeholder, 1 resource (product)" in result.stdout


def test_validate_a_bad_spec(tmp_path: Path) -> None:
    spec_file = tmp_path / "bad.yaml"
    spec_file.write_text(BAD_SPEC)

    result = runner.invoke(app, ["validate", str(spec_file)])

    assert result.exit_code == 2
    assert re.search(rf"^{re.escape(str(spec_file))}:\d+:\d+: ", result.stderr, re.M)
    assert "problem" in result.stderr


def test_validate_a_missing_file(tmp_path: Path) -> None:
    result = runner.invoke(app, ["validate", str(tmp_path / "none.yaml")])

    assert result.exit_code == 2
    assert "none.yaml: no such spec file" in result.stderr


def test_schema_prints_plain_json() -> None:
    result = runner.invoke(app, ["schema"])

    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert "service" in json.dumps(schema)
    assert "\x1b[" not in result.stdout


# --- check ------------------------------------------------------------------------------


@pytest.mark.usefixtures("fake_plan")
def test_check_a_fresh_project_is_clean(tmp_path: Path) -> None:
    project_dir = new_shop(tmp_path)

    result = runner.invoke(app, ["check", "--project", str(project_dir)])

    assert result.exit_code == 0, result.output
    assert "5 generated files match the spec" in result.stdout


@pytest.mark.usefixtures("fake_plan")
def test_check_accepts_hand_edits_regenerate_would_keep(tmp_path: Path) -> None:
    """check = "regenerate would change nothing": a user's edit is merged, not undone."""
    project_dir = new_shop(tmp_path)
    (project_dir / "src/shop/main.py").write_text("RESOURCES = ['hacked']\n")

    assert runner.invoke(app, ["check", "--project", str(project_dir)]).exit_code == 0


@pytest.mark.usefixtures("fake_plan")
def test_check_shows_a_diff_of_what_regenerate_would_change(tmp_path: Path) -> None:
    project_dir = new_shop(tmp_path)
    spec_file = project_dir / "apiforge.yaml"
    spec_file.write_text(spec_file.read_text().replace("  item:", "  product:"))

    result = runner.invoke(app, ["check", "--project", str(project_dir)])

    assert result.exit_code == 1
    output = result.stdout
    assert re.search(r"modified\s+src/shop/main\.py", output)
    assert "--- a/src/shop/main.py (on disk)" in output
    assert "+++ b/src/shop/main.py (generated)" in output
    assert "-RESOURCES = ['item']" in output
    assert "+RESOURCES = ['product']" in output
    assert "apiforge regenerate" in output


@pytest.mark.usefixtures("fake_plan")
def test_check_ignores_edits_to_create_once_files_but_not_conflict_markers(
    tmp_path: Path,
) -> None:
    project_dir = new_shop(tmp_path)
    hooks = project_dir / "src/shop/hooks/item.py"
    hooks.write_text("# my business rules\n")
    assert runner.invoke(app, ["check", "--project", str(project_dir)]).exit_code == 0

    hooks.write_text("<<<<<<< mine\na = 1\n=======\na = 2\n>>>>>>> generated\n")
    result = runner.invoke(app, ["check", "--project", str(project_dir)])

    assert result.exit_code == 1
    assert re.search(r"conflict\s+src/shop/hooks/item\.py.*lines 1, 3, 5", result.stdout)
    assert "resolve the conflict markers in: src/shop/hooks/item.py" in result.stdout


@pytest.mark.usefixtures("fake_plan")
def test_check_accepts_a_generated_file_the_user_deleted(tmp_path: Path) -> None:
    """Deleted files stay deleted on regenerate, so they are no drift either."""
    project_dir = new_shop(tmp_path)
    (project_dir / "src/shop/models/item.py").unlink()

    assert runner.invoke(app, ["check", "--project", str(project_dir)]).exit_code == 0


@pytest.mark.usefixtures("fake_plan")
def test_check_sees_a_spec_edited_since_the_last_generation(tmp_path: Path) -> None:
    project_dir = new_shop(tmp_path)
    spec_file = project_dir / "apiforge.yaml"
    spec_file.write_text(
        spec_file.read_text().replace(
            "      description:",
            "      price: {type: decimal, required: false}\n      description:",
        )
    )

    result = runner.invoke(app, ["check", "--project", str(project_dir), "--json"])

    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["clean"] is False
    assert report["spec_changed"] is True  # a migration is pending
    assert ".apiforge/spec.yaml" in report["stale_baseline"]
    kinds = {item["path"]: item["kind"] for item in report["files"]}
    assert kinds["src/shop/models/item.py"] == "modified"
    assert [kind for path, kind in kinds.items() if path.startswith("migrations/")] == ["missing"]


@pytest.mark.usefixtures("fake_plan")
def test_check_sees_files_the_spec_no_longer_generates(tmp_path: Path) -> None:
    project_dir = new_shop(tmp_path)
    spec_file = project_dir / "apiforge.yaml"
    spec_file.write_text(spec_file.read_text().replace("  item:", "  product:"))

    result = runner.invoke(app, ["check", "--project", str(project_dir), "--json"])

    assert result.exit_code == 1
    kinds = {item["path"]: item["kind"] for item in json.loads(result.stdout)["files"]}
    assert kinds["src/shop/models/product.py"] == "missing"  # would be created
    assert kinds["src/shop/models/item.py"] == "modified"  # would be removed


@pytest.mark.usefixtures("fake_plan")
def test_check_ignores_a_comment_only_spec_edit(tmp_path: Path) -> None:
    project_dir = new_shop(tmp_path)
    spec_file = project_dir / "apiforge.yaml"
    spec_file.write_text("# reviewed by the team\n" + spec_file.read_text())

    assert runner.invoke(app, ["check", "--project", str(project_dir)]).exit_code == 0


@pytest.mark.usefixtures("fake_plan")
def test_check_json_of_a_clean_project(tmp_path: Path) -> None:
    project_dir = new_shop(tmp_path)

    result = runner.invoke(app, ["check", "--project", str(project_dir), "--json"])

    assert result.exit_code == 0
    assert json.loads(result.stdout) == {
        "project": str(project_dir),
        "clean": True,
        "checked": 5,
        "files": [],
        "stale_baseline": [],
        "spec_changed": False,
        "refused": None,
        "migrations": [],
        "stale_validators": [],
    }


@pytest.mark.usefixtures("fake_plan")
def test_check_outside_a_project(tmp_path: Path) -> None:
    result = runner.invoke(app, ["check", "--project", str(tmp_path)])

    assert result.exit_code == 2
    assert "not an apiforge project; run apiforge new-service" in result.stderr


# --- the error boundary ---------------------------------------------------------------


def boom(error: BaseException) -> object:
    def raise_it(*args: object, **kwargs: object) -> None:
        raise error

    return raise_it


def test_refused_change_exits_1(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(project, "check", boom(RefusedChange("would drop table book")))

    result = runner.invoke(app, ["check"])

    assert result.exit_code == 1
    assert "error: would drop table book" in result.stderr


def test_unexpected_error_is_one_line_and_exit_70(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("APIFORGE_DEBUG", raising=False)
    monkeypatch.setattr(project, "check", boom(ZeroDivisionError("division by zero")))

    result = runner.invoke(app, ["check"])

    assert result.exit_code == 70
    assert "internal error: ZeroDivisionError: division by zero" in result.stderr
    assert "APIFORGE_DEBUG=1" in result.stderr
    assert "Traceback" not in result.output


def test_unexpected_error_shows_the_traceback_in_debug_mode(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("APIFORGE_DEBUG", "1")
    monkeypatch.setattr(project, "check", boom(ZeroDivisionError("division by zero")))

    result = runner.invoke(app, ["check"])

    assert result.exit_code == 70
    assert "Traceback" in result.stderr


def test_interrupt_exits_130(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(project, "check", boom(KeyboardInterrupt()))

    result = runner.invoke(app, ["check"])

    assert result.exit_code == 130


# --- start-up and the real renderer ---------------------------------------------------


def run_apiforge(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO / "cli")}
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, env=env, cwd=REPO, check=False
    )


def test_help_imports_none_of_the_heavy_pipeline() -> None:
    completed = run_apiforge("-X", "importtime", "-m", "apiforge", "--help")

    assert completed.returncode == 0, completed.stderr
    assert "new-service" in completed.stdout
    imported = {
        line.split("|")[-1].strip()
        for line in completed.stderr.splitlines()
        if line.startswith("import time:")
    }
    heavy = {
        name
        for name in imported
        if name.split(".")[0]
        in {"copier", "jinja2", "sqlalchemy", "ruamel", "inflect", "pydantic", "pydantic_core"}
    }
    assert heavy == set()
    assert "apiforge.cli" in imported  # the import list really is the CLI's


def test_python_dash_m_reports_errors_without_a_traceback(tmp_path: Path) -> None:
    completed = run_apiforge("-m", "apiforge", "validate", str(tmp_path / "missing.yaml"))

    assert completed.returncode == 2
    assert "missing.yaml: no such spec file" in completed.stderr
    assert "Traceback" not in completed.stderr


def test_real_render_new_service_then_check_is_clean(tmp_path: Path) -> None:
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(USER_SPEC)

    created = runner.invoke(
        app, ["new-service", "shop", "--spec", str(spec_file), "--dir", str(tmp_path)]
    )
    assert created.exit_code == 0, created.output
    project_dir = tmp_path / "shop"
    assert (project_dir / "src/shop/main.py").is_file()
    assert (project_dir / "src/shop/hooks/product.py").is_file()
    assert list((project_dir / "migrations/versions").glob("*.py"))

    checked = runner.invoke(app, ["check", "--project", str(project_dir)])
    assert checked.exit_code == 0, checked.output

    main = project_dir / "src/shop/main.py"
    main.write_text(main.read_text() + "\nprint('hand edit')\n")
    assert runner.invoke(app, ["check", "--project", str(project_dir)]).exit_code == 0

    spec = project_dir / "apiforge.yaml"
    spec.write_text(
        spec.read_text().replace("title:", "subtitle: {type: str, required: false}\n      title:")
    )
    drifted = runner.invoke(app, ["check", "--project", str(project_dir)])
    assert drifted.exit_code == 1
    assert "+++ b/src/shop/models/product.py (generated)" in drifted.stdout


@pytest.mark.usefixtures("fake_plan")
def test_check_reports_a_spec_change_regenerate_would_refuse(tmp_path: Path) -> None:
    project_dir = new_shop(tmp_path)
    spec_file = project_dir / "apiforge.yaml"
    spec_file.write_text(
        spec_file.read_text().replace(
            "      description:", "      price: decimal\n      description:"
        )
    )

    result = runner.invoke(app, ["check", "--project", str(project_dir), "--json"])

    assert result.exit_code == 1
    assert "no default" in json.loads(result.stdout)["refused"]


@pytest.mark.parametrize("argv", [["--help"], ["new-service", "--help"]])
def test_a_closed_pipe_ends_the_command_quietly(argv: list[str]) -> None:
    """`apiforge --help | head -1`: the reader left; no traceback, no "internal error"."""
    process = subprocess.Popen(
        [sys.executable, "-m", "apiforge", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "COLUMNS": "80"},
    )
    assert process.stdout is not None
    process.stdout.close()  # before the interpreter has even started: every write fails
    _, stderr = process.communicate(timeout=60)
    assert stderr == b""
    assert process.returncode == 1


# --- pathological specs: one validation for every command (issue 8, items 10, 11, 13) ----

SPEC_HEAD = "apiforge: 1\nservice: {name: shop}\nresources:\n  book:\n    fields:\n"
BOMB = "".join(
    f"{name}: &{name} [{', '.join([f'*{previous}'] * 10 if previous else ['x'] * 10)}]\n"
    for previous, name in zip(["", *"abcdefgh"], "abcdefghi", strict=True)
)
# Each is refused with exit 2 and a located message, quickly, by every command.
PATHOLOGICAL = {
    "alias_bomb": BOMB + SPEC_HEAD + "      title: str\n",
    "alias_loop": "loop: &loop [1, *loop]\n" + SPEC_HEAD + "      title: str\n",
    "deep_nesting": SPEC_HEAD
    + "      data: {type: json, default: "
    + "[" * 5000
    + "]" * 5000
    + "}\n",
    "huge": SPEC_HEAD + "      title: str\n#" + "x" * (5 * 1024 * 1024) + "\n",
    "float_bound_1e400": SPEC_HEAD + "      price: {type: float, ge: 1" + "0" * 400 + "}\n",
    "int_bound_beyond_column": SPEC_HEAD + "      count: {type: int, le: 2147483648}\n",
    "string_bound": SPEC_HEAD + "      price: {type: decimal, ge: '0'}\n",
    "length_2_63": SPEC_HEAD + "      name: {type: text, max_length: 9223372036854775808}\n",
    "default_too_long": SPEC_HEAD + "      name: {type: str, max_length: 3, default: abcd}\n",
    "default_below_ge": SPEC_HEAD + "      count: {type: int, ge: 1, default: 0}\n",
    "default_bad_email": SPEC_HEAD + "      mail: {type: email, default: nobody}\n",
    "underivable_pattern": SPEC_HEAD + "      code: {type: str, pattern: '^a$'}\n",
    "decimal_nothing_fits": SPEC_HEAD
    + "      price: {type: decimal, max_digits: 4, decimal_places: 2, ge: 100}\n",
    "short_email": SPEC_HEAD + "      mail: {type: email, max_length: 5}\n",
    "backtracking_pattern": SPEC_HEAD + "      word: {type: str, pattern: '(a+)+b$'}\n",
}
# The inputs that crashed (exit 70) or hung before: also run as a real process. They took
# minutes before; now the work takes well under a second, and the rest of the timeout
# is the start-up of a cold interpreter (pydantic, inflect) on a loaded two-core machine.
PROCESS_TIMEOUT = 30
CRASHED_OR_HUNG = [
    "alias_bomb",
    "deep_nesting",
    "huge",
    "float_bound_1e400",
    "backtracking_pattern",
]
TAG_DIRECTIVE = "%TAG !e! tag:example.com,2000:\n---\n" + SPEC_HEAD + "      title: !e!x str\n"
LOCATED = re.compile(r"^\S*spec\.yaml:\d+:\d+: \S", re.M)


def write_spec(tmp_path: Path, text: str) -> Path:
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(text, encoding="utf-8")
    return spec_file


def assert_refused(exit_code: int, stderr: str) -> None:
    assert exit_code == 2, stderr
    assert LOCATED.search(stderr), stderr
    assert "Traceback" not in stderr and "internal error" not in stderr


@pytest.mark.parametrize("case", sorted(PATHOLOGICAL))
def test_validate_and_new_service_refuse_a_pathological_spec(tmp_path: Path, case: str) -> None:
    spec_file = write_spec(tmp_path, PATHOLOGICAL[case])
    target = tmp_path / "out"

    validated = runner.invoke(app, ["validate", str(spec_file)])
    created = runner.invoke(
        app, ["new-service", "shop", "--spec", str(spec_file), "--dir", str(target)]
    )

    assert_refused(validated.exit_code, validated.stderr)
    assert_refused(created.exit_code, created.stderr)
    assert not target.exists()


@pytest.mark.parametrize("case", CRASHED_OR_HUNG)
def test_a_pathological_spec_ends_a_real_process_quickly(tmp_path: Path, case: str) -> None:
    spec_file = write_spec(tmp_path, PATHOLOGICAL[case])
    target = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(REPO / "cli")}
    for command in (
        ["validate", str(spec_file)],
        ["new-service", "shop", "--spec", str(spec_file), "--dir", str(target)],
    ):
        completed = subprocess.run(
            [sys.executable, "-m", "apiforge", *command],
            capture_output=True,
            text=True,
            env=env,
            timeout=PROCESS_TIMEOUT,
            check=False,
        )
        assert_refused(completed.returncode, completed.stderr)
    assert not target.exists()


@pytest.mark.usefixtures("fake_plan")
def test_a_tag_directive_is_no_internal_error(tmp_path: Path) -> None:
    spec_file = write_spec(tmp_path, TAG_DIRECTIVE)

    validated = runner.invoke(app, ["validate", str(spec_file)])
    created = runner.invoke(
        app, ["new-service", "shop", "--spec", str(spec_file), "--dir", str(tmp_path)]
    )

    assert validated.exit_code == 0, validated.output
    assert created.exit_code == 0, created.output
    assert (tmp_path / "shop" / "apiforge.yaml").read_text().startswith("%TAG !e!")


# Valid, but at the edges of what the columns and the sample derivation handle.
EDGES = SPEC_HEAD + "".join(
    f"      {field}\n"
    for field in [
        "code: {type: str, pattern: '^[A-Z]{3}-\\d{4}$', max_length: 8}",
        "top: {type: int, ge: 2147483647}",
        "bottom: {type: bigint, le: -9223372036854775808}",
        "wide: {type: decimal, max_digits: 38, decimal_places: 2}",
        "long: {type: text, min_length: 300}",
        "triple: {type: 'list[int]', min_length: 3, max_length: 3}",
        "rank: {type: int, ge: 1, le: 10, default: 10}",
    ]
)
AGREEMENT_CORPUS = {
    **{path.stem: path.read_text() for path in sorted((REPO / "examples").glob("*.yaml"))},
    **PATHOLOGICAL,
    "tag_directive": TAG_DIRECTIVE,
    "edges": EDGES,
    "lookaround_pattern": SPEC_HEAD + "      code: {type: str, pattern: '(?=a)abc\\d{3}'}\n",
    "decimal_38_digit_bound": SPEC_HEAD + "      price: {type: decimal, gt: " + "9" * 38 + "}\n",
    "float_between_neighbours": SPEC_HEAD
    + "      ratio: {type: float, gt: 5, lt: 5.000000000000001}\n",
    "int_between_neighbours": SPEC_HEAD + "      count: {type: int, gt: 5, lt: 6}\n",
}


@pytest.mark.parametrize("case", sorted(AGREEMENT_CORPUS))
def test_validate_and_new_service_agree(tmp_path: Path, case: str) -> None:
    """Whatever `new-service` (with the real renderer) refuses, `validate` refused first."""
    spec_file = write_spec(tmp_path, AGREEMENT_CORPUS[case])

    validated = runner.invoke(app, ["validate", str(spec_file)])
    created = runner.invoke(
        app, ["new-service", "shop", "--spec", str(spec_file), "--dir", str(tmp_path / "out")]
    )

    assert (validated.exit_code, created.exit_code) in {(0, 0), (2, 2)}, (
        validated.output + created.output
    )
    assert "internal error" not in validated.output + created.output


BAD_DEFAULT_FIELD = "      rank: {type: int, ge: 1, default: 0}\n"


def add_to_item_fields(text: str, field_line: str) -> str:
    return text.replace("      description:", field_line + "      description:")


@pytest.mark.usefixtures("fake_plan")
@pytest.mark.parametrize("command", ["check", "regenerate"])
def test_every_command_refuses_what_validate_refuses(tmp_path: Path, command: str) -> None:
    project_dir = new_shop(tmp_path)
    spec_file = project_dir / "apiforge.yaml"
    spec_file.write_text(add_to_item_fields(spec_file.read_text(), BAD_DEFAULT_FIELD))
    before = {path: (project_dir / path).read_bytes() for path in tree(project_dir)}

    validated = runner.invoke(app, ["validate", str(spec_file)])
    result = runner.invoke(app, [command, "--project", str(project_dir)])

    assert_refused(validated.exit_code, validated.stderr.replace("apiforge.yaml", "spec.yaml"))
    assert_refused(result.exit_code, result.stderr.replace("apiforge.yaml", "spec.yaml"))
    assert "default 0 does not fit the field" in result.stderr
    assert {path: (project_dir / path).read_bytes() for path in tree(project_dir)} == before


@pytest.mark.usefixtures("fake_plan")
def test_add_resource_refuses_a_default_outside_its_bounds(tmp_path: Path) -> None:
    project_dir = new_shop(tmp_path)
    spec_before = (project_dir / "apiforge.yaml").read_text()

    result = runner.invoke(
        app, ["add-resource", "thing", "rank:int:ge=1:default=0", "--project", str(project_dir)]
    )

    assert result.exit_code == 2, result.output
    assert "default 0 does not fit the field" in result.stderr
    assert (project_dir / "apiforge.yaml").read_text() == spec_before


@pytest.mark.usefixtures("fake_plan")
def test_a_snapshot_an_older_apiforge_accepted_still_loads(tmp_path: Path) -> None:
    """Checks added since must not lock a project out: its snapshot is history."""
    project_dir = new_shop(tmp_path)
    snapshot = project_dir / ".apiforge" / "spec.yaml"
    snapshot.write_text(add_to_item_fields(snapshot.read_text(), BAD_DEFAULT_FIELD))
    spec_file = project_dir / "apiforge.yaml"
    fixed = BAD_DEFAULT_FIELD.replace("default: 0", "default: 1")
    spec_file.write_text(add_to_item_fields(spec_file.read_text(), fixed))

    result = runner.invoke(app, ["regenerate", "--project", str(project_dir)])

    assert result.exit_code == 0, result.output


def test_a_pattern_python_may_read_differently_one_day_gets_no_python_warning(
    tmp_path: Path,
) -> None:
    """`[[a]` makes Python's `re` print a FutureWarning; the user sees only apiforge's answer."""
    spec_file = write_spec(
        tmp_path, SPEC_HEAD + "      code: {type: str, pattern: '^[[a]bc]{3}$'}\n"
    )
    completed = run_apiforge("-m", "apiforge", "validate", str(spec_file))
    assert completed.returncode == 2, completed.stderr
    assert "cannot derive distinct test values" in completed.stderr
    assert "Warning" not in completed.stderr + completed.stdout
