"""The proof of `apiforge new-service`: every example generates a service that installs,
migrates, lints, type-checks and passes its own test suite on every supported database.

Each check is a test of its own, parametrised over ``examples/*.yaml`` (and over the
databases), so a failure names the example, the check and the database. The fixtures
(generation, shared venv, overlay venv, throwaway databases) are in ``conftest.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import (
    EXAMPLES_DIR,
    REQUIRED_EXAMPLES,
    TIMEOUT_CHECK,
    CommandResult,
    Generation,
    Project,
    example_specs,
    run_generated_suite,
)

pytestmark = pytest.mark.integration


def expect_success(result: CommandResult, what: str) -> None:
    """Fail with the command, its exit code and its output (no Python traceback)."""
    if not result.ok:
        pytest.fail(result.report(what), pytrace=False)


def test_examples_exist() -> None:
    """Without example specs every parametrised test below would silently vanish."""
    found = sorted(spec.stem for spec in example_specs())
    assert found, f"no example specs found: {EXAMPLES_DIR}/*.yaml matches nothing"
    missing = [name for name in REQUIRED_EXAMPLES if name not in found]
    assert not missing, f"missing example specs {missing} in {EXAMPLES_DIR} (found {found})"


def test_generates(generation: Generation) -> None:
    if generation.problem is not None:
        pytest.fail(generation.problem, pytrace=False)
    root = generation.root
    assert root is not None
    package = generation.package
    expected = [
        "apiforge.yaml",
        ".apiforge",
        "pyproject.toml",
        "README.md",
        "alembic.ini",
        "migrations/env.py",
        "migrations/versions",
        f"src/{package}/main.py",
        f"src/{package}/settings.py",
        "tests",
    ]
    missing = [path for path in expected if not (root / path).exists()]
    assert not missing, f"generated project {root} lacks {missing}"
    revisions = sorted((root / "migrations" / "versions").glob("*.py"))
    assert revisions, f"{root}/migrations/versions holds no migration"
    project_table = generation.pyproject.get("project", {})
    assert isinstance(project_table, dict)
    extras = project_table.get("optional-dependencies", {})
    absent = [extra for extra in ("dev", "postgresql", "mysql") if extra not in extras]
    assert not absent, f"{root}/pyproject.toml declares no extras {absent}"


def test_app_imports(project: Project) -> None:
    result = project.run(
        "python", "-c", f"from {project.package}.main import app, create_app; print(app.title)",
        timeout=TIMEOUT_CHECK,
    )  # fmt: skip
    expect_success(result, f"importing {project.package}.main")


def test_alembic_upgrade_and_check(project: Project, database_url: str) -> None:
    upgrade = project.run(
        "alembic", "upgrade", "head", database_url=database_url, timeout=TIMEOUT_CHECK
    )
    expect_success(upgrade, "alembic upgrade head")
    check = project.run("alembic", "check", database_url=database_url, timeout=TIMEOUT_CHECK)
    expect_success(check, "alembic check (after upgrade head)")
    if "No new upgrade operations detected" not in check.stdout + check.stderr:
        pytest.fail(
            check.report("alembic check did not say 'No new upgrade operations detected'"),
            pytrace=False,
        )


def test_ruff_check(project: Project) -> None:
    result = project.run("ruff", "check", ".", timeout=TIMEOUT_CHECK)
    expect_success(result, "ruff check .")


def test_ruff_format(project: Project) -> None:
    result = project.run("ruff", "format", "--check", ".", timeout=TIMEOUT_CHECK)
    expect_success(result, "ruff format --check .")


def test_mypy_strict(project: Project) -> None:
    result = project.run("mypy", "--strict", "src", "tests", timeout=TIMEOUT_CHECK)
    expect_success(result, "mypy --strict src tests")


def test_generated_suite(project: Project, database_url: str, tmp_path: Path) -> None:
    result, left = run_generated_suite(project, database_url, tmp_path)
    expect_success(result, f"the generated test suite (DATABASE_URL={database_url})")
    assert not left, f"the generated test suite left behind {left}"
